"""heygen_async.fastapi and examples/fastapi_app.py under a real uvicorn server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib
import importlib.util
import io
import json
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import attrs
import pytest
from fastapi import FastAPI, Request

import heygen_async as hg
from heygen_async import webhooks
from heygen_async.fastapi import (
    STATE_ATTRIBUTE,
    get_client,
    heygen_lifespan,
    webhook_router,
)
from heygen_async.testing import FakeHeyGen, JobPlan
from tests.helpers import FAST_RETRY, req, strict_client
from tests.helpers.uvicorn import bind, serving
from tests.helpers.webhooks import Delivery, Receiver, until


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app.py"
DETAIL = "GET /v3/videos/{video_id}"
STATUSES = "GET /v3/videos/statuses"
HOOK = "/heygen/webhook"
SLOW_POLL = hg.PollPolicy(interval_initial=30, interval_max=30, jitter=0, deadline=60)


@pytest.fixture(name="example", scope="module")
def _example() -> ModuleType:
    """examples/fastapi_app.py, imported as a module."""
    spec = importlib.util.spec_from_file_location("fastapi_app_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves annotations through it
    spec.loader.exec_module(module)
    return module


@attrs.frozen
class Stack:
    """The fake, the example app served by uvicorn, and a session on the app."""

    fake: FakeHeyGen
    app: FastAPI
    http: aiohttp.ClientSession
    url: str
    secret: str | None

    @property
    def client(self) -> hg.Client:
        """The app's one client (read while the app runs)."""
        client = getattr(self.app.state, STATE_ATTRIBUTE)
        assert isinstance(client, hg.Client)
        return client


@asynccontextmanager
async def example_stack(
    example: ModuleType,
    *,
    poll: hg.PollPolicy,
    webhooks_on: bool = True,
    env: Mapping[str, str] | None = None,
    **fake_config: Any,
) -> AsyncIterator[Stack]:
    """Fake HeyGen + the example app under uvicorn, its webhook URL registered."""
    fake_config.setdefault("concurrency_limit", None)
    fake_config.setdefault("webhook_retry_base", 0.01)
    fake_config.setdefault("seed", 3)
    async with FakeHeyGen(**fake_config) as fake:
        sock, url = bind()
        environ = {"HEYGEN_API_KEY": fake.api_key, "HEYGEN_API_BASE": fake.url}
        environ.update(env or {})
        secret = None
        if webhooks_on:
            async with strict_client(fake) as admin:
                endpoint = await admin.create_webhook_endpoint(url + HOOK)
            secret = endpoint.secret
            assert secret is not None
            environ["HEYGEN_WEBHOOK_SECRET"] = secret
        app = example.create_app(environ, strict=True, retry=FAST_RETRY, poll=poll)
        async with serving(app, sock), aiohttp.ClientSession(url) as http:
            yield Stack(fake=fake, app=app, http=http, url=url, secret=secret)


def leftover_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still alive besides the current one."""
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not current and not t.done()]


def body_for(voice_id: str, n: int, **extra: Any) -> dict[str, Any]:
    """A POST /videos body whose content differs for each *n*."""
    return {
        "image_url": f"https://example.com/person-{n}.jpg",
        "script": f"Hello number {n}!",
        "voice_id": voice_id,
        **extra,
    }


async def post(
    http: aiohttp.ClientSession, path: str, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    """POST JSON and return the status and decoded body."""
    async with http.post(path, json=body, **kwargs) as response:
        return response.status, await response.json()


def delivery(
    secret: str,
    payload: Mapping[str, Any],
    *,
    event_id: str,
    at: float | None = None,
    stamped: bool = False,
) -> tuple[bytes, dict[str, str]]:
    """
    A signed delivery of *payload*, computed independently of the SDK.

    The event id goes in the body (and the header); *stamped* signs
    ``"{timestamp}.{body}"`` instead of the body alone.
    """
    body = json.dumps({"event_id": event_id, **payload} if event_id else payload)
    raw = body.encode()
    timestamp = str(int(time.time() if at is None else at))
    message = f"{timestamp}.".encode() + raw if stamped else raw
    headers = {
        "Content-Type": "application/json",
        "Heygen-Signature": hmac.new(
            secret.encode(), message, hashlib.sha256
        ).hexdigest(),
        "Heygen-Timestamp": timestamp,
        "Heygen-Event-Id": event_id,
    }
    return raw, headers


async def deliver(
    http: aiohttp.ClientSession,
    body: bytes,
    headers: Mapping[str, str],
    path: str = HOOK,
) -> tuple[int, Any]:
    """POST a raw delivery to the app."""
    async with http.post(path, data=body, headers=dict(headers)) as response:
        return response.status, await response.json()


# -- the example app under uvicorn, with FakeHeyGen delivering webhooks ----------


@pytest.mark.parametrize("drop_rate", [0.0, 0.3], ids=["all-delivered", "some-lost"])
async def test_fifty_waits_finish_by_webhook(
    example: ModuleType, voice_id: str, drop_rate: float
) -> None:
    """50 concurrent /videos:wait return their URLs; webhooks spare every detail GET."""
    poll = hg.PollPolicy(interval_initial=0.5, interval_max=0.5, jitter=0, deadline=10)
    async with example_stack(
        example, poll=poll, render_seconds=(0.05, 0.1), webhook_drop_rate=drop_rate
    ) as stack:
        answers = await asyncio.gather(
            *(
                post(stack.http, "/videos:wait", body_for(voice_id, n))
                for n in range(50)
            )
        )
        assert {status for status, _ in answers} == {200}
        videos = [body for _, body in answers]
        assert len({v["id"] for v in videos}) == 50
        assert all(v["status"] == "completed" for v in videos)
        async with stack.http.get(videos[0]["video_url"]) as media:
            assert media.status == 200
        await until(
            lambda: (
                stack.fake.stats.webhooks_delivered + stack.fake.stats.webhooks_dropped
                == 50
            )
        )
        stats = stack.fake.stats
        assert (stats.jobs_created, stats.duplicate_jobs) == (50, 0)
        # Only the jobs whose delivery was lost cost a poll and a detail GET.
        assert stats.requests.get(DETAIL, 0) == stats.webhooks_dropped
        status_calls = stats.requests.get(STATUSES, 0)
        if drop_rate:
            assert stats.webhooks_dropped > 0
            assert 1 <= status_calls <= 3  # one shared loop, not 50 pollers
        else:
            assert status_calls == 0
    assert leftover_tasks() == []


async def test_fifty_waits_share_one_poll_loop_without_webhooks(
    example: ModuleType, voice_id: str
) -> None:
    """Without webhooks, 50 waiting requests cost a few bulk calls, not 50 pollers."""
    poll = hg.PollPolicy(interval_initial=0.05, interval_max=0.05, jitter=0)
    async with example_stack(
        example, poll=poll, webhooks_on=False, render_seconds=(0.1, 0.3)
    ) as stack:
        answers = await asyncio.gather(
            *(
                post(stack.http, "/videos:wait", body_for(voice_id, n))
                for n in range(50)
            )
        )
        assert all(status == 200 and body["video_url"] for status, body in answers)
        scheduler = stack.client._scheduler
        assert scheduler is not None
        stats = stack.fake.stats
        status_calls = stats.requests[STATUSES]
        assert scheduler.job_polls >= 100  # every job was polled several times
        assert status_calls * 5 < scheduler.job_polls
        assert stats.requests[DETAIL] == 50  # one per job, when it finished
        assert stats.webhooks_attempted == 0
    assert leftover_tasks() == []


async def test_refused_deliveries_change_nothing(
    example: ModuleType, voice_id: str
) -> None:
    """Tampered, forged, stale, future and replayed deliveries get 4xx and no effect."""
    async with example_stack(
        example, poll=SLOW_POLL, job_plan=lambda _i, _b: JobPlan(render_seconds=30)
    ) as stack:
        assert stack.secret is not None
        wait = asyncio.create_task(
            post(stack.http, "/videos:wait", body_for(voice_id, 0))
        )
        await until(lambda: len(stack.fake.videos) == 1)
        video_id = next(iter(stack.fake.videos))
        url = "https://files.example/done.mp4"
        payload = {
            "event_type": "avatar_video.success",
            "event_data": {"video_id": video_id, "url": url},
        }
        body, headers = delivery(stack.secret, payload, event_id="evt_1")
        now = time.time()
        refused = [
            (body.replace(b"done", b"evil"), headers, 401),
            (*delivery("whsec_wrong", payload, event_id="evt_1"), 401),
            (*delivery(stack.secret, payload, event_id="evt_1", at=now - 600), 401),
            (*delivery(stack.secret, payload, event_id="evt_1", at=now + 600), 401),
            (body, {"Heygen-Event-Id": "evt_1"}, 400),
            (body, {**headers, "Heygen-Timestamp": "yesterday"}, 400),
            (body, {k: v for k, v in headers.items() if k != "Heygen-Timestamp"}, 400),
        ]
        for raw, head, expected in refused:
            status, answer = await deliver(stack.http, raw, head)
            assert status == expected, answer
            assert answer["error"]["code"] == "invalid_signature"
        await asyncio.sleep(0.05)
        assert not wait.done()
        counts = stack.client.request_counts()
        assert DETAIL not in counts
        assert STATUSES not in counts
        # The refused copies did not burn the event id: the genuine one lands.
        status, answer = await deliver(stack.http, body, headers)
        assert (status, answer) == (
            200,
            {"received": True, "event_id": "evt_1", "waiting": True},
        )
        status, video = await wait
        assert (status, video["id"], video["video_url"]) == (200, video_id, url)
        status, answer = await deliver(stack.http, body, headers)  # a repeat
        assert (status, answer["duplicate"], answer["waiting"]) == (200, True, False)
    assert leftover_tasks() == []


async def test_example_routes(example: ModuleType, voice_id: str) -> None:
    """POST /videos answers 202 (idempotently), GET /videos/{id} reports status."""
    async with example_stack(
        example, poll=SLOW_POLL, job_plan=lambda _i, _b: JobPlan(render_seconds=30)
    ) as stack:
        key = {"Idempotency-Key": "order-1"}
        status, first = await post(
            stack.http, "/videos", body_for(voice_id, 0), headers=key
        )
        assert status == 202
        assert first["status"] == "pending"
        _, again = await post(stack.http, "/videos", body_for(voice_id, 0), headers=key)
        assert again["id"] == first["id"]
        assert stack.fake.stats.jobs_created == 1
        async with stack.http.get(f"/videos/{first['id']}") as response:
            assert response.status == 200
            assert (await response.json())["status"] in ("pending", "processing")
        async with stack.http.get("/videos/v_missing") as response:
            assert response.status == 404
        status, answer = await post(
            stack.http, "/videos", body_for(voice_id, 1, audio_url="https://a/b.mp3")
        )
        assert status == 422
        assert "speech source" in answer["error"]
        async with stack.http.options(HOOK) as response:
            assert response.status == 200


async def test_example_failures_and_timeouts(
    example: ModuleType, voice_id: str
) -> None:
    """/videos:wait answers 502 for a failed render and 504 when it gives up."""
    jobs = [JobPlan(render_seconds=0.05, fail=True), JobPlan(render_seconds=30)]
    async with example_stack(
        example,
        poll=SLOW_POLL,
        env={"HEYGEN_WAIT_SECONDS": "0.2"},
        job_plan=lambda index, _body: jobs[index],
    ) as stack:
        status, failed = await post(stack.http, "/videos:wait", body_for(voice_id, 0))
        assert status == 502
        assert failed["status"] == "failed"
        assert failed["failure_message"] == "Render failed on the server."
        status, late = await post(stack.http, "/videos:wait", body_for(voice_id, 1))
        assert status == 504
        assert late["id"].startswith("v_")


async def test_example_maps_heygen_errors(example: ModuleType, voice_id: str) -> None:
    """A HeyGen 5xx reaches the caller as 502, a 4xx with its own status."""
    async with example_stack(example, poll=SLOW_POLL) as stack:
        stack.fake.add_fault(
            hg.testing.Fault(
                kind="error",
                status=500,
                route="GET /v3/videos/{video_id}",
                nth=(1, 2, 3, 4),
            )
        )
        async with stack.http.get("/videos/v_x") as response:
            assert response.status == 502
            assert (await response.json())["error"] == "internal_error"
        stack.fake.set_credits(0)
        status, answer = await post(stack.http, "/videos", body_for(voice_id, 0))
        assert (status, answer["error"]) == (402, "insufficient_credit")


# -- the router and the lifespan on their own ------------------------------------


async def test_router_options(voice_id: str) -> None:
    """secrets=, callback_path and on_event: rotation, unsigned hints, hooks."""
    seen: list[webhooks.WebhookEvent] = []
    fail = {"next": False}

    async def on_event(event: webhooks.WebhookEvent) -> None:
        if fail["next"]:
            fail["next"] = False
            msg = "storage is down"
            raise RuntimeError(msg)
        seen.append(event)

    async with FakeHeyGen(
        job_plan=lambda _i, _b: JobPlan(render_seconds=30), seed=1
    ) as fake:
        app = FastAPI(
            lifespan=heygen_lifespan(
                api_key=fake.api_key, base_url=fake.url, strict=True, poll=SLOW_POLL
            )
        )
        app.include_router(
            webhook_router(
                secrets=["whsec_new", "whsec_old"],
                callback_path="/cb",
                on_event=on_event,
            )
        )
        sock, url = bind()
        async with serving(app, sock), aiohttp.ClientSession(url) as http:
            client = getattr(app.state, STATE_ATTRIBUTE)
            created = await client.create_video(
                hg.VideoRequest(
                    image_url="https://e.com/p.jpg", script="Hi", voice_id=voice_id
                )
            )
            wait = asyncio.create_task(client.wait_for_video(created.id))
            await asyncio.sleep(0)
            hint = {
                "event_type": "avatar_video.success",
                "event_data": {"video_id": created.id},
            }
            # An unsigned callback delivery only pokes the poll loop.
            status, answer = await deliver(http, json.dumps(hint).encode(), {}, "/cb")
            assert (status, answer["waiting"]) == (200, True)
            await until(lambda: client.request_counts().get(STATUSES, 0) == 1)
            assert not wait.done()
            # A failing on_event is a 500 and the id is not burnt.
            payload = {
                "event_type": "avatar_video.fail",
                "event_data": {"video_id": created.id, "msg": "nope"},
            }
            body, headers = delivery("whsec_old", payload, event_id="evt_f")
            fail["next"] = True
            status, answer = await deliver(http, body, headers)
            assert (status, answer["error"]["code"]) == (500, "processing_failed")
            assert not wait.done()
            status, answer = await deliver(http, body, headers)
            assert (status, answer["waiting"]) == (200, True)
            with pytest.raises(hg.VideoFailedError, match="nope"):
                await wait
            assert [e.event_id for e in seen] == ["evt_f"]
            # A delivery without an event id cannot be de-duplicated: both land.
            body, headers = delivery("whsec_new", payload, event_id="", stamped=True)
            for _ in range(2):
                status, answer = await deliver(http, body, headers)
                assert (status, answer["event_id"]) == (200, None)
            fail["next"] = True
            status, _ = await deliver(http, body, headers)
            assert status == 500
    assert getattr(app.state, STATE_ATTRIBUTE, None) is None
    assert leftover_tasks() == []


def test_router_needs_exactly_one_kind_of_secret() -> None:
    """webhook_router refuses no secret, both kinds, or an empty one."""
    for kwargs in [
        {},
        {"secret": "a", "secrets": ["b"]},
        {"secret": ""},
        {"secrets": []},
    ]:
        with pytest.raises(ValueError, match="secret"):
            webhook_router(**kwargs)


def test_get_client_needs_the_lifespan() -> None:
    """get_client explains how to fix an app created without heygen_lifespan."""
    request = Request({"type": "http", "app": FastAPI()})
    with pytest.raises(RuntimeError, match="heygen_lifespan"):
        get_client(request)


def test_import_without_fastapi_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without FastAPI installed, importing heygen_async.fastapi names the extra."""
    monkeypatch.setitem(sys.modules, "fastapi", None)  # what "not installed" looks like
    monkeypatch.delitem(sys.modules, "heygen_async.fastapi")
    with pytest.raises(ImportError, match=r"pip install 'heygen-async\[fastapi\]'"):
        importlib.import_module("heygen_async.fastapi")


# -- replays, scheme pinning and body limits, over real sockets -----------------


@asynccontextmanager
async def router_app(
    fake: FakeHeyGen, **router_options: Any
) -> AsyncIterator[tuple[hg.Client, aiohttp.ClientSession]]:
    """An app with only the lifespan and the webhook router, served by uvicorn."""
    app = FastAPI(
        lifespan=heygen_lifespan(
            api_key=fake.api_key, base_url=fake.url, strict=True, poll=SLOW_POLL
        )
    )
    app.include_router(webhook_router(**router_options))
    sock, url = bind()
    async with serving(app, sock), aiohttp.ClientSession(url) as http:
        client = getattr(app.state, STATE_ATTRIBUTE)
        assert isinstance(client, hg.Client)
        yield client, http


async def captured(
    fake: FakeHeyGen, receiver: Receiver, client: hg.Client, voice_id: str
) -> tuple[str, str, Delivery]:
    """Register *receiver*, render one video; its secret, id and delivery."""
    endpoint = await client.create_webhook_endpoint(receiver.url + HOOK)
    assert endpoint.secret is not None
    created = await client.create_video(req(voice_id))
    return endpoint.secret, created.id, await receiver.next()


@pytest.mark.parametrize("scheme", ["heygen", "standard"])
async def test_captured_delivery_replayed_with_a_new_event_id_is_a_duplicate(
    voice_id: str, scheme: str
) -> None:
    """A fake delivery lands once; replayed with a new Heygen-Event-Id, a 2xx no-op."""
    events: list[webhooks.WebhookEvent] = []

    async def on_event(event: webhooks.WebhookEvent) -> None:
        events.append(event)

    async with (
        FakeHeyGen(render_seconds=0.05, webhook_scheme=scheme, seed=5) as fake,
        Receiver() as receiver,
        strict_client(fake) as admin,
    ):
        secret, video_id, captured_delivery = await captured(
            fake, receiver, admin, voice_id
        )
        async with router_app(fake, secret=secret, on_event=on_event) as (client, http):
            wait = asyncio.create_task(client.wait_for_video(video_id))
            await asyncio.sleep(0.01)
            body, headers = captured_delivery.body, captured_delivery.headers
            status, answer = await deliver(http, body, headers)
            assert (status, answer["waiting"]) == (200, True), answer
            video = await wait
            assert video.video_url == json.loads(body)["event_data"]["url"]
            replay = {**headers, "Heygen-Event-Id": "evt_brand_new"}
            status, answer = await deliver(http, body, replay)
            assert status == 200
            assert answer == {
                "received": True,
                "event_id": json.loads(body)["event_id"],
                "duplicate": True,
                "waiting": False,
            }
            assert [event.scheme for event in events] == [scheme]
            if scheme == "standard":  # the webhook-id is signed: a new one breaks it
                forged = {**headers, "webhook-id": "msg_brand_new"}
                status, answer = await deliver(http, body, forged)
                assert (status, answer["error"]["reason"]) == (401, "mismatch")
            assert len(events) == 1
            assert DETAIL not in client.request_counts()


async def test_body_only_signature_without_an_event_id_is_refused(
    voice_id: str,
) -> None:
    """A body-only signature over a body carrying no event id is a 401: replayable."""
    async with (
        FakeHeyGen(job_plan=lambda _i, _b: JobPlan(render_seconds=30)) as fake,
        router_app(fake, secret="whsec_x") as (client, http),
    ):
        created = await client.create_video(req(voice_id))
        wait = asyncio.create_task(client.wait_for_video(created.id))
        payload = {
            "event_type": "avatar_video.success",
            "event_data": {"video_id": created.id, "url": "https://a/v.mp4"},
        }
        body, headers = delivery("whsec_x", payload, event_id="")
        status, answer = await deliver(http, body, headers)
        assert (status, answer["error"]["reason"]) == (401, "unsigned_event_id")
        await asyncio.sleep(0.02)
        assert not wait.done()
        wait.cancel()


@pytest.mark.parametrize("pinned", ["heygen", "standard", None])
async def test_standard_deliveries_from_the_fake_and_pinning(
    voice_id: str, pinned: str | None
) -> None:
    """The fake's Standard Webhooks deliveries verify, unless the router pins heygen."""
    async with (
        FakeHeyGen(
            render_seconds=0.05,
            webhook_scheme="standard",
            webhook_attempts=1,
            seed=2,
        ) as fake,
        strict_client(fake) as admin,
    ):
        sock, url = bind()
        endpoint = await admin.create_webhook_endpoint(url + HOOK)
        assert endpoint.secret is not None
        assert endpoint.secret.startswith("whsec_")
        app = FastAPI(
            lifespan=heygen_lifespan(
                api_key=fake.api_key, base_url=fake.url, strict=True, poll=SLOW_POLL
            )
        )
        app.include_router(webhook_router(secret=endpoint.secret, scheme=pinned))
        async with serving(app, sock):
            client = getattr(app.state, STATE_ATTRIBUTE)
            created = await client.create_video(req(voice_id))
            wait = asyncio.create_task(client.wait_for_video(created.id))
            await until(lambda: fake.stats.webhooks_attempted == 1)
            await until(
                lambda: fake.stats.webhooks_delivered + fake.stats.webhooks_failed == 1
            )
            if pinned == "heygen":
                assert fake.stats.webhooks_failed == 1
                assert not wait.done()
                wait.cancel()
            else:
                assert fake.stats.webhooks_delivered == 1
                video = await wait
                assert video.video_url is not None
                assert DETAIL not in client.request_counts()


def test_router_refuses_a_bad_scheme_or_limit() -> None:
    """An unknown scheme or a max_body below 1 is a configuration error."""
    with pytest.raises(ValueError, match="scheme"):
        webhook_router(secret="s", scheme="svix")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_body"):
        webhook_router(secret="s", max_body=0)


async def fifty_megabytes() -> AsyncIterator[bytes]:
    """50 MB in 1 MB chunks, sent chunked (no Content-Length)."""
    chunk = b"x" * (1 << 20)
    for _ in range(50):
        yield chunk


async def test_oversized_bodies_get_413_before_anything_else() -> None:
    """50 MB, declared or chunked, on either route: a quick 413; the limit is set."""
    async with (
        FakeHeyGen() as fake,
        router_app(fake, secret="whsec_x", callback_path="/cb") as (client, http),
    ):
        big = b"{" + b" " * (50 * (1 << 20)) + b"}"
        for path in (HOOK, "/cb"):
            started = time.monotonic()
            for data in (io.BytesIO(big), fifty_megabytes()):
                try:
                    async with http.post(path, data=data) as response:
                        assert response.status == 413
                        answer = await response.json()
                        assert answer["error"]["code"] == "payload_too_large"
                except aiohttp.ClientOSError:  # closed while we still sent
                    pytest.fail("the server closed before answering 413")
            assert time.monotonic() - started < 5
        assert client.request_counts() == {}
    async with (
        FakeHeyGen() as fake,
        router_app(fake, secret="whsec_x", max_body=300) as (
            _,
            http,
        ),
    ):
        payload = {"event_type": "x.y", "event_data": {"pad": "p" * 150}}
        body, headers = delivery("whsec_x", payload, event_id="evt_small")
        assert len(body) <= 300
        status, _answer = await deliver(http, body, headers)
        assert status == 200
        payload["event_data"]["pad"] = "p" * 300
        body, headers = delivery("whsec_x", payload, event_id="evt_big")
        status, answer = await deliver(http, body, headers)
        assert (status, answer["error"]["code"]) == (413, "payload_too_large")
