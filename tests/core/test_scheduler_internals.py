"""The poll loop's levers: hurry, poke, resolve, jitter, closing."""

from __future__ import annotations

import asyncio

import pytest

import heygen_async as hg
from heygen_async._scheduler import Scheduler
from heygen_async.testing import FakeHeyGen
from tests.helpers import req, strict_client


SLOW = hg.PollPolicy(interval_initial=0.01, multiplier=2, interval_max=60, jitter=0)


class Owner:
    """A stand-in for a batch that may be waiting for slots."""

    saturated = False


async def test_hurry_brings_saturated_polls_forward(voice_id: str) -> None:
    """hurry() pulls an owner's distant polls back to the initial interval."""
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        created = await client.create_video(req(voice_id))
        scheduler = Scheduler(client, poll=SLOW)
        owner, other = Owner(), Owner()
        mine = scheduler.watch(created.id, owner=owner)
        theirs = scheduler.watch(created.id, owner=other)
        loop = asyncio.get_running_loop()
        mine.next_poll = theirs.next_poll = loop.time() + 50  # as if backed off
        scheduler.hurry(owner)
        assert mine.next_poll < loop.time() + 1
        assert theirs.next_poll > loop.time() + 40
        await scheduler.aclose()
    with pytest.raises(hg.HeyGenError, match="closed"):
        mine.future.result()


async def test_saturated_owner_caps_backoff(voice_id: str) -> None:
    """While its owner is saturated, a job's interval stops growing."""
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        created = await client.create_video(req(voice_id))
        scheduler = Scheduler(client, poll=SLOW)
        owner = Owner()
        owner.saturated = True
        watch = scheduler.watch(created.id, owner=owner)
        while scheduler.job_polls < 4:
            await asyncio.sleep(0.01)
        assert watch.interval == SLOW.interval_initial
        await scheduler.aclose()


async def test_resolve_completes_without_detail_get(voice_id: str) -> None:
    """A verified completion settles every wait on that video at once."""
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        created = await client.create_video(req(voice_id))
        scheduler = Scheduler(client, poll=SLOW)
        waiting = asyncio.create_task(scheduler.wait(created.id))
        await asyncio.sleep(0)
        video = hg.Video(
            id=created.id, status=hg.VideoStatus.COMPLETED, video_url="https://x/v.mp4"
        )
        assert scheduler.resolve(video)
        assert await waiting == video
        assert not scheduler.resolve(video)  # a duplicate delivery is harmless
        await scheduler.aclose()
    assert "GET /v3/videos/{video_id}" not in fake.stats.requests


async def test_resolve_failed_raises_for_waiters(voice_id: str) -> None:
    """A verified failure fails the wait with the failed video."""
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        created = await client.create_video(req(voice_id))
        scheduler = Scheduler(client, poll=SLOW)
        waiting = asyncio.create_task(scheduler.wait(created.id))
        await asyncio.sleep(0)
        failed = hg.Video(id=created.id, status=hg.VideoStatus.FAILED)
        scheduler.resolve(failed)
        with pytest.raises(hg.VideoFailedError):
            await waiting
        await scheduler.aclose()


async def test_poke_polls_now(voice_id: str) -> None:
    """A hint (or an in-progress resolve) moves the next poll to now."""
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        created = await client.create_video(req(voice_id))
        scheduler = Scheduler(client, poll=SLOW)
        watch = scheduler.watch(created.id)
        watch_poll = watch.next_poll
        assert not scheduler.poke("v_unknown")
        pending = hg.Video(id=created.id, status=hg.VideoStatus.PROCESSING)
        assert scheduler.resolve(pending)
        assert watch.next_poll <= watch_poll
        await scheduler.aclose()


async def test_jitter_spreads_polls(voice_id: str) -> None:
    """Jobs submitted together are polled at jittered times."""
    jittery = hg.PollPolicy(interval_initial=10, jitter=0.5)
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        created = await client.create_video(req(voice_id))
        scheduler = Scheduler(client, poll=jittery)
        watches = [scheduler.watch(created.id) for _ in range(20)]
        times = {w.next_poll for w in watches}
        loop = asyncio.get_running_loop()
        assert len(times) == 20
        assert all(loop.time() + 4 < t < loop.time() + 16 for t in times)
        await scheduler.aclose()


async def test_closed_scheduler_refuses_new_waits(fake: FakeHeyGen) -> None:
    """Waiting on a client whose loop was closed is a clear error."""
    client = strict_client(fake)
    async with client:
        scheduler = client._get_scheduler()
    with pytest.raises(RuntimeError, match="closed"):
        scheduler.watch("v_1")
    with pytest.raises(RuntimeError, match="closed"):
        await client.wait_for_video("v_1")


async def test_wait_forever_when_deadline_none(voice_id: str) -> None:
    """deadline=None waits without a limit (here, until the render ends)."""
    async with FakeHeyGen(render_seconds=0.05) as fake, strict_client(fake) as client:
        created = await client.create_video(req(voice_id))
        video = await client.wait_for_video(created.id, deadline=None)
    assert video.status is hg.VideoStatus.COMPLETED


async def test_resolve_before_watch_settles_the_next_watch() -> None:
    """A delivery that beats its create call settles the wait that follows."""
    async with FakeHeyGen() as fake, strict_client(fake) as client:
        scheduler = Scheduler(client, poll=SLOW)
        video = hg.Video(id="v_early", status=hg.VideoStatus.COMPLETED)
        assert not scheduler.resolve(video)
        assert await scheduler.wait("v_early") == video
        assert not scheduler.resolve(video)  # late repeat of a finished one
        assert "v_early" not in scheduler._early
        assert len(scheduler._settled) == 1
        for i in range(1_005):
            scheduler.resolve(hg.Video(id=f"v_{i}", status=hg.VideoStatus.FAILED))
        assert len(scheduler._early) == 1_000
        assert len(scheduler._settled) == 1
        await scheduler.aclose()
    assert fake.stats.total_requests == 0


async def test_one_jitter_draw_per_tick(voice_id: str) -> None:
    """Jobs polled in the same tick stay together for the next one."""
    jittery = hg.PollPolicy(interval_initial=10, multiplier=1, jitter=0.5)
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        created = await client.create_video(req(voice_id))
        scheduler = Scheduler(client, poll=jittery)
        watches = [scheduler.watch(created.id) for _ in range(10)]
        assert len({w.next_poll for w in watches}) == 10  # first polls spread
        await scheduler._tick(watches)
        assert len({w.next_poll for w in watches}) == 1
        await scheduler.aclose()


def test_webhook_policy_is_a_slow_safety_net() -> None:
    """The webhook cadence polls rarely, and never faster than the default."""
    net = hg.PollPolicy.for_webhooks()
    default = hg.PollPolicy()
    assert net.interval_initial >= 10 * default.interval_initial
    assert net.interval_max > default.interval_max
    assert net.deadline == default.deadline
    assert hg.PollPolicy.for_webhooks(deadline=None).deadline is None


async def test_single_get_fallback_backs_off_once_per_poll(voice_id: str) -> None:
    """Without a bulk endpoint, each single GET grows the interval once."""
    async with (
        FakeHeyGen(render_seconds=30, bulk_statuses=False) as fake,
        strict_client(fake) as client,
    ):
        created = await client.create_video(req(voice_id))
        scheduler = Scheduler(client, poll=SLOW)
        watch = scheduler.watch(created.id)
        async with asyncio.timeout(5):
            while scheduler.detail_calls < 3 or watch.resolving:
                await asyncio.sleep(0.001)
        polls = scheduler.detail_calls
        assert watch.interval == pytest.approx(SLOW.interval_initial * 2**polls)
        await scheduler.aclose()
