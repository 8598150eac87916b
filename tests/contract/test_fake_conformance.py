"""
Every route and path of the fake, driven through its schema checker.

The whole suite runs with checking on; this test makes sure the paths that
matter most are actually taken (failed videos in bulk and single GETs,
failed and ``pending_consent`` looks, every account kind, every error
status) and that every ``/v3`` route answered a 2xx at least once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from heygen_async.testing import FakeHeyGen, Fault, JobPlan
from heygen_async.testing._server import ROUTES
from tests.helpers.fake import create, get_json, png_bytes, upload, video_body
from tests.helpers.webhooks import Receiver, plans


VIDEO = "/v3/videos"
JOBS = plans(
    JobPlan(render_seconds=0),
    JobPlan(render_seconds=0, fail=True),
    JobPlan(render_seconds=0, fail=True, failure_message=None),
    JobPlan(render_seconds=0, fail=True, failure_code=None, failure_message=None),
    JobPlan(render_seconds=60.0),
    JobPlan(render_seconds=1.0),
)


@asynccontextmanager
async def checked(
    **config: Any,
) -> AsyncIterator[tuple[FakeHeyGen, aiohttp.ClientSession]]:
    """A fake that checks its answers, and a session on it; no violations allowed."""
    config.setdefault("seed", 3)
    async with FakeHeyGen(check_responses=True, **config) as fake:
        headers = {"x-api-key": fake.api_key}
        async with aiohttp.ClientSession(fake.url, headers=headers) as session:
            yield fake, session
        assert fake.contract_violations == ()


async def send(
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Mapping[str, Any] | None = None,
    **headers: str,
) -> tuple[int, Any]:
    """One JSON request; the status and decoded body."""
    async with session.request(method, path, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def drive_videos(session: aiohttp.ClientSession) -> list[str]:
    """Completed, failed (with and without reasons), queued and processing."""
    ids = [await create(session, title=f"v{n}") for n in range(6)]
    await asyncio.sleep(0.3)  # the 1 s job is past its pending fifth
    for video_id in ids:
        status, _ = await get_json(session, f"{VIDEO}/{video_id}")
        assert status == 200
    status, bulk = await get_json(
        session, f"{VIDEO}/statuses", video_ids=",".join([*ids, "v_missing"])
    )
    assert status == 200
    assert [row["status"] for row in bulk["data"]] == [
        "completed",
        "failed",
        "failed",
        "failed",
        "queued",
        "processing",
        "not_found",
    ]
    first, page = await get_json(session, VIDEO, limit="2")
    assert (first, page["has_more"]) == (200, True)
    _, rest = await get_json(session, VIDEO, token=page["next_token"], limit="100")
    assert rest["has_more"] is False
    assert (await send(session, "DELETE", f"{VIDEO}/{ids[0]}"))[0] == 200
    assert (await send(session, "DELETE", f"{VIDEO}/{ids[0]}"))[0] == 404
    assert (await get_json(session, f"{VIDEO}/nope"))[0] == 404
    assert (await send(session, "POST", VIDEO, {"foo": 1}))[0] == 400
    return ids


async def drive_library(session: aiohttp.ClientSession) -> None:
    """Assets, voices, looks in every status, consent and the account."""
    status, asset = await upload(session, png_bytes())
    assert status == 200
    asset_id = asset["data"]["asset_id"]
    assert (await get_json(session, f"/v3/assets/{asset_id}"))[0] == 200
    assert (await get_json(session, "/v3/assets/nope"))[0] == 404
    _, voices = await get_json(session, "/v3/voices", limit="3")
    assert voices["has_more"] is True
    assert (await get_json(session, "/v3/voices", type="private"))[0] == 200
    voice_id = voices["data"][0]["voice_id"]
    assert (await get_json(session, f"/v3/voices/{voice_id}"))[0] == 200
    assert (await get_json(session, "/v3/voices/nope"))[0] == 404
    file = {"type": "asset_id", "asset_id": asset_id}
    looks: dict[str, Any] = {}
    for name in ("Me", "fail", "needs-consent"):
        body = {"type": "photo", "name": name, "file": file}
        status, created = await send(session, "POST", "/v3/avatars", body)
        assert status == 200, created
        looks[name] = created["data"]
    await asyncio.sleep(0.06)
    statuses = {}
    for name, created in looks.items():
        _, look = await get_json(
            session, f"/v3/avatars/looks/{created['avatar_item']['id']}"
        )
        statuses[name] = look["data"]["status"]
    assert statuses == {
        "Me": "completed",
        "fail": "failed",
        "needs-consent": "pending_consent",
    }
    group_id = looks["needs-consent"]["avatar_group"]["id"]
    path = f"/v3/avatars/{group_id}/consent"
    assert (await send(session, "POST", path, {"consent_text": "I agree."}))[0] == 200
    assert (await send(session, "POST", "/v3/avatars/nope/consent", {}))[0] == 404
    assert (await get_json(session, "/v3/avatars/looks/nope"))[0] == 404
    assert (await get_json(session, "/v3/users/me"))[0] == 200


async def drive_webhooks(session: aiohttp.ClientSession, receiver_url: str) -> None:
    """Endpoint lifecycle, event types and the event history."""
    base = "/v3/webhooks/endpoints"
    for _ in range(2):
        status, _ = await send(session, "POST", base, {"url": receiver_url})
        assert status == 200
    _, page = await get_json(session, base, limit="1")
    assert page["has_more"] is True
    endpoint_id = page["data"][0]["endpoint_id"]
    patch = {"events": ["avatar_video.success"]}
    assert (await send(session, "PATCH", f"{base}/{endpoint_id}", patch))[0] == 200
    rotate = f"{base}/{endpoint_id}/rotate-secret"
    assert (await send(session, "POST", rotate))[0] == 200
    assert (await get_json(session, "/v3/webhooks/event-types"))[0] == 200
    _, events = await get_json(session, "/v3/webhooks/events", limit="2")
    assert events["data"]
    assert (await send(session, "DELETE", f"{base}/{endpoint_id}"))[0] == 200
    assert (await send(session, "DELETE", f"{base}/{endpoint_id}"))[0] == 404


async def test_every_route_and_path_conforms() -> None:
    """Success, failure and error answers of every route validate."""
    async with (
        Receiver() as receiver,
        checked(job_plan=JOBS, avatar_training_seconds=0.05) as (fake, session),
    ):
        await drive_videos(session)
        await drive_library(session)
        await drive_webhooks(session, receiver.url)
        answered = {
            route
            for route, by_status in fake.stats.responses.items()
            if any(200 <= status < 300 for status in by_status)
        }
    assert answered >= ROUTES, sorted(ROUTES - answered)


async def test_every_account_kind_conforms() -> None:
    """Wallets with and without auto-reload, subscriptions and usage billing."""
    configs: list[dict[str, Any]] = [
        {},
        {"wallet_auto_reload": True, "credits": 3},
        {"billing_type": "subscription"},
        {"billing_type": "usage_based", "credits": 0},
    ]
    for config in configs:
        async with checked(**config) as (_, session):
            status, body = await get_json(session, "/v3/users/me")
            assert status == 200, body


async def test_error_answers_conform() -> None:
    """401, 402, 409, 429 (both kinds) and injected 5xx follow the envelope."""
    async with checked(credits=0) as (fake, session):
        status, _ = await send(session, "POST", VIDEO, video_body())
        assert status == 402
        async with aiohttp.ClientSession(fake.url) as anonymous:
            assert (await get_json(anonymous, "/v3/users/me"))[0] == 401
    async with checked(concurrency_limit=1, render_seconds=60.0) as (_, session):
        await create(session)
        assert (await send(session, "POST", VIDEO, video_body()))[0] == 429
    async with checked(requests_per_second=1.0) as (_, session):
        codes = [(await get_json(session, "/v3/users/me"))[0] for _ in range(3)]
        assert 429 in codes
    slow = Fault(
        kind="slow", route="POST /v3/videos", nth=(1,), delay=0.2, phase="after"
    )
    errors = Fault(kind="error", route="GET /v3/users/me", nth=(1,), status=503)
    async with checked(faults=[slow, errors]) as (_, session):
        key = {"Idempotency-Key": "same-key"}
        first = asyncio.create_task(send(session, "POST", VIDEO, video_body(), **key))
        await asyncio.sleep(0.05)
        assert (await send(session, "POST", VIDEO, video_body(), **key))[0] == 409
        assert (await first)[0] == 200
        assert (await send(session, "POST", VIDEO, video_body(), **key))[0] == 200
        assert (await get_json(session, "/v3/users/me"))[0] == 503
