"""The fake's webhooks: endpoint routes, signed deliveries, retries, chaos, history."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from heygen_async.testing import FakeHeyGen, Fault, JobPlan
from tests._fake_helpers import create, get_json, serve
from tests._webhook_helpers import Receiver


ENDPOINTS = "/v3/webhooks/endpoints"
SECRET_PATTERN = re.compile(r"whsec_[0-9a-f]{48}")


def plans(*items: JobPlan) -> Any:
    """A job_plan callback handing out *items* in creation order."""

    def plan(index: int, _body: Mapping[str, Any]) -> JobPlan:
        return items[index]

    return plan


async def call(
    session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """Send one request and return its status and JSON body."""
    async with session.request(method, path, **kwargs) as resp:
        return resp.status, await resp.json()


async def register(
    session: aiohttp.ClientSession, url: str, **fields: Any
) -> dict[str, Any]:
    """Register *url* and return the endpoint (asserting a 200)."""
    status, body = await call(session, "POST", ENDPOINTS, json={"url": url, **fields})
    assert status == 200, body
    return dict(body["data"])


@asynccontextmanager
async def listening(
    statuses: tuple[int, ...] = (), **config: Any
) -> AsyncIterator[tuple[FakeHeyGen, aiohttp.ClientSession, Receiver, str]]:
    """A fake with fast retries, a receiver, and the receiver registered."""
    config.setdefault("render_seconds", 0.01)
    config.setdefault("webhook_retry_base", 0.01)
    async with Receiver(statuses) as receiver, serve(**config) as (fake, session):
        endpoint = await register(session, receiver.url + "/hook")
        yield fake, session, receiver, endpoint["secret"]


# -- endpoint routes ---------------------------------------------------------


async def test_create_returns_the_secret_once(
    fake_session: aiohttp.ClientSession,
) -> None:
    """Create answers with a whsec_ secret; the list shows the endpoint without it."""
    endpoint = await register(
        fake_session, "https://example.com/hook", events=["avatar_video.success"]
    )
    assert set(endpoint) == {
        "endpoint_id",
        "url",
        "events",
        "status",
        "created_at",
        "secret",
    }
    assert endpoint["endpoint_id"].startswith("ep_")
    assert SECRET_PATTERN.fullmatch(endpoint["secret"])
    assert endpoint["events"] == ["avatar_video.success"]
    assert endpoint["status"] == "enabled"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", endpoint["created_at"])
    status, listed = await get_json(fake_session, ENDPOINTS)
    assert status == 200
    assert listed["data"] == [{**endpoint, "secret": None}]
    assert listed["has_more"] is False


async def test_entity_id_is_kept(fake_session: aiohttp.ClientSession) -> None:
    """An entity_id given on create is echoed; events default to null (all)."""
    endpoint = await register(fake_session, "https://e.com/h", entity_id="ent_1")
    assert endpoint["entity_id"] == "ent_1"
    assert endpoint["events"] is None


async def test_list_pages(fake_session: aiohttp.ClientSession) -> None:
    """Endpoints are listed oldest first, limit per page, following next_token."""
    ids = [
        (await register(fake_session, f"https://e.com/{n}"))["endpoint_id"]
        for n in range(3)
    ]
    status, first = await get_json(fake_session, ENDPOINTS, limit="2")
    assert status == 200
    assert [e["endpoint_id"] for e in first["data"]] == ids[:2]
    assert first["has_more"] is True
    _, second = await get_json(
        fake_session, ENDPOINTS, limit="2", token=first["next_token"]
    )
    assert [e["endpoint_id"] for e in second["data"]] == ids[2:]
    assert second["next_token"] is None


async def test_update_replaces_events_and_url(
    fake_session: aiohttp.ClientSession,
) -> None:
    """PATCH replaces the whole events list and the URL; the secret stays hidden."""
    endpoint = await register(
        fake_session,
        "https://e.com/a",
        events=["avatar_video.success", "avatar_video.fail"],
    )
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
    status, body = await call(
        fake_session, "PATCH", path, json={"events": ["avatar_video.fail"]}
    )
    assert status == 200
    assert body["data"]["events"] == ["avatar_video.fail"]
    assert body["data"]["url"] == "https://e.com/a"
    assert body["data"]["secret"] is None
    status, body = await call(
        fake_session, "PATCH", path, json={"url": "https://e.com/b", "events": None}
    )
    assert status == 200
    assert (body["data"]["url"], body["data"]["events"]) == ("https://e.com/b", None)


async def test_delete_then_404(fake_session: aiohttp.ClientSession) -> None:
    """DELETE removes the endpoint; it is then unknown to every route."""
    endpoint = await register(fake_session, "https://e.com/a")
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
    status, body = await call(fake_session, "DELETE", path)
    assert status == 200
    assert body["data"] == {"endpoint_id": endpoint["endpoint_id"], "deleted": True}
    for method, suffix in [("DELETE", ""), ("PATCH", ""), ("POST", "/rotate-secret")]:
        status, body = await call(
            fake_session, method, path + suffix, json={"url": "https://e.com"}
        )
        assert status == 404
        assert body["error"]["code"] == "not_found"
    _, listed = await get_json(fake_session, ENDPOINTS)
    assert listed["data"] == []


async def test_rotate_returns_a_new_secret(
    fake_session: aiohttp.ClientSession,
) -> None:
    """rotate-secret answers a different whsec_ secret for the same endpoint."""
    endpoint = await register(fake_session, "https://e.com/a")
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}/rotate-secret"
    status, body = await call(fake_session, "POST", path)
    assert status == 200
    assert set(body["data"]) == {"endpoint_id", "secret"}
    assert body["data"]["endpoint_id"] == endpoint["endpoint_id"]
    assert SECRET_PATTERN.fullmatch(body["data"]["secret"])
    assert body["data"]["secret"] != endpoint["secret"]


async def test_create_is_idempotent(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """The same Idempotency-Key replays the first endpoint instead of a second."""
    headers = {"Idempotency-Key": "hook-1"}
    first = await call(
        fake_session, "POST", ENDPOINTS, json={"url": "https://e.com"}, headers=headers
    )
    again = await call(
        fake_session, "POST", ENDPOINTS, json={"url": "https://e.com"}, headers=headers
    )
    assert first == again
    assert fake.stats.idempotent_replays == 1


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "url"),
        ({"url": "ftp://e.com"}, "url"),
        ({"url": 5}, "url"),
        ({"url": "https://e.com", "events": []}, "events"),
        ({"url": "https://e.com", "events": "avatar_video.success"}, "events"),
        ({"url": "https://e.com", "events": ["nope"]}, "events"),
        ({"url": "https://e.com", "events": [{"x": 1}]}, "events"),
        ({"url": "https://e.com", "entity_id": 3}, "entity_id"),
        ({"url": "https://e.com", "colour": "red"}, "colour"),
    ],
)
async def test_create_validates(
    fake_session: aiohttp.ClientSession, body: dict[str, Any], param: str
) -> None:
    """Bad create bodies are 400 invalid_parameter naming the field."""
    status, answer = await call(fake_session, "POST", ENDPOINTS, json=body)
    assert status == 400
    assert answer["error"]["code"] == "invalid_parameter"
    assert answer["error"]["param"] == param


async def test_update_validates(fake_session: aiohttp.ClientSession) -> None:
    """PATCH refuses fields it cannot change and bad values."""
    endpoint = await register(fake_session, "https://e.com/a")
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
    for body, param in [
        ({"entity_id": "x"}, "entity_id"),
        ({"url": "nope"}, "url"),
        ({"events": ["nope"]}, "events"),
    ]:
        status, answer = await call(fake_session, "PATCH", path, json=body)
        assert status == 400
        assert answer["error"]["param"] == param


async def test_event_types(fake_session: aiohttp.ClientSession) -> None:
    """event-types lists the avatar_video events with descriptions."""
    status, body = await get_json(fake_session, "/v3/webhooks/event-types")
    assert status == 200
    types = {item["event_type"]: item["description"] for item in body["data"]}
    assert {"avatar_video.success", "avatar_video.fail"} <= set(types)
    assert all(isinstance(text, str) and text for text in types.values())
    assert body["has_more"] is False


async def test_webhook_routes_need_the_key(fake: FakeHeyGen) -> None:
    """The webhook routes are authenticated like every /v3 route."""
    async with aiohttp.ClientSession(fake.url) as session:
        status, body = await get_json(session, ENDPOINTS)
    assert status == 401


async def test_faults_can_target_webhook_routes() -> None:
    """A Fault may name a webhook route, which then fails as scripted."""
    route = "PATCH /v3/webhooks/endpoints/{endpoint_id}"
    async with serve(
        faults=[Fault(kind="error", status=503, route=route, nth=(1,))]
    ) as (
        _,
        session,
    ):
        endpoint = await register(session, "https://e.com")
        path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
        status, _ = await call(session, "PATCH", path, json={"url": "https://e.com/b"})
        assert status == 503
    with pytest.raises(ValueError, match="not a FakeHeyGen route"):
        Fault(kind="error", route="PATCH /v3/webhooks/nope", nth=(1,)).route and (
            FakeHeyGen(faults=[Fault(kind="error", route="GET /v3/nope", nth=(1,))])
        )


@pytest.mark.parametrize(
    "config",
    [
        {"webhook_attempts": 0},
        {"webhook_retry_base": -1},
        {"webhook_timeout": 0},
        {"webhook_delay": -0.1},
        {"webhook_duplicate_rate": 1.5},
        {"webhook_drop_rate": -0.1},
    ],
)
def test_invalid_webhook_knobs_are_rejected(config: dict[str, Any]) -> None:
    """Out-of-range webhook knobs raise ValueError at construction."""
    with pytest.raises(ValueError):  # noqa: PT011 - attrs' messages vary
        FakeHeyGen(**config)


# -- deliveries --------------------------------------------------------------


async def test_success_is_delivered_signed() -> None:
    """A finished job is posted to the endpoint, signed with its secret."""
    async with listening() as (fake, session, receiver, secret):
        video_id = await create(session, callback_id="job-7")
        delivery = await receiver.next()
        assert delivery.path == "/hook"
        assert delivery.signed_by(secret)
        assert delivery.headers["Content-Type"] == "application/json"
        assert re.fullmatch(r"evt_[0-9a-f]{24}", delivery.headers["Heygen-Event-Id"])
        assert abs(int(delivery.headers["Heygen-Timestamp"]) - time.time()) < 5
        payload = delivery.json
        assert payload["event_type"] == "avatar_video.success"
        data = payload["event_data"]
        assert data["video_id"] == video_id
        assert data["callback_id"] == "job-7"
        assert data["video_page_url"].endswith(video_id)
        assert isinstance(data["duration"], float)
        async with session.get(data["url"]) as media:  # a working presigned URL
            assert media.status == 200
            assert media.content_type == "video/mp4"
        stats = fake.stats
        assert (stats.webhooks_attempted, stats.webhooks_delivered) == (1, 1)
        assert (stats.webhooks_failed, stats.webhooks_dropped) == (0, 0)
        assert stats.to_json()["webhooks_delivered"] == 1


@pytest.mark.parametrize(
    ("plan", "msg"),
    [
        (JobPlan(render_seconds=0.01, fail=True), "Avatar rendering timed out"),
        (
            JobPlan(render_seconds=0.01, fail=True, failure_message=None),
            "rendering_failed",
        ),
        (
            JobPlan(
                render_seconds=0.01,
                fail=True,
                failure_code=None,
                failure_message=None,
            ),
            None,
        ),
    ],
    ids=["message", "code-only", "silent"],
)
async def test_failure_is_delivered_with_msg(plan: JobPlan, msg: str | None) -> None:
    """A failed job posts avatar_video.fail with msg (absent for a silent failure)."""
    async with listening(job_plan=plans(plan)) as (_, session, receiver, secret):
        video_id = await create(session)
        delivery = await receiver.next()
        assert delivery.signed_by(secret)
        assert delivery.json["event_type"] == "avatar_video.fail"
        data = delivery.json["event_data"]
        assert data["video_id"] == video_id
        assert data.get("msg") == msg
        assert data["callback_id"] is None


async def test_only_subscribed_events_are_delivered() -> None:
    """An endpoint subscribed to failures alone hears nothing about successes."""
    async with (
        Receiver() as receiver,
        serve(render_seconds=0.01) as (fake, session),
    ):
        await register(session, receiver.url, events=["avatar_video.fail"])
        await create(session)
        await asyncio.sleep(0.1)
        assert receiver.deliveries == []
        assert fake.stats.webhooks_attempted == 0


async def test_every_endpoint_gets_its_own_signature() -> None:
    """Two endpoints each receive the event, signed with their own secret."""
    async with (
        Receiver() as first,
        Receiver() as second,
        serve(render_seconds=0.01) as (fake, session),
    ):
        one = await register(session, first.url)
        two = await register(session, second.url)
        await create(session)
        a, b = await first.next(), await second.next()
        assert a.signed_by(one["secret"])
        assert b.signed_by(two["secret"])
        assert not a.signed_by(two["secret"])
        assert a.headers["Heygen-Event-Id"] == b.headers["Heygen-Event-Id"]
        assert fake.stats.webhooks_delivered == 2


async def test_callback_url_is_delivered_unsigned() -> None:
    """A video's own callback_url gets the event without a signature."""
    async with Receiver() as receiver, serve(render_seconds=0.01) as (_, session):
        video_id = await create(session, callback_url=receiver.url + "/cb")
        delivery = await receiver.next()
        assert delivery.path == "/cb"
        assert "Heygen-Signature" not in delivery.headers
        assert "Heygen-Event-Id" in delivery.headers
        assert delivery.json["event_data"]["video_id"] == video_id


async def test_endpoint_registered_mid_render_still_hears() -> None:
    """A job created before the endpoint existed is still announced to it."""
    async with (
        Receiver() as receiver,
        serve(job_plan=plans(JobPlan(render_seconds=0.05))) as (_, session),
    ):
        video_id = await create(session)
        await register(session, receiver.url)
        delivery = await receiver.next()
        assert delivery.json["event_data"]["video_id"] == video_id


async def test_deliveries_follow_finish_order() -> None:
    """Jobs are announced in the order they finish, not the order created."""
    durations = [0.09, 0.01, 0.05]
    async with listening(
        job_plan=plans(*(JobPlan(render_seconds=d) for d in durations))
    ) as (_, session, receiver, _secret):
        ids = [await create(session, script=f"Hi {n}") for n in range(3)]
        got = [(await receiver.next()).json["event_data"]["video_id"] for _ in ids]
        assert got == [ids[1], ids[2], ids[0]]


async def test_nobody_listening_means_no_task(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """Without endpoints or callback_url the fake runs no delivery task at all."""
    await create(fake_session)
    assert fake._runtime.webhooks._task is None
    await asyncio.sleep(0.1)
    assert fake.stats.webhooks_attempted == 0


async def test_the_delivery_task_exits_when_idle() -> None:
    """Once every watched job is announced, the background task ends."""
    async with listening() as (fake, session, receiver, _):
        await create(session)
        await receiver.next()
        task = fake._runtime.webhooks._task
        assert task is not None
        await asyncio.wait_for(task, 1)
        await create(session, script="again")  # a new job starts a new task
        await receiver.next()


async def test_deleted_video_is_not_announced() -> None:
    """A video deleted while it renders produces no event."""
    async with listening(job_plan=plans(JobPlan(render_seconds=0.05))) as (
        fake,
        session,
        receiver,
        _,
    ):
        video_id = await create(session)
        status, _ = await call(session, "DELETE", f"/v3/videos/{video_id}")
        assert status == 200
        await asyncio.wait_for(fake._runtime.webhooks._task, 1)  # type: ignore[arg-type]
        assert receiver.deliveries == []


# -- retries and chaos -------------------------------------------------------


async def test_non_2xx_is_retried_until_accepted() -> None:
    """500 then 503 then 200: three attempts, one delivery, same event id."""
    async with listening((500, 503)) as (fake, session, receiver, secret):
        await create(session)
        attempts = [await receiver.next() for _ in range(3)]
        assert len({a.headers["Heygen-Event-Id"] for a in attempts}) == 1
        assert all(a.signed_by(secret) for a in attempts)
        await asyncio.sleep(0.05)
        stats = fake.stats
        assert (stats.webhooks_attempted, stats.webhooks_delivered) == (3, 1)
        assert stats.webhooks_failed == 0


async def test_gives_up_after_the_last_attempt() -> None:
    """A receiver that always fails is tried webhook_attempts times, then dropped."""
    async with listening((500,) * 10, webhook_attempts=3) as (
        fake,
        session,
        receiver,
        _,
    ):
        await create(session)
        for _ in range(3):
            await receiver.next()
        for _ in range(50):
            if fake.stats.webhooks_failed:
                break
            await asyncio.sleep(0.01)
        stats = fake.stats
        assert (stats.webhooks_attempted, stats.webhooks_failed) == (3, 1)
        assert stats.webhooks_delivered == 0


async def test_unreachable_receiver_counts_as_failed() -> None:
    """Connection errors are retried like a 5xx, then given up."""
    async with Receiver() as gone:
        url = gone.url  # closed at the end of this block: nothing listens there
    async with serve(
        render_seconds=0.01, webhook_retry_base=0.005, webhook_attempts=2
    ) as (
        fake,
        session,
    ):
        await register(session, url)
        await create(session)
        for _ in range(100):
            if fake.stats.webhooks_failed:
                break
            await asyncio.sleep(0.01)
        assert (fake.stats.webhooks_attempted, fake.stats.webhooks_failed) == (2, 1)


async def test_slow_receiver_times_out() -> None:
    """A receiver slower than webhook_timeout fails that attempt."""
    async with (
        Receiver(hang=True) as receiver,
        serve(render_seconds=0.01, webhook_timeout=0.05, webhook_attempts=1) as (
            fake,
            session,
        ),
    ):
        await register(session, receiver.url)
        await create(session)
        await receiver.next()
        for _ in range(100):
            if fake.stats.webhooks_failed:
                break
            await asyncio.sleep(0.01)
        assert fake.stats.webhooks_failed == 1


async def test_rotation_applies_to_the_next_attempt() -> None:
    """After a rotation, retries are signed with the new secret only."""
    async with listening((500,), webhook_retry_base=0.05) as (
        _,
        session,
        receiver,
        old,
    ):
        await create(session)
        first = await receiver.next()
        assert first.signed_by(old)
        _, listed = await get_json(session, ENDPOINTS)
        endpoint_id = listed["data"][0]["endpoint_id"]
        _, rotated = await call(
            session, "POST", f"{ENDPOINTS}/{endpoint_id}/rotate-secret"
        )
        retry = await receiver.next()
        assert retry.signed_by(rotated["data"]["secret"])
        assert not retry.signed_by(old)


async def test_deleting_the_endpoint_stops_retries() -> None:
    """Retries stop once the endpoint is deleted."""
    async with listening((500,) * 10, webhook_retry_base=0.05) as (
        fake,
        session,
        receiver,
        _,
    ):
        await create(session)
        await receiver.next()
        _, listed = await get_json(session, ENDPOINTS)
        await call(session, "DELETE", f"{ENDPOINTS}/{listed['data'][0]['endpoint_id']}")
        await asyncio.sleep(0.2)
        assert len(receiver.deliveries) == 1
        assert fake.stats.webhooks_failed == 0


async def test_drop_rate_loses_deliveries() -> None:
    """webhook_drop_rate=1 loses every delivery without trying."""
    async with listening(webhook_drop_rate=1.0) as (fake, session, receiver, _):
        await create(session)
        await asyncio.wait_for(fake._runtime.webhooks._task, 1)  # type: ignore[arg-type]
        assert receiver.deliveries == []
        assert (fake.stats.webhooks_dropped, fake.stats.webhooks_attempted) == (1, 0)


async def test_duplicate_rate_delivers_twice() -> None:
    """webhook_duplicate_rate=1 posts each event twice with the same id."""
    async with listening(webhook_duplicate_rate=1.0) as (fake, session, receiver, _):
        await create(session)
        first, second = await receiver.next(), await receiver.next()
        assert first.body == second.body
        assert first.headers["Heygen-Event-Id"] == second.headers["Heygen-Event-Id"]
        assert fake.stats.webhooks_delivered == 2


async def test_delay_makes_deliveries_late() -> None:
    """webhook_delay postpones every delivery by that long."""
    async with listening(webhook_delay=0.1) as (fake, session, receiver, _):
        loop = asyncio.get_running_loop()
        await create(session)
        started = loop.time()
        delivery = await receiver.next()
        video = fake.videos[delivery.json["event_data"]["video_id"]]
        assert loop.time() - video.finishes_mono >= 0.1
        assert loop.time() - started >= 0.1


@pytest.mark.parametrize("seed", [1, 2])
async def test_chaos_is_deterministic_for_a_seed(seed: int) -> None:
    """The same seed drops and duplicates the same deliveries."""

    async def run() -> tuple[int, int]:
        async with listening(
            seed=seed, webhook_drop_rate=0.3, webhook_duplicate_rate=0.3
        ) as (fake, session, receiver, _):
            for n in range(10):
                await create(session, script=f"Hi {n}")
            await asyncio.sleep(0.2)
            return fake.stats.webhooks_dropped, len(receiver.deliveries)

    assert await run() == await run()


async def test_aclose_cancels_deliveries_in_flight() -> None:
    """Closing the fake stops a delivery stuck on a slow receiver, leaving no task."""
    async with Receiver(hang=True) as receiver:
        fake = FakeHeyGen(render_seconds=0.01, seed=1)
        await fake.start()
        async with aiohttp.ClientSession(
            fake.url, headers={"x-api-key": fake.api_key}
        ) as session:
            await register(session, receiver.url)
            await create(session)
            await create(session, script="later", callback_url=receiver.url)
        await receiver.next()
        await fake.aclose()
        hub = fake._runtime.webhooks
        assert hub._deliveries == set()
        assert hub._task is None
        hub.job_created(next(iter(fake.videos.values())))  # closed: ignored
        assert hub._task is None


# -- history -------------------------------------------------------------------


async def test_history_lists_events_with_delivery_ids() -> None:
    """GET /v3/webhooks/events lists finished events newest first, same ids."""
    async with listening(
        job_plan=plans(
            JobPlan(render_seconds=0.01),
            JobPlan(render_seconds=0.02, fail=True),
            JobPlan(render_seconds=30),
        )
    ) as (_, session, receiver, _secret):
        ids = [await create(session, script=f"Hi {n}") for n in range(3)]
        delivered = [await receiver.next() for _ in range(2)]
        status, body = await get_json(session, "/v3/webhooks/events")
        assert status == 200
        events = body["data"]
        assert [e["event_data"]["video_id"] for e in events] == [ids[1], ids[0]]
        assert [e["event_type"] for e in events] == [
            "avatar_video.fail",
            "avatar_video.success",
        ]
        assert {e["event_id"] for e in events} == {
            d.headers["Heygen-Event-Id"] for d in delivered
        }
        assert set(events[0]) == {"event_id", "event_type", "event_data", "created_at"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", events[0]["created_at"])


async def test_history_filters_and_pages(fake: FakeHeyGen) -> None:
    """event_type and entity_id filter the history; limit and token page it."""
    fake.job_plan = plans(
        JobPlan(render_seconds=0),
        JobPlan(render_seconds=0),
        JobPlan(render_seconds=0, fail=True),
    )
    headers = {"x-api-key": fake.api_key}
    async with aiohttp.ClientSession(fake.url, headers=headers) as session:
        ids = [await create(session, script=f"Hi {n}") for n in range(3)]
        path = "/v3/webhooks/events"
        _, body = await get_json(session, path, event_type="avatar_video.success")
        assert {e["event_data"]["video_id"] for e in body["data"]} == set(ids[:2])
        _, body = await get_json(session, path, entity_id=ids[2])
        assert [e["event_type"] for e in body["data"]] == ["avatar_video.fail"]
        _, first = await get_json(session, path, limit="2")
        assert len(first["data"]) == 2
        assert first["has_more"] is True
        _, rest = await get_json(session, path, limit="2", token=first["next_token"])
        assert len(rest["data"]) == 1
        assert rest["next_token"] is None
