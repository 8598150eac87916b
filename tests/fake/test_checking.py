"""The fake checks its own answers against HeyGen's official schemas."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from heygen_async.testing import FakeHeyGen, Fault, JobPlan
from heygen_async.testing._conformance import (
    ENV_VAR,
    ResponseChecker,
    checking_from_env,
    violation_message,
    violations_seen,
)
from heygen_async.testing._faults import FaultKind
from tests.helpers.fake import create, get_json, serve


ROOT = Path(__file__).resolve().parents[2]


def broken_plan(_index: int, _body: object) -> JobPlan:
    """A job whose failure code is a number: HeyGen's schema says string."""
    return JobPlan(render_seconds=0, fail=True, failure_code=7)  # type: ignore[arg-type]


def test_the_suite_turns_checking_on() -> None:
    """conftest sets the variable, so every fake here (subprocesses too) checks."""
    assert os.environ[ENV_VAR] == "1"
    assert FakeHeyGen().check_responses is True
    assert FakeHeyGen(check_responses=False).check_responses is False


def test_checking_follows_the_environment_when_not_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Off by default for users; on for 1/true/yes/on."""
    monkeypatch.delenv(ENV_VAR)
    assert FakeHeyGen().check_responses is False
    assert FakeHeyGen(check_responses=True).check_responses is True
    for value in ("1", "true", "YES", " on "):
        assert checking_from_env({ENV_VAR: value})
    for value in ("", "0", "no", "off"):
        assert not checking_from_env({ENV_VAR: value})


@pytest.mark.contract_violations_expected
async def test_a_violation_becomes_a_loud_500(caplog: pytest.LogCaptureFixture) -> None:
    """A schema-breaking answer is replaced by a 500, logged and recorded."""
    before = violations_seen()
    caplog.set_level(logging.ERROR, logger="heygen_async.testing")
    async with serve(job_plan=broken_plan, check_responses=True) as (fake, session):
        video_id = await create(session)
        status, body = await get_json(session, f"/v3/videos/{video_id}")
        stats = fake.stats
        violations = fake.contract_violations
    assert status == 500
    assert body["error"]["code"] == "fake_contract_violation"
    assert body["error"]["message"].startswith(
        "fake response violates HeyGen's schema: VideoGet response at "
        "$.data.failure_code: 7 is not of type"
    )
    assert len(violations) == 1
    assert violations[0].startswith(f"GET /v3/videos/{video_id} -> 200: VideoGet")
    assert stats.contract_violations == 1
    assert stats.to_json()["contract_violations"] == 1
    assert stats.responses["GET /v3/videos/{video_id}"] == {500: 1}
    assert violations_seen() == before + 1
    assert "heygen.fake.contract_violation" in caplog.text


async def test_without_checking_the_broken_answer_goes_out() -> None:
    """The same answer passes through untouched when checking is off."""
    async with serve(job_plan=broken_plan, check_responses=False) as (fake, session):
        video_id = await create(session)
        status, body = await get_json(session, f"/v3/videos/{video_id}")
        assert fake.contract_violations == ()
        assert fake.stats.contract_violations == 0
    assert status == 200
    assert body["data"]["failure_code"] == 7


@pytest.mark.parametrize("kind", ["malformed", "html"])
async def test_deliberately_broken_faults_are_not_flagged(kind: FaultKind) -> None:
    """malformed and html faults are meant to break the contract."""
    fault = Fault(kind=kind, route="GET /v3/users/me", nth=(1,), status=502)
    async with serve(faults=[fault], check_responses=True) as (fake, session):
        async with session.get("/v3/users/me") as resp:
            assert resp.status in (200, 502)
        assert fake.contract_violations == ()


async def test_an_off_vocabulary_in_progress_status_is_tolerated() -> None:
    """in_progress_status outside HeyGen's enum is a deliberate drift, not a bug."""
    plan = JobPlan(render_seconds=1.0)
    async with serve(
        in_progress_status="rendering_v9",
        job_plan=lambda _i, _b: plan,
        check_responses=True,
    ) as (fake, session):
        video_id = await create(session)
        await asyncio.sleep(0.25)  # past the pending fifth of the render
        status, body = await get_json(session, f"/v3/videos/{video_id}")
        assert fake.contract_violations == ()
    assert (status, body["data"]["status"]) == (200, "rendering_v9")


def _check(
    checker: ResponseChecker,
    status: int,
    body: object,
    *,
    path: str = "/v3/users/me",
    content_type: str = "application/json",
) -> list[str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return checker.check("GET", path, status, content_type, raw)


@pytest.mark.contract_violations_expected
def test_checker_in_isolation() -> None:
    """Errors follow the documented envelope; success bodies need data."""
    checker = ResponseChecker()
    error = {"error": {"code": "not_found", "message": "Nope.", "param": None}}
    assert _check(checker, 404, error) == []
    assert (
        _check(
            checker,
            200,
            {
                "data": {
                    "username": "u",
                    "email": None,
                    "first_name": None,
                    "last_name": None,
                }
            },
        )
        == []
    )
    missing = "$.error: 'message' is a required property"
    assert _check(checker, 404, {"error": {"code": "not_found"}}) == [
        f"ErrorEnvelope (documented prose, not a HeyGen schema) response at {missing}"
    ]
    assert _check(checker, 500, {"detail": "x"})
    assert _check(checker, 200, {"username": "u"}) == [
        "a success body must be a JSON object with 'data'"
    ]
    assert _check(checker, 200, b"{", content_type="application/json") == [
        "body is not valid JSON"
    ]
    assert _check(checker, 200, b"<p>", content_type="text/html") == [
        "content type is 'text/html', not application/json"
    ]
    assert _check(checker, 200, {"data": {}}, path="/v3/nothing/here/at/all") == [
        "HeyGen's contract has no operation GET /v3/nothing/here/at/all"
    ]
    assert len(checker.violations) == 6


def test_violation_message_shows_five_problems() -> None:
    """The 500's message lists at most five problems and counts the rest."""
    assert violation_message(["a"]) == "fake response violates HeyGen's schema: a"
    assert violation_message(list("abcdefg")).endswith("a; b; c; d; e (and 2 more)")


_GUARDED = """
from heygen_async.testing import FakeHeyGen, JobPlan


def plan(_index, _body):
    return JobPlan(render_seconds=0, fail=True, failure_code=7)


async def test_swallows_the_500():
    import aiohttp

    async with FakeHeyGen(job_plan=plan) as fake:
        headers = {"x-api-key": fake.api_key}
        async with aiohttp.ClientSession(fake.url, headers=headers) as session:
            body = {"image_url": "https://e.com/p.jpg", "script": "Hi",
                    "voice_id": "%s"}
            async with session.post("/v3/videos", json=body) as resp:
                video_id = (await resp.json())["data"]["video_id"]
            async with session.get(f"/v3/videos/{video_id}") as resp:
                assert resp.status == 500  # a client that retried would not see it
"""


@pytest.mark.slow
def test_a_test_that_swallows_a_violation_still_fails(
    tmp_path: Path, voice_id: str
) -> None:
    """The suite's guard fails a test during which any fake broke the schema."""
    (tmp_path / "test_guarded.py").write_text(textwrap.dedent(_GUARDED % voice_id))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(ENV_VAR, None)  # the conftest plugin must set it by itself
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.conftest",
            "-o",
            "asyncio_mode=auto",
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            str(tmp_path / "test_guarded.py"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error" in result.stdout, result.stdout
    assert "violated HeyGen's schema" in result.stdout
