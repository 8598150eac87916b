"""Batches: admission control, outcomes in completion order, clean lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import heygen_async as hg
from heygen_async._batch.admission import Admission
from heygen_async._batch.outcomes import of_watch
from heygen_async.testing import FakeHeyGen, Fault, JobPlan
from tests.helpers import png, req, strict_client


async def test_outcomes_arrive_in_completion_order(voice_id: str) -> None:
    """
    as_completed yields each outcome once its render is done, without waiting
    for slower jobs: the quick renders come out while the slow one still runs.

    Only that is promised ("as soon as it is known"): jobs finishing within a
    poll of each other may come out in either order, so their order is not
    asserted.
    """
    slow, quick = 1.0, 0.05

    def plan(index: int, _body: Mapping[str, Any]) -> JobPlan:
        return JobPlan(render_seconds=slow if index == 0 else quick)

    loop = asyncio.get_running_loop()
    async with FakeHeyGen(job_plan=plan, concurrency_limit=None) as fake:
        async with strict_client(fake) as client:
            async with client.batch(max_in_flight=10) as batch:
                for i in range(5):
                    batch.submit(req(voice_id, i), tag=i)
                arrivals = []
                async for outcome in batch.as_completed():
                    assert isinstance(outcome, hg.Completed)
                    arrivals.append((outcome.video.id, loop.time()))
        finishes = {v.id: v.finishes_mono for v in fake.videos.values()}
        [slow_id] = [v.id for v in fake.videos.values() if v.index == 0]
    assert all(at >= finishes[video_id] for video_id, at in arrivals)
    *early, (last_id, _) = arrivals
    assert last_id == slow_id
    assert all(at < finishes[slow_id] for _, at in early)


async def test_cap_is_never_exceeded(voice_id: str) -> None:
    """At most max_in_flight jobs run at once, and the server never says 429."""
    async with FakeHeyGen(
        render_seconds=(0.01, 0.05), concurrency_limit=4, seed=3
    ) as fake:
        async with strict_client(fake) as client:
            async with client.batch(max_in_flight=4) as batch:
                for i in range(40):
                    batch.submit(req(voice_id, i), tag=i)
                outcomes = [o async for o in batch.as_completed()]
        stats = fake.stats
    assert len(outcomes) == 40
    assert all(isinstance(o, hg.Completed) for o in outcomes)
    assert stats.peak_in_flight <= 4
    assert 429 not in stats.responses["POST /v3/videos"]


async def test_rate_limited_create_is_requeued_not_lost(voice_id: str) -> None:
    """A 429 on create requeues the job, lowers the limit, and pays once."""
    async with FakeHeyGen(
        render_seconds=(0.02, 0.06), concurrency_limit=3, retry_after=0.01, seed=5
    ) as fake:
        async with strict_client(fake) as client:
            async with client.batch(max_in_flight=8) as batch:
                for i in range(30):
                    batch.submit(req(voice_id, i), tag=i)
                outcomes = [o async for o in batch.as_completed()]
                limit = batch.stats().limit
        stats = fake.stats
    assert sorted(o.tag for o in outcomes) == list(range(30))
    assert all(isinstance(o, hg.Completed) for o in outcomes)
    assert stats.responses["POST /v3/videos"][429] >= 1
    assert stats.jobs_created == 30
    assert stats.duplicate_jobs == 0
    assert limit < 8


async def test_insufficient_credit_stops_admission(voice_id: str) -> None:
    """402 stops admission; the rest are Failed without being sent."""
    async with FakeHeyGen(render_seconds=0.02, credits=3) as fake:
        async with strict_client(fake) as client:
            async with client.batch(max_in_flight=1) as batch:
                for i in range(10):
                    batch.submit(req(voice_id, i), tag=i)
                outcomes = [o async for o in batch.as_completed()]
                late = batch.submit(req(voice_id, 99), tag=99)
                assert isinstance(await late, hg.Failed)
        stats = fake.stats
    completed = [o for o in outcomes if isinstance(o, hg.Completed)]
    failed = [o for o in outcomes if isinstance(o, hg.Failed)]
    assert len(completed) == 3
    assert len(failed) == 7
    assert all(isinstance(o.error, hg.InsufficientCreditError) for o in failed)
    assert stats.requests["POST /v3/videos"] == 4
    assert stats.jobs_created == 3


async def test_deadline_gives_timed_out_with_id(voice_id: str) -> None:
    """A job past its deadline is TimedOut with its video id, resumable later."""
    poll = hg.PollPolicy.for_testing(deadline=0.05)
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        async with client.batch(poll=poll) as batch:
            handle = batch.submit(req(voice_id), tag="slow")
            outcome = await handle
    assert isinstance(outcome, hg.TimedOut)
    assert outcome.video_id is not None
    assert outcome.video_id == handle.video_id
    assert outcome.tag == "slow"


async def test_batch_deadline_times_out_unsent_jobs(voice_id: str) -> None:
    """Jobs still queued at the batch deadline are TimedOut without an id."""
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        async with client.batch(max_in_flight=1, deadline=0.1) as batch:
            for i in range(3):
                batch.submit(req(voice_id, i), tag=i)
            outcomes = [o async for o in batch.as_completed()]
            late = batch.submit(req(voice_id, 9))
            assert isinstance(await late, hg.TimedOut)
    assert all(isinstance(o, hg.TimedOut) for o in outcomes)
    assert sum(o.video_id is None for o in outcomes if isinstance(o, hg.TimedOut)) == 2
    assert fake.stats.jobs_created == 1


async def test_failures_are_outcomes(voice_id: str) -> None:
    """A failed render and a rejected request are Failed outcomes, not raises."""
    plan = JobPlan(render_seconds=0.02, fail=True)
    async with FakeHeyGen(job_plan=lambda _i, _b: plan) as fake:
        async with strict_client(fake) as client:
            async with client.batch() as batch:
                rendered = batch.submit(req(voice_id), tag="render")
                rejected = batch.submit(
                    hg.VideoRequest(
                        image_url="https://example.com/a.jpg",
                        script="hi",
                        voice_id="no-such-voice",
                    ),
                    tag="reject",
                )
            first, second = await rendered, await rejected
    assert isinstance(first, hg.Failed)
    assert first.video is not None
    assert isinstance(first.error, hg.VideoFailedError)
    assert isinstance(second, hg.Failed)
    assert second.video is None
    assert isinstance(second.error, hg.BadRequestError)


async def test_slow_consumer_pauses_admission(voice_id: str) -> None:
    """Unread outcomes beyond the buffer hold back new submissions."""
    async with FakeHeyGen(render_seconds=0.01, concurrency_limit=None) as fake:
        async with strict_client(fake) as client:
            async with client.batch(max_in_flight=2, outcome_buffer=2) as batch:
                for i in range(12):
                    batch.submit(req(voice_id, i))
                seen = 0
                async for _ in batch.as_completed():
                    seen += 1
                    if seen == 1:
                        await asyncio.sleep(0.3)  # a slow consumer
                        stats = batch.stats()
                        assert stats.queued >= 6
    assert seen == 12


async def test_block_exception_cancels_cleanly(voice_id: str) -> None:
    """An exception inside the block cancels jobs and leaves no tasks."""
    async with FakeHeyGen(render_seconds=30) as fake:
        client = strict_client(fake)
        handles: list[hg.JobHandle] = []

        async def crash() -> None:
            async with client.batch(max_in_flight=2) as batch:
                handles.extend(batch.submit(req(voice_id, i)) for i in range(5))
                while batch.stats().in_flight < 2:
                    await asyncio.sleep(0.005)
                raise RuntimeError("boom")

        async with client:
            with pytest.raises(RuntimeError, match="boom"):
                await crash()
            assert len(handles) == 5
            assert all(h.outcome is None for h in handles)
            assert client._scheduler is not None
            assert client._scheduler.watching == 0
    assert not asyncio.all_tasks() - {asyncio.current_task()}


async def test_image_paths_upload_once_per_content(
    tmp_path: Path, voice_id: str
) -> None:
    """Local images upload just before submission, once per distinct content."""
    paths = []
    for i in range(6):
        path = tmp_path / f"photo-{i}.png"
        path.write_bytes(png(0) if i % 2 else png(i + 1))
        paths.append(path)
    async with FakeHeyGen(render_seconds=0.01, concurrency_limit=None) as fake:
        async with strict_client(fake) as client:
            async with client.batch(max_in_flight=3) as batch:
                for i, path in enumerate(paths):
                    batch.submit(
                        hg.VideoRequest(
                            image_path=path, script=f"hi {i}", voice_id=voice_id
                        ),
                        tag=path,
                    )
                outcomes = [o async for o in batch.as_completed()]
        stats = fake.stats
    assert all(isinstance(o, hg.Completed) for o in outcomes)
    assert stats.uploads == 4  # three odd paths share one content
    assert stats.jobs_created == 6


async def test_thousand_jobs_five_percent_failures(voice_id: str) -> None:
    """1,000 jobs with a 5% failure rate yield exactly 1,000 outcomes."""
    async with FakeHeyGen(
        render_seconds=(0.01, 0.05), failure_rate=0.05, concurrency_limit=100, seed=11
    ) as fake:
        async with strict_client(fake) as client:
            async with client.batch(max_in_flight=100) as batch:
                for i in range(1000):
                    batch.submit(req(voice_id, i), tag=i)
                outcomes = [o async for o in batch.as_completed()]
                stats = batch.stats()
        fake_stats = fake.stats
    assert len(outcomes) == 1000
    assert len({o.tag for o in outcomes}) == 1000
    failed = sum(isinstance(o, hg.Failed) for o in outcomes)
    assert 20 <= failed <= 90
    assert stats.completed + stats.failed == 1000
    assert fake_stats.jobs_created == 1000
    assert fake_stats.duplicate_jobs == 0
    assert fake_stats.peak_in_flight <= 100


CREATE = "POST /v3/videos"


async def test_malformed_answer_after_create_still_completes(voice_id: str) -> None:
    """An unreadable 200 on a create is asked again with its key, not failed."""
    async with FakeHeyGen(render_seconds=0.02) as fake:
        # More malformed answers than one call's own retries absorb.
        fake.add_fault(
            Fault(kind="malformed", route=CREATE, nth=range(1, 7), phase="after")
        )
        async with strict_client(fake) as client:
            async with client.batch() as batch:
                handle = batch.submit(req(voice_id), tag="x")
                outcomes = [o async for o in batch.as_completed()]
                queued = batch.stats().queued
    assert [type(o) for o in outcomes] == [hg.Completed]
    assert handle.video_id is not None
    assert queued == 0
    assert fake.stats.jobs_created == 1
    assert fake.stats.duplicate_jobs == 0


async def test_request_in_progress_is_waited_out(voice_id: str) -> None:
    """409 request_in_progress, however long, never fails the job."""
    in_progress = Fault(
        kind="error",
        status=409,
        code="request_in_progress",
        route=CREATE,
        nth=range(1, 15),
    )
    # The client's own patience runs out first: the batch keeps the job.
    brief = hg.RetryPolicy(
        wait_initial=0.001, wait_max=0.005, in_progress_patience=0.01
    )
    async with FakeHeyGen(render_seconds=0.02, faults=[in_progress]) as fake:
        async with strict_client(fake, retry=brief) as client:
            async with client.batch() as batch:
                batch.submit(req(voice_id), tag="x")
                outcomes = [o async for o in batch.as_completed()]
    assert [type(o) for o in outcomes] == [hg.Completed]
    assert fake.stats.jobs_created == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="malformed", route=CREATE, probability=1.0, phase="after"),
        Fault(kind="drop", route=CREATE, probability=1.0, phase="after"),
        Fault(kind="html", status=502, route=CREATE, probability=1.0),
    ],
    ids=["malformed", "drop", "html-502"],
)
async def test_unanswered_create_ends_timed_out_never_failed(
    voice_id: str, fault: Fault
) -> None:
    """A create that never gets a definite answer is left pending, resumable."""
    store = hg.MemoryStore()
    async with FakeHeyGen(render_seconds=0.02) as fake:
        fake.add_fault(fault)
        async with strict_client(fake) as client:
            async with client.batch(store=store) as batch:
                handle = batch.submit(req(voice_id), tag="x")
            assert batch.stats().queued == 0
    outcome = await handle
    assert isinstance(outcome, hg.TimedOut)
    assert outcome.video_id is None
    records = await store.load()
    assert [(r.key, r.outcome, r.video_id) for r in records] == [
        (handle.key, "timed_out", None)
    ]


async def test_unanswered_create_stops_at_the_batch_deadline(voice_id: str) -> None:
    """The asking again stays within the batch's deadline."""
    fault = Fault(kind="error", status=503, route=CREATE, probability=1.0)
    slow = hg.PollPolicy(interval_initial=30, interval_max=30, deadline=None)
    async with FakeHeyGen(render_seconds=0.02, faults=[fault]) as fake:
        async with strict_client(fake) as client:
            loop = asyncio.get_running_loop()
            started = loop.time()
            async with client.batch(deadline=0.2, poll=slow) as batch:
                handle = batch.submit(req(voice_id), tag="x")
            elapsed = loop.time() - started
    assert isinstance(handle.outcome, hg.TimedOut)
    assert elapsed < 5


async def test_out_of_credit_still_asks_about_unanswered_creates(
    voice_id: str,
) -> None:
    """After a 402, a job that may exist is asked about again, not refused."""
    faults = [
        # The first create is made (and billed) but its answer stays
        # unreadable through every try of the call; the second is slow to be
        # refused, so the first waits in the queue meanwhile.
        Fault(kind="malformed", route=CREATE, nth=range(1, 5), phase="after"),
        Fault(kind="slow", route=CREATE, nth=(5,), delay=0.1),
    ]
    async with FakeHeyGen(render_seconds=0.02, credits=1, faults=faults) as fake:
        async with strict_client(fake) as client:
            async with client.batch(max_in_flight=1) as batch:
                first = batch.submit(req(voice_id, 1), tag=1)
                second = batch.submit(req(voice_id, 2), tag=2)
    assert isinstance(first.outcome, hg.Completed)
    assert isinstance(second.outcome, hg.Failed)
    assert isinstance(second.outcome.error, hg.InsufficientCreditError)
    assert fake.stats.jobs_created == 1


async def test_a_lost_watch_is_resumable_not_failed(voice_id: str) -> None:
    """A created video we stop watching (a rejected key) is TimedOut, then resumed."""
    store = hg.MemoryStore()
    revoked = Fault(kind="error", status=401, route="GET /v3/videos/statuses", nth=(1,))
    async with FakeHeyGen(render_seconds=0.02, faults=[revoked]) as fake:
        async with strict_client(fake) as client:
            async with client.batch(store=store) as batch:
                handle = batch.submit(req(voice_id), tag="x")
            async with client.batch(store=store) as batch:
                outcomes = [o async for o in batch.as_completed()]
    lost = handle.outcome
    assert isinstance(lost, hg.TimedOut)
    assert lost.video_id is not None
    assert [type(o) for o in outcomes] == [hg.Completed]
    assert fake.stats.jobs_created == 1


def test_admission_lowers_on_429_and_grows_back() -> None:
    """A 429 drops the limit to what was accepted; finished jobs raise it by 1/limit."""
    admission = Admission(4)
    admission.queue.extend(["a", "b"])  # type: ignore[list-item]
    assert admission.take() == "a"
    admission.limited(accepted=0)
    assert admission.limit == 2.0
    admission.limited(accepted=1)
    assert admission.limit == 1.0
    assert admission.saturated
    assert not admission.has_room()
    admission.finished()
    assert (admission.occupied, admission.limit) == (0, 2.0)
    assert admission.has_room()
    for _ in range(10):
        admission.occupy()
        admission.finished()
    assert admission.limit == 4.0  # never above max_in_flight


async def test_a_watch_that_finds_no_video_is_a_failure() -> None:
    """A 404 while watching a created job reports it as Failed, not TimedOut."""
    future: asyncio.Future[hg.Video] = asyncio.get_running_loop().create_future()
    error = hg.NotFoundError(status=404, code="not_found", message="gone")
    future.set_exception(error)
    request = hg.VideoRequest(image_url="https://x/a.png", script="Hi", voice_id="v")
    outcome = of_watch(
        future, tag="t", request=request, video_id="v_1", last_status=None
    )
    assert isinstance(outcome, hg.Failed)
    assert (outcome.error, outcome.tag, outcome.video) == (error, "t", None)
