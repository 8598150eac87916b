"""
The fake checks its own answers against HeyGen's published schemas.

The fake and the SDK were once written from the same prose, so a wrong shape
in one hid the same wrong shape in the other. With checking on, every JSON
answer on a ``/v3`` route is validated before it leaves: a 2xx against the
operation's official response schema, an error against the error envelope.
A violation is recorded, logged as ``heygen.fake.contract_violation`` and
answered as a 500 instead, so the test that provoked it fails loudly.

Faults that send broken bodies on purpose (``malformed``, ``html``,
``drop``) are not checked, nor is a configured ``in_progress_status`` that
is outside HeyGen's vocabulary: both are deliberate.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Collection, Mapping
from typing import Any

from heygen_async import _log

from ._contract import Operation, SchemaChecker, operation_for


__all__ = [
    "ENV_VAR",
    "ERROR_ENVELOPE",
    "INTENTIONAL_FAULTS",
    "VIOLATION_CODE",
    "ResponseChecker",
    "checking_from_env",
    "violation_message",
    "violations_seen",
]

log = _log.testing_logger

ENV_VAR = "HEYGEN_FAKE_CHECK_RESPONSES"
VIOLATION_CODE = "fake_contract_violation"
INTENTIONAL_FAULTS = frozenset({"malformed", "html", "drop"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_STANDARD_IN_PROGRESS = "processing"
_SHOWN = 5

# NOT HeyGen's schema: HeyGen publishes none for error bodies. This is the
# envelope its docs describe (``code`` and ``message`` required; ``param`` and
# ``doc_url`` optional strings or null), in the same OpenAPI dialect.
ERROR_ENVELOPE: Mapping[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "minLength": 1},
                "message": {"type": "string", "minLength": 1},
                "param": {"type": "string", "nullable": True},
                "doc_url": {"type": "string", "nullable": True},
            },
        }
    },
}
_ERROR_OPERATION = Operation(
    name="ErrorEnvelope (documented prose, not a HeyGen schema)",
    method="*",
    path="*",
    response=ERROR_ENVELOPE,
)

# Every violation any fake in this process has found, so a test harness can
# fail a test whose client swallowed the 500 (by retrying, say).
_SEEN: list[str] = []


@functools.cache
def _schemas() -> SchemaChecker:
    # One checker per process: its compiled validators serve every fake.
    return SchemaChecker()


def violations_seen() -> int:
    """How many violations every fake in this process has found so far."""
    return len(_SEEN)


def checking_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``HEYGEN_FAKE_CHECK_RESPONSES`` asks for checking."""
    env = os.environ if environ is None else environ
    return env.get(ENV_VAR, "").strip().lower() in _TRUE


class ResponseChecker:
    """Validate one fake's answers; keeps what it found in :attr:`violations`."""

    def __init__(self, *, tolerated_statuses: Collection[str] = ()) -> None:
        self._schemas = _schemas()
        self._tolerated = frozenset(tolerated_statuses) - {_STANDARD_IN_PROGRESS}
        self.violations: list[str] = []

    def check(
        self, method: str, path: str, status: int, content_type: str, body: bytes
    ) -> list[str]:
        """Every problem with this answer (empty when it conforms); records them."""
        problems = self._problems(method, path, status, content_type, body)
        if problems:
            where = f"{method} {path} -> {status}"
            found = [f"{where}: {problem}" for problem in problems]
            self.violations.extend(found)
            _SEEN.extend(found)
            log.error(
                "heygen.fake.contract_violation route=%s problems=%s", where, problems
            )
        return problems

    def _problems(
        self, method: str, path: str, status: int, content_type: str, body: bytes
    ) -> list[str]:
        if content_type != "application/json":
            return [f"content type is {content_type!r}, not application/json"]
        try:
            parsed = json.loads(body)
        except ValueError:
            return ["body is not valid JSON"]
        if status >= 400:
            return self._schemas.problems(_ERROR_OPERATION, "response", parsed)
        operation = operation_for(method, path)
        if operation is None:
            return [f"HeyGen's contract has no operation {method} {path}"]
        if not isinstance(parsed, dict) or "data" not in parsed:
            return ["a success body must be a JSON object with 'data'"]
        return self._schemas.problems(operation, "response", self._tolerate(parsed))

    def _tolerate(self, value: Any) -> Any:
        # A configured off-vocabulary in-progress status is a deliberate drift
        # (it tests clients that treat unknown statuses as pending).
        if not self._tolerated:
            return value
        if isinstance(value, list):
            return [self._tolerate(item) for item in value]
        if not isinstance(value, dict):
            return value
        return {
            key: _STANDARD_IN_PROGRESS
            if key == "status" and item in self._tolerated
            else self._tolerate(item)
            for key, item in value.items()
        }


def violation_message(problems: list[str]) -> str:
    """The 500's message: the first few problems, and how many more."""
    shown = "; ".join(problems[:_SHOWN])
    more = len(problems) - _SHOWN
    suffix = f" (and {more} more)" if more > 0 else ""
    return f"fake response violates HeyGen's schema: {shown}{suffix}"
