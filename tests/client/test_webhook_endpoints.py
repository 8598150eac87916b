"""The client's webhook endpoint methods, and feed_webhook driving the poll loop."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import pytest

import heygen_async as hg
from heygen_async import webhooks
from heygen_async.testing import FakeHeyGen, JobPlan
from tests.helpers import req, strict_client
from tests.helpers.webhooks import Delivery, Receiver, plans


DETAIL = "GET /v3/videos/{video_id}"
STATUSES = "GET /v3/videos/statuses"
# Polls so rare that only a webhook can finish a wait within a test.
SLOW_POLL = hg.PollPolicy(interval_initial=30, interval_max=30, jitter=0, deadline=60)


def verified(delivery: Delivery, secret: str) -> webhooks.WebhookEvent:
    """The delivery, verified as a webhook route would."""
    return webhooks.verify(delivery.body, delivery.headers, secret)


# -- endpoint methods --------------------------------------------------------


async def test_create_returns_the_secret_hidden_from_repr(client: hg.Client) -> None:
    """create_webhook_endpoint returns the endpoint and its secret, not in repr."""
    endpoint = await client.create_webhook_endpoint(
        "https://example.com/hook", events=["avatar_video.success"]
    )
    assert endpoint.id.startswith("ep_")
    assert endpoint.url == "https://example.com/hook"
    assert endpoint.events == ("avatar_video.success",)
    assert endpoint.status == "enabled"
    assert endpoint.created_at is not None
    assert endpoint.created_at.tzinfo is not None
    assert endpoint.secret is not None
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret not in repr(endpoint)
    assert client.request_counts()["POST /v3/webhooks/endpoints"] == 1


async def test_create_sends_an_idempotency_key(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A create retried after a dropped answer is replayed, not registered twice."""
    fake.add_fault(
        hg.testing.Fault(
            kind="drop", route="POST /v3/webhooks/endpoints", nth=(1,), phase="after"
        )
    )
    endpoint = await client.create_webhook_endpoint("https://example.com/hook")
    listed = [e async for e in client.iter_webhook_endpoints()]
    assert [e.id for e in listed] == [endpoint.id]
    assert fake.stats.idempotent_replays == 1


async def test_entity_id_and_all_events(client: hg.Client) -> None:
    """entity_id is sent and kept; no events means every event."""
    endpoint = await client.create_webhook_endpoint(
        "https://example.com/hook", entity_id="ent_9"
    )
    assert endpoint.entity_id == "ent_9"
    assert endpoint.events is None


async def test_iter_endpoints_follows_pages_without_secrets(client: hg.Client) -> None:
    """iter_webhook_endpoints walks every page; listed secrets are None."""
    created = [
        await client.create_webhook_endpoint(f"https://example.com/{n}")
        for n in range(3)
    ]
    listed = [e async for e in client.iter_webhook_endpoints(page_size=2)]
    assert [e.id for e in listed] == [e.id for e in created]
    assert all(e.secret is None for e in listed)
    assert client.request_counts()["GET /v3/webhooks/endpoints"] == 2


async def test_update_delete_and_not_found(client: hg.Client) -> None:
    """update replaces url/events; delete forgets; a deleted endpoint is a 404."""
    endpoint = await client.create_webhook_endpoint("https://example.com/a")
    updated = await client.update_webhook_endpoint(
        endpoint.id, url="https://example.com/b", events=["avatar_video.fail"]
    )
    assert (updated.id, updated.url) == (endpoint.id, "https://example.com/b")
    assert updated.events == ("avatar_video.fail",)
    assert updated.secret is None
    only_url = await client.update_webhook_endpoint(
        endpoint.id, url="https://example.com/c"
    )
    assert only_url.events == ("avatar_video.fail",)
    await client.delete_webhook_endpoint(endpoint.id)
    assert [e async for e in client.iter_webhook_endpoints()] == []
    with pytest.raises(hg.NotFoundError):
        await client.delete_webhook_endpoint(endpoint.id)


async def test_arguments_are_checked_before_sending(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """Bad URLs, events and ids fail locally, naming the problem."""
    with pytest.raises(ValueError, match="http"):
        await client.create_webhook_endpoint("example.com/hook")
    with pytest.raises(TypeError, match="list of event types"):
        await client.create_webhook_endpoint(
            "https://e.com", events="avatar_video.success"
        )
    with pytest.raises(ValueError, match="at least one"):
        await client.create_webhook_endpoint("https://e.com", events=[])
    with pytest.raises(ValueError, match="url and/or events"):
        await client.update_webhook_endpoint("ep_1")
    with pytest.raises(ValueError, match="http"):
        await client.update_webhook_endpoint("ep_1", url="nope")
    with pytest.raises(ValueError, match="endpoint_id"):
        await client.rotate_webhook_secret(" ")
    assert fake.stats.total_requests == 0


async def test_server_side_validation_surfaces(client: hg.Client) -> None:
    """An event type HeyGen does not know is its 400, naming the field."""
    with pytest.raises(hg.BadRequestError) as info:
        await client.create_webhook_endpoint("https://e.com", events=["nope"])
    assert info.value.param == "events"


async def test_rotate_signs_later_deliveries_with_the_new_secret(
    fake: FakeHeyGen, voice_id: str
) -> None:
    """rotate_webhook_secret returns the new secret; deliveries use it at once."""
    fake.job_plan = plans(JobPlan(render_seconds=0.01))
    async with Receiver() as receiver, strict_client(fake) as client:
        endpoint = await client.create_webhook_endpoint(receiver.url)
        rotated = await client.rotate_webhook_secret(endpoint.id)
        assert rotated.endpoint_id == endpoint.id
        assert rotated.secret != endpoint.secret
        assert rotated.secret not in repr(rotated)
        await client.create_video(req(voice_id))
        delivery = await receiver.next()
        assert delivery.signed_by(rotated.secret)
        assert endpoint.secret is not None
        with pytest.raises(hg.InvalidSignatureError):
            verified(delivery, endpoint.secret)
        assert verified(delivery, [rotated.secret, endpoint.secret]).verified


async def test_event_types(client: hg.Client) -> None:
    """list_webhook_event_types returns typed event types with descriptions."""
    types = await client.list_webhook_event_types()
    names = {t.event_type for t in types}
    assert {"avatar_video.success", "avatar_video.fail"} <= names
    assert all(t.description for t in types)


async def test_history_reconciles_missed_deliveries(
    fake: FakeHeyGen, voice_id: str
) -> None:
    """iter_webhook_events + event_from_record completes a wait no delivery reached."""
    fake.job_plan = plans(
        JobPlan(render_seconds=0.01), JobPlan(render_seconds=0.01, fail=True)
    )
    async with strict_client(fake, poll=SLOW_POLL) as client:
        done = await client.create_video(req(voice_id, 0))
        failed = await client.create_video(req(voice_id, 1))
        waits = [
            asyncio.create_task(client.wait_for_video(v.id)) for v in (done, failed)
        ]
        await asyncio.sleep(0.05)  # both renders are over; nobody was told
        records = [r async for r in client.iter_webhook_events(page_size=1)]
        assert {r.event_type for r in records} == {
            "avatar_video.success",
            "avatar_video.fail",
        }
        assert all(r.created_at is not None for r in records)
        only = [r async for r in client.iter_webhook_events(entity_id=done.id)]
        assert [r.event_data["video_id"] for r in only] == [done.id]
        typed = [
            r async for r in client.iter_webhook_events(event_type="avatar_video.fail")
        ]
        assert [r.event_data["video_id"] for r in typed] == [failed.id]
        for record in records:
            assert client.feed_webhook(webhooks.event_from_record(record))
        video = await waits[0]
        assert video.video_url is not None
        with pytest.raises(hg.VideoFailedError):
            await waits[1]
        counts = client.request_counts()
        assert DETAIL not in counts
        assert STATUSES not in counts


# -- feed_webhook ------------------------------------------------------------


async def test_verified_success_completes_a_wait_without_a_detail_get(
    fake: FakeHeyGen, voice_id: str
) -> None:
    """A verified delivery completes wait_for_video at once, with no poll or GET."""
    fake.job_plan = plans(JobPlan(render_seconds=0.05))
    async with Receiver() as receiver, strict_client(fake, poll=SLOW_POLL) as client:
        endpoint = await client.create_webhook_endpoint(receiver.url)
        assert endpoint.secret is not None
        created = await client.create_video(req(voice_id))
        wait = asyncio.create_task(client.wait_for_video(created.id))
        event = verified(await receiver.next(), endpoint.secret)
        assert isinstance(event, webhooks.VideoSucceeded)
        assert client.feed_webhook(event) is True
        video = await wait
        assert video.id == created.id
        assert video.status is hg.VideoStatus.COMPLETED
        assert video.video_url == event.url
        assert video.thumbnail_url == event.thumbnail_url
        assert video.duration == event.duration
        counts = client.request_counts()
        assert DETAIL not in counts
        assert STATUSES not in counts
        assert client.feed_webhook(event) is False  # a duplicate: harmless


async def test_verified_failure_fails_the_wait(fake: FakeHeyGen, voice_id: str) -> None:
    """A verified avatar_video.fail raises VideoFailedError with HeyGen's reason."""
    fake.job_plan = plans(JobPlan(render_seconds=0.05, fail=True))
    async with Receiver() as receiver, strict_client(fake, poll=SLOW_POLL) as client:
        endpoint = await client.create_webhook_endpoint(receiver.url)
        assert endpoint.secret is not None
        created = await client.create_video(req(voice_id))
        wait = asyncio.create_task(client.wait_for_video(created.id))
        assert client.feed_webhook(verified(await receiver.next(), endpoint.secret))
        with pytest.raises(hg.VideoFailedError) as info:
            await wait
        assert info.value.video.failure_message == "Render failed on the server."
        assert DETAIL not in client.request_counts()


async def test_unverified_callback_only_pokes(fake: FakeHeyGen, voice_id: str) -> None:
    """An unsigned callback_url delivery makes the job poll now; the poll decides."""
    fake.job_plan = plans(JobPlan(render_seconds=0.05))
    async with Receiver() as receiver, strict_client(fake, poll=SLOW_POLL) as client:
        request = hg.VideoRequest(
            image_url="https://example.com/p.jpg",
            script="Hi!",
            voice_id=voice_id,
            callback_url=receiver.url + "/cb",
        )
        created = await client.create_video(request)
        wait = asyncio.create_task(client.wait_for_video(created.id))
        delivery = await receiver.next()
        event = webhooks.parse(delivery.body, delivery.headers)
        assert not event.verified
        assert client.feed_webhook(event) is True
        video = await wait
        assert video.created_at is not None  # from the detail GET, not the event
        counts = client.request_counts()
        assert counts[STATUSES] == 1
        assert counts[DETAIL] == 1


async def test_forged_success_cannot_complete_a_wait(
    fake: FakeHeyGen, voice_id: str
) -> None:
    """An unverified success naming a URL only pokes; the job keeps waiting."""
    fake.job_plan = plans(JobPlan(render_seconds=30))
    async with strict_client(fake, poll=SLOW_POLL) as client:
        created = await client.create_video(req(voice_id))
        wait = asyncio.create_task(client.wait_for_video(created.id))
        await asyncio.sleep(0)
        forged = webhooks.parse(
            json.dumps(
                {
                    "event_type": "avatar_video.success",
                    "event_data": {
                        "video_id": created.id,
                        "url": "https://evil.example/x.mp4",
                    },
                }
            )
        )
        assert client.feed_webhook(forged) is True
        await asyncio.sleep(0.05)  # the poke's poll has come and gone
        assert not wait.done()
        assert client.request_counts()[STATUSES] == 1
        wait.cancel()
        with pytest.raises(asyncio.CancelledError):
            await wait


@pytest.mark.parametrize(
    "payload",
    [
        {"event_type": "avatar_video.success", "event_data": {"video_id": "{id}"}},
        {
            "event_type": "avatar_video_gif.success",
            "event_data": {"video_id": "{id}", "url": "https://a/x.gif"},
        },
        {"event_type": "avatar_video_gif.fail", "event_data": {"video_id": "{id}"}},
        {"event_type": "something.new", "event_data": {"video_id": "{id}"}},
        {
            "event_type": "batch.finished",
            "event_data": {
                "batch_id": "b_1",
                "items": [{"video_id": "v_other"}, {"video_id": "{id}"}],
            },
        },
    ],
    ids=["success-without-url", "gif-success", "gif-fail", "unknown", "batch"],
)
async def test_other_verified_events_only_poke(
    fake: FakeHeyGen, voice_id: str, payload: dict[str, Any]
) -> None:
    """Verified events that prove nothing about the video itself only poll it sooner."""
    fake.job_plan = plans(JobPlan(render_seconds=0.01))
    async with strict_client(fake, poll=SLOW_POLL) as client:
        created = await client.create_video(req(voice_id))
        wait = asyncio.create_task(client.wait_for_video(created.id))
        await asyncio.sleep(0.02)
        body = json.dumps({"event_id": "evt_x", **payload})
        body = body.replace("{id}", created.id).encode()
        secret = "whsec_x"
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        event = webhooks.verify(body, {"Signature": signature}, secret)
        assert event.verified
        assert client.feed_webhook(event) is True
        video = await wait
        assert video.created_at is not None  # settled by the poll's detail GET
        assert client.request_counts()[DETAIL] == 1


async def test_feed_without_waiters(client: hg.Client) -> None:
    """Feeding a client that never waited, or about an unwatched video, is a no-op."""
    event = webhooks.parse(
        b'{"event_type": "avatar_video.success", '
        b'"event_data": {"video_id": "v_1", "url": "https://a/v.mp4"}}'
    )
    assert client.feed_webhook(event) is False
    assert client.feed_webhook(webhooks.parse(b"{}")) is False


async def test_feed_about_nobody_watched(fake: FakeHeyGen, voice_id: str) -> None:
    """With a running poll loop, events about other videos change nothing."""
    fake.job_plan = plans(JobPlan(render_seconds=30))
    async with strict_client(fake, poll=SLOW_POLL) as client:
        created = await client.create_video(req(voice_id))
        wait = asyncio.create_task(client.wait_for_video(created.id))
        await asyncio.sleep(0)
        other = webhooks.event_from_record(
            hg.WebhookEventRecord(
                event_id="e",
                event_type="avatar_video.success",
                event_data={"video_id": "v_other", "url": "https://a/v.mp4"},
            )
        )
        assert client.feed_webhook(other) is False
        assert client.feed_webhook(webhooks.parse(b"[]")) is False
        assert not wait.done()
        wait.cancel()
        with pytest.raises(asyncio.CancelledError):
            await wait


@pytest.mark.parametrize("scheme", ["heygen", "standard"])
async def test_verified_success_completes_a_batch_job(
    fake: FakeHeyGen, voice_id: str, scheme: str
) -> None:
    """Batch jobs share the loop: a verified delivery (either scheme) completes them."""
    fake.job_plan = plans(JobPlan(render_seconds=0.05))
    fake.webhook_scheme = scheme
    async with Receiver() as receiver, strict_client(fake, poll=SLOW_POLL) as client:
        endpoint = await client.create_webhook_endpoint(receiver.url)
        assert endpoint.secret is not None
        async with client.batch() as batch:
            handle = batch.submit(req(voice_id), tag="only")
            event = verified(await receiver.next(), endpoint.secret)
            assert isinstance(event, webhooks.VideoSucceeded)
            assert event.scheme == scheme
            assert client.feed_webhook(event)
            outcome = await handle
        assert isinstance(outcome, hg.Completed)
        assert outcome.tag == "only"
        assert outcome.video.video_url == event.url
        assert DETAIL not in client.request_counts()
