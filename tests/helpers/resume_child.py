"""
One run of a journaled batch, for the kill-and-resume test.

Usage:
``python tests/helpers/resume_child.py BASE_URL JOURNAL RESULTS JOBS [CRASH NTH]``.
JOURNAL is a SQLite file, or a ``redis://`` URL for a :class:`RedisStore`
named ``resume`` (opened with ``wait=True`` and a short lease, so a resume
waits out the lease of the process killed before it).
CRASH names a point where the process kills itself with SIGKILL the NTH time
it gets there: ``after_add`` (a job journaled), ``before_post`` (journal
written, create POST not sent), ``during_post`` (a tenth of a second after the
create POST left, while HeyGen may still be working on it),
``before_video_id`` (POST answered, journal not updated) or ``after_outcome``
(an outcome journaled).
Each outcome is appended to RESULTS as ``tag<TAB>kind`` unless a line for that
tag is already there (the idempotent consumer the SDK's at-least-once
delivery across crashes asks for), flushed and fsynced.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any, TextIO


# Run as a script, this folder is sys.path[0]; its redis.py would shadow redis.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

import heygen_async as hg  # noqa: E402


class Crash:
    """Kills this process the NTH time it reaches the chosen point."""

    def __init__(self, point: str | None, nth: int) -> None:
        self.point = point
        self.nth = nth
        self.seen = 0

    def at(self, point: str) -> None:
        if self.point == point:
            self.seen += 1
            if self.seen == self.nth:
                os.kill(os.getpid(), signal.SIGKILL)


class Crashing:
    """A journal that may die around its writes (mixed into a store)."""

    crash: Crash

    async def add(self, record: hg.JobRecord) -> None:
        await super().add(record)  # type: ignore[misc]
        self.crash.at("after_add")

    async def update(self, key: str, **changes: Any) -> None:
        if "video_id" in changes:
            self.crash.at("before_video_id")
        await super().update(key, **changes)  # type: ignore[misc]
        if "outcome" in changes:
            self.crash.at("after_outcome")


class CrashingSQLiteStore(Crashing, hg.SQLiteStore):
    """A SQLite journal that may die around its writes."""


class CrashingRedisStore(Crashing, hg.RedisStore):
    """A Redis journal that may die around its writes."""


def crashing_store(journal: str, crash: Crash) -> hg.JobStore:
    """The journal JOURNAL names, dying at *crash*."""
    store: Crashing
    if journal.startswith("redis://"):
        store = CrashingRedisStore(journal, "resume", lease=0.3, wait=True)
    else:
        store = CrashingSQLiteStore(Path(journal))
    store.crash = crash
    assert isinstance(store, hg.JobStore)
    return store


class CrashingClient(hg.Client):
    """A client that may die just before a create POST leaves."""

    crash: Crash

    async def _create(self, *args: Any, **kwargs: Any) -> hg.CreatedVideo:
        self.crash.at("before_post")
        loop = asyncio.get_running_loop()
        loop.call_later(0.1, self.crash.at, "during_post")
        return await super()._create(*args, **kwargs)


async def main(argv: list[str], seen: set[str], file: TextIO) -> None:
    base_url, journal, _, jobs = argv[:4]
    crash = argv[4] if len(argv) > 4 else None
    nth = int(argv[5]) if len(argv) > 5 else 0
    crashes = Crash(crash, nth)
    store = crashing_store(journal, crashes)
    client = CrashingClient(
        api_key="fake-api-key",
        base_url=base_url,
        poll=hg.PollPolicy.for_testing(deadline=60),
        retry=hg.RetryPolicy(wait_initial=0.01, wait_max=0.05),
    )
    client.crash = crashes
    async with client, client.batch(max_in_flight=10, store=store) as batch:
        for i in range(int(jobs)):
            batch.submit(
                hg.VideoRequest(
                    image_url=f"https://example.com/p{i}.jpg",
                    script=f"Take {i}",
                    voice_id=os.environ["VOICE_ID"],
                ),
                tag=i,
            )
        async for outcome in batch.as_completed():
            tag = str(outcome.tag)
            if tag in seen:
                continue
            seen.add(tag)
            file.write(f"{tag}\t{type(outcome).__name__}\n")
            file.flush()
            os.fsync(file.fileno())


if __name__ == "__main__":
    results = Path(sys.argv[3])
    lines = results.read_text().splitlines() if results.exists() else []
    with results.open("a") as out:
        asyncio.run(main(sys.argv[1:], {line.split("\t")[0] for line in lines}, out))
