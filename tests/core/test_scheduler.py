"""The shared poll loop: wait_for_video and render against the fake server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

import heygen_async as hg
from heygen_async.testing import FakeHeyGen, Fault, JobPlan
from tests.helpers import req, strict_client


async def create_many(client: hg.Client, voice_id: str, n: int) -> list[str]:
    """Create *n* videos and return their ids."""
    created = await asyncio.gather(
        *(client.create_video(req(voice_id, i)) for i in range(n))
    )
    return [c.id for c in created]


@pytest.fixture(name="big_fake")
async def _big_fake() -> AsyncIterator[FakeHeyGen]:
    async with FakeHeyGen(
        render_seconds=(0.05, 0.15), concurrency_limit=None, seed=7
    ) as fake:
        yield fake


async def test_many_waiters_share_bulk_calls(
    big_fake: FakeHeyGen, voice_id: str
) -> None:
    """250 waiters cost bulk status calls of <=100 ids and one detail GET each."""
    async with strict_client(big_fake) as client:
        ids = await create_many(client, voice_id, 250)
        videos = await asyncio.gather(*(client.wait_for_video(i) for i in ids))
    assert {v.id for v in videos} == set(ids)
    assert all(v.video_url for v in videos)
    stats = big_fake.stats
    assert stats.requests["GET /v3/videos/{video_id}"] == 250
    statuses = stats.responses["GET /v3/videos/statuses"]
    assert set(statuses) == {200}  # the fake answers 400 above 100 ids
    # 250 jobs polled ~10 times each would be 2,500 GETs per job-poll; the
    # bulk endpoint needs a few calls per tick instead.
    assert statuses[200] < 250


async def test_falls_back_to_single_gets_without_bulk_endpoint(voice_id: str) -> None:
    """A 404 from the bulk endpoint switches the loop to single GETs."""
    async with FakeHeyGen(render_seconds=0.05, bulk_statuses=False) as fake:
        async with strict_client(fake) as client:
            ids = await create_many(client, voice_id, 5)
            videos = await asyncio.gather(*(client.wait_for_video(i) for i in ids))
        assert all(v.status is hg.VideoStatus.COMPLETED for v in videos)
        stats = fake.stats
    assert stats.requests["GET /v3/videos/statuses"] == 1
    assert stats.requests["GET /v3/videos/{video_id}"] >= 5


async def test_render_creates_and_waits(fake: FakeHeyGen, voice_id: str) -> None:
    """render() returns the completed video with a downloadable URL."""
    async with strict_client(fake) as client:
        video = await client.render(req(voice_id))
    assert video.status is hg.VideoStatus.COMPLETED
    assert video.video_url is not None
    assert fake.stats.jobs_created == 1


async def test_failed_render_raises_with_video(voice_id: str) -> None:
    """A failed render raises VideoFailedError carrying the failed video."""
    plan = JobPlan(
        render_seconds=0.02, fail=True, failure_code=None, failure_message=None
    )
    async with FakeHeyGen(job_plan=lambda _i, _body: plan) as fake:
        async with strict_client(fake) as client:
            with pytest.raises(hg.VideoFailedError) as info:
                await client.render(req(voice_id))
    assert info.value.video.status is hg.VideoStatus.FAILED
    assert info.value.video.failure_code is None


async def test_deadline_raises_wait_timeout_with_id(voice_id: str) -> None:
    """Our deadline raises WaitTimeoutError carrying the id and last status."""
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        created = await client.create_video(req(voice_id))
        with pytest.raises(hg.WaitTimeoutError) as info:
            await client.wait_for_video(created.id, deadline=0.05)
    assert info.value.video_id == created.id
    assert info.value.last_status in (
        hg.VideoStatus.PENDING,
        hg.VideoStatus.PROCESSING,
    )


async def test_unknown_status_keeps_polling(voice_id: str) -> None:
    """A status the SDK does not know counts as in progress, not an error."""
    async with (
        FakeHeyGen(render_seconds=0.1, in_progress_status="rendering_v9") as fake,
        strict_client(fake) as client,
    ):
        video = await client.render(req(voice_id))
    assert video.status is hg.VideoStatus.COMPLETED


async def test_shared_retry_after_pauses_every_caller(voice_id: str) -> None:
    """A Retry-After on a poll holds back every other request of the client."""
    pause = 0.2
    fault = Fault(
        kind="rate_limit", route="GET /v3/videos/statuses", nth=(1,), retry_after=pause
    )
    async with FakeHeyGen(render_seconds=0.5, faults=[fault]) as fake:
        async with strict_client(fake) as client:
            created = await client.create_video(req(voice_id))
            waiting = asyncio.create_task(client.wait_for_video(created.id))
            throttle = client._throttle
            async with asyncio.timeout(2):
                while throttle.delay() == 0:  # until the 429 has been handled
                    await asyncio.sleep(0.002)
            not_before = throttle.not_before
            assert not_before - time.monotonic() > pause / 2
            await client.get_me()  # an unrelated call must wait out the pause
            assert time.monotonic() >= not_before
            await waiting


async def test_cancelled_wait_leaves_no_tasks(voice_id: str) -> None:
    """Cancelling a waiter and closing the client leaves no task behind."""
    async with FakeHeyGen(render_seconds=30) as fake:
        client = strict_client(fake)
        async with client:
            created = await client.create_video(req(voice_id))
            waiting = asyncio.create_task(client.wait_for_video(created.id))
            await asyncio.sleep(0.02)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert client._scheduler is not None
            assert client._scheduler.watching == 0
    assert not asyncio.all_tasks() - {asyncio.current_task()}


async def test_close_fails_pending_waits(voice_id: str) -> None:
    """Closing the client while a wait is pending fails it clearly."""
    async with FakeHeyGen(render_seconds=30) as fake:
        client = strict_client(fake)
        async with client:
            created = await client.create_video(req(voice_id))
            waiting = asyncio.create_task(client.wait_for_video(created.id))
            await asyncio.sleep(0.02)
        with pytest.raises(hg.HeyGenError, match="closed"):
            await waiting


async def test_close_wakes_waiters_after_it_returns(fake: FakeHeyGen) -> None:
    """aclose() fails pending waits last, without running their waiters:
    with 100,000 of them, waking them is not part of closing."""
    client = strict_client(fake)
    waits = [asyncio.create_task(client.wait_for_video(f"v_{i}")) for i in range(50)]
    await asyncio.sleep(0)
    await client.aclose()
    assert client._owned_session is not None
    assert client._owned_session.closed
    assert not any(w.done() for w in waits)
    results = await asyncio.gather(*waits, return_exceptions=True)
    assert all(isinstance(r, hg.HeyGenError) for r in results)
    assert all("closed while waiting" in str(r) for r in results)


async def test_cancelled_close_still_fails_pending_waits(fake: FakeHeyGen) -> None:
    """A close cancelled midway still ends every wait: none hangs forever."""
    client = strict_client(fake)
    waiting = asyncio.create_task(client.wait_for_video("v_1"))
    await asyncio.sleep(0)
    client._close_callbacks.append(asyncio.Event().wait)  # never returns
    closing = asyncio.create_task(client.aclose())
    await asyncio.sleep(0.01)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    with pytest.raises(hg.HeyGenError, match="closed"):
        await asyncio.wait_for(waiting, 1)
    assert client._owned_session is not None
    await client._owned_session.close()  # the cancelled close left it open


async def test_not_found_video_fails_after_grace(fake: FakeHeyGen) -> None:
    """An id the server never knew fails with NotFoundError, not a hang."""
    async with strict_client(fake) as client:
        with pytest.raises(hg.NotFoundError):
            await client.wait_for_video("v_does_not_exist")


async def test_poll_errors_are_retried_later(voice_id: str) -> None:
    """A bulk call that keeps failing does not fail the wait; later polls do."""
    fault = Fault(
        kind="error",
        status=503,
        route="GET /v3/videos/statuses",
        nth=tuple(range(1, 9)),
    )
    async with FakeHeyGen(render_seconds=0.05, faults=[fault]) as fake:
        async with strict_client(fake, retry=hg.RetryPolicy(attempts=1)) as client:
            video = await client.render(req(voice_id))
    assert video.status is hg.VideoStatus.COMPLETED


async def test_auth_error_during_poll_fails_waiters(voice_id: str) -> None:
    """A 401 while polling fails the wait instead of retrying forever."""
    async with FakeHeyGen(render_seconds=30) as fake:
        async with strict_client(fake) as client:
            created = await client.create_video(req(voice_id))
        async with strict_client(fake, api_key="wrong-key") as other:
            with pytest.raises(hg.AuthenticationError):
                await other.wait_for_video(created.id)


async def test_single_get_errors_are_retried_later(voice_id: str) -> None:
    """A failing single GET for a finished render is asked again, not failed."""
    fault = Fault(
        kind="error", status=503, route="GET /v3/videos/{video_id}", nth=(1, 2)
    )
    async with FakeHeyGen(render_seconds=0.02, faults=[fault]) as fake:
        async with strict_client(fake, retry=hg.RetryPolicy(attempts=1)) as client:
            video = await client.render(req(voice_id))
        stats = fake.stats
    assert video.status is hg.VideoStatus.COMPLETED
    assert stats.requests["GET /v3/videos/{video_id}"] == 3
