"""Idempotency-Key on the fake's create endpoints: replay, 409, validation."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from heygen_async.testing import FakeHeyGen, Fault, JobPlan
from heygen_async.testing._state import IN_PROGRESS, IdempotencyStore, StoredResponse
from tests.helpers.fake import IMAGE_URL, png_bytes, serve, video_body


async def post(
    session: aiohttp.ClientSession, body: dict[str, Any], key: str | None
) -> tuple[int, dict[str, Any], CIMultiDictProxy[str]]:
    """POST /v3/videos with an Idempotency-Key; return status, JSON and headers."""
    headers = {} if key is None else {"Idempotency-Key": key}
    async with session.post("/v3/videos", json=body, headers=headers) as resp:
        return resp.status, await resp.json(), resp.headers


async def test_repeat_replays_first_response(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """A repeat with the same key replays the first answer and creates nothing."""
    status, first, _ = await post(fake_session, video_body(), "job-1")
    assert status == 200
    status, again, headers = await post(
        fake_session, video_body(title="changed"), "job-1"
    )
    assert status == 200
    assert again == first
    assert headers["Idempotent-Replayed"] == "true"
    stats = fake.stats
    assert stats.jobs_created == 1
    assert stats.idempotent_replays == 1
    video = fake.videos[first["data"]["video_id"]]
    assert video.idempotency_key == "job-1"


async def test_different_keys_create_separate_jobs_and_count_duplicates(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """Two keys mean two jobs; an identical body is counted as a duplicate job."""
    await post(fake_session, video_body(), "a")
    await post(fake_session, video_body(), "b")
    await post(fake_session, video_body(title="other"), None)
    stats = fake.stats
    assert stats.jobs_created == 3
    assert stats.duplicate_jobs == 1


async def test_repeat_while_in_flight_is_409() -> None:
    """A retry arriving while the first request is still handled gets 409."""
    slow = Fault(
        kind="slow", route="POST /v3/videos", nth=(1,), delay=0.2, phase="after"
    )
    async with serve(faults=[slow]) as (fake, session):
        first = asyncio.create_task(post(session, video_body(), "k"))
        await asyncio.sleep(0.05)
        status, body, _ = await post(session, video_body(), "k")
        assert status == 409
        assert body["error"]["code"] == "request_in_progress"
        assert body["error"]["param"] == "Idempotency-Key"
        first_status, first_body, _ = await first
        assert first_status == 200
        status, replay, _ = await post(session, video_body(), "k")
        assert (status, replay) == (200, first_body)
        assert fake.stats.jobs_created == 1


@pytest.mark.parametrize("key", ["", "   ", "has space", "x" * 256, "émoji"])
async def test_blank_or_malformed_key_is_400(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession, key: str
) -> None:
    """A blank or malformed Idempotency-Key is rejected before anything happens."""
    status, body, _ = await post(fake_session, video_body(), key)
    assert status == 400
    assert body["error"]["param"] == "Idempotency-Key"
    assert fake.stats.jobs_created == 0


async def test_longest_allowed_key_is_accepted(
    fake_session: aiohttp.ClientSession,
) -> None:
    """Keys of 255 characters from the allowed alphabet are fine."""
    status, _, _ = await post(fake_session, video_body(), "Az09_:.-" * 31 + "abcdefg")
    assert status == 200


async def test_rejected_first_attempt_does_not_poison_the_key() -> None:
    """A 429 (over the cap) or a 400 is not stored; the same key can retry later."""
    plan = JobPlan(render_seconds=0.2)
    async with serve(concurrency_limit=1, job_plan=lambda i, b: plan) as (
        fake,
        session,
    ):
        await post(session, video_body(title="first"), None)
        status, _, _ = await post(session, video_body(), "retry-me")
        assert status == 429
        status, _, _ = await post(session, video_body(resolution="8k"), "retry-me")
        assert status == 400
        await asyncio.sleep(0.21)
        status, body, _ = await post(session, video_body(), "retry-me")
        assert status == 200
        assert fake.videos[body["data"]["video_id"]].idempotency_key == "retry-me"
        assert fake.stats.idempotent_replays == 0


async def test_error_after_success_then_retry_replays() -> None:
    """A 502 after the job was created is healed by retrying with the same key."""
    fault = Fault(
        kind="error", route="POST /v3/videos", nth=(1,), status=502, phase="after"
    )
    async with serve(faults=[fault]) as (fake, session):
        status, _, _ = await post(session, video_body(), "key-1")
        assert status == 502
        status, body, _ = await post(session, video_body(), "key-1")
        assert status == 200
        assert list(fake.videos) == [body["data"]["video_id"]]
        assert fake.stats.jobs_created == 1


async def test_keys_are_scoped_per_endpoint(
    fake_session: aiohttp.ClientSession,
) -> None:
    """The same key on /v3/assets and /v3/avatars does not replay a video."""
    headers = {"Idempotency-Key": "shared"}
    await post(fake_session, video_body(), "shared")
    form = aiohttp.FormData()
    form.add_field("file", png_bytes(), filename="p.png")
    async with fake_session.post("/v3/assets", data=form, headers=headers) as resp:
        asset = await resp.json()
    assert "asset_id" in asset["data"]
    avatar = {"type": "photo", "name": "Me", "file": {"type": "url", "url": IMAGE_URL}}
    async with fake_session.post("/v3/avatars", json=avatar, headers=headers) as resp:
        first_avatar = await resp.json()
    async with fake_session.post("/v3/avatars", json=avatar, headers=headers) as resp:
        assert await resp.json() == first_avatar
    form = aiohttp.FormData()
    form.add_field("file", png_bytes(), filename="p.png")
    async with fake_session.post("/v3/assets", data=form, headers=headers) as resp:
        assert await resp.json() == asset


def test_records_expire_after_the_ttl() -> None:
    """Records older than the TTL no longer replay; finishing with None releases."""
    store = IdempotencyStore(ttl=10)
    stored = StoredResponse(status=200, body=b"{}", content_type="application/json")
    assert store.begin("POST /v3/videos", "k", now=0) is None
    assert store.begin("POST /v3/videos", "k", now=1) == IN_PROGRESS
    store.finish("POST /v3/videos", "k", stored)
    assert store.begin("POST /v3/videos", "k", now=9) == stored
    assert store.begin("POST /v3/videos", "k", now=11) is None
    store.finish("POST /v3/videos", "k", None)
    assert store.begin("POST /v3/videos", "k", now=12) is None
