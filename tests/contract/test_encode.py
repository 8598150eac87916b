"""
Every request the SDK sends validates against HeyGen's official request schema.

The bodies are captured where they matter, on the wire: a loopback server
records each request the public methods send and answers with a body valid
under the operation's response schema. Hypothesis varies ``VideoRequest``
over every shape (picture x speech x options) on top of the explicit cases.

``POST /v3/videos`` and ``POST /v3/avatars`` are discriminated unions whose
``discriminator`` is OpenAPI-only: without it the photo-avatar branch and the
digital-twin branch accept the same body, so plain ``oneOf`` would reject
every photo avatar. :func:`request_problems` resolves the branch from the
``type`` value, as HeyGen's server does, and validates against that branch.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import heygen_async as hg
from heygen_async.testing._contract import (
    SchemaChecker,
    json_schema,
    operation_for,
    operations,
)
from tests.contract._schemas import instance, response_schema
from tests.helpers import FAST_RETRY, loopback_server, png


CHECKER = SchemaChecker()
_MUST_BE = re.compile(r"Must be '([^']+)'")


def request_problems(name: str, body: Any) -> list[str]:
    """Every way *body* breaks *name*'s request schema, unions resolved by type."""
    operation = operations()[name]
    raw = operation.request
    assert raw is not None
    discriminator = raw.get("discriminator")
    if discriminator is None:
        return CHECKER.problems(operation, "request", body)
    key = discriminator["propertyName"]
    if body.get(key) not in discriminator["mapping"]:
        return [f"{name}: {key}={body.get(key)!r} is not a known variant"]
    branch = next(b for b in raw["oneOf"] if _variant(b, key) == body[key])
    validator = jsonschema.Draft202012Validator(json_schema(branch))
    return [
        f"{name} at {e.json_path}: {e.message}" for e in validator.iter_errors(body)
    ]


def _variant(branch: dict[str, Any], key: str) -> str | None:
    """The discriminator value a branch stands for ("Must be 'photo' ...")."""
    found = _MUST_BE.search(branch["properties"][key].get("description", ""))
    return found[1] if found else None


class Recorder:
    """A loopback HeyGen that records every request and answers validly."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        """Record the request (JSON body or multipart fields) and answer."""
        operation = operation_for(request.method, request.path)
        assert operation is not None, f"{request.method} {request.path}"
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            body: Any = dict.fromkeys(form, "<file>")
        else:
            text = await request.text()
            body = json.loads(text) if text else None
        self.sent.append((operation.name, body))
        answer = instance(response_schema(operation.name))
        if operation.name == "AvatarLooksGet":
            answer["data"]["status"] = "completed"
        return web.json_response(answer)

    def bodies(self, name: str) -> list[Any]:
        """What was sent to operation *name*."""
        return [body for sent, body in self.sent if sent == name]


@asynccontextmanager
async def _client(recorder: Recorder) -> AsyncIterator[hg.Client]:
    async with loopback_server(recorder.handle) as url:
        async with hg.Client(api_key="k", base_url=url, retry=FAST_RETRY) as client:
            yield client


Send = Callable[[Callable[[hg.Client], Awaitable[Any]]], Any]


@contextmanager
def recording() -> Iterator[tuple[Recorder, Send]]:
    """A recorder and a way to run SDK calls against it, on one loop."""
    recorder = Recorder()
    with asyncio.Runner() as runner:
        context = _client(recorder)
        client = runner.run(context.__aenter__())
        try:
            yield recorder, lambda call: runner.run(call(client))
        finally:
            runner.run(context.__aexit__(None, None, None))


# -- POST /v3/videos ---------------------------------------------------------

URL = "https://example.com/me.jpg"
AUDIO = "https://example.com/hello.mp3"

PICTURES: list[dict[str, Any]] = [
    {"image_url": URL},
    {"image_asset_id": "asset_1"},
    {"avatar_id": "look_1"},
]
SPEECH: list[dict[str, Any]] = [
    {"script": "Hello there!", "voice_id": "voice_1"},
    {"audio_url": AUDIO},
    {"audio_asset_id": "asset_audio"},
]
OPTIONS: list[dict[str, Any]] = [
    {},
    {"title": "Hi", "resolution": "4k", "aspect_ratio": "9:16"},
    {"resolution": "720p", "aspect_ratio": "auto", "fit": "cover"},
    {"remove_background": True, "expressiveness": "high", "motion_prompt": "wave"},
    {"callback_url": "https://example.com/hook", "callback_id": "job-1"},
    {"output_format": "webm"},
    {"output_format": "mp4", "background": hg.Background(color="#00ff00")},
    {"background": hg.Background(image_url="https://example.com/bg.png")},
    {"background": hg.Background(image_asset_id="asset_bg")},
    {"caption": hg.Caption()},
    {"caption": hg.Caption(style="default")},
]


def _shapes() -> Iterator[dict[str, Any]]:
    for picture in PICTURES:
        for speech in SPEECH:
            for options in OPTIONS:
                yield {**picture, **speech, **options}


def test_every_video_request_shape_validates() -> None:
    """Each picture x speech x option combination is sent schema-valid."""
    shapes = list(_shapes())
    with recording() as (recorder, send):
        for shape in shapes:
            send(lambda client, s=shape: client.create_video(hg.VideoRequest(**s)))
    sent = recorder.bodies("VideoCreate")
    assert len(shapes) == len(sent)
    for body in sent:
        assert request_problems("VideoCreate", body) == []
    types = {body["type"] for body in sent}
    assert {"image", "avatar"} == types


@pytest.mark.parametrize(
    "settings_",
    [
        hg.VoiceSettings(speed=1.2),
        hg.VoiceSettings(speed=0.5, pitch=-50, volume=1, locale="en-US"),
        hg.VoiceSettings(),
    ],
)
def test_voice_settings_validate(settings_: hg.VoiceSettings) -> None:
    """voice_settings with a script is sent as the schema spells it."""
    request = hg.VideoRequest(
        image_url=URL, script="Hi", voice_id="voice_1", voice_settings=settings_
    )
    with recording() as (recorder, send):
        send(lambda client: client.create_video(request))
    (body,) = recorder.bodies("VideoCreate")
    assert request_problems("VideoCreate", body) == []


def test_avatar_with_script_and_no_voice_validates() -> None:
    """avatar_id + script without voice_id uses the avatar's voice, per schema."""
    try:
        request = hg.VideoRequest(avatar_id="look_1", script="Hello!")
    except ValueError:
        pytest.skip("VideoRequest does not accept avatar_id + script alone yet")
    with recording() as (recorder, send):
        send(lambda client: client.create_video(request))
    (body,) = recorder.bodies("VideoCreate")
    assert "voice_id" not in body
    assert request_problems("VideoCreate", body) == []


def test_a_local_image_is_uploaded_then_sent_by_asset_id(tmp_path: Path) -> None:
    """image_path: a schema-valid upload, then a create naming the asset."""
    photo = tmp_path / "me.png"
    photo.write_bytes(png(3))
    request = hg.VideoRequest(image_path=photo, audio_url=AUDIO)
    with recording() as (recorder, send):
        send(lambda client: client.create_video(request))
    (upload,) = recorder.bodies("AssetCreate")
    (body,) = recorder.bodies("VideoCreate")
    assert request_problems("AssetCreate", upload) == []
    assert body["image"]["type"] == "asset_id"
    assert request_problems("VideoCreate", body) == []


@st.composite
def video_requests(draw: st.DrawFn) -> hg.VideoRequest:
    """Any valid VideoRequest without a local file."""
    text = st.text(min_size=1, max_size=20).filter(str.strip)
    shape: dict[str, Any] = {**draw(st.sampled_from(PICTURES))}
    shape.update(draw(st.sampled_from(SPEECH)))
    shape["script"] = draw(text) if "script" in shape else None
    optional: dict[str, Any] = {
        "title": text,
        "resolution": st.sampled_from(["4k", "1080p", "720p"]),
        "aspect_ratio": st.sampled_from(["16:9", "9:16", "4:5", "5:4", "1:1", "auto"]),
        "remove_background": st.booleans(),
        "callback_url": st.just("https://example.com/hook"),
        "callback_id": text,
        "motion_prompt": text,
        "expressiveness": st.sampled_from(["high", "medium", "low"]),
        "fit": st.sampled_from(["contain", "cover"]),
        "output_format": st.just("mp4"),
        "background": st.sampled_from(
            [
                hg.Background(color="#123abc"),
                hg.Background(image_url="https://example.com/bg.jpg"),
                hg.Background(image_asset_id="asset_bg"),
            ]
        ),
        "caption": st.sampled_from([hg.Caption(), hg.Caption(style="default")]),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            shape[name] = draw(values)
    if shape.get("script") is not None and draw(st.booleans()):
        speed = draw(st.floats(0.5, 1.5))
        shape["voice_settings"] = hg.VoiceSettings(speed=speed)
    return hg.VideoRequest(**{k: v for k, v in shape.items() if v is not None})


def test_drawn_video_requests_validate() -> None:
    """Hypothesis over VideoRequest shapes: every body sent is schema-valid."""
    with recording() as (recorder, send):

        @settings(
            max_examples=60,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(video_requests())
        def check(request: hg.VideoRequest) -> None:
            send(lambda client: client.create_video(request))
            body = recorder.bodies("VideoCreate")[-1]
            assert request_problems("VideoCreate", body) == []

        check()


def test_an_invalid_body_is_caught_by_the_check() -> None:
    """The check itself rejects what HeyGen would: it is not vacuous."""
    good = {"type": "image", "image": {"type": "url", "url": URL}, "audio_url": AUDIO}
    assert request_problems("VideoCreate", good) == []
    assert request_problems("VideoCreate", {**good, "resolution": "8k"}) != []
    assert request_problems("VideoCreate", {**good, "type": "hologram"}) != []
    photo = {"type": "photo", "name": "me", "file": {"type": "url", "url": URL}}
    assert request_problems("AvatarCreate", photo) == []
    assert request_problems("AvatarCreate", {**photo, "name": 7}) != []


# -- uploads, photo avatars, webhook endpoints -------------------------------


def test_upload_body_validates() -> None:
    """POST /v3/assets sends the multipart field the schema names."""
    with recording() as (recorder, send):
        send(lambda client: client.upload_asset(png(1), filename="me.png"))
    (body,) = recorder.bodies("AssetCreate")
    assert body == {"file": "<file>"}
    assert request_problems("AssetCreate", body) == []


@pytest.mark.parametrize(
    "source",
    [{"image_url": URL}, {"image_asset_id": "asset_1"}],
)
def test_photo_avatar_bodies_validate(source: dict[str, str]) -> None:
    """POST /v3/avatars sends a schema-valid photo-avatar body."""
    with recording() as (recorder, send):
        send(lambda client: client.create_photo_avatar(name="Me", **source))
    (body,) = recorder.bodies("AvatarCreate")
    assert body["type"] == "photo"
    assert request_problems("AvatarCreate", body) == []


def test_photo_avatar_from_a_local_file_validates(tmp_path: Path) -> None:
    """image_path: the upload and the avatar body are both schema-valid."""
    photo = tmp_path / "me.png"
    photo.write_bytes(png(5))
    with recording() as (recorder, send):
        send(lambda client: client.create_photo_avatar(name="Me", image_path=photo))
    (upload,) = recorder.bodies("AssetCreate")
    (body,) = recorder.bodies("AvatarCreate")
    assert request_problems("AssetCreate", upload) == []
    assert body["file"]["type"] == "asset_id"
    assert request_problems("AvatarCreate", body) == []


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"events": ["avatar_video.success", "avatar_video.fail", "batch.finished"]},
        {"entity_id": "project_1"},
    ],
)
def test_webhook_endpoint_create_bodies_validate(options: dict[str, Any]) -> None:
    """POST /v3/webhooks/endpoints bodies are schema-valid."""
    with recording() as (recorder, send):
        send(
            lambda client: client.create_webhook_endpoint(
                "https://example.com/hook", **options
            )
        )
    (body,) = recorder.bodies("WebhookEndpointsCreate")
    assert request_problems("WebhookEndpointsCreate", body) == []


@pytest.mark.parametrize(
    "options",
    [
        {"url": "https://example.com/new"},
        {"events": ["video_agent.success"]},
        {"url": "https://example.com/new", "events": ["avatar_video.fail"]},
    ],
)
def test_webhook_endpoint_update_bodies_validate(options: dict[str, Any]) -> None:
    """PATCH /v3/webhooks/endpoints/{id} bodies are schema-valid."""
    with recording() as (recorder, send):
        send(lambda client: client.update_webhook_endpoint("ep_1", **options))
    (body,) = recorder.bodies("WebhookEndpointsUpdate")
    assert request_problems("WebhookEndpointsUpdate", body) == []


def test_video_request_shapes_cover_every_field() -> None:
    """The explicit shapes exercise every VideoRequest field but image_path."""
    used = {name for shape in _shapes() for name in shape}
    used.add("voice_settings")  # test_voice_settings_validate
    fields = {field.name for field in attrs.fields(hg.VideoRequest)}
    assert fields - {"image_path"} <= used
