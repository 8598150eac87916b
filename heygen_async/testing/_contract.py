"""
HeyGen's own request and response JSON Schemas, and a checker built on them.

``contract/heygen-v3-openapi.json`` is vendored verbatim (see
``contract/SOURCE.md``): it is the source of truth for what the SDK sends and
what the fake answers. The file is OpenAPI 3.0 flavoured (``nullable``,
``discriminator``); :func:`json_schema` turns one schema into plain JSON
Schema so ``jsonschema`` and ``hypothesis-jsonschema`` can use it.

Checking needs ``jsonschema`` (the ``dev`` extra), imported only when a
checker is built, so the fake itself keeps the SDK's runtime dependencies.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal

import attrs


__all__ = [
    "Operation",
    "SchemaChecker",
    "json_schema",
    "operation_for",
    "operations",
]

Kind = Literal["request", "response"]
_OPENAPI_ONLY = frozenset({"discriminator", "nullable", "example", "externalDocs"})


@attrs.frozen(kw_only=True)
class Operation:
    """One operation of the contract: its name, method, path template and schemas."""

    name: str
    method: str
    path: str
    request: Mapping[str, Any] | None = attrs.field(default=None, eq=False)
    response: Mapping[str, Any] | None = attrs.field(default=None, eq=False)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request line is this operation (``{x}`` is one segment)."""
        if method.upper() != self.method:
            return False
        want = self.path.strip("/").split("/")
        got = path.split("?", 1)[0].strip("/").split("/")
        if len(want) != len(got):
            return False
        return all(
            w == g or (w.startswith("{") and w.endswith("}") and g)
            for w, g in zip(want, got, strict=True)
        )

    def schema(self, kind: Kind) -> dict[str, Any] | None:
        """The request or response schema as plain JSON Schema, if there is one."""
        raw = self.request if kind == "request" else self.response
        return None if raw is None else json_schema(raw)


@functools.cache
def _raw() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("contract/heygen-v3-openapi.json")
    loaded: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def operations() -> dict[str, Operation]:
    """Every operation of the vendored contract, by HeyGen's operation name."""
    return {
        name: Operation(
            name=name,
            method=entry["Method"].upper(),
            path=entry["Endpoint"],
            request=entry.get("RequestSchema"),
            response=entry.get("ResponseSchema"),
        )
        for name, entry in _raw().items()
    }


def operation_for(method: str, path: str) -> Operation | None:
    """The operation a concrete request line belongs to (literal paths win)."""
    found = [op for op in operations().values() if op.matches(method, path)]
    # ``/v3/videos/statuses`` also matches ``/v3/videos/{video_id}``: prefer
    # the template with the fewest placeholders.
    found.sort(key=lambda op: op.path.count("{"))
    return found[0] if found else None


def json_schema(schema: Any) -> Any:
    """OpenAPI 3.0 schema -> plain JSON Schema (``nullable`` becomes ``null``)."""
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _OPENAPI_ONLY:
            continue
        if key == "properties":
            out[key] = {name: json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = json_schema(value)
    if "discriminator" in schema and "oneOf" in out:
        out = _discriminated(out, schema["discriminator"])
    if not schema.get("nullable"):
        return out
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        return out
    return {"anyOf": [out, {"type": "null"}]}


def _discriminated(
    out: dict[str, Any], discriminator: Mapping[str, Any]
) -> dict[str, Any]:
    """
    A ``oneOf`` chosen by a discriminator, in plain JSON Schema.

    The vendored branches leave the discriminator property unconstrained, so
    two branches (e.g. photo and digital-twin avatars) can accept one body and
    a plain ``oneOf`` rejects it. The discriminator picks exactly one branch;
    the file does not say which branch each value names, so "some branch
    accepts the body, and the discriminator is one of the mapped values" is
    the faithful reading.
    """
    prop = discriminator["propertyName"]
    values = sorted(discriminator.get("mapping", {}))
    branches = out.pop("oneOf")
    out["anyOf"] = branches
    if values:
        out["required"] = sorted({*out.get("required", ()), prop})
        out.setdefault("properties", {})[prop] = {"enum": values}
    return out


class SchemaChecker:
    """
    Validate bodies against the contract; ``problems()`` lists every violation.

    Raises :class:`ImportError` with an install hint when ``jsonschema`` is
    missing.
    """

    def __init__(self) -> None:
        try:
            import jsonschema  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - dev extra installed in CI
            msg = "checking against HeyGen's schemas needs jsonschema (the dev extra)"
            raise ImportError(msg) from exc
        self._validator_for = jsonschema.Draft202012Validator
        self._cache: dict[tuple[str, str], Any] = {}

    def problems(self, operation: Operation, kind: Kind, body: Any) -> list[str]:
        """Every way *body* breaks *operation*'s *kind* schema (empty when valid)."""
        key = (operation.name, kind)
        if key not in self._cache:
            schema = operation.schema(kind)
            self._cache[key] = None if schema is None else self._validator_for(schema)
        validator = self._cache[key]
        if validator is None:
            return []
        return [
            f"{operation.name} {kind} at {error.json_path}: {error.message}"
            for error in validator.iter_errors(body)
        ]
