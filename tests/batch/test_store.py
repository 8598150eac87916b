"""Journals: a batch reopened on the same store re-attaches without paying twice."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import heygen_async as hg
from heygen_async._batch import journal as _journal
from heygen_async._batch.stores import set_aside
from heygen_async.testing import FakeHeyGen, Fault, JobPlan
from tests.helpers import png, req, strict_client


# Every contract test below runs on each journal: a factory makes a store on
# the same journal each time it is called (a MemoryStore journal is the object).
Journal = Callable[[], hg.JobStore]


def _factory(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Journal:
    if kind == "memory":
        store = hg.MemoryStore()
        return lambda: store
    if kind == "sqlite":
        return lambda: hg.SQLiteStore(tmp_path / "journal.sqlite")
    url = request.getfixturevalue("redis_server").url
    return lambda: hg.RedisStore(url, "journal", lease=5.0)


@pytest.fixture(name="journal", params=["memory", "sqlite", "redis"])
def _any_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Journal:
    """A journal of each kind."""
    return _factory(request, request.param, tmp_path)


@pytest.fixture(name="durable_journal", params=["sqlite", "redis"])
def _durable_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Journal:
    """A journal of each kind that outlives the process."""
    return _factory(request, request.param, tmp_path)


async def interrupted_run(
    client: hg.Client, store: hg.JobStore, requests: list[hg.VideoRequest], done: int
) -> None:
    """Run a batch until *done* outcomes were read, then crash out of it."""

    async def crash() -> None:
        async with client.batch(max_in_flight=3, store=store) as batch:
            for i, request in enumerate(requests):
                batch.submit(request, tag=i)
            seen = 0
            async for _ in batch.as_completed():
                seen += 1
                if seen == done:
                    raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await crash()


async def finish_run(
    client: hg.Client, store: hg.JobStore, requests: list[hg.VideoRequest]
) -> tuple[list[hg.Outcome], list[hg.JobHandle]]:
    """Reopen the batch on *store*, submit the same requests, read the rest."""
    async with client.batch(max_in_flight=3, store=store) as batch:
        for i, request in enumerate(requests):
            batch.submit(request, tag=i)
        outcomes = [o async for o in batch.as_completed()]
        jobs = list(batch.jobs)
    return outcomes, jobs


async def test_reopened_batch_reattaches(journal: Journal, voice_id: str) -> None:
    """Finished jobs are not re-reported, running ones polled, none paid twice."""
    store = journal()
    requests = [req(voice_id, i) for i in range(9)]
    async with FakeHeyGen(render_seconds=(0.02, 0.1), concurrency_limit=None) as fake:
        async with strict_client(fake) as client:
            await interrupted_run(client, store, requests, done=4)
            created_first = fake.stats.jobs_created
            outcomes, jobs = await finish_run(client, store, requests)
        stats = fake.stats
    assert 4 <= created_first < 9
    assert len(jobs) == 9
    assert all(isinstance(job.outcome, hg.Completed) for job in jobs)
    # Three outcomes were handled before the crash and are not repeated; the
    # fourth was in the consumer's hands when it crashed, so it comes again.
    assert len(outcomes) == 6
    assert stats.jobs_created == 9
    assert stats.duplicate_jobs == 0


async def test_resumed_completed_jobs_cost_no_request(
    journal: Journal, voice_id: str
) -> None:
    """A journal of finished jobs is reported again without any HTTP request."""
    store = journal()
    requests = [req(voice_id, i) for i in range(4)]
    async with FakeHeyGen(render_seconds=0.02, concurrency_limit=None) as fake:
        async with strict_client(fake) as client:
            async with client.batch(store=store) as batch:
                for i, request in enumerate(requests):
                    batch.submit(request, tag=i)
            before = client.request_counts()
            async with client.batch(store=store) as batch:
                handles = [batch.submit(r, tag=i) for i, r in enumerate(requests)]
                outcomes = [o async for o in batch.as_completed()]
            assert client.request_counts() == before
    assert len(outcomes) == 4  # never read in the first run, so reported now
    assert all(isinstance(h.outcome, hg.Completed) for h in handles)
    assert {h.outcome.video.id for h in handles if isinstance(h.outcome, hg.Completed)}
    assert fake.stats.jobs_created == 4


async def test_uploads_are_not_repeated_on_resume(
    tmp_path: Path, voice_id: str
) -> None:
    """A journaled asset id is reused; the photo is not uploaded again."""
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(3))
    request = hg.VideoRequest(image_path=photo, script="Hi", voice_id=voice_id)
    store = hg.SQLiteStore(tmp_path / "journal.sqlite")
    async with FakeHeyGen(render_seconds=30) as fake:
        async with strict_client(fake) as client:

            async def crash() -> None:
                async with client.batch(store=store) as batch:
                    handle = batch.submit(request, tag="photo")
                    while handle.video_id is None:
                        await asyncio.sleep(0.005)
                    raise KeyboardInterrupt

            with pytest.raises(KeyboardInterrupt):
                await crash()
        fake.set_credits(None)
        async with strict_client(fake) as client:
            batch = client.batch(store=store, deadline=0.05)
            async with batch:
                handle = batch.submit(request, tag="photo")
            outcome = await handle
    assert isinstance(outcome, hg.TimedOut)
    assert outcome.video_id is not None
    assert fake.stats.uploads == 1
    assert fake.stats.jobs_created == 1


async def test_unsent_job_is_resent_with_its_key(
    journal: Journal, voice_id: str
) -> None:
    """A job journaled but never created is sent again with the same key."""
    async with FakeHeyGen(render_seconds=0.02, concurrency_limit=None) as fake:
        async with strict_client(fake) as client:
            first = client.batch(store=journal(), deadline=0.001)
            async with first:
                await asyncio.sleep(0.01)  # the deadline passes before any submit
                late = first.submit(req(voice_id, 1), tag="late")
            assert isinstance(await late, hg.TimedOut)
            assert fake.stats.jobs_created == 0
            async with client.batch(store=journal()) as second:
                outcomes = [o async for o in second.as_completed()]
    assert [type(o) for o in outcomes] == [hg.Completed]
    assert outcomes[0].tag == "late"
    assert late.key == second.jobs[0].key


async def test_refusals_are_journaled(journal: Journal) -> None:
    """A refused request is reported from the journal with its API error."""
    store = journal()
    bad = hg.VideoRequest(image_url="https://e.com/a.jpg", script="hi", voice_id="nope")
    async with FakeHeyGen() as fake:
        async with strict_client(fake) as client:
            async with client.batch(store=store) as batch:
                batch.submit(bad, tag="bad")
            async with client.batch(store=store) as batch:
                outcomes = [o async for o in batch.as_completed()]
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], hg.Failed)
    assert isinstance(outcomes[0].error, hg.BadRequestError)
    assert outcomes[0].error.code == "invalid_parameter"
    assert fake.stats.requests["POST /v3/videos"] == 1


async def test_identical_submits_are_distinct_jobs(voice_id: str) -> None:
    """Submitting the same request twice in one run makes two jobs."""
    async with FakeHeyGen(render_seconds=0.02) as fake:
        async with strict_client(fake) as client:
            async with client.batch() as batch:
                a = batch.submit(req(voice_id), tag="same")
                b = batch.submit(req(voice_id), tag="same")
            assert a is not b
            assert a.key != b.key
    assert fake.stats.jobs_created == 2


async def test_durable_store_needs_json_tags(
    durable_journal: Journal, voice_id: str
) -> None:
    """A tag JSON cannot hold is refused before anything is sent."""
    async with FakeHeyGen() as fake:
        async with strict_client(fake) as client:
            async with client.batch(store=durable_journal()) as batch:
                with pytest.raises(ValueError, match="tag"):
                    batch.submit(req(voice_id), tag=object())
    assert fake.stats.total_requests == 0


async def test_journal_of_another_schema_is_refused(tmp_path: Path) -> None:
    """A journal written by an incompatible version fails clearly."""
    path = tmp_path / "journal.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    store = hg.SQLiteStore(path)
    with pytest.raises(RuntimeError, match="schema 99"):
        await store.open()
    await store.close()


async def test_store_methods_need_open(tmp_path: Path) -> None:
    """Using a journal before open() is a clear error."""
    store = hg.SQLiteStore(tmp_path / "journal.sqlite")
    with pytest.raises(RuntimeError, match="not open"):
        await store.load()
    assert "journal.sqlite" in repr(store)


class BrokenStore(hg.MemoryStore):
    """A journal whose disk is full."""

    async def add(self, record: hg.JobRecord) -> None:
        raise OSError(28, "No space left on device")


async def test_unjournaled_job_is_never_sent(voice_id: str) -> None:
    """If the journal cannot record a job, it fails without being sent."""
    async with FakeHeyGen() as fake, strict_client(fake) as client:
        async with client.batch(store=BrokenStore()) as batch:
            handle = batch.submit(req(voice_id), tag="x")
        outcome = await handle
    assert isinstance(outcome, hg.Failed)
    assert isinstance(outcome.error, OSError)
    assert "POST /v3/videos" not in fake.stats.requests


async def test_failed_renders_and_refusals_survive_a_reopen(
    journal: Journal, tmp_path: Path, voice_id: str
) -> None:
    """Failed renders, rate limits and local errors are rebuilt from the journal."""
    store = journal()
    plan = JobPlan(render_seconds=0.02, fail=True, failure_code="rendering_failed")
    missing = hg.VideoRequest(
        image_path=tmp_path / "nope.png", script="hi", voice_id=voice_id
    )
    async with FakeHeyGen(job_plan=lambda _i, _b: plan) as fake:
        async with strict_client(fake) as client:
            async with client.batch(store=store) as batch:
                batch.submit(req(voice_id), tag="render")
                batch.submit(missing, tag="missing")
            async with client.batch(store=store) as batch:
                outcomes = {o.tag: o async for o in batch.as_completed()}
    render, local = outcomes["render"], outcomes["missing"]
    assert isinstance(render, hg.Failed)
    assert isinstance(render.error, hg.VideoFailedError)
    assert render.video is not None
    assert render.video.failure_code == "rendering_failed"
    assert isinstance(local, hg.Failed)
    assert isinstance(local.error, hg.HeyGenError)
    assert "nope.png" in str(local.error)


def test_rate_limit_refusal_rebuilds() -> None:
    """A journaled 429 comes back as a RateLimitError with its code."""
    refused = hg.Failed(
        error=hg.RateLimitError(code="quota_exceeded", message="Quota"),
        request=hg.VideoRequest(
            image_url="https://e.com/a.jpg", audio_url="https://e.com/a.mp3"
        ),
    )
    changes = _journal.outcome_changes(refused)
    record = hg.JobRecord(key="k", seq=0, request={}, **changes)
    rebuilt = _journal.recorded_outcome(record, refused.request)
    assert isinstance(rebuilt, hg.Failed)
    assert isinstance(rebuilt.error, hg.RateLimitError)
    assert rebuilt.error.code == "quota_exceeded"


CREATE = "POST /v3/videos"


async def test_unanswered_create_survives_a_crash_and_resumes(
    journal: Journal, voice_id: str
) -> None:
    """Crashing while a create's outcome is unknown leaves it pending, same key."""
    unreadable = Fault(kind="malformed", route=CREATE, nth=range(1, 7), phase="after")
    later = hg.PollPolicy(interval_initial=30, interval_max=30, deadline=None)
    async with FakeHeyGen(render_seconds=0.02, faults=[unreadable]) as fake:
        async with strict_client(fake) as client:

            async def crash() -> None:
                async with client.batch(store=journal(), poll=later) as b:
                    handle = b.submit(req(voice_id), tag="x")
                    # Answered (unreadably) and waiting to be asked again.
                    while not (
                        handle.done()
                        or (fake.stats.requests.get(CREATE) and b.stats().queued)
                    ):
                        await asyncio.sleep(0.005)
                    assert not handle.done()
                    raise KeyboardInterrupt

            with pytest.raises(KeyboardInterrupt):
                await crash()
            store = journal()
            await store.open()
            records = await store.load()
            await store.close()
            assert [(r.outcome, r.video_id) for r in records] == [(None, None)]
            async with client.batch(store=journal()) as batch:
                handle = batch.submit(req(voice_id), tag="x")
                outcomes = [o async for o in batch.as_completed()]
    assert handle.key == records[0].key
    assert [type(o) for o in outcomes] == [hg.Completed]
    assert fake.stats.jobs_created == 1
    assert fake.stats.duplicate_jobs == 0


async def test_old_journals_retry_unanswered_creates(
    journal: Journal, voice_id: str
) -> None:
    """A create an older version journaled as failed for a bad 200 is resumed."""
    store = journal()
    async with FakeHeyGen(render_seconds=0.02) as fake:
        async with strict_client(fake) as client:
            async with client.batch(store=store) as batch:
                handle = batch.submit(req(voice_id), tag="x")
            await store.open()
            # What an older version wrote after an unreadable 200 on the create.
            error = {"type": "ResponseValidationError", "message": "not JSON"}
            await store.update(
                handle.key,
                video_id=None,
                status=None,
                outcome="failed",
                detail={"error": error},
            )
            await store.close()
            async with client.batch(store=store) as batch:
                outcomes = [o async for o in batch.as_completed()]
    assert [type(o) for o in outcomes] == [hg.Completed]
    assert fake.stats.jobs_created == 1


async def test_second_batch_on_a_journal_is_refused_at_once(
    durable_journal: Journal, voice_id: str
) -> None:
    """Two batches on one journal: the second fails fast, naming it."""
    journal = durable_journal
    name = getattr(journal(), "path", None) or getattr(journal(), "journal", None)
    async with FakeHeyGen(render_seconds=0.02) as fake, strict_client(fake) as client:
        async with client.batch(store=journal()) as first:
            first.submit(req(voice_id), tag="x")
            for store in (journal(), first._store):
                second = client.batch(store=store)
                loop = asyncio.get_running_loop()
                started = loop.time()
                with pytest.raises(hg.JournalBusyError, match="in use") as caught:
                    await second.__aenter__()
                assert loop.time() - started < 1
                assert caught.value.path == str(name)
                assert str(name) in str(caught.value)
        # Released on close: the next batch opens it and sends nothing.
        async with client.batch(store=journal()) as third:
            assert len(third.jobs) == 1
    assert fake.stats.jobs_created == 1


async def test_memory_store_serves_one_batch_at_a_time() -> None:
    """A MemoryStore is locked per instance, and unlocked on close."""
    store = hg.MemoryStore()
    await store.open()
    with pytest.raises(hg.JournalBusyError, match="MemoryStore"):
        await store.open()
    await store.close()
    await store.open()
    await store.close()


HOLDER = """
import asyncio, sys
import heygen_async as hg

async def main() -> None:
    store = hg.SQLiteStore(sys.argv[1])
    await store.open()
    print("locked", flush=True)
    sys.stdin.read()

asyncio.run(main())
"""


@pytest.mark.parametrize("ending", ["exit", "sigkill"])
async def test_journal_lock_holds_across_processes(tmp_path: Path, ending: str) -> None:
    """Another process's journal is refused; its death releases the lock."""
    path = tmp_path / "journal.sqlite"
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        str(path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert holder.stdin is not None
    try:
        assert (await holder.stdout.readline()).strip() == b"locked"
        with pytest.raises(hg.JournalBusyError):
            await hg.SQLiteStore(path).open()
    finally:
        if ending == "sigkill":
            holder.kill()
        holder.stdin.close()
        await asyncio.wait_for(holder.wait(), 30)
    store = hg.SQLiteStore(path)
    await store.open()
    await store.close()


async def test_queued_is_never_negative_after_a_resume(
    journal: Journal, voice_id: str
) -> None:
    """Resumed finished, running and refused jobs keep every count >= 0."""
    store = journal()
    requests = [req(voice_id, i) for i in range(6)]
    seen: list[hg.BatchStats] = []
    async with FakeHeyGen(render_seconds=(0.02, 0.3), concurrency_limit=None) as fake:
        async with strict_client(fake) as client:
            await interrupted_run(client, store, requests, done=2)
            batch = client.batch(store=store, deadline=10)
            async with batch:
                seen.append(batch.stats())
                for i, request in enumerate(requests):
                    batch.submit(request, tag=i)
                async for _ in batch.as_completed():
                    seen.append(batch.stats())
            seen.append(batch.stats())
            async with client.batch(store=store, deadline=0.001) as late:
                await asyncio.sleep(0.01)
                late.submit(req(voice_id, 99), tag=99)  # refused: past deadline
            seen.append(late.stats())
    counts = [(s.queued, s.uploading, s.submitting, s.in_flight) for s in seen]
    assert all(min(c) >= 0 for c in counts), counts
    assert seen[-1].queued == 0
    assert seen[-1].timed_out == 1


async def test_retry_failed_resends_under_new_keys(
    journal: Journal, voice_id: str
) -> None:
    """Failed jobs are retired and re-sent under new keys, once, on purpose."""
    refused = Fault(kind="error", status=400, route=CREATE, nth=(1,))
    async with FakeHeyGen(render_seconds=0.02, faults=[refused]) as fake:
        async with strict_client(fake) as client:
            async with client.batch(store=journal()) as batch:
                bad = batch.submit(req(voice_id, 1), tag=1)
                good = batch.submit(req(voice_id, 2), tag=2)
            assert isinstance(bad.outcome, hg.Failed)
            async with client.batch(store=journal()) as batch:
                assert batch.retry_failed() == 1
                again = batch.submit(req(voice_id, 1), tag=1)
                batch.submit(req(voice_id, 2), tag=2)
                outcomes = {o.tag: o async for o in batch.as_completed()}
                with pytest.raises(RuntimeError, match="before submit"):
                    batch.retry_failed()
            # A plain rerun finds the re-sent job: nothing is sent again.
            async with client.batch(store=journal()) as batch:
                rerun = batch.submit(req(voice_id, 1), tag=1)
                assert len(batch.jobs) == 2
    assert again.key not in (bad.key, good.key)
    assert rerun.key == again.key
    assert isinstance(rerun.outcome, hg.Completed)
    assert isinstance(outcomes[1], hg.Completed)
    assert sorted(outcomes) == [1, 2]  # none was read in the first run
    assert fake.stats.jobs_created == 2


async def test_resume_during_a_create_waits_out_request_in_progress(
    journal: Journal, voice_id: str
) -> None:
    """A crash while HeyGen still works on a create: the resume gets 409s, then it."""
    # Long enough that a resume on a loaded machine still finds it in progress.
    busy = Fault(kind="slow", route=CREATE, nth=(1,), phase="after", delay=0.6)
    async with FakeHeyGen(render_seconds=0.02, faults=[busy]) as fake:
        async with strict_client(fake) as client:

            async def crash() -> None:
                async with client.batch(store=journal()) as batch:
                    batch.submit(req(voice_id), tag="x")
                    while not fake.stats.requests.get(CREATE):
                        await asyncio.sleep(0.005)
                    raise KeyboardInterrupt

            with pytest.raises(KeyboardInterrupt):
                await crash()
            async with client.batch(store=journal()) as batch:
                outcomes = [o async for o in batch.as_completed()]
    assert [type(o) for o in outcomes] == [hg.Completed]
    assert fake.stats.responses[CREATE][409] >= 1
    assert fake.stats.jobs_created == 1


async def test_set_aside_keeps_the_journal_and_its_wal(tmp_path: Path) -> None:
    """A journal set aside keeps its WAL beside it; a journal in use stays put."""
    path = tmp_path / "journal.sqlite"
    assert set_aside(tmp_path / "missing" / "journal.sqlite") is None
    assert set_aside(path) is None
    store = hg.SQLiteStore(path)
    await store.open()
    with pytest.raises(hg.JournalBusyError):
        set_aside(path)
    await store.close()
    path.with_name("journal.sqlite-wal").write_bytes(b"")  # as a crash leaves it
    aside = set_aside(path)
    assert aside is not None
    assert aside.name.startswith("journal-")
    assert aside.with_name(aside.name + "-wal").exists()
    assert not path.exists()
    await store.open()  # a new, empty journal
    assert await store.load() == []
    await store.close()


async def test_an_unreadable_journal_is_released(tmp_path: Path) -> None:
    """A journal that fails to load is closed, so the next try may open it."""
    path = tmp_path / "journal.sqlite"
    store = hg.SQLiteStore(path)
    await store.open()
    await store.close()
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO jobs (key, seq, request, updated_at) VALUES ('k', 0, '{', 0)"
    )
    db.commit()
    db.close()
    async with FakeHeyGen() as fake, strict_client(fake) as client:
        with pytest.raises(ValueError, match="Expecting"):
            await client.batch(store=hg.SQLiteStore(path)).__aenter__()
        await store.open()  # not left locked
        db = sqlite3.connect(path)
        db.execute("UPDATE jobs SET request = '{\"script\": 5}'")
        db.commit()
        db.close()
        await store.close()
        with pytest.raises(
            ValueError, match="holds a request this version cannot read"
        ):
            await client.batch(store=hg.SQLiteStore(path)).__aenter__()
    await store.open()
    await store.close()
