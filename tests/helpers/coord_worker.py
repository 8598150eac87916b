"""
One process of a deployment sharing a HeyGen account, for the Redis tests.

Usage: ``python -m tests.helpers.coord_worker MODE FAKE_URL REDIS_URL SETTINGS``
where SETTINGS is JSON: ``jobs``, ``offset``, ``ids`` (videos to wait on),
``cap``, ``coordinated`` (false: a plain client), and lease settings. MODE is
``batch`` (submit ``jobs`` requests and report) or ``wait`` (wait on ``ids``
and print when each returns). Every line on stdout is JSON: ``{"ready": ...}``
once the waits are registered, ``{"leading": true|false}`` when this
process becomes the poller or stops being it, ``{"done": id, "at": unix}``
per finished wait, and a final ``{"summary": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from typing import Any

import heygen_async as hg
from heygen_async.testing._voices import VOICES


VOICE = next(v.voice_id for v in VOICES if v.type == "public")


def say(**fields: Any) -> None:
    """One JSON line on stdout, flushed."""
    print(json.dumps(fields), flush=True)


def make_client(fake_url: str, redis_url: str, settings: dict[str, Any]) -> hg.Client:
    """A client on the fake, coordinated through Redis unless told otherwise."""
    poll = hg.PollPolicy(
        interval_initial=settings.get("poll", 0.05),
        interval_max=settings.get("poll_max", 0.2),
        jitter=0.1,
        deadline=120,
        learn=settings.get("learn", True),
    )
    coordinator = None
    if settings.get("coordinated", True):
        coordinator = hg.RedisCoordinator(
            redis_url,
            namespace="workers",
            account_concurrency=settings.get("cap", 10),
            reservation_lease=settings.get("lease", 1.0),
            video_lease=settings.get("video_lease", 10.0),
            leader_ttl=settings.get("leader_ttl", 1.0),
            unavailable_timeout=settings.get("unavailable_timeout", 10.0),
            slot_poll=0.1,
        )
    return hg.Client(
        api_key="fake-api-key",
        base_url=fake_url,
        poll=poll,
        coordinator=coordinator,
        retry=hg.RetryPolicy(wait_initial=0.01, wait_max=0.05),
    )


async def watch_leadership(client: hg.Client) -> None:
    """Report when this process becomes the poller."""
    coordinator = client.coordinator
    leading = False
    while True:
        now = bool(getattr(coordinator, "leading", False))
        if now != leading:
            say(leading=now, at=time.time())
        leading = now
        await asyncio.sleep(0.02)


async def run_batch(client: hg.Client, settings: dict[str, Any]) -> dict[str, Any]:
    """Submit ``jobs`` requests; count outcomes."""
    jobs, offset = settings["jobs"], settings.get("offset", 0)
    kinds: dict[str, int] = {}
    started = time.monotonic()
    max_in_flight = settings.get("max_in_flight", settings.get("cap", 10))
    async with client.batch(max_in_flight=max_in_flight) as batch:
        for n in range(offset, offset + jobs):
            batch.submit(
                hg.VideoRequest(
                    image_url=f"https://example.com/p{n}.jpg",
                    script=f"Hello {n}",
                    voice_id=VOICE,
                ),
                tag=n,
            )
        say(ready=True)
        async for outcome in batch.as_completed():
            kind = type(outcome).__name__
            kinds[kind] = kinds.get(kind, 0) + 1
            if isinstance(outcome, hg.Failed):
                say(failed=str(outcome.error))
    return {"kinds": kinds, "elapsed": time.monotonic() - started}


async def run_waits(client: hg.Client, settings: dict[str, Any]) -> dict[str, Any]:
    """Wait on ``ids``; print when each returns."""

    async def one(video_id: str) -> None:
        try:
            await client.wait_for_video(video_id)
        except hg.HeyGenError as error:
            say(error=str(error), id=video_id)
        else:
            say(done=video_id, at=time.time())

    waits = [asyncio.ensure_future(one(i)) for i in settings["ids"]]
    await asyncio.sleep(0.3)  # every wait registered account-wide
    say(ready=True)
    await asyncio.gather(*waits)
    return {}


async def main() -> None:
    mode, fake_url, redis_url, raw = sys.argv[1:5]
    settings = json.loads(raw)
    async with make_client(fake_url, redis_url, settings) as client:
        spy = asyncio.ensure_future(watch_leadership(client))
        summary = await (run_batch if mode == "batch" else run_waits)(client, settings)
        spy.cancel()
        summary["requests"] = client.request_counts()
        say(summary=summary)


if __name__ == "__main__":
    logging.basicConfig(
        level=os.environ.get("WORKER_LOG", "ERROR")
    )  # errors reach the test's stderr
    asyncio.run(main())
