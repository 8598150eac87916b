"""
10,000 jobs in flight: what tracking them costs the SDK's process.

The fake runs in its own process (``python -m heygen_async fake-server``) in
real time, so the CPU measured here is the SDK's alone. The jobs render for
long enough that all of them are in flight while the scheduler polls them on
a fast cadence; then the run waits for every one to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from harness import IMAGE_URL, default_voice

import heygen_async as hg


FAST_POLL = hg.PollPolicy(
    interval_initial=0.5, multiplier=1.5, interval_max=2.0, jitter=0.25, deadline=600.0
)
_URL = re.compile(r"https?://[\w.:\[\]-]+")


def _start_fake(render_seconds: float) -> tuple[subprocess.Popen[str], str, str]:
    cmd = [
        sys.executable,
        "-m",
        "heygen_async",
        "fake-server",
        "--port",
        "0",
        "--render-seconds",
        f"{render_seconds:g}",
        "--concurrency-limit",
        "none",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None  # noqa: S101
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = _URL.search(line)
        if match:
            key = re.search(r"api key: ([^)\s]+)", line)
            return proc, match.group(0).rstrip("/"), key.group(1) if key else ""
    proc.kill()
    msg = "fake-server did not print its URL:\n" + "".join(lines)
    raise RuntimeError(msg)


async def _track(
    n: int, url: str, api_key: str, render_seconds: float
) -> dict[str, Any]:
    voice = default_voice()
    loop = asyncio.get_running_loop()
    async with hg.Client(api_key=api_key, base_url=url, poll=FAST_POLL) as client:
        sem = asyncio.Semaphore(64)

        async def create(i: int) -> str:
            async with sem:
                created = await client.create_video(
                    hg.VideoRequest(
                        image_url=IMAGE_URL,
                        script="Tracking benchmark.",
                        voice_id=voice,
                        title=f"track-{i}",
                    )
                )
                return created.id

        t_create = time.perf_counter()
        ids = await asyncio.gather(*(create(i) for i in range(n)))
        create_wall = time.perf_counter() - t_create
        created_at = loop.time()
        scheduler = client._get_scheduler()  # the benchmark reads its counters

        # (1) The scheduler's own cost per tracked job: watch() only.
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        watches = [scheduler.watch(video_id) for video_id in ids]
        watch_bytes = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        for watch in watches:
            scheduler.forget(watch)
        del watches
        await asyncio.sleep(0)
        gc.collect()

        # (2) What a user's gather(wait_for_video(...)) costs: tasks included.
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tasks = [loop.create_task(client.wait_for_video(video_id)) for video_id in ids]
        for _ in range(3):
            await asyncio.sleep(0)
        gather_bytes = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        watching = scheduler.watching

        registered_at = loop.time()
        polls0 = scheduler.job_polls
        calls0 = scheduler.status_calls
        details0 = scheduler.detail_calls
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        samples: list[tuple[float, int, int]] = []

        async def sample() -> None:
            while True:
                samples.append(
                    (time.process_time(), scheduler.job_polls, scheduler.detail_calls)
                )
                await asyncio.sleep(0.5)

        sampler = loop.create_task(sample())
        results = await asyncio.gather(*tasks, return_exceptions=True)
        cpu = time.process_time() - cpu0
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        wall = time.perf_counter() - wall0
        polls = scheduler.job_polls - polls0
        failed = sum(isinstance(r, BaseException) for r in results)
        counts = client.request_counts()

    return {
        "jobs": n,
        "render_seconds": render_seconds,
        "poll": {
            "interval_initial": FAST_POLL.interval_initial,
            "multiplier": FAST_POLL.multiplier,
            "interval_max": FAST_POLL.interval_max,
            "jitter": FAST_POLL.jitter,
        },
        "create_wall_seconds": create_wall,
        "watching_after_register": watching,
        "last_create_to_registered_seconds": registered_at - created_at,
        "job_polls": polls,
        "status_calls": scheduler.status_calls - calls0,
        "detail_calls": scheduler.detail_calls - details0,
        "client_cpu_seconds": cpu,
        "wait_wall_seconds": wall,
        "cpu_per_job_poll_us": cpu / polls * 1e6 if polls else float("nan"),
        "bytes_per_tracked_job_watch": watch_bytes / n,
        "bytes_per_tracked_job_gather": gather_bytes / n,
        "steady": _steady(samples),
        "errors": failed,
        "client_request_counts": counts,
    }


def _steady(samples: list[tuple[float, int, int]]) -> dict[str, Any] | None:
    """CPU per job-poll while every job is in flight (no detail GETs yet)."""
    quiet = [s for s in samples if s[2] == samples[0][2]] if samples else []
    if len(quiet) < 2 or quiet[-1][1] == quiet[0][1]:
        return None
    cpu = quiet[-1][0] - quiet[0][0]
    polls = quiet[-1][1] - quiet[0][1]
    return {
        "cpu_seconds": cpu,
        "job_polls": polls,
        "cpu_per_job_poll_us": cpu / polls * 1e6,
    }


def track(n: int = 10_000, render_seconds: float = 45.0) -> dict[str, Any]:
    """Run the tracking benchmark; the fake lives in a child process."""
    proc, url, api_key = _start_fake(render_seconds)
    try:
        return asyncio.run(_track(n, url, api_key or "fake-api-key", render_seconds))
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
