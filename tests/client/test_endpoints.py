"""Every endpoint method against the fake server, strictly parsed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import heygen_async as hg
from heygen_async.testing import FakeHeyGen
from tests.helpers import FAST_RETRY, loopback_server, png, strict_client


async def voice_id(client: hg.Client) -> str:
    """The first English voice of the fake's catalogue."""
    voice = await anext(aiter(client.iter_voices(language="English")))
    return voice.id


def request(voice: str, n: int = 0) -> hg.VideoRequest:
    """A valid script request; *n* makes the body unique."""
    return hg.VideoRequest(
        image_url=f"https://e.com/p{n}.jpg", script=f"Hello {n}", voice_id=voice
    )


# -- videos ------------------------------------------------------------------


async def test_create_video_returns_a_pending_job(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """create_video returns the new id, pending, with a fresh idempotency key."""
    created = await client.create_video(request(await voice_id(client)))
    assert created.status is hg.VideoStatus.PENDING
    assert created.output_format == "mp4"
    key = fake.videos[created.id].idempotency_key
    assert key is not None
    assert len(key) == 32
    assert client.request_counts()["POST /v3/videos"] == 1


async def test_each_call_gets_its_own_key(fake: FakeHeyGen, client: hg.Client) -> None:
    """Two logical calls never share an idempotency key (two distinct jobs)."""
    voice = await voice_id(client)
    first = await client.create_video(request(voice))
    second = await client.create_video(request(voice))
    assert first.id != second.id
    keys = {fake.videos[v].idempotency_key for v in (first.id, second.id)}
    assert len(keys) == 2


async def test_caller_key_replays_the_first_job(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """Passing the same idempotency_key twice returns the same video, once paid."""
    voice = await voice_id(client)
    first = await client.create_video(request(voice), idempotency_key="order-42:a")
    again = await client.create_video(request(voice), idempotency_key="order-42:a")
    assert again.id == first.id
    assert fake.stats.jobs_created == 1
    assert fake.stats.idempotent_replays == 1


@pytest.mark.parametrize("key", ["", " ", "has space", "ü", "x" * 256, "a/b"])
async def test_bad_idempotency_keys_are_refused(
    fake: FakeHeyGen, client: hg.Client, key: str
) -> None:
    """A key outside [A-Za-z0-9_:.-]{1,255} is a ValueError before any request."""
    req = hg.VideoRequest(
        image_url="https://e.com/a.jpg", audio_url="https://e.com/a.mp3"
    )
    with pytest.raises(ValueError, match="idempotency_key must be 1 to 255"):
        await client.create_video(req, idempotency_key=key)
    with pytest.raises(ValueError, match="idempotency_key"):
        await client._create(req, idempotency_key=key)
    assert fake.stats.total_requests == 0


async def test_get_video_after_completion(fake: FakeHeyGen, client: hg.Client) -> None:
    """A finished video has URLs, a duration and UTC timestamps."""
    created = await client.create_video(request(await voice_id(client)))
    await asyncio.sleep(0.08)  # the fake renders in 0.05 s
    video = await client.get_video(created.id)
    assert video.status is hg.VideoStatus.COMPLETED
    assert video.video_url is not None
    assert video.video_url.startswith(fake.url)
    assert video.duration is not None
    assert video.created_at is not None
    assert video.completed_at is not None
    assert video.completed_at >= video.created_at


async def test_get_video_unknown_is_not_found(client: hg.Client) -> None:
    """An unknown id is a NotFoundError."""
    with pytest.raises(hg.NotFoundError) as info:
        await client.get_video("v_missing")
    assert info.value.code == "not_found"


@pytest.mark.parametrize("bad", ["", "   "])
async def test_blank_ids_are_refused(
    fake: FakeHeyGen, client: hg.Client, bad: str
) -> None:
    """A blank id would hit a different route, so it is refused up front."""
    with pytest.raises(ValueError, match="video_id must be a non-empty string"):
        await client.get_video(bad)
    with pytest.raises(ValueError, match="asset_id"):
        await client.get_asset(bad)
    with pytest.raises(ValueError, match="voice_id"):
        await client.get_voice(bad)
    with pytest.raises(ValueError, match="look_id"):
        await client.get_avatar_look(bad)
    with pytest.raises(ValueError, match="video_id"):
        await client.get_statuses(["v1", bad])
    assert fake.stats.total_requests == 0


async def test_ids_with_a_slash_are_refused(client: hg.Client) -> None:
    """An id with a slash could point elsewhere: refused before any request."""
    with pytest.raises(ValueError, match="video_id must be one id"):
        await client.get_video("v/../../users/me")
    assert client.request_counts() == {}


async def test_get_statuses_chunks_by_100_in_order(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """250 ids cost three bulk calls and come back in the order asked."""
    created = await client.create_video(request(await voice_id(client)))
    ids = [f"v_missing_{i}" for i in range(249)]
    ids.insert(120, created.id)
    items = await client.get_statuses(iter(ids))
    assert [item.id for item in items] == ids
    assert items[120].status is not hg.VideoStatus.NOT_FOUND  # a real job
    assert {item.status for item in items[:120]} == {hg.VideoStatus.NOT_FOUND}
    assert client.request_counts()["GET /v3/videos/statuses"] == 3
    assert fake.stats.requests["GET /v3/videos/statuses"] == 3


async def test_get_statuses_of_nothing_sends_nothing(client: hg.Client) -> None:
    """No ids, no request."""
    assert await client.get_statuses([]) == []
    assert client.request_counts() == {}


async def test_bulk_status_reports_failures(client: hg.Client) -> None:
    """A failed render shows up as failed, with its reason, in bulk status."""
    async with (
        FakeHeyGen(
            render_seconds=0.01, failure_rate=1.0, silent_failure_rate=0.0
        ) as fake,
        strict_client(fake) as failing,
    ):
        created = await failing.create_video(request(await voice_id(failing)))
        await asyncio.sleep(0.03)
        [item] = await failing.get_statuses([created.id])
        video = await failing.get_video(created.id)
    assert item.status is hg.VideoStatus.FAILED
    assert item.error is not None
    assert video.failure_code == "rendering_failed"


async def test_delete_video(fake: FakeHeyGen, client: hg.Client) -> None:
    """A deleted video is gone; deleting it again is a NotFoundError."""
    created = await client.create_video(request(await voice_id(client)))
    assert await client.delete_video(created.id) is None
    assert created.id not in fake.videos
    with pytest.raises(hg.NotFoundError):
        await client.delete_video(created.id)


async def test_iter_videos_follows_pages(client: hg.Client) -> None:
    """iter_videos walks every page, newest first."""
    voice = await voice_id(client)
    ids = [(await client.create_video(request(voice, n))).id for n in range(5)]
    listed = [video.id async for video in client.iter_videos(page_size=2)]
    assert listed == ids[::-1]
    assert client.request_counts()["GET /v3/videos"] == 3


async def test_iter_videos_filters_by_title(client: hg.Client) -> None:
    """title narrows the listing to matching videos."""
    voice = await voice_id(client)
    for title in ("cats one", "dogs", "cats two"):
        req = hg.VideoRequest(
            image_url="https://e.com/a.jpg", script=title, voice_id=voice, title=title
        )
        await client.create_video(req)
    titles = [video.title async for video in client.iter_videos(title="cats")]
    assert titles == ["cats two", "cats one"]


# -- voices ------------------------------------------------------------------


async def test_iter_voices_filters_and_pages(client: hg.Client) -> None:
    """Filters reach the server and small pages are followed to the end."""
    voices = [
        v
        async for v in client.iter_voices(
            type="public", language="English", gender="female", page_size=3
        )
    ]
    assert voices
    assert {(v.language, v.gender, v.type) for v in voices} == {
        ("English", "female", "public")
    }
    pages = client.request_counts()["GET /v3/voices"]
    assert pages == -(-len(voices) // 3)  # ceil: the last page has no token


async def test_iter_voices_by_engine(client: hg.Client) -> None:
    """engine filters voices by TTS engine."""
    voices = [v async for v in client.iter_voices(engine="fish")]
    everything = [v async for v in client.iter_voices()]
    assert 0 < len(voices) < len(everything)


async def test_get_voice(client: hg.Client) -> None:
    """get_voice returns the detailed form of one voice."""
    voice = await client.get_voice(await voice_id(client))
    assert voice.language == "English"
    assert voice.support_interactive_avatar is not None


async def test_get_voice_unknown(client: hg.Client) -> None:
    """An unknown voice keeps HeyGen's specific code."""
    with pytest.raises(hg.NotFoundError, match="voice_not_found"):
        await client.get_voice("nope")


# -- photo avatars -----------------------------------------------------------


async def test_photo_avatar_from_url_trains(client: hg.Client) -> None:
    """create_photo_avatar then wait_for_avatar yields a ready look."""
    avatar = await client.create_photo_avatar(
        name="Ada", image_url="https://e.com/ada.png"
    )
    assert avatar.group.name == "Ada"
    assert not avatar.look.is_ready
    look = await client.wait_for_avatar(avatar.look.id)
    assert look.is_ready
    assert look.id == avatar.look.id
    assert client.request_counts()["GET /v3/avatars/looks/{look_id}"] >= 2


async def test_photo_avatar_from_asset_and_path(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """An asset id is used as is; a path is uploaded (once) first."""
    photo = tmp_path / "me.png"
    photo.write_bytes(png(5))
    asset = await client.upload_asset(png(6))
    by_asset = await client.create_photo_avatar(name="A", image_asset_id=asset.id)
    by_path = await client.create_photo_avatar(name="B", image_path=photo)
    again = await client.create_photo_avatar(name="C", image_path=str(photo))
    assert len({by_asset.look.id, by_path.look.id, again.look.id}) == 3
    assert fake.stats.uploads == 2


@pytest.mark.parametrize(
    "sources",
    [
        {},
        {"image_url": "https://e.com/a.png", "image_asset_id": "a1"},
        {"image_url": "https://e.com/a.png", "image_path": "a.png"},
    ],
)
async def test_photo_avatar_needs_one_source(
    fake: FakeHeyGen, client: hg.Client, sources: dict[str, str]
) -> None:
    """Exactly one image source, or a ValueError naming them, before any request."""
    with pytest.raises(ValueError, match="image_url, image_asset_id, image_path"):
        await client.create_photo_avatar(name="X", **sources)
    assert fake.stats.total_requests == 0


async def test_failed_avatar_training_raises(client: hg.Client) -> None:
    """A look whose training fails raises AvatarFailedError carrying it."""
    avatar = await client.create_photo_avatar(
        name="fail", image_url="https://e.com/a.png"
    )
    with pytest.raises(hg.AvatarFailedError) as info:
        await client.wait_for_avatar(avatar.look.id)
    assert info.value.look.id == avatar.look.id
    assert info.value.look.status == "failed"


async def test_avatar_wait_deadline(fake: FakeHeyGen) -> None:
    """A look still training at the deadline raises WaitTimeoutError."""
    async with (
        FakeHeyGen(avatar_training_seconds=5.0) as slow,
        strict_client(slow) as client,
    ):
        avatar = await client.create_photo_avatar(
            name="Z", image_url="https://e.com/a.png"
        )
        with pytest.raises(hg.WaitTimeoutError) as info:
            await client.wait_for_avatar(avatar.look.id, deadline=0.05)
    assert info.value.video_id == avatar.look.id
    assert info.value.resource == "avatar look"
    assert str(info.value).startswith(
        f"gave up waiting for avatar look {avatar.look.id}"
    )


async def test_avatar_wait_without_deadline(client: hg.Client) -> None:
    """deadline=None waits as long as it takes (here: briefly)."""
    avatar = await client.create_photo_avatar(name="N", image_url="https://e.com/a.png")
    policy = hg.PollPolicy(interval_initial=0.01, interval_max=0.02, jitter=0.1)
    look = await client.wait_for_avatar(avatar.look.id, deadline=None, poll=policy)
    assert look.is_ready


# -- account and escape hatch --------------------------------------------------


async def test_get_me(client: hg.Client) -> None:
    """get_me returns the account and its wallet."""
    account = await client.get_me()
    assert account.billing_type == "wallet"
    assert account.wallet is not None
    assert account.wallet.currency is not None
    assert account.wallet.currency.lower() == "usd"


async def test_request_returns_the_decoded_envelope(client: hg.Client) -> None:
    """request() gives back the whole JSON body for unmodelled use."""
    body = await client.request("GET", "/v3/voices", params={"limit": 1})
    assert set(body) == {"data", "has_more", "next_token"}
    assert len(body["data"]) == 1
    assert client.request_counts() == {"GET /v3/voices": 1}


async def test_request_path_must_be_absolute(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A relative path is a ValueError, not a request to a surprising URL."""
    with pytest.raises(ValueError, match="path must start with '/'"):
        await client.request("GET", "v3/users/me")
    with pytest.raises(ValueError, match="idempotency_key"):
        await client.request("POST", "/v3/videos", idempotency_key="")
    assert fake.stats.total_requests == 0


async def test_request_counts_by_route_template(client: hg.Client) -> None:
    """Counts group requests by template, never by id."""
    voice = await voice_id(client)
    created = await client.create_video(request(voice))
    await client.get_video(created.id)
    await client.get_video(created.id)
    await client.get_statuses([created.id])
    counts = client.request_counts()
    assert counts == {
        "GET /v3/voices": 1,
        "POST /v3/videos": 1,
        "GET /v3/videos/{video_id}": 2,
        "GET /v3/videos/statuses": 1,
    }
    counts["POST /v3/videos"] = 99
    assert client.request_counts()["POST /v3/videos"] == 1


# -- HeyGen's official shapes, from a loopback server -------------------------


@asynccontextmanager
async def answering(
    routes: Mapping[str, Any], **options: Any
) -> AsyncIterator[tuple[hg.Client, list[str]]]:
    """
    A default client on a loopback server answering ``"METHOD /path"`` with
    the body in *routes* (a list is served one item per request, the last
    one repeating). Yields the client and the request lines it sent.
    """
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        line = f"{request.method} {request.path}"
        seen.append(line)
        answer = routes[line]
        if isinstance(answer, list):
            answer = answer[0] if len(answer) == 1 else answer.pop(0)
        headers = {"X-Request-Id": f"req_{len(seen)}"}
        return web.json_response(answer, headers=headers)

    async with loopback_server(handle) as url:
        async with hg.Client(
            api_key="k",
            base_url=url,
            retry=FAST_RETRY,
            poll=hg.PollPolicy.for_testing(),
            **options,
        ) as client:
            yield client, seen


def look(status: str | None, **fields: Any) -> dict[str, Any]:
    """A schema-valid ``GET /v3/avatars/looks/{id}`` body."""
    data = {
        "id": "look_1",
        "name": "Me",
        "avatar_type": "photo_avatar",
        "group_id": "group_1",
        "status": status,
        **fields,
    }
    return {"data": data}


async def test_bulk_rows_with_error_objects_and_no_video_id_decode() -> None:
    """Failure details are an object; a batch row may have no video yet."""
    rows = [
        {"video_id": "v1", "status": "completed", "error": None},
        {
            "video_id": "v2",
            "status": "failed",
            "error": {"code": "MODERATION", "message": "Refused", "extra": 1},
        },
        {"video_id": None, "status": "pending", "batch_id": "b1", "item_index": 3},
    ]
    routes = {"GET /v3/videos/statuses": {"data": rows, "has_more": False}}
    async with answering(routes) as (client, _):
        items = {item.id: item for item in await client.get_statuses(["v1", "v2"])}
    assert items["v1"].error is None
    assert hg.StatusError(code="MODERATION", message="Refused") == items["v2"].error
    assert hg.VideoStatus.FAILED is items["v2"].status


async def test_one_failed_video_does_not_stall_the_others() -> None:
    """
    A failed row's error object settles that video as failed; the videos
    polled with it complete normally (the bulk page used to be undecodable).
    """
    rows = [{"video_id": f"v{n}", "status": "completed", "error": None} for n in (1, 3)]
    rows.append(
        {"video_id": "v2", "status": "failed", "error": {"code": "E1", "message": "no"}}
    )

    def video(video_id: str, status: str, **more: Any) -> dict[str, Any]:
        return {"data": {"id": video_id, "status": status, **more}}

    routes: dict[str, Any] = {
        "GET /v3/videos/statuses": {"data": rows, "has_more": False},
        "GET /v3/videos/v1": video("v1", "completed", video_url="https://e.com/1"),
        "GET /v3/videos/v3": video("v3", "completed", video_url="https://e.com/3"),
        "GET /v3/videos/v2": video(
            "v2", "failed", failure_code="E1", failure_message="no"
        ),
    }
    async with answering(routes) as (client, seen):
        results = await asyncio.gather(
            *(client.wait_for_video(f"v{n}", deadline=5) for n in (1, 2, 3)),
            return_exceptions=True,
        )
    assert isinstance(results[0], hg.Video)
    assert isinstance(results[2], hg.Video)
    assert isinstance(results[1], hg.VideoFailedError)
    assert results[1].video.failure_code == "E1"
    assert seen.count("GET /v3/videos/statuses") <= 2


async def test_get_me_decodes_every_billing_shape() -> None:
    """Auto-reload is an object; subscription and usage billing are typed."""
    data = {
        "username": "me",
        "email": None,
        "first_name": None,
        "last_name": None,
        "billing_type": "wallet",
        "wallet": {
            "currency": "credits",
            "remaining_balance": 12.5,
            "auto_reload": {"enabled": True, "amount_usd": 50, "threshold_usd": None},
        },
        "subscription": {
            "plan": "pro",
            "credits": {
                "premium_credits": {"remaining": 7, "resets_at": "2026-12-01"},
                "add_on_credits": None,
            },
        },
        "usage_based": {"spending_cap_usd": 100.0, "remaining_credits": None},
    }
    async with answering({"GET /v3/users/me": {"data": data}}) as (client, _):
        account = await client.get_me()
    assert account.wallet == hg.Wallet(
        currency="credits",
        remaining_balance=12.5,
        auto_reload=hg.AutoReload(enabled=True, amount_usd=50.0),
    )
    assert account.subscription == hg.Subscription(
        plan="pro",
        credits=hg.SubscriptionCredits(
            premium_credits=hg.CreditPool(remaining=7, resets_at="2026-12-01")
        ),
    )
    assert hg.UsageBased(spending_cap_usd=100.0) == account.usage_based


@pytest.mark.parametrize(
    ("group", "item"),
    [
        (None, None),
        ({"id": "g", "name": "Me", "created_at": 1, "looks_count": 0}, None),
    ],
)
async def test_photo_avatar_without_group_or_look(
    group: dict[str, Any] | None, item: dict[str, Any] | None
) -> None:
    """HeyGen may return null group and look: the avatar is returned as is."""
    body = {"data": {"avatar_group": group, "avatar_item": item}}
    async with answering({"POST /v3/avatars": body}) as (client, _):
        avatar = await client.create_photo_avatar(
            name="Me", image_url="https://e.com/a.png"
        )
    assert avatar.look is None
    assert (avatar.group.id if avatar.group else None) == (group or {}).get("id")


async def test_photo_avatar_group_carries_its_schema_fields() -> None:
    """The group's created_at, looks_count, status and error decode."""
    group = {
        "id": "g",
        "name": "Me",
        "created_at": 1711929600,
        "looks_count": 1,
        "status": "failed",
        "error": {"code": "NO_FACE", "message": "No face found"},
        "preview_video_url": None,
        "gender": "female",
    }
    body = {"data": {"avatar_group": group, "avatar_item": look("processing")["data"]}}
    async with answering({"POST /v3/avatars": body}) as (client, _):
        avatar = await client.create_photo_avatar(
            name="Me", image_url="https://e.com/a.png"
        )
    assert avatar.group is not None
    assert avatar.group.looks_count == 1
    assert avatar.group.created_at is not None
    assert hg.AvatarError(code="NO_FACE", message="No face found") == avatar.group.error
    assert avatar.look is not None
    assert avatar.look.id == "look_1"


async def test_a_look_waiting_for_consent_raises_with_how_to_give_it() -> None:
    """pending_consent is not training: the wait stops and says what to do."""
    routes = {
        "GET /v3/avatars/looks/look_1": [look("processing"), look("pending_consent")]
    }
    async with answering(routes) as (client, seen):
        with pytest.raises(hg.AvatarConsentRequiredError) as info:
            await client.wait_for_avatar("look_1", deadline=5)
    error = info.value
    assert (error.look_id, error.group_id) == ("look_1", "group_1")
    assert "POST /v3/avatars/group_1/consent" in str(error)
    assert isinstance(error, hg.HeyGenError)
    assert len(seen) == 2


async def test_a_failed_look_raises_with_its_code_and_message() -> None:
    """failed carries the look's error object into AvatarFailedError."""
    error_body = {"code": "NO_FACE", "message": "No face found"}
    routes = {"GET /v3/avatars/looks/look_1": look("failed", error=error_body)}
    async with answering(routes) as (client, _):
        with pytest.raises(hg.AvatarFailedError) as info:
            await client.wait_for_avatar("look_1", deadline=5)
    assert info.value.code == "NO_FACE"
    assert "NO_FACE: No face found" in str(info.value)
    assert info.value.look.error == hg.AvatarError(**error_body)


async def test_a_completed_look_is_ready_without_preview_dimensions() -> None:
    """completed is the schema's ready, whatever the preview fields say."""
    routes = {
        "GET /v3/avatars/looks/look_1": [
            look("processing", preview_image_url="https://e.com/p.png"),
            look("completed", image_width=None, image_height=None),
        ]
    }
    async with answering(routes) as (client, _):
        ready = await client.wait_for_avatar("look_1", deadline=5)
    assert ready.is_ready
    assert ready.status == "completed"


async def test_a_validation_error_names_route_field_and_request_id() -> None:
    """An undecodable body names the route, the field and the request id."""
    routes = {"GET /v3/voices/v1": {"data": {"voice_id": "v1", "support_pause": "x"}}}
    async with answering(routes) as (client, _):
        with pytest.raises(hg.ResponseValidationError) as info:
            await client.get_voice("v1")
    error = info.value
    assert error.route == "GET /v3/voices/{voice_id}"
    assert error.fields == ("$.data.support_pause",)
    assert error.request_id == "req_1"
    assert "GET /v3/voices/{voice_id}" in str(error)
    assert "req_1" in str(error)
