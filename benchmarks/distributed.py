"""
Several processes on one account: with and without ``RedisCoordinator``.

Usage::

    python benchmarks/distributed.py [--processes 4] [--jobs 50] [--cap 10]
                                     [--render 0.2:0.8] [--seed 3]

Each run starts a ``heygen-async fake-server`` (concurrency cap ``--cap``,
renders of ``--render`` seconds, Retry-After 0.2 s) and ``--processes``
worker processes that each render ``--jobs`` videos through
``client.batch(max_in_flight=cap)``: once as independent processes (today),
once coordinated through a real ``redis-server`` started on a free port.
It reports, from the fake's own counters: creates refused with 429, extra
creates, jobs billed and duplicates, peak in flight, status calls, and the
wall time (process start-up included; ``slowest_worker_s`` is from batch
open to last outcome) against the ideal ``jobs x mean render / cap``. Needs the
``redis-server`` binary and the ``redis`` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp


ROOT = Path(__file__).resolve().parents[1]
CREATE = "POST /v3/videos"
STATUSES = "GET /v3/videos/statuses"


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    """A throw-away redis-server; its process and URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1"),
            *("--dir", directory, "--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(500):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.01)
    process.kill()
    sys.exit("redis-server did not start")


def start_fake(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    """``heygen-async fake-server`` on a free port; its process and URL."""
    command = [sys.executable, "-m", "heygen_async", "fake-server", "--port", "0"]
    command += ["--concurrency-limit", str(args.cap), "--render-seconds", args.render]
    command += ["--retry-after", "0.2", "--seed", str(args.seed)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    if process.stdout is None:
        sys.exit("no stdout from the fake server")
    first = process.stdout.readline()
    return process, first.split("listening on ")[1].split()[0]


async def run(args: argparse.Namespace, redis_url: str | None) -> dict[str, Any]:
    """One deployment: the fake, the workers, the fake's counters."""
    fake, url = start_fake(args)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.monotonic()
        workers = []
        for i in range(args.processes):
            settings = {
                "jobs": args.jobs,
                "offset": 10_000 * i,
                "cap": args.cap,
                "coordinated": redis_url is not None,
                "poll": 0.05,
                "poll_max": 0.2,
            }
            workers.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.helpers.coord_worker",
                    "batch",
                    url,
                    redis_url or "redis://unused",
                    json.dumps(settings),
                    stdout=asyncio.subprocess.PIPE,
                    cwd=ROOT,
                    env=env,
                )
            )
        outputs = [await w.communicate() for w in workers]
        wall = time.monotonic() - started
        summaries = [
            json.loads(line)["summary"]
            for out, _ in outputs
            for line in out.decode().splitlines()
            if '"summary"' in line
        ]
        async with (
            aiohttp.ClientSession() as http,
            http.get(url + "/_fake/stats") as response,
        ):
            stats = await response.json()
    finally:
        fake.terminate()
        fake.wait()
    low, _, high = args.render.partition(":")
    mean = (float(low) + float(high or low)) / 2
    jobs = args.processes * args.jobs
    refused = int(stats["responses"].get(CREATE, {}).get("429", 0))
    elapsed = [s["elapsed"] for s in summaries]
    return {
        "coordinated": redis_url is not None,
        "completed": sum(s["kinds"].get("Completed", 0) for s in summaries),
        "creates_429": refused,
        "extra_creates_pct": round(100 * refused / jobs, 1),
        "jobs_created": stats["jobs_created"],
        "duplicate_jobs": stats["duplicate_jobs"],
        "peak_in_flight": stats["peak_in_flight"],
        "status_calls": stats["requests"].get(STATUSES, 0),
        "wall_s": round(wall, 2),
        "slowest_worker_s": round(max(elapsed), 2),
        "ideal_s": round(jobs * mean / args.cap, 2),
        "slowest_over_fastest": round(max(elapsed) / min(elapsed), 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--cap", type=int, default=10)
    parser.add_argument("--render", default="0.2:0.8")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rows = [await run(args, None)]
    with tempfile.TemporaryDirectory() as directory:
        redis, url = start_redis(directory)
        try:
            rows.append(await run(args, url))
        finally:
            redis.kill()
            redis.wait()
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    asyncio.run(main())
