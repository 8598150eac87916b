"""The vendored contract loads, converts to valid JSON Schema, and routes requests."""

from __future__ import annotations

import jsonschema
import pytest

from heygen_async.testing._contract import (
    SchemaChecker,
    json_schema,
    operation_for,
    operations,
)


def test_every_operation_converts_to_a_valid_json_schema() -> None:
    ops = operations()
    assert len(ops) == 41
    for op in ops.values():
        for kind in ("request", "response"):
            schema = op.schema(kind)
            if schema is not None:
                jsonschema.Draft202012Validator.check_schema(schema)


def test_nullable_becomes_null() -> None:
    assert json_schema({"type": "string", "nullable": True}) == {
        "type": ["string", "null"]
    }
    assert json_schema({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    assert json_schema({"oneOf": [{"type": "string"}], "nullable": True}) == {
        "anyOf": [{"oneOf": [{"type": "string"}]}, {"type": "null"}]
    }


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/v3/videos/statuses", "VideoStatusesList"),
        ("GET", "/v3/videos/abc", "VideoGet"),
        ("POST", "/v3/videos", "VideoCreate"),
        ("GET", "/v3/avatars/looks/x?y=1", "AvatarLooksGet"),
        ("GET", "/v3/users/me", "UserMeGet"),
    ],
)
def test_operation_for(method: str, path: str, name: str) -> None:
    op = operation_for(method, path)
    assert op is not None
    assert op.name == name


def test_unknown_route_has_no_operation() -> None:
    assert operation_for("GET", "/v3/nothing/here/at/all") is None


def test_checker_reports_the_failed_row_error_as_object() -> None:
    op = operations()["VideoStatusesList"]
    checker = SchemaChecker()
    good = {"data": [{"video_id": "v", "status": "failed", "error": {"code": "x"}}]}
    assert checker.problems(op, "response", good) == []
    bad = {"data": [{"video_id": "v", "status": "failed", "error": "boom"}]}
    assert checker.problems(op, "response", bad)


def test_discriminated_union_accepts_a_body_two_branches_match() -> None:
    # Photo and digital-twin avatars both require type, name and file: a plain
    # oneOf would reject every photo-avatar body.
    op = operations()["AvatarCreate"]
    checker = SchemaChecker()
    body = {"type": "photo", "name": "me", "file": {"type": "url", "url": "https://x"}}
    assert checker.problems(op, "request", body) == []
    assert checker.problems(op, "request", {**body, "type": "nonsense"})
