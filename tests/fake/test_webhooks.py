"""The fake's webhook deliveries: signatures, retries, chaos (plain aiohttp)."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
import pytest

from heygen_async.testing import FakeHeyGen, JobPlan
from heygen_async.testing._contract import SchemaChecker, operations
from tests.helpers.fake import create, get_json, serve
from tests.helpers.webhooks import (
    ENDPOINTS,
    Receiver,
    call,
    idle,
    listening,
    plans,
    register,
    until,
)


SECRET_PATTERN = re.compile(r"whsec_[0-9a-f]{48}")


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
        # The id is in the signed body too, so a receiver never needs the header.
        assert payload["event_id"] == delivery.headers["Heygen-Event-Id"]
        assert not any(name.startswith("webhook-") for name in delivery.headers)
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
        (JobPlan(render_seconds=0.01, fail=True), "Render failed on the server."),
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
        await until(lambda: fake.stats.webhooks_delivered == 2)


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


async def test_endpoint_registered_later_hears_no_past_events() -> None:
    """Jobs that finished before an endpoint existed are never delivered to it."""
    async with (
        Receiver() as receiver,
        serve(
            job_plan=plans(JobPlan(render_seconds=0), JobPlan(render_seconds=0.02))
        ) as (fake, session),
    ):
        await create(session)
        await register(session, receiver.url)
        later = await create(session, script="later")
        delivery = await receiver.next()
        assert delivery.json["event_data"]["video_id"] == later
        await idle(fake)
        assert len(receiver.deliveries) == 1


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


async def test_standard_scheme_signs_as_standard_webhooks() -> None:
    """webhook_scheme='standard': webhook-id/-timestamp/-signature, base64 secret."""
    async with listening(webhook_scheme="standard") as (_, session, receiver, secret):
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
        video_id = await create(session)
        delivery = await receiver.next()
        assert delivery.standard_signed_by(secret)
        assert not delivery.signed_by(secret)
        headers = delivery.headers
        assert "Heygen-Signature" not in headers
        assert "Heygen-Event-Id" not in headers
        assert headers["webhook-id"] == delivery.json["event_id"]
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
        assert delivery.json["event_data"]["video_id"] == video_id
        _, history = await get_json(session, "/v3/webhooks/events")
        assert [event["event_id"] for event in history["data"]] == [
            headers["webhook-id"]
        ]


async def test_standard_scheme_retries_keep_the_id_and_re_sign() -> None:
    """Every attempt carries the same webhook-id, signed afresh; rotation applies."""
    async with listening(
        (500, 500), webhook_scheme="standard", webhook_retry_base=0.2
    ) as (
        _,
        session,
        receiver,
        old,
    ):
        await create(session)
        first = await receiver.next()
        assert first.standard_signed_by(old)
        _, listed = await get_json(session, ENDPOINTS)
        endpoint_id = listed["data"][0]["endpoint_id"]
        _, rotated = await call(
            session, "POST", f"{ENDPOINTS}/{endpoint_id}/rotate-secret"
        )
        new = rotated["data"]["secret"]
        second, third = await receiver.next(), await receiver.next()
        assert {d.headers["webhook-id"] for d in (first, second, third)} == {
            first.headers["webhook-id"]
        }
        assert all(d.standard_signed_by(new) for d in (second, third))
        assert not second.standard_signed_by(old)


@pytest.mark.parametrize("fail", [False, True], ids=["ok", "fail"])
async def test_delivery_bodies_have_the_history_record_shape(fail: bool) -> None:
    """A delivery body is a WebhookEventsList item: the official schema accepts it."""
    plan = JobPlan(render_seconds=0.01, fail=fail)
    async with listening(job_plan=plans(plan)) as (_, session, receiver, _secret):
        await create(session)
        body = (await receiver.next()).json
        assert set(body) == {"event_id", "event_type", "event_data", "created_at"}
        page = {"data": [body], "has_more": False, "next_token": None}
        problems = SchemaChecker().problems(
            operations()["WebhookEventsList"], "response", page
        )
        assert problems == []


def test_unknown_webhook_scheme_is_refused() -> None:
    """The scheme knob takes 'heygen' or 'standard' only."""
    with pytest.raises(ValueError, match="webhook_scheme"):
        FakeHeyGen(webhook_scheme="svix")


# -- retries and chaos -------------------------------------------------------


async def test_non_2xx_is_retried_until_accepted() -> None:
    """500 then 503 then 200: three attempts, one delivery, same event id."""
    async with listening((500, 503)) as (fake, session, receiver, secret):
        await create(session)
        attempts = [await receiver.next() for _ in range(3)]
        assert len({a.headers["Heygen-Event-Id"] for a in attempts}) == 1
        assert all(a.signed_by(secret) for a in attempts)
        await until(lambda: fake.stats.webhooks_delivered > 0)
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
        await until(lambda: fake.stats.webhooks_failed > 0)
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
        await until(lambda: fake.stats.webhooks_failed > 0)
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
        await until(lambda: fake.stats.webhooks_failed > 0)
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
        await until(lambda: fake.stats.webhooks_delivered == 2)


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
            await idle(fake)
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
