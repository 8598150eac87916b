"""The fake's limits: the concurrency cap, requests per second and credits."""

from __future__ import annotations

import asyncio

from heygen_async.testing import JobPlan
from heygen_async.testing._state import TokenBucket
from tests.helpers.fake import create, get_json, serve, video_body


async def test_concurrency_cap_rejects_then_frees_a_slot() -> None:
    """Over the cap: 429 + Retry-After and no job; a finished render frees a slot."""
    plan = JobPlan(render_seconds=0.2)
    async with serve(
        concurrency_limit=2, retry_after=0.05, job_plan=lambda i, b: plan
    ) as (
        fake,
        session,
    ):
        await create(session)
        await create(session)
        async with session.post("/v3/videos", json=video_body()) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "0.05"
            error = (await resp.json())["error"]
        assert error["code"] == "rate_limit_exceeded"
        assert fake.stats.jobs_created == 2
        assert fake.stats.in_flight == 2
        await asyncio.sleep(0.21)
        assert fake.stats.in_flight == 0
        await create(session)
        stats = fake.stats
        assert stats.jobs_created == 3
        assert stats.peak_in_flight == 2
        assert stats.responses["POST /v3/videos"] == {200: 3, 429: 1}


async def test_deleting_an_unfinished_job_frees_its_slot() -> None:
    """A deleted job stops counting toward the cap at once."""
    async with serve(concurrency_limit=1, render_seconds=10) as (fake, session):
        video_id = await create(session)
        async with session.delete(f"/v3/videos/{video_id}") as resp:
            assert resp.status == 200
        await create(session)
        assert fake.stats.in_flight == 1


async def test_no_concurrency_limit() -> None:
    """concurrency_limit=None admits any number of unfinished jobs."""
    async with serve(concurrency_limit=None, render_seconds=10) as (fake, session):
        for _ in range(15):
            await create(session)
        assert fake.stats.peak_in_flight == 15


async def test_default_cap_is_ten() -> None:
    """The default cap is HeyGen's pay-as-you-go limit of 10, with Retry-After 1."""
    async with serve(render_seconds=10) as (fake, session):
        for _ in range(10):
            await create(session)
        async with session.post("/v3/videos", json=video_body()) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "1"
        assert fake.stats.peak_in_flight == 10


async def test_requests_per_second_limits_api_routes() -> None:
    """Past the token bucket /v3 routes get 429 + Retry-After; /_fake routes do not."""
    async with serve(requests_per_second=10, retry_after=0.5) as (fake, session):
        statuses = []
        for _ in range(12):
            status, body = await get_json(session, "/v3/users/me")
            statuses.append(status)
        assert statuses[:10] == [200] * 10
        assert 429 in statuses[10:]
        assert body["error"]["code"] == "rate_limit_exceeded"
        async with session.get("/v3/users/me") as resp:
            assert resp.headers["Retry-After"] == "0.5"
        for _ in range(5):
            status, _ = await get_json(session, "/_fake/stats")
            assert status == 200
        await asyncio.sleep(0.15)
        status, _ = await get_json(session, "/v3/users/me")
        assert status == 200
        assert fake.stats.responses["GET /v3/users/me"][429] == statuses.count(429) + 1


def test_token_bucket_refills_at_the_rate() -> None:
    """The bucket holds one second's worth and refills continuously."""
    bucket = TokenBucket(rate=10)
    assert all(bucket.take(0.0) for _ in range(10))
    assert not bucket.take(0.0)
    assert bucket.take(0.1)
    assert not bucket.take(0.1)
    slow = TokenBucket(rate=0.5)
    assert slow.capacity == 1
    assert slow.take(0)
    assert not slow.take(1)
    assert slow.take(2)


async def test_credits_run_out_with_402() -> None:
    """Each video costs a credit; at zero a create is 402 insufficient_credit."""
    async with serve(credits=2, concurrency_limit=1, render_seconds=10) as (
        fake,
        session,
    ):
        _, me = await get_json(session, "/v3/users/me")
        assert me["data"]["wallet"]["remaining_balance"] == 2
        await create(session)
        fake.set_credits(0)
        async with session.post("/v3/videos", json=video_body()) as resp:
            assert resp.status == 402
            error = (await resp.json())["error"]
        assert error["code"] == "insufficient_credit"
        assert error["doc_url"].endswith("#insufficient-credit")
        assert fake.stats.jobs_created == 1
        fake.set_credits(1)
        async with session.post("/v3/videos", json=video_body()) as resp:
            assert resp.status == 429  # credits are checked before the cap
        assert fake.credits == 1


async def test_credits_decrease_per_video() -> None:
    """credits counts down as videos are created."""
    async with serve(credits=3) as (fake, session):
        await create(session)
        await create(session)
        assert fake.credits == 1
        _, me = await get_json(session, "/v3/users/me")
        assert me["data"]["wallet"]["remaining_balance"] == 1
