"""
RedisCoordinator against a real redis-server: several clients, one account.

Each client gets its own coordinator, as each process would; they share
only Redis and the fake HeyGen. The multi-process runs are in
``test_processes.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib.util
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as redis_asyncio
from fastapi import FastAPI
from redis.exceptions import RedisError

import heygen_async as hg
from heygen_async import webhooks
from heygen_async.fastapi import heygen_lifespan, webhook_router
from heygen_async.testing import FakeHeyGen
from heygen_async.testing._voices import VOICES
from tests.helpers import req, strict_client
from tests.helpers.redis import RedisServer, free_port
from tests.helpers.uvicorn import bind, serving


CREATE = "POST /v3/videos"
DETAIL = "GET /v3/videos/{video_id}"
STATUSES = "GET /v3/videos/statuses"
SECRET = "whsec_coordinator_test"
VOICE = next(v.voice_id for v in VOICES if v.type == "public")
SLOW = hg.PollPolicy(interval_initial=5, interval_max=5, jitter=0, deadline=30)
FAST = hg.PollPolicy(interval_initial=0.02, interval_max=0.05, jitter=0, deadline=20)


def coordinator(url: str, **options: Any) -> hg.RedisCoordinator:
    """A coordinator with millisecond leases, as tests need."""
    settings: dict[str, Any] = {
        "namespace": "test",
        "account_concurrency": 4,
        "reservation_lease": 0.6,
        "video_lease": 3.0,
        "leader_ttl": 0.6,
        "unavailable_timeout": 0.5,
        "slot_poll": 0.05,
    }
    settings.update(options)
    return hg.RedisCoordinator(url, **settings)


@asynccontextmanager
async def clients(
    fake: FakeHeyGen, url: str, count: int, **options: Any
) -> AsyncIterator[list[hg.Client]]:
    """*count* clients on *fake*, each with its own coordinator on *url*."""
    poll = options.pop("poll", FAST)
    async with AsyncExitStack() as stack:
        made = [
            await stack.enter_async_context(
                strict_client(fake, poll=poll, coordinator=coordinator(url, **options))
            )
            for _ in range(count)
        ]
        yield made


def success(video_id: str, event_id: str = "evt_1") -> webhooks.WebhookEvent:
    """A verified ``avatar_video.success`` for *video_id*."""
    body = json.dumps(
        {
            "event_id": event_id,
            "event_type": "avatar_video.success",
            "event_data": {
                "video_id": video_id,
                "url": f"https://f.example/{video_id}",
            },
        }
    ).encode()
    return webhooks.verify(body, _signed(body, event_id), SECRET)


def _signed(body: bytes, event_id: str) -> dict[str, str]:
    return {
        "Heygen-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "Heygen-Timestamp": str(int(time.time())),
        "Heygen-Event-Id": event_id,
    }


# -- the Lua slots ------------------------------------------------------------


async def test_slots_are_leased_counted_on_server_time_and_renewed(
    redis_server: RedisServer,
) -> None:
    """A full account queues; an unrenewed reservation expires; renewal keeps one."""
    async with FakeHeyGen(render_seconds=5, seed=1) as fake:
        async with clients(fake, redis_server.url, 1, account_concurrency=2) as [c]:
            coord = c.coordinator
            assert isinstance(coord, hg.RedisCoordinator)
            c._get_scheduler()  # binds it
            raw = redis_asyncio.Redis.from_url(redis_server.url)
            try:
                async with coord.slot("a"), coord.slot("b"):
                    members = await raw.zrange("hg:{test}:slots", 0, -1)
                    assert sorted(members) == [b"r:a", b"r:b"]
                    held = coord.slot("c")  # kept: its finally gives it back
                    third = asyncio.ensure_future(held.__aenter__())
                    await asyncio.sleep(0.9)  # past the lease: renewed, not lost
                    assert not third.done()
                    assert await raw.zcard("hg:{test}:queue") == 1
                await asyncio.wait_for(third, 2)  # a slot freed: it got one
                # A holder that stops renewing (a dead process) loses it.
                await raw.zadd("hg:{test}:slots", {"r:dead": 0})
                await asyncio.sleep(0.05)
                async with coord.slot("d"):
                    members = await raw.zrange("hg:{test}:slots", 0, -1)
                    assert b"r:dead" not in members
                    assert sorted(members) == [b"r:c", b"r:d"]
                await held.__aexit__(None, None, None)
                assert await raw.zcard("hg:{test}:slots") == 0
            finally:
                await raw.aclose()


async def test_a_429_lowers_the_shared_limit_and_holds_every_process(
    redis_server: RedisServer,
) -> None:
    """The limit drops to what HeyGen accepted; Retry-After reaches the other client."""
    async with FakeHeyGen(render_seconds=5, seed=1) as fake:
        async with clients(fake, redis_server.url, 2) as [a, b]:
            for c in (a, b):
                c._get_scheduler()
            created = await a.create_video(req(VOICE, 1))
            async with a.coordinator.slot("k") as slot:
                await slot.rate_limited(0.4)
            raw = redis_asyncio.Redis.from_url(redis_server.url)
            try:
                assert float(await raw.get("hg:{test}:limit")) == 1.0
                assert await raw.zrange("hg:{test}:slots", 0, -1) == [
                    f"v:{created.id}".encode()
                ]
                assert 0 < await raw.pttl("hg:{test}:gate") <= 400
            finally:
                await raw.aclose()
            await asyncio.sleep(0.05)  # the gate's doorbell
            assert b._throttle.delay() > 0.2


# -- results ---------------------------------------------------------------------


async def test_a_webhook_in_one_client_completes_a_wait_in_another(
    redis_server: RedisServer,
) -> None:
    """Delivered to A, B's wait returns in milliseconds with no detail GET."""
    async with FakeHeyGen(render_seconds=30, seed=1) as fake:
        async with clients(
            fake, redis_server.url, 2, poll=SLOW, account_concurrency=10
        ) as [a, b]:
            created = [await a.create_video(req(VOICE, n)) for n in range(5)]
            waits = [asyncio.ensure_future(b.wait_for_video(c.id)) for c in created]
            await asyncio.sleep(0.1)  # every wait registered
            latencies = []
            for n, c in enumerate(created):
                started = time.perf_counter()
                await a.deliver_webhook(success(c.id, f"evt_{n}"))
                video = await asyncio.wait_for(waits[n], 2)
                latencies.append(time.perf_counter() - started)
                assert video.video_url == f"https://f.example/{c.id}"
            assert max(latencies) < 0.1
            assert DETAIL not in b.request_counts()


async def test_a_result_published_before_the_wait_resolves_it_without_requests(
    redis_server: RedisServer,
) -> None:
    """The result key is read after subscribing: an early result is never missed."""
    async with FakeHeyGen(render_seconds=30, seed=1) as fake:
        async with clients(fake, redis_server.url, 2, poll=SLOW) as [a, b]:
            await a.deliver_webhook(success("v_early"))
            video = await asyncio.wait_for(b.wait_for_video("v_early"), 2)
            assert video.video_url == "https://f.example/v_early"
            assert b.request_counts() == {}


async def test_results_published_while_the_subscriber_is_cut_off_arrive(
    redis_server: RedisServer,
) -> None:
    """CLIENT KILL TYPE pubsub: the subscriber reconnects and reads the keys."""
    async with FakeHeyGen(render_seconds=30, seed=1) as fake:
        async with clients(fake, redis_server.url, 2, poll=SLOW) as [a, b]:
            ids = [f"v_cut_{n}" for n in range(20)]
            waits = [asyncio.ensure_future(b.wait_for_video(i)) for i in ids]
            await asyncio.sleep(0.1)
            raw = redis_asyncio.Redis.from_url(redis_server.url)
            try:
                await raw.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            finally:
                await raw.aclose()
            for n, video_id in enumerate(ids):
                await a.deliver_webhook(success(video_id, f"evt_cut_{n}"))
            videos = await asyncio.wait_for(asyncio.gather(*waits), 5)
    assert [v.id for v in videos] == ids
    assert b.request_counts().get(DETAIL, 0) == 0


async def test_one_client_polls_for_all_and_shares_what_it_learns(
    redis_server: RedisServer,
) -> None:
    """Three clients wait on twelve videos: one of them polls, all complete."""
    async with FakeHeyGen(render_seconds=(0.2, 0.4), seed=1) as fake:
        async with clients(
            fake, redis_server.url, 3, account_concurrency=12
        ) as all_clients:
            creator = all_clients[0]
            created = [await creator.create_video(req(VOICE, n)) for n in range(12)]
            waits = asyncio.gather(
                *(
                    all_clients[n % 3].wait_for_video(c.id)
                    for n, c in enumerate(created)
                )
            )
            await asyncio.sleep(0.3)  # every client bound; one poller elected
            leaders = [c for c in all_clients if c.coordinator.leading]  # type: ignore[attr-defined]
            assert len(leaders) == 1
            videos = await waits
            assert all(v.status is hg.VideoStatus.COMPLETED for v in videos)
            for c in all_clients:
                if c is not leaders[0]:
                    assert STATUSES not in c.request_counts()
            assert fake.stats.jobs_created == 12


async def test_batches_in_three_clients_share_the_cap_without_429(
    redis_server: RedisServer,
) -> None:
    """3 batches x 10 jobs, cap 4: none refused, never more than 4 rendering."""
    async with FakeHeyGen(
        render_seconds=(0.05, 0.15), concurrency_limit=4, seed=1
    ) as fake:
        async with clients(fake, redis_server.url, 3) as all_clients:

            async def run(client: hg.Client, first: int) -> int:
                async with client.batch(max_in_flight=4) as batch:
                    for n in range(first, first + 10):
                        batch.submit(req(VOICE, n), tag=n)
                    return sum(
                        [
                            isinstance(o, hg.Completed)
                            async for o in batch.as_completed()
                        ]
                    )

            done = await asyncio.gather(
                *(run(c, 100 * i) for i, c in enumerate(all_clients))
            )
        assert done == [10, 10, 10]
        stats = fake.stats
        assert stats.jobs_created == 30
        assert stats.duplicate_jobs == 0
        assert stats.responses[CREATE].get(429, 0) == 0
        assert stats.peak_in_flight <= 4


# -- Redis away ------------------------------------------------------------------


async def test_without_redis_no_create_is_sent_and_waits_poll(fake: FakeHeyGen) -> None:
    """Creates fail only after unavailable_timeout, unsent; waits still complete."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    async with clients(fake, url, 1, unavailable_timeout=0.3) as [c]:
        started = time.monotonic()
        with pytest.raises(hg.CoordinatorUnavailableError) as caught:
            await c.create_video(req(VOICE, 1))
        assert time.monotonic() - started >= 0.3
        assert caught.value.seconds >= 0.3
        assert CREATE not in c.request_counts()
        async with strict_client(fake) as plain:
            created = await plain.create_video(req(VOICE, 2))
        video = await c.wait_for_video(created.id)
        assert video.status is hg.VideoStatus.COMPLETED
        with pytest.raises(RedisError):  # the route answers 500: HeyGen retries
            await c.deliver_webhook(success(created.id))


# -- FastAPI: one event id, two workers ------------------------------------------------


async def test_one_event_delivered_to_two_workers_is_processed_once(
    redis_server: RedisServer, fake: FakeHeyGen
) -> None:
    """Both answer 2xx; exactly one processes it, the other calls it a duplicate."""
    apps = []
    async with AsyncExitStack() as stack:
        for _ in range(2):
            app = FastAPI(
                lifespan=heygen_lifespan(
                    api_key=fake.api_key,
                    base_url=fake.url,
                    coordinator=coordinator(redis_server.url),
                )
            )
            app.include_router(webhook_router(secret=SECRET))
            sock, base = bind()
            await stack.enter_async_context(serving(app, sock))
            apps.append(base)
        body = json.dumps(
            {
                "event_id": "evt_twice",
                "event_type": "avatar_video.success",
                "event_data": {"video_id": "v_9", "url": "https://f.example/v_9"},
            }
        ).encode()
        headers = _signed(body, "evt_twice")
        async with aiohttp.ClientSession() as http:

            async def post(base: str) -> tuple[int, Any]:
                async with http.post(
                    base + "/heygen/webhook", data=body, headers=headers
                ) as response:
                    return response.status, await response.json()

            answers = await asyncio.gather(*(post(base) for base in apps))
    assert [status for status, _ in answers] == [200, 200]
    assert sorted(bool(a.get("duplicate")) for _, a in answers) == [False, True]


def test_without_the_extra_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """hg.RedisCoordinator is lazy; without redis the ImportError names the extra."""
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "heygen_async._coord.redis", raising=False)
    with pytest.raises(ImportError, match=r"heygen-async\[redis\]"):
        hg.RedisCoordinator  # noqa: B018


def test_bad_settings_are_named_before_connecting() -> None:
    """Every bad setting is named in one ValueError."""
    with pytest.raises(ValueError, match=r"account_concurrency=0.*leader_ttl=-1"):
        hg.RedisCoordinator(
            "redis://127.0.0.1:1/0", account_concurrency=0, leader_ttl=-1
        )


async def test_the_example_app_as_two_workers_finishes_waits_by_webhook(
    redis_server: RedisServer,
) -> None:
    """examples/fastapi_app.py twice on one Redis: webhooks go to the other one."""
    example = _example_module()
    async with (
        FakeHeyGen(render_seconds=0.2, seed=1) as fake,
        AsyncExitStack() as stack,
    ):
        socks = [bind() for _ in range(2)]
        async with hg.Client(api_key=fake.api_key, base_url=fake.url) as admin:
            # HeyGen delivers to the second worker only.
            endpoint = await admin.create_webhook_endpoint(
                socks[1][1] + "/heygen/webhook"
            )
        env = {
            "HEYGEN_API_KEY": fake.api_key,
            "HEYGEN_API_BASE": fake.url,
            "HEYGEN_WEBHOOK_SECRET": endpoint.secret or "",
            "HEYGEN_REDIS_URL": redis_server.url,
            "HEYGEN_REDIS_NAMESPACE": "example",
        }
        for sock, _ in socks:
            app = example.create_app(env, poll=SLOW)
            await stack.enter_async_context(serving(app, sock))
        async with aiohttp.ClientSession() as http:
            body = {"image_url": "https://e.example/a.jpg", "script": "Hi"}
            body["voice_id"] = VOICE
            async with http.post(socks[0][1] + "/videos:wait", json=body) as response:
                video = await response.json()
                assert response.status == 200, video
    assert video["status"] == "completed"
    assert fake.stats.requests.get(DETAIL, 0) == 0  # the webhook, not a poll


def _example_module() -> Any:
    path = Path(__file__).resolve().parents[3] / "examples" / "fastapi_app.py"
    spec = importlib.util.spec_from_file_location("fastapi_app_redis_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves annotations through it
    spec.loader.exec_module(module)
    return module
