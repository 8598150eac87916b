"""
Drawing bodies from HeyGen's official JSON Schemas, for the contract tests.

Our own small walker rather than ``hypothesis-jsonschema`` (whose object
strategy relies on a Hypothesis internal that no longer exists); it also lets
the tests bias the draw towards nulls, omitted fields and unknown extra keys.
It handles what the contract uses: ``type`` (lists included), ``enum``,
``anyOf``, ``properties``/``required`` and ``items``.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from heygen_async.testing._contract import operations


__all__ = ["enum_sites", "instance", "pin_ids", "response_schema", "strategy"]

_ID = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=12)
_KEY = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(_KEY, inner, max_size=2)
    ),
    max_leaves=4,
)
# Beyond what a timestamp or a 64-bit int can hold, and ordinary values.
_INTEGERS = st.integers(-(2**40), 2**40) | st.integers(-(10**30), 10**30)
_NUMBERS = _INTEGERS | st.floats(allow_nan=False, allow_infinity=False)


def strategy(schema: dict[str, Any], ids: frozenset[str], path: str = "$") -> Any:
    """A hypothesis strategy for plain JSON Schema as the contract uses it."""
    if "anyOf" in schema:
        return st.one_of([strategy(b, ids, path) for b in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kinds = schema.get("type", "object")
    if isinstance(kinds, list):
        return st.one_of([strategy({**schema, "type": k}, ids, path) for k in kinds])
    if kinds == "object":
        return _object(schema, ids, path)
    if kinds == "array":
        items = strategy(schema.get("items", {}), ids, path + "[]")
        return st.lists(items, max_size=3)
    if path in ids:
        return _ID
    return {
        "null": st.none(),
        "string": st.text(max_size=10),
        "integer": _INTEGERS,
        "number": _NUMBERS,
        "boolean": st.booleans(),
    }[kinds]


def _object(schema: dict[str, Any], ids: frozenset[str], path: str) -> Any:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    fields = {
        name: strategy(sub, ids, f"{path}.{name}") for name, sub in properties.items()
    }

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out = {
            name: draw(value)
            for name, value in fields.items()
            if name in required or draw(st.booleans())
        }
        if schema.get("additionalProperties", True) is not False:
            extras = draw(st.dictionaries(_KEY, _JSON, max_size=2))
            out.update({f"x_{k}": v for k, v in extras.items()})
        return out

    return build()


def enum_sites(schema: Any, path: str = "$") -> Iterator[tuple[str, list[Any]]]:
    """Every enum in *schema*, by path."""
    if not isinstance(schema, dict):
        return
    if "enum" in schema:
        yield path, [value for value in schema["enum"] if value is not None]
    for branch in schema.get("anyOf", ()):
        yield from enum_sites(branch, path)
    for name, sub in schema.get("properties", {}).items():
        yield from enum_sites(sub, f"{path}.{name}")
    if "items" in schema:
        yield from enum_sites(schema["items"], path + "[]")


def instance(
    schema: dict[str, Any],
    *,
    nulls: bool = False,
    extras: bool = True,
    enums: dict[str, Any] | None = None,
    path: str = "$",
) -> Any:
    """
    One full instance: every property present, the first enum value (or the
    one *enums* names for that path), with *nulls* every nullable null, and
    with *extras* an unknown key in every object.
    """
    chosen = enums or {}

    def walk(sub: dict[str, Any], at: str) -> Any:
        branches = sub.get("anyOf")
        if branches is not None:
            if nulls and {"type": "null"} in branches:
                return None
            return walk(next(b for b in branches if b != {"type": "null"}), at)
        if "enum" in sub:
            if nulls and None in sub["enum"]:
                return None
            return chosen.get(at, next(v for v in sub["enum"] if v is not None))
        kinds = sub.get("type", "object")
        if isinstance(kinds, list):
            if nulls and "null" in kinds:
                return None
            kinds = next(k for k in kinds if k != "null")
        if kinds == "object":
            properties = sub.get("properties", {})
            out = {name: walk(s, f"{at}.{name}") for name, s in properties.items()}
            return {**out, "x_future": {"nested": [1, None]}} if extras else out
        if kinds == "array":
            return [walk(sub.get("items", {}), at + "[]")]
        if kinds == "string" and at.endswith("_at"):
            return "2026-11-30T12:00:00Z"  # the ISO 8601 the schema describes
        return {"string": "id_1", "integer": 1, "number": 1.5, "boolean": True}[kinds]

    return walk(schema, path)


def response_schema(name: str) -> dict[str, Any]:
    """The operation's response schema with the ``data`` envelope required."""
    schema = operations()[name].schema("response")
    assert schema is not None
    return {**schema, "required": ["data"]}


ID_PATTERN = "^[A-Za-z0-9_-]{1,12}$"


def pin_ids(schema: Any, ids: frozenset[str], path: str = "$") -> Any:
    """
    *schema* with a safe-id ``pattern`` on every path in *ids*.

    The SDK refuses (before any request) an id that is not one path segment;
    ids it sends back in a URL are drawn from that set, as HeyGen's are.
    """
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if path in ids:
        out["pattern"] = ID_PATTERN
    if "anyOf" in out:
        out["anyOf"] = [pin_ids(b, ids, path) for b in out["anyOf"]]
    if "properties" in out:
        out["properties"] = {
            name: pin_ids(sub, ids, f"{path}.{name}")
            for name, sub in out["properties"].items()
        }
    if "items" in out:
        out["items"] = pin_ids(out["items"], ids, path + "[]")
    return out
