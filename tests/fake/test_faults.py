"""Scripted faults: every kind, both phases, nth bursts, probability, runtime arming."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from heygen_async.testing import FakeHeyGen, Fault
from tests.helpers.fake import create, get_json, serve, video_body


CREATE = "POST /v3/videos"
ME = "GET /v3/users/me"


async def post_video(session: aiohttp.ClientSession) -> tuple[int, str, bytes]:
    """POST a valid video; return status, content type and raw body."""
    async with session.post("/v3/videos", json=video_body()) as resp:
        assert resp.headers["X-Request-Id"].startswith("req_")
        return resp.status, resp.content_type, await resp.read()


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "internal_error"),
        (502, "internal_error"),
        (503, "internal_error"),
        (504, "gateway_timeout"),
    ],
)
async def test_error_before_changes_nothing(status: int, code: str) -> None:
    """An `error` fault answers the JSON envelope with its status; no job is created."""
    async with serve(
        faults=[Fault(kind="error", route=CREATE, nth=(1,), status=status)]
    ) as (
        fake,
        session,
    ):
        got, content_type, raw = await post_video(session)
        assert (got, content_type) == (status, "application/json")
        error = json.loads(raw)["error"]
        assert error["code"] == code
        assert "FakeHeyGen" in error["message"]
        assert fake.stats.jobs_created == 0
        assert (await post_video(session))[0] == 200
        stats = fake.stats
        assert stats.faults_injected == 1
        assert stats.requests[CREATE] == 2
        assert stats.responses[CREATE] == {status: 1, 200: 1}


async def test_unusual_status_gets_a_generic_page() -> None:
    """A status without a standard phrase still gets a page and an error code."""
    faults = [
        Fault(kind="html", route=ME, nth=(1,), status=599),
        Fault(kind="error", route=ME, nth=(2,), status=418),
    ]
    async with serve(faults=faults) as (_, session):
        async with session.get("/v3/users/me") as resp:
            assert resp.status == 599
            assert await resp.text() == "<html><body><h1>599 Error</h1></body></html>"
        status, body = await get_json(session, "/v3/users/me")
    assert status == 418
    assert body["error"]["code"] == "invalid_request"


async def test_error_code_can_be_chosen() -> None:
    """`code` overrides the default error code."""
    fault = Fault(
        kind="error", route=ME, nth=(1,), status=400, code="resource_limit_reached"
    )
    async with serve(faults=[fault]) as (_, session):
        status, body = await get_json(session, "/v3/users/me")
    assert status == 400
    assert body["error"]["code"] == "resource_limit_reached"


async def test_error_after_creates_the_job() -> None:
    """An after-phase `error` fault lets the job be created, then fails the answer."""
    async with serve(
        faults=[Fault(kind="error", route=CREATE, nth=(1,), phase="after")]
    ) as (
        fake,
        session,
    ):
        assert (await post_video(session))[0] == 503
        assert fake.stats.jobs_created == 1
        assert len(fake.videos) == 1


@pytest.mark.parametrize("phase", ["before", "after"])
async def test_html_gateway_page(phase: str) -> None:
    """An `html` fault answers a gateway HTML page with its status."""
    fault = Fault(kind="html", route=CREATE, nth=(1,), status=502, phase=phase)  # type: ignore[arg-type]
    async with serve(faults=[fault]) as (fake, session):
        status, content_type, raw = await post_video(session)
        assert (status, content_type) == (502, "text/html")
        assert raw == b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        assert fake.stats.jobs_created == (1 if phase == "after" else 0)


@pytest.mark.parametrize("phase", ["before", "after"])
async def test_drop_closes_the_connection(phase: str) -> None:
    """A `drop` fault hangs up unanswered; in the after phase the job exists."""
    fault = Fault(kind="drop", route=CREATE, nth=(1,), phase=phase)  # type: ignore[arg-type]
    async with serve(faults=[fault]) as (fake, session):
        with pytest.raises(
            (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)
        ):
            await post_video(session)
        assert fake.stats.jobs_created == (1 if phase == "after" else 0)
        assert CREATE not in fake.stats.responses
        assert (await post_video(session))[0] == 200


async def test_drop_on_a_get() -> None:
    """aiohttp retries a dropped GET once by itself, so two drops in a row surface."""
    async with serve(faults=[Fault(kind="drop", route=ME, nth=(1, 2))]) as (
        fake,
        session,
    ):
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await get_json(session, "/v3/users/me")
        assert fake.stats.requests[ME] == 2
        status, _ = await get_json(session, "/v3/users/me")
        assert status == 200


@pytest.mark.parametrize("phase", ["before", "after"])
async def test_malformed_body(phase: str) -> None:
    """A `malformed` fault answers 200 JSON that does not parse."""
    fault = Fault(kind="malformed", route=CREATE, nth=(1,), phase=phase)  # type: ignore[arg-type]
    async with serve(faults=[fault]) as (fake, session):
        status, content_type, raw = await post_video(session)
        assert (status, content_type) == (200, "application/json")
        assert raw == b'{"data": {"video_id": '
        with pytest.raises(ValueError, match="Expecting value"):
            json.loads(raw)
        assert fake.stats.jobs_created == (1 if phase == "after" else 0)


async def test_rate_limit_fault_sends_retry_after() -> None:
    """A `rate_limit` fault is a 429 with the fake's Retry-After, or its own."""
    faults = [
        Fault(kind="rate_limit", route=ME, nth=(1,)),
        Fault(
            kind="rate_limit",
            route=ME,
            nth=(2,),
            retry_after=0.25,
            code="quota_exceeded",
        ),
    ]
    async with serve(faults=faults, retry_after=2) as (_, session):
        async with session.get("/v3/users/me") as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "2"
            assert (await resp.json())["error"]["code"] == "rate_limit_exceeded"
        async with session.get("/v3/users/me") as resp:
            assert resp.headers["Retry-After"] == "0.25"
            assert (await resp.json())["error"]["code"] == "quota_exceeded"
        status, _ = await get_json(session, "/v3/users/me")
        assert status == 200


async def test_rate_limit_after_the_job_was_created() -> None:
    """A `rate_limit` fault in the after phase hides a job that was created."""
    fault = Fault(kind="rate_limit", route=CREATE, nth=(1,), phase="after")
    async with serve(faults=[fault]) as (fake, session):
        assert (await post_video(session))[0] == 429
        assert fake.stats.jobs_created == 1


@pytest.mark.parametrize("phase", ["before", "after"])
async def test_slow_delays_the_answer(phase: str) -> None:
    """A `slow` fault waits `delay` seconds and then answers normally."""
    fault = Fault(kind="slow", route=ME, nth=(1,), delay=0.1, phase=phase)  # type: ignore[arg-type]
    async with serve(faults=[fault]) as (_, session):
        loop = asyncio.get_running_loop()
        started = loop.time()
        status, _ = await get_json(session, "/v3/users/me")
        assert status == 200
        assert loop.time() - started >= 0.1
        started = loop.time()
        await get_json(session, "/v3/users/me")
        assert loop.time() - started < 0.1


async def test_nth_burst_counts_only_its_route() -> None:
    """nth=(1, 2, 3) strikes the first three requests to its route, not others."""
    async with serve(faults=[Fault(kind="error", route=CREATE, nth=(1, 2, 3))]) as (
        fake,
        session,
    ):
        assert (await get_json(session, "/v3/users/me"))[0] == 200
        statuses = [(await post_video(session))[0] for _ in range(4)]
        assert statuses == [503, 503, 503, 200]
        assert fake.stats.faults_injected == 3


async def test_route_none_matches_every_api_route_only() -> None:
    """A fault without a route strikes any /v3 route but never /_fake routes."""
    async with serve(faults=[Fault(kind="error", nth=(2, 3))]) as (_, session):
        statuses = [
            (await get_json(session, "/v3/users/me"))[0],
            (await get_json(session, "/_fake/stats"))[0],
            (await get_json(session, "/v3/voices"))[0],
            (await get_json(session, "/v3/no-such-route"))[0],
            (await get_json(session, "/v3/users/me"))[0],
        ]
    assert statuses == [200, 200, 503, 503, 200]


async def _pattern(seed: int) -> list[int]:
    async with serve(
        seed=seed, faults=[Fault(kind="error", route=ME, probability=0.5)]
    ) as (
        _,
        session,
    ):
        return [(await get_json(session, "/v3/users/me"))[0] for _ in range(20)]


async def test_probability_is_seeded() -> None:
    """Random faults strike the same requests for the same seed."""
    first = await _pattern(3)
    assert first == await _pattern(3)
    assert {200, 503} == set(first)
    assert first != await _pattern(4)


async def test_add_fault_counts_from_arming(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """A fault added at runtime counts nth from that moment and is listed in faults."""
    for _ in range(3):
        await create(fake_session)
    fault = Fault(kind="error", route=CREATE, nth=(1,), status=500)
    fake.add_fault(fault)
    assert fake.faults == (fault,)
    assert (await post_video(fake_session))[0] == 500
    assert (await post_video(fake_session))[0] == 200


async def test_first_matching_fault_wins_and_all_count() -> None:
    """When two faults match, the first strikes; both still count the request."""
    faults = [
        Fault(kind="error", route=ME, nth=(1,), status=500),
        Fault(kind="error", route=ME, nth=(1, 2), status=502),
    ]
    async with serve(faults=faults) as (fake, session):
        statuses = [(await get_json(session, "/v3/users/me"))[0] for _ in range(3)]
        assert statuses == [500, 502, 200]
        assert fake.stats.faults_injected == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "explode", "nth": (1,)},
        {"kind": "error", "route": "/v3/videos", "nth": (1,)},
        {"kind": "error", "nth": (0,)},
        {"kind": "error", "nth": (True,)},
        {"kind": "error", "probability": 1.5},
        {"kind": "error", "nth": (1,), "status": 200},
        {"kind": "slow", "nth": (1,), "delay": -1},
        {"kind": "error", "nth": (1,), "phase": "during"},
        {"kind": "rate_limit", "nth": (1,), "retry_after": -1},
        {"kind": "error"},
    ],
)
def test_invalid_faults_are_rejected(kwargs: dict[str, Any]) -> None:
    """Malformed faults, and faults that could never strike, raise ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 - attrs and our validators differ
        Fault(**kwargs)


def test_fault_routes_must_exist() -> None:
    """A route FakeHeyGen does not serve is refused at construction and on add_fault."""
    typo = Fault(kind="error", route="GET /v3/video/{video_id}", nth=(1,))
    with pytest.raises(ValueError, match="not a FakeHeyGen route"):
        FakeHeyGen(faults=[typo])
    with pytest.raises(ValueError, match="GET /v3/videos/statuses"):
        FakeHeyGen().add_fault(typo)
    Fault(kind="error", route="GET /v3/videos/{video_id}", nth=(1,))
