"""The fake's video endpoints: create (both wire forms), get, list, delete, statuses."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest

from heygen_async.testing import FakeHeyGen, JobPlan
from tests.helpers.fake import (
    IMAGE_URL,
    VOICE_ID,
    create,
    get_json,
    png_bytes,
    serve,
    upload,
    video_body,
)


VIDEO_KEYS = {
    "id",
    "title",
    "status",
    "created_at",
    "completed_at",
    "video_url",
    "thumbnail_url",
    "gif_url",
    "captioned_video_url",
    "subtitle_url",
    "duration",
    "folder_id",
    "output_language",
    "video_page_url",
}
FAILURE_KEYS = {"failure_code", "failure_message"}
FAILURE_MESSAGE = JobPlan(render_seconds=0).failure_message
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64" + bytes(100)


def plans(*items: JobPlan) -> Any:
    """A job_plan callback that hands out *items* in creation order."""

    def plan(index: int, body: Mapping[str, Any]) -> JobPlan:
        return items[index]

    return plan


async def post(
    session: aiohttp.ClientSession, body: Any, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """POST /v3/videos and return status and JSON."""
    async with session.post("/v3/videos", json=body, **kwargs) as resp:
        return resp.status, await resp.json()


# -- create ----------------------------------------------------------------------------


async def test_create_flat_seed_form(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """The seed's flat image_url body creates a job answered with `waiting`."""
    status, body = await post(
        fake_session, video_body(title="Demo", resolution="1080p")
    )
    assert status == 200
    data = body["data"]
    assert set(data) == {"video_id", "status", "output_format"}
    assert data["video_id"].startswith("v_")
    assert data["status"] == "waiting"
    assert data["output_format"] == "mp4"
    assert fake.stats.jobs_created == 1


@pytest.mark.parametrize(
    "image",
    [
        {"type": "url", "url": IMAGE_URL},
        {
            "type": "base64",
            "media_type": "image/png",
            "data": base64.b64encode(png_bytes()).decode(),
        },
    ],
)
async def test_create_typed_union_form(
    fake_session: aiohttp.ClientSession, image: dict[str, str]
) -> None:
    """The OpenAPI `type: image` form takes a url or base64 image source."""
    body = {"type": "image", "image": image, "script": "Hi", "voice_id": VOICE_ID}
    status, _ = await post(fake_session, body)
    assert status == 200


async def test_create_from_uploaded_assets(fake_session: aiohttp.ClientSession) -> None:
    """Uploaded image and audio assets can be referenced by id in both forms."""
    _, image = await upload(fake_session, png_bytes())
    _, audio = await upload(fake_session, MP3, "voice.mp3")
    image_id, audio_id = image["data"]["asset_id"], audio["data"]["asset_id"]
    flat = {"image_asset_id": image_id, "audio_asset_id": audio_id}
    typed = {
        "type": "image",
        "image": {"type": "asset_id", "asset_id": image_id},
        "audio_asset_id": audio_id,
    }
    for body in (flat, typed):
        status, answer = await post(fake_session, body)
        assert status == 200, answer
    status, answer = await post(
        fake_session, {"image_asset_id": audio_id, "audio_url": "https://e.com/a.mp3"}
    )
    assert (status, answer["error"]["param"]) == (400, "image_asset_id")
    assert "is audio, not image" in answer["error"]["message"]
    status, answer = await post(
        fake_session, video_body(script=None, audio_asset_id=image_id, voice_id=None)
    )
    assert (status, answer["error"]["param"]) == (400, "audio_asset_id")


async def test_create_accepts_every_documented_option(
    fake_session: aiohttp.ClientSession,
) -> None:
    """All optional fields with valid values are accepted."""
    body = video_body(
        title="Everything",
        resolution="4k",
        aspect_ratio="auto",
        fit="cover",
        remove_background=True,
        background={"type": "image", "url": "https://example.com/bg.png"},
        voice_settings={
            "speed": 1.5,
            "pitch": -50,
            "volume": 0,
            "locale": "en-US",
            "engine_settings": {"engine_type": "elevenlabs", "model": "eleven_v3"},
        },
        callback_url="https://example.com/hook",
        callback_id="job-1",
        motion_prompt="nods",
        expressiveness="high",
        caption={"file_format": "srt", "style": "default"},
        watermark={"opacity": 0.5},
    )
    status, answer = await post(fake_session, body)
    assert status == 200, answer
    webm = video_body(
        output_format="webm",
        voice_settings={"speed": 1},
        caption={"file_format": "srt"},
    )
    status, answer = await post(fake_session, webm)
    assert answer["data"]["output_format"] == "webm"


_BAD_BODIES: list[tuple[dict[str, Any], str | None]] = [
    ({}, "image_url"),
    (video_body(image_url=None), "image_url"),
    (video_body(image_asset_id="a1"), "image_asset_id"),
    (video_body(avatar_id="look"), "avatar_id"),
    (video_body(image_url=None, image_asset_id="missing"), "image_asset_id"),
    (video_body(image_url=None, avatar_id="missing"), "avatar_id"),
    (video_body(image_url="ftp://example.com/p.jpg"), "image_url"),
    (video_body(image_url=7), "image_url"),
    (video_body(audio_url="https://example.com/a.mp3"), "audio_url"),
    (video_body(script=None), "script"),
    (video_body(script=""), "script"),
    (video_body(script="   "), "script"),
    (video_body(script="x" * 5001), "script"),
    (video_body(voice_id=None), "voice_id"),
    (video_body(voice_id="no-such-voice"), "voice_id"),
    (video_body(script=None, audio_url="https://example.com/a.mp3"), "voice_id"),
    (
        video_body(
            script=None,
            voice_id=None,
            audio_url="https://example.com/a.mp3",
            voice_settings={"speed": 1},
        ),
        "voice_settings",
    ),
    (
        video_body(script=None, voice_id=None, audio_asset_id="missing"),
        "audio_asset_id",
    ),
    (video_body(script=None, voice_id=None, audio_url="narration.mp3"), "audio_url"),
    (video_body(resolution="8k"), "resolution"),
    (video_body(aspect_ratio="3:2"), "aspect_ratio"),
    (video_body(fit="stretch"), "fit"),
    (video_body(output_format="mov"), "output_format"),
    (video_body(expressiveness="extreme"), "expressiveness"),
    (video_body(voice_settings="fast"), "voice_settings"),
    (video_body(voice_settings={"speed": 2}), "voice_settings.speed"),
    (video_body(voice_settings={"speed": 0.4}), "voice_settings.speed"),
    (video_body(voice_settings={"speed": True}), "voice_settings.speed"),
    (video_body(voice_settings={"pitch": 51}), "voice_settings.pitch"),
    (video_body(voice_settings={"volume": 1.5}), "voice_settings.volume"),
    (video_body(voice_settings={"tone": 1}), "voice_settings.tone"),
    (video_body(voice_settings={"locale": ""}), "voice_settings.locale"),
    (
        video_body(voice_settings={"engine_settings": {"engine_type": "x"}}),
        "voice_settings.engine_settings.engine_type",
    ),
    (
        video_body(
            background={"type": "color", "value": "#000000"}, output_format="webm"
        ),
        "background",
    ),
    (video_body(background={"type": "color", "value": "red"}), "background.value"),
    (
        video_body(background={"type": "color", "value": "#000000", "x": 1}),
        "background.x",
    ),
    (video_body(background={"type": "gradient"}), "background.type"),
    (video_body(background={"type": "image"}), "background"),
    (
        video_body(background={"type": "image", "url": "https://e/x", "asset_id": "a"}),
        "background",
    ),
    (video_body(background={"type": "image", "url": "ftp://e/x"}), "background.url"),
    (
        video_body(background={"type": "image", "asset_id": "missing"}),
        "background.asset_id",
    ),
    (video_body(background="#000000"), "background"),
    (video_body(caption={"file_format": "vtt"}), "caption.file_format"),
    (video_body(caption={"file_format": "srt", "style": ""}), "caption.style"),
    (video_body(caption={"style": "bold"}), "caption.style"),
    (video_body(caption={"file_format": "srt", "size": 3}), "caption.size"),
    (video_body(caption="srt"), "caption"),
    (video_body(foo=1), "foo"),
    (video_body(engine={"type": "avatar_iv"}), "engine"),
    (video_body(title=5), "title"),
    (video_body(callback_url=["x"]), "callback_url"),
    (video_body(remove_background="yes"), "remove_background"),
    (video_body(watermark="logo.png"), "watermark"),
    (video_body(type="studio"), "type"),
    (video_body(type="bogus"), "type"),
    ({"type": "image", "script": "Hi", "voice_id": VOICE_ID}, "image"),
    (video_body(type="image", image={"type": "url", "url": IMAGE_URL}), "image_url"),
    (
        {"type": "image", "image": {"type": "url", "url": IMAGE_URL}, "avatar_id": "x"},
        "avatar_id",
    ),
    ({"type": "image", "image": "x", "script": "Hi", "voice_id": VOICE_ID}, "image"),
    ({"type": "image", "image": {"type": "url"}}, "image.url"),
    ({"type": "image", "image": {"type": "url", "url": IMAGE_URL, "x": 1}}, "image.x"),
    (
        {"type": "image", "image": {"type": "asset_id", "asset_id": "missing"}},
        "image.asset_id",
    ),
    ({"type": "image", "image": {"type": "file"}}, "image.type"),
    (
        {
            "type": "image",
            "image": {"type": "base64", "media_type": "image/gif", "data": "AA=="},
        },
        "image.media_type",
    ),
    (
        {
            "type": "image",
            "image": {"type": "base64", "media_type": "image/png", "data": "!!"},
        },
        "image.data",
    ),
    (
        {
            "type": "image",
            "image": {"type": "base64", "media_type": "image/png", "data": ""},
        },
        "image.data",
    ),
    ({"type": "avatar", "script": "Hi", "voice_id": VOICE_ID}, "avatar_id"),
    ({"type": "avatar", "avatar_id": "missing"}, "avatar_id"),
]


@pytest.mark.parametrize(("body", "param"), _BAD_BODIES)
async def test_create_rejects_invalid_bodies(
    fake: FakeHeyGen,
    fake_session: aiohttp.ClientSession,
    body: dict[str, Any],
    param: str,
) -> None:
    """Invalid create bodies get 400 invalid_parameter naming the field; no job."""
    status, answer = await post(fake_session, body)
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid_parameter"
    assert answer["error"]["param"] == param
    assert answer["error"]["message"]
    assert fake.stats.jobs_created == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]"])
async def test_create_rejects_non_object_json(
    fake_session: aiohttp.ClientSession, raw: bytes
) -> None:
    """A body that is not a JSON object is a 400 without a param."""
    headers = {"Content-Type": "application/json"}
    async with fake_session.post("/v3/videos", data=raw, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["param"] is None


# -- get -------------------------------------------------------------------------------


async def test_get_follows_the_timeline() -> None:
    """GET reports pending for 20% of the render, then processing, then completed."""
    async with serve(job_plan=plans(JobPlan(render_seconds=1.0))) as (fake, session):
        video_id = await create(session)
        _, first = await get_json(session, f"/v3/videos/{video_id}")
        assert first["data"]["status"] == "pending"
        await asyncio.sleep(0.25)
        _, second = await get_json(session, f"/v3/videos/{video_id}")
        assert second["data"]["status"] == "processing"
        for body in (first, second):
            assert set(body["data"]) == VIDEO_KEYS
            assert body["data"]["video_url"] is None
            assert body["data"]["completed_at"] is None
    video = fake.videos[video_id]
    start, end = video.created_mono, video.finishes_mono
    assert video.status_at(start + 0.19) == "pending"
    assert video.status_at(start + 0.21) == "processing"
    assert video.status_at(end) == "completed"


async def test_get_completed_video_has_exactly_the_model_fields(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """A completed video carries URLs, duration and unix timestamps, no failure keys."""
    video_id = await create(
        fake_session, title="My video", script="One two three four five"
    )
    await asyncio.sleep(0.06)
    status, body = await get_json(fake_session, f"/v3/videos/{video_id}")
    assert status == 200
    data = body["data"]
    assert set(data) == VIDEO_KEYS
    assert data["status"] == "completed"
    assert data["title"] == "My video"
    assert isinstance(data["created_at"], int)
    assert isinstance(data["completed_at"], int)
    assert data["completed_at"] >= data["created_at"]
    assert data["duration"] == 2.0
    for key in ("video_url", "thumbnail_url", "gif_url", "subtitle_url"):
        assert data[key].startswith(f"{fake.url}/_fake/media/{video_id}.")
    assert data["captioned_video_url"] is None
    assert fake.videos[video_id].status == "completed"


async def test_get_failed_video_reports_reason() -> None:
    """A failed job reports failure_code and failure_message and no URLs."""
    async with serve(failure_rate=1.0, silent_failure_rate=0.0, render_seconds=0) as (
        _,
        session,
    ):
        video_id = await create(session)
        _, body = await get_json(session, f"/v3/videos/{video_id}")
    data = body["data"]
    assert data["status"] == "failed"
    assert set(data) == VIDEO_KEYS | FAILURE_KEYS
    assert data["failure_code"] == "rendering_failed"
    assert data["failure_message"] == FAILURE_MESSAGE
    assert data["video_url"] is None
    assert data["completed_at"] is not None


async def test_silent_failure_is_minimal() -> None:
    """A silent failure says only id, title, status and created_at, as on HeyGen."""
    async with serve(failure_rate=1.0, silent_failure_rate=1.0, render_seconds=0) as (
        fake,
        session,
    ):
        video_id = await create(session)
        _, body = await get_json(session, f"/v3/videos/{video_id}")
        assert fake.videos[video_id].silent_failure
    assert body["data"] == {
        "id": video_id,
        "title": "",
        "status": "failed",
        "created_at": body["data"]["created_at"],
    }


async def test_job_plan_failure_with_code_only() -> None:
    """A planned failure reports only the reason parts the plan gives."""
    code_only = JobPlan(
        render_seconds=0,
        fail=True,
        failure_code="download_failed",
        failure_message=None,
    )
    message_only = JobPlan(
        render_seconds=0, fail=True, failure_code=None, failure_message="Bad"
    )
    async with serve(job_plan=plans(code_only, message_only)) as (_, session):
        first = await create(session)
        second = await create(session)
        _, one = await get_json(session, f"/v3/videos/{first}")
        _, two = await get_json(session, f"/v3/videos/{second}")
    assert one["data"]["failure_code"] == "download_failed"
    assert "failure_message" not in one["data"]
    assert two["data"]["failure_message"] == "Bad"
    assert "failure_code" not in two["data"]


async def test_job_plan_sees_index_and_body() -> None:
    """job_plan gets the 0-based creation index and the request body."""
    calls: list[tuple[int, str]] = []

    def plan(index: int, body: Mapping[str, Any]) -> JobPlan:
        calls.append((index, body["title"]))
        return JobPlan(render_seconds=index * 10.0)

    async with serve(job_plan=plan) as (fake, session):
        first = await create(session, title="a")
        second = await create(session, title="b")
        assert fake.videos[first].status == "completed"
        assert fake.videos[second].status == "pending"
    assert calls == [(0, "a"), (1, "b")]


async def test_in_progress_status_is_configurable() -> None:
    """in_progress_status replaces `processing` in GET and in bulk status."""
    async with serve(
        in_progress_status="rendering_v9", job_plan=plans(JobPlan(render_seconds=1.0))
    ) as (_, session):
        video_id = await create(session)
        await asyncio.sleep(0.25)
        _, one = await get_json(session, f"/v3/videos/{video_id}")
        _, bulk = await get_json(session, "/v3/videos/statuses", video_ids=video_id)
    assert one["data"]["status"] == "rendering_v9"
    assert bulk["data"] == [{"video_id": video_id, "status": "rendering_v9"}]


async def test_get_unknown_video_is_404(fake_session: aiohttp.ClientSession) -> None:
    """An unknown id is 404 not_found "Video not found."."""
    status, body = await get_json(fake_session, "/v3/videos/v_nope")
    assert status == 404
    assert body["error"]["code"] == "not_found"
    assert body["error"]["message"] == "Video not found."


async def test_caption_file_format_defaults_to_srt(
    fake_session: aiohttp.ClientSession,
) -> None:
    """A caption without file_format is an SRT sidecar, as HeyGen's default says."""
    for caption in ({}, {"style": "default"}, {"style": None}):
        video_id = await create(fake_session, caption=caption)
        _, body = await get_json(fake_session, f"/v3/videos/{video_id}")
        assert body["data"]["id"] == video_id


async def test_captioned_video_url_when_caption_style_is_set(
    fake_session: aiohttp.ClientSession,
) -> None:
    """Burned-in captions (caption.style) give a captioned_video_url."""
    caption = {"file_format": "srt", "style": "default"}
    video_id = await create(fake_session, caption=caption)
    await asyncio.sleep(0.06)
    _, body = await get_json(fake_session, f"/v3/videos/{video_id}")
    assert ".captioned.mp4?" in body["data"]["captioned_video_url"]


async def test_audio_video_gets_a_fixed_duration(
    fake_session: aiohttp.ClientSession,
) -> None:
    """A video made from audio has a duration too."""
    video_id = await create(
        fake_session, script=None, voice_id=None, audio_url="https://example.com/a.mp3"
    )
    await asyncio.sleep(0.06)
    _, body = await get_json(fake_session, f"/v3/videos/{video_id}")
    assert body["data"]["duration"] == 10.0


# -- determinism -----------------------------------------------------------------------


async def _timeline(**config: Any) -> list[tuple[str, float, bool]]:
    async with serve(**config) as (fake, session):
        for _ in range(5):
            await create(session)
        return [
            (v.id, round(v.finishes_mono - v.created_mono, 9), v.failed)
            for v in fake.videos.values()
        ]


async def test_same_seed_same_jobs() -> None:
    """The same seed and requests give the same ids, render times and outcomes."""
    config = {"render_seconds": (0.1, 5.0), "failure_rate": 0.5, "seed": 7}
    assert await _timeline(**config) == await _timeline(**config)
    assert await _timeline(**config) != await _timeline(**{**config, "seed": 8})


async def test_render_seconds_range_and_callable() -> None:
    """A (low, high) range is sampled per job; a callable gets the seeded RNG."""
    for _, seconds, _ in await _timeline(render_seconds=(1.0, 2.0)):
        assert 1.0 <= seconds <= 2.0
    seen: list[random.Random] = []

    def draw(rng: random.Random) -> float:
        seen.append(rng)
        return 3.0

    assert {s for _, s, _ in await _timeline(render_seconds=draw)} == {3.0}
    assert len(seen) == 5
    assert all(isinstance(rng, random.Random) for rng in seen)


# -- list and delete -------------------------------------------------------------------


async def test_list_is_newest_first_and_paginates(
    fake_session: aiohttp.ClientSession,
) -> None:
    """GET /v3/videos pages newest first with an opaque next_token."""
    ids = [await create(fake_session, title=f"clip {n}") for n in range(5)]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"limit": "2"} | ({"token": token} if token else {})
        status, body = await get_json(fake_session, "/v3/videos", **params)
        assert status == 200
        assert set(body) == {"data", "has_more", "next_token"}
        seen += [item["id"] for item in body["data"]]
        assert all(set(item) == VIDEO_KEYS for item in body["data"])
        pages += 1
        if not body["has_more"]:
            assert body["next_token"] is None
            break
        token = body["next_token"]
    assert seen == ids[::-1]
    assert pages == 3
    _, default = await get_json(fake_session, "/v3/videos")
    assert len(default["data"]) == 5


async def test_list_filters_by_title_and_folder(
    fake_session: aiohttp.ClientSession,
) -> None:
    """title is a case-insensitive substring filter; no video is in a folder."""
    await create(fake_session, title="Product launch")
    await create(fake_session, title="Team update")
    _, body = await get_json(fake_session, "/v3/videos", title="LAUNCH")
    assert [item["title"] for item in body["data"]] == ["Product launch"]
    _, body = await get_json(fake_session, "/v3/videos", folder_id="f1")
    assert body["data"] == []


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"token": "garbage!"}, "token"),
        ({"token": "eDox"}, "token"),
    ],
)
async def test_list_rejects_bad_paging(
    fake_session: aiohttp.ClientSession, params: dict[str, str], param: str
) -> None:
    """limit outside 1-100 and unknown tokens are 400s."""
    status, body = await get_json(fake_session, "/v3/videos", **params)
    assert status == 400
    assert body["error"]["param"] == param


async def test_delete_then_repeat_is_404(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """DELETE answers {id, deleted: true}; the video is gone and a repeat is 404."""
    video_id = await create(fake_session)
    async with fake_session.delete(f"/v3/videos/{video_id}") as resp:
        assert resp.status == 200
        assert await resp.json() == {"data": {"id": video_id, "deleted": True}}
    async with fake_session.delete(f"/v3/videos/{video_id}") as resp:
        assert resp.status == 404
    status, _ = await get_json(fake_session, f"/v3/videos/{video_id}")
    assert status == 404
    assert video_id not in fake.videos
    assert fake.stats.in_flight == 0


# -- bulk statuses ---------------------------------------------------------------------


async def test_bulk_statuses_vocabulary() -> None:
    """Bulk rows: queued/processing/completed/failed/not_found; errors are objects."""
    jobs = plans(
        JobPlan(render_seconds=10.0),
        JobPlan(render_seconds=1.0),
        JobPlan(render_seconds=0),
        JobPlan(render_seconds=0, fail=True),
        JobPlan(render_seconds=0, fail=True, failure_message=None),
        JobPlan(render_seconds=0, fail=True, failure_code=None, failure_message=None),
    )
    async with serve(job_plan=jobs) as (_, session):
        ids = [await create(session) for _ in range(6)]
        await asyncio.sleep(0.25)
        query = ",".join([*ids, "v_unknown", ids[0]])
        status, body = await get_json(session, "/v3/videos/statuses", video_ids=query)
    assert status == 200
    assert body["has_more"] is False
    assert body["next_token"] is None
    assert body["data"] == [
        {"video_id": ids[0], "status": "queued"},
        {"video_id": ids[1], "status": "processing"},
        {"video_id": ids[2], "status": "completed"},
        {
            "video_id": ids[3],
            "status": "failed",
            "error": {"code": "rendering_failed", "message": FAILURE_MESSAGE},
        },
        {
            "video_id": ids[4],
            "status": "failed",
            "error": {"code": "rendering_failed"},
        },
        {"video_id": ids[5], "status": "failed", "error": None},
        {"video_id": "v_unknown", "status": "not_found"},
    ]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({}, "video_ids"),
        ({"video_ids": " , "}, "video_ids"),
        ({"video_ids": ",".join(f"v_{n}" for n in range(101))}, "video_ids"),
        ({"batch_ids": "b1"}, "batch_ids"),
    ],
)
async def test_bulk_statuses_rejects_bad_queries(
    fake_session: aiohttp.ClientSession, params: dict[str, str], param: str
) -> None:
    """No ids, more than 100 ids, or batch ids are 400s."""
    status, body = await get_json(fake_session, "/v3/videos/statuses", **params)
    assert status == 400
    assert body["error"]["param"] == param


async def test_bulk_statuses_accepts_exactly_100(
    fake_session: aiohttp.ClientSession,
) -> None:
    """100 ids is the maximum and is accepted."""
    ids = ",".join(f"v_{n}" for n in range(100))
    status, body = await get_json(fake_session, "/v3/videos/statuses", video_ids=ids)
    assert status == 200
    assert len(body["data"]) == 100


async def test_bulk_statuses_can_be_missing() -> None:
    """bulk_statuses=False makes the endpoint a 404 while GET one still works."""
    async with serve(bulk_statuses=False) as (_, session):
        video_id = await create(session)
        status, body = await get_json(
            session, "/v3/videos/statuses", video_ids=video_id
        )
        assert status == 404
        assert body["error"]["code"] == "not_found"
        status, _ = await get_json(session, f"/v3/videos/{video_id}")
        assert status == 200
