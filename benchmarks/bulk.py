"""
The bulk-aware loop a competent user writes once they notice the bulk endpoint.

About 25 lines of plain aiohttp: an ``asyncio.Semaphore(cap)`` held from the
create until the job is seen terminal, and **one shared loop** that asks
``GET /v3/videos/statuses`` about every job in flight every *every* seconds
(5 s, and a 2 s variant), in chunks of 100 ids. A job seen ``completed`` or
``failed`` costs one ``GET /v3/videos/{id}`` for its URL, as in the SDK.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from harness import TERMINAL, Observed, RunConfig, seed_body


async def run_bulk_loop(
    cfg: RunConfig, url: str, api_key: str, voice: str, obs: Observed, every: float
) -> None:
    """Render N jobs with a semaphore and one bulk status loop every *every* s."""
    loop = asyncio.get_running_loop()
    headers = {"x-api-key": api_key, "Content-Type": "application/json"}
    slots = asyncio.Semaphore(cfg.cap)
    waiting: dict[str, asyncio.Future[str]] = {}
    obs.extra["create_429"] = 0

    async with aiohttp.ClientSession(headers=headers) as session:

        async def poll_forever() -> None:
            while True:
                await asyncio.sleep(every * cfg.scale)
                ids = list(waiting)
                for start in range(0, len(ids), 100):
                    chunk = ",".join(ids[start : start + 100])
                    async with session.get(
                        f"{url}/v3/videos/statuses", params={"video_ids": chunk}
                    ) as resp:
                        if resp.status != 200:
                            continue
                        rows: list[dict[str, Any]] = (await resp.json())["data"]
                    for row in rows:
                        if row.get("status") in TERMINAL and row["video_id"] in waiting:
                            video_id = row["video_id"]
                            async with session.get(f"{url}/v3/videos/{video_id}") as r:
                                status = (await r.json())["data"]["status"]
                            waiting.pop(video_id).set_result(status)

        async def one(i: int) -> None:
            async with slots:
                while True:
                    async with session.post(
                        f"{url}/v3/videos", json=seed_body(i, voice, obs.chars[i])
                    ) as resp:
                        body = await resp.json()
                        if resp.status == 429:
                            obs.extra["create_429"] += 1
                            await asyncio.sleep(
                                float(resp.headers.get("Retry-After", "1"))
                            )
                            continue
                        resp.raise_for_status()
                    break
                done = waiting[body["data"]["video_id"]] = loop.create_future()
                obs.outcome[i] = await done
                obs.seen[i] = loop.time()

        poller = loop.create_task(poll_forever())
        try:
            await asyncio.gather(*(one(i) for i in range(cfg.n)))
        finally:
            poller.cancel()
