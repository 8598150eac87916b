"""Photo avatars on the fake: create, train, fail, and use a look in a video."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp
import pytest

from tests.helpers.fake import IMAGE_URL, VOICE_ID, get_json, png_bytes, serve, upload


GROUP_KEYS = {
    "id",
    "name",
    "created_at",
    "looks_count",
    "status",
    "consent_status",
    "default_voice_id",
    "preview_image_url",
}
LOOK_KEYS = {
    "id",
    "name",
    "avatar_type",
    "status",
    "group_id",
    "supported_api_engines",
    "image_width",
    "image_height",
    "preview_image_url",
    "default_voice_id",
}


def photo(name: str = "Me", **extra: Any) -> dict[str, Any]:
    """A photo-avatar create body."""
    return {
        "type": "photo",
        "name": name,
        "file": {"type": "url", "url": IMAGE_URL},
        **extra,
    }


async def create_avatar(
    session: aiohttp.ClientSession, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """POST /v3/avatars."""
    async with session.post("/v3/avatars", json=body) as resp:
        return resp.status, await resp.json()


async def test_photo_avatar_trains_then_completes() -> None:
    """A new look is processing with no preview, then completed with one."""
    async with serve(avatar_training_seconds=0.05) as (fake, session):
        status, body = await create_avatar(session, photo())
        assert status == 200
        group, look = body["data"]["avatar_group"], body["data"]["avatar_item"]
        assert set(group) == GROUP_KEYS
        assert set(look) == LOOK_KEYS
        assert look["status"] == group["status"] == "processing"
        assert look["preview_image_url"] is None
        assert look["image_width"] is None
        assert look["image_height"] is None
        assert group["looks_count"] == 1
        assert isinstance(group["created_at"], int)
        assert look["group_id"] == group["id"]
        await asyncio.sleep(0.06)
        status, got = await get_json(session, f"/v3/avatars/looks/{look['id']}")
        assert status == 200
        trained = got["data"]
        assert set(trained) == LOOK_KEYS
        assert trained["status"] == "completed"
        assert trained["preview_image_url"].startswith(f"{fake.url}/_fake/static/")
        assert trained["image_width"] > 0
        assert trained["image_height"] > 0


async def test_avatar_named_fail_fails_training() -> None:
    """A photo avatar named "fail" ends failed, with an error object and no preview."""
    async with serve(avatar_training_seconds=0) as (_, session):
        _, body = await create_avatar(session, photo("fail"))
        look = body["data"]["avatar_item"]
        assert look["status"] == "failed"
        assert body["data"]["avatar_group"]["status"] == "failed"
        assert look["preview_image_url"] is None
        assert set(look["error"]) == {"code", "message"}
        assert look["error"]["code"] == "avatar_training_failed"
        assert body["data"]["avatar_group"]["error"] == look["error"]
        _, got = await get_json(session, f"/v3/avatars/looks/{look['id']}")
        assert got["data"]["error"] == look["error"]
        status, answer = await create_avatar_video(session, look["id"])
        assert status == 400
        assert answer["error"]["param"] == "avatar_id"


async def create_avatar_video(
    session: aiohttp.ClientSession, look_id: str, *, typed: bool = True
) -> tuple[int, dict[str, Any]]:
    """Create a video from a look, in the typed or the flat form."""
    body: dict[str, Any] = {"avatar_id": look_id, "script": "Hi", "voice_id": VOICE_ID}
    if typed:
        body["type"] = "avatar"
    async with session.post("/v3/videos", json=body) as resp:
        return resp.status, await resp.json()


async def test_trained_look_makes_videos() -> None:
    """A completed look's id works as avatar_id; an untrained one is a 400."""
    async with serve(avatar_training_seconds=0.2) as (_, session):
        _, body = await create_avatar(session, photo())
        look_id = body["data"]["avatar_item"]["id"]
        status, answer = await create_avatar_video(session, look_id)
        assert (status, answer["error"]["param"]) == (400, "avatar_id")
        assert "not ready" in answer["error"]["message"]
        await asyncio.sleep(0.21)
        for typed in (True, False):
            status, answer = await create_avatar_video(session, look_id, typed=typed)
            assert status == 200, answer
        body = {
            "type": "avatar",
            "avatar_id": look_id,
            "script": "Hi",
            "voice_id": VOICE_ID,
        }
        v_engine = body | {"engine": {"type": "avatar_v"}}
        async with session.post("/v3/videos", json=v_engine) as resp:
            assert resp.status == 200
        async with session.post(
            "/v3/videos", json=body | {"engine": {"type": "x"}}
        ) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"]["param"] == "engine.type"


async def test_more_looks_in_one_group(fake_session: aiohttp.ClientSession) -> None:
    """avatar_group_id adds a look to an existing group; unknown groups are 400."""
    _, first = await create_avatar(fake_session, photo("Me"))
    group_id = first["data"]["avatar_group"]["id"]
    status, second = await create_avatar(
        fake_session, photo("Me smiling", avatar_group_id=group_id)
    )
    assert status == 200
    assert second["data"]["avatar_group"]["id"] == group_id
    assert second["data"]["avatar_group"]["name"] == "Me"
    assert second["data"]["avatar_item"]["group_id"] == group_id
    assert second["data"]["avatar_item"]["id"] != first["data"]["avatar_item"]["id"]
    assert second["data"]["avatar_group"]["looks_count"] == 2
    status, body = await create_avatar(fake_session, photo(avatar_group_id="nope"))
    assert (status, body["error"]["param"]) == (400, "avatar_group_id")


async def test_file_can_be_an_asset_or_base64(
    fake_session: aiohttp.ClientSession,
) -> None:
    """The avatar photo may be an uploaded asset id or inline base64."""
    _, asset = await upload(fake_session, png_bytes())
    sources = [
        {"type": "asset_id", "asset_id": asset["data"]["asset_id"]},
        {
            "type": "base64",
            "media_type": "image/png",
            "data": base64.b64encode(png_bytes()).decode(),
        },
    ]
    for source in sources:
        status, body = await create_avatar(fake_session, photo(file=source))
        assert status == 200, body


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (photo() | {"type": "digital_twin"}, "type"),
        (photo() | {"type": "prompt"}, "type"),
        (photo() | {"type": "video"}, "type"),
        ({"name": "Me"}, "type"),
        (photo(name=""), "name"),
        ({"type": "photo", "name": "Me"}, "file"),
        (photo(file={"type": "asset_id", "asset_id": "missing"}), "file.asset_id"),
        (photo(file={"type": "url", "url": "not a url"}), "file.url"),
        (photo(mood="happy"), "mood"),
    ],
)
async def test_invalid_avatar_bodies_are_400(
    fake_session: aiohttp.ClientSession, body: dict[str, Any], param: str
) -> None:
    """Unsupported types, missing or bad fields are 400 invalid_parameter."""
    status, answer = await create_avatar(fake_session, body)
    assert status == 400
    assert answer["error"]["param"] == param


async def test_unknown_look_is_404(fake_session: aiohttp.ClientSession) -> None:
    """GET of an unknown look is 404 avatar_not_found."""
    status, body = await get_json(fake_session, "/v3/avatars/looks/nope")
    assert status == 404
    assert body["error"]["code"] == "avatar_not_found"


async def consent(
    session: aiohttp.ClientSession, group_id: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """POST /v3/avatars/{group_id}/consent."""
    path = f"/v3/avatars/{group_id}/consent"
    async with session.post(path, json={} if body is None else body) as resp:
        return resp.status, await resp.json()


async def test_needs_consent_waits_until_consent_is_given() -> None:
    """A look named "needs-consent" is pending_consent until consent, then trains."""
    async with serve(avatar_training_seconds=0.05) as (_, session):
        _, body = await create_avatar(session, photo("needs-consent"))
        group, look = body["data"]["avatar_group"], body["data"]["avatar_item"]
        assert look["status"] == group["status"] == "pending_consent"
        assert group["consent_status"] == "pending"
        await asyncio.sleep(0.06)
        _, got = await get_json(session, f"/v3/avatars/looks/{look['id']}")
        assert got["data"]["status"] == "pending_consent"
        status, answer = await create_avatar_video(session, look["id"])
        assert (status, answer["error"]["param"]) == (400, "avatar_id")
        status, given = await consent(session, group["id"], {"consent_text": "I do."})
        assert status == 200, given
        assert given["data"]["url"] is None
        assert given["data"]["avatar_group"]["id"] == group["id"]
        assert given["data"]["avatar_group"]["status"] == "processing"
        assert given["data"]["avatar_group"]["consent_status"] == "approved"
        await asyncio.sleep(0.06)
        _, got = await get_json(session, f"/v3/avatars/looks/{look['id']}")
        assert got["data"]["status"] == "completed"
        status, again = await consent(session, group["id"])
        assert status == 200
        assert again["data"]["avatar_group"]["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"mood": "yes"}, "mood"),
        ({"consent_text": 3}, "consent_text"),
        ({"reroute_url": "nope"}, "reroute_url"),
        ({"consent_video": {"type": "file"}}, "consent_video.type"),
        ({"consent_video": "x"}, "consent_video"),
    ],
)
async def test_invalid_consent_bodies_are_400(
    fake_session: aiohttp.ClientSession, body: dict[str, Any], param: str
) -> None:
    """Consent takes only consent_text, consent_video and reroute_url."""
    _, created = await create_avatar(fake_session, photo("needs-consent"))
    group_id = created["data"]["avatar_group"]["id"]
    status, answer = await consent(fake_session, group_id, body)
    assert (status, answer["error"]["param"]) == (400, param)


async def test_consent_accepts_a_video(fake_session: aiohttp.ClientSession) -> None:
    """A consent video by URL and a reroute URL are accepted."""
    _, created = await create_avatar(fake_session, photo("needs-consent"))
    group_id = created["data"]["avatar_group"]["id"]
    body = {
        "consent_video": {"type": "url", "url": "https://example.com/consent.mp4"},
        "reroute_url": "https://example.com/done",
    }
    status, answer = await consent(fake_session, group_id, body)
    assert status == 200, answer


async def test_consent_for_unknown_group_is_404(
    fake_session: aiohttp.ClientSession,
) -> None:
    """Consent for a group that does not exist is 404 avatar_not_found."""
    status, body = await consent(fake_session, "nope")
    assert (status, body["error"]["code"]) == (404, "avatar_not_found")
