"""
Several real processes on one account: ``heygen-async fake-server``, a real
``redis-server`` and worker subprocesses (``tests/helpers/coord_worker.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as redis_asyncio

import heygen_async as hg
from tests.helpers.fake import fake_server_process
from tests.helpers.redis import RedisServer


ROOT = Path(__file__).resolve().parents[3]
CREATE = "POST /v3/videos"
DETAIL = "GET /v3/videos/{video_id}"
STATUSES = "GET /v3/videos/statuses"

pytestmark = pytest.mark.slow


class Worker:
    """One worker subprocess and the JSON lines it printed."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []
        self.ready = asyncio.Event()
        self.leading_at: float | None = None
        self.leading = False
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = json.loads(raw)
            self.lines.append(line)
            if "ready" in line:
                self.ready.set()
            if "leading" in line:
                self.leading = line["leading"]
                if self.leading:
                    self.leading_at = line["at"]

    async def finish(self, seconds: float = 60) -> dict[str, Any]:
        """Wait for the exit; the summary line."""
        await asyncio.wait_for(self.process.wait(), seconds)
        await self.reader
        summaries = [line["summary"] for line in self.lines if "summary" in line]
        assert summaries, f"no summary; exit {self.process.returncode}"
        summary: dict[str, Any] = summaries[0]
        return summary

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        self.process.send_signal(signal.SIGKILL)


@asynccontextmanager
async def workers(
    mode: str, fake_url: str, redis_url: str, settings: list[dict[str, Any]]
) -> AsyncIterator[list[Worker]]:
    """Start one worker per *settings*; always reaped."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = []
    try:
        for one in settings:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.helpers.coord_worker",
                mode,
                fake_url,
                redis_url,
                json.dumps(one),
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            started.append(Worker(process))
        yield started
    finally:
        for worker in started:
            if worker.process.returncode is None:
                worker.kill()
                await worker.process.wait()
            worker.reader.cancel()


@contextmanager
def fake_server(*args: str) -> Iterator[str]:
    """A ``heygen-async fake-server`` process; its URL."""
    with fake_server_process(*args) as (_, url):
        yield url


async def stats(url: str) -> dict[str, Any]:
    """The fake's counters."""
    async with aiohttp.ClientSession() as http, http.get(url + "/_fake/stats") as r:
        body: dict[str, Any] = await r.json()
        return body


def creates_refused(body: dict[str, Any]) -> int:
    """429s the fake answered to ``POST /v3/videos``."""
    return int(body["responses"].get(CREATE, {}).get("429", 0))


async def test_four_processes_share_a_cap_of_ten_without_a_single_429(
    redis_server: RedisServer,
) -> None:
    """4 x 50 jobs, cap 10: all complete, none refused or paid twice, fair."""
    args = ("--concurrency-limit", "10", "--render-seconds", "0.2:0.8")
    with fake_server(*args, "--retry-after", "0.2", "--seed", "3") as url:
        settings = [{"jobs": 50, "offset": 1000 * i, "cap": 10} for i in range(4)]
        started = time.monotonic()
        async with workers("batch", url, redis_server.url, settings) as running:
            summaries = [await w.finish(90) for w in running]
        wall = time.monotonic() - started
        body = await stats(url)
    assert [s["kinds"] for s in summaries] == [{"Completed": 50}] * 4
    assert body["jobs_created"] == 200
    assert body["duplicate_jobs"] == 0
    assert creates_refused(body) == 0
    assert body["peak_in_flight"] <= 10
    ideal = 200 * 0.5 / 10
    elapsed = [s["elapsed"] for s in summaries]  # batch open to last outcome
    print(f"wall {wall:.2f} s, workers {sorted(elapsed)}")
    assert max(elapsed) <= 1.6 * ideal
    assert max(elapsed) <= 1.3 * min(elapsed)


async def test_a_webhook_to_one_process_completes_waits_in_another(
    redis_server: RedisServer,
) -> None:
    """200 verified results delivered here reach a waiting worker: p99 <= 100 ms."""
    with fake_server("--concurrency-limit", "none", "--render-seconds", "600") as url:
        async with hg.Client(api_key="fake-api-key", base_url=url) as plain:
            ids = [(await plain.create_video(_request(n))).id for n in range(200)]
        settings = [{"ids": ids, "poll": 30, "poll_max": 30}]
        coordinator = hg.RedisCoordinator(redis_server.url, namespace="workers")
        async with (
            workers("wait", url, redis_server.url, settings) as [waiter],
            hg.Client(
                api_key="fake-api-key", base_url=url, coordinator=coordinator
            ) as sender,
        ):
            await asyncio.wait_for(waiter.ready.wait(), 30)
            sent = {}
            for n, video_id in enumerate(ids):
                sent[video_id] = time.time()
                await sender.deliver_webhook(_success(video_id, f"evt_{n}"))
                await asyncio.sleep(0.002)
            summary = await waiter.finish(30)
    done = {line["done"]: line["at"] for line in waiter.lines if "done" in line}
    assert set(done) == set(ids)
    latencies = sorted(done[i] - sent[i] for i in ids)
    assert latencies[int(len(latencies) * 0.99) - 1] <= 0.1
    assert DETAIL not in summary["requests"]


async def test_one_process_polls_and_another_takes_over_when_it_dies(
    redis_server: RedisServer,
) -> None:
    """6 processes, 60 waits, one poller; killed, another is elected in the TTL."""
    with fake_server("--concurrency-limit", "none", "--render-seconds", "10") as url:
        async with hg.Client(api_key="fake-api-key", base_url=url) as plain:
            made = await asyncio.gather(
                *(plain.create_video(_request(n)) for n in range(60))
            )
            ids = [created.id for created in made]
        settings = [
            {"ids": ids[10 * i : 10 * i + 10], "poll": 0.2, "poll_max": 0.2}
            | {"leader_ttl": 2.0}
            for i in range(6)
        ]
        async with workers("wait", url, redis_server.url, settings) as running:
            for worker in running:
                await asyncio.wait_for(worker.ready.wait(), 30)
            await asyncio.sleep(0.5)  # start-up over
            before = (await stats(url))["requests"].get(STATUSES, 0)
            await asyncio.sleep(1.0)
            during = (await stats(url))["requests"].get(STATUSES, 0) - before
            leaders = [w for w in running if w.leading]
            assert len(leaders) == 1
            killed_at = time.time()
            leaders[0].kill()
            survivors = [w for w in running if w is not leaders[0]]
            summaries = [await w.finish(30) for w in survivors]
    # One poller at a 0.2 s cadence: about 5 bulk calls a second, not 30.
    assert during <= 2 * (1.0 / 0.2) + 2
    successors = [w.leading_at for w in survivors if (w.leading_at or 0) > killed_at]
    assert successors
    assert min(successors) - killed_at <= 2.0 + 1.0  # TTL, plus a heartbeat
    for worker, summary in zip(survivors, summaries, strict=True):
        assert sum("done" in line for line in worker.lines) == 10
        assert summary["requests"].get(DETAIL, 0) == 0 or worker.leading_at


async def test_a_killed_process_frees_its_queue_places_but_not_rendering_slots(
    redis_server: RedisServer,
) -> None:
    """SIGKILL: queue places expire within lease + renewal; rendering slots stay."""
    args = ("--concurrency-limit", "10", "--render-seconds", "2")
    with fake_server(*args) as url:
        raw = redis_asyncio.Redis.from_url(redis_server.url)
        try:
            async with workers(
                "batch", url, redis_server.url, [{"jobs": 15, "max_in_flight": 15}]
            ) as [doomed]:
                await _until(lambda: _count(raw, "slots", b"v:"), 10)
                await _until(lambda: _count(raw, "queue", b"r:"), 5)
                doomed.kill()
                killed = time.monotonic()
                await _until(lambda: _live(raw, "queue_exp"), 0, seconds=3)
                assert time.monotonic() - killed <= 1.0 + 1.0 / 3 + 0.5
                assert await _count(raw, "slots", b"v:") == 10  # still rendering
                async with workers(
                    "batch", url, redis_server.url, [{"jobs": 10, "offset": 100}]
                ) as [survivor]:
                    summary = await survivor.finish(60)
        finally:
            await raw.aclose()
        body = await stats(url)
    assert summary["kinds"] == {"Completed": 10}
    assert creates_refused(body) == 0
    assert body["duplicate_jobs"] == 0
    assert body["peak_in_flight"] <= 10


async def test_redis_killed_and_restarted_mid_run(redis_server: RedisServer) -> None:
    """No create while Redis is down; the run finishes, nothing paid twice."""
    args = ("--concurrency-limit", "none", "--render-seconds", "0.3:0.6")
    with fake_server(*args) as url:
        settings = [{"jobs": 24, "cap": 4, "unavailable_timeout": 30}]
        async with workers("batch", url, redis_server.url, settings) as [worker]:
            await asyncio.wait_for(worker.ready.wait(), 30)
            await asyncio.sleep(1.0)
            redis_server.stop()
            await asyncio.sleep(0.3)  # a create already on the wire may land
            creates = (await stats(url))["jobs_created"]
            await asyncio.sleep(1.5)
            during = (await stats(url))["jobs_created"] - creates
            assert 0 < creates < 24
            redis_server.start()
            summary = await worker.finish(60)
        body = await stats(url)
    assert during == 0
    assert summary["kinds"] == {"Completed": 24}
    assert body["jobs_created"] == 24
    assert body["duplicate_jobs"] == 0


async def _count(raw: redis_asyncio.Redis, key: str, prefix: bytes) -> int:
    members = await raw.zrange(f"hg:{{workers}}:{key}", 0, -1)
    return sum(m.startswith(prefix) for m in members)


async def _live(raw: redis_asyncio.Redis, key: str) -> int:
    """Members of a lease set that have not expired by the server's clock."""
    seconds, micros = await raw.time()
    now = seconds * 1000 + micros // 1000
    return int(await raw.zcount(f"hg:{{workers}}:{key}", f"({now}", "+inf"))


async def _until(probe: Any, expected: int, *, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while (found := await probe()) != expected:
        assert time.monotonic() < deadline, f"{found} != {expected}"
        await asyncio.sleep(0.02)


def _request(n: int) -> hg.VideoRequest:
    from tests.helpers.coord_worker import VOICE

    return hg.VideoRequest(
        image_url=f"https://example.com/w{n}.jpg", script=f"Hi {n}", voice_id=VOICE
    )


def _success(video_id: str, event_id: str) -> Any:
    from tests.integrations.redis.test_coordinator import success

    return success(video_id, event_id)
