"""Request validation: every type and value is checked before anything is sent."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import heygen_async as hg
from heygen_async.testing import FakeHeyGen
from heygen_async.testing._contract import SchemaChecker, operations
from tests.helpers import loopback_server, strict_client


IMAGE = {"image_url": "https://e.com/a.jpg"}
SPEECH = {"script": "Hello", "voice_id": "v1"}


def refused(**fields: Any) -> str:
    """The ValueError message a VideoRequest with *fields* raises."""
    with pytest.raises(ValueError) as info:  # noqa: PT011 (message returned)
        hg.VideoRequest(**fields)
    return str(info.value)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({**IMAGE, "script": 42, "voice_id": "v"}, "script must be a string; got int"),
        ({**IMAGE, **SPEECH, "title": 1.5}, "title must be a string; got float"),
        ({**IMAGE, "script": "Hi", "voice_id": b"v1"}, "voice_id must be a string"),
        ({**IMAGE, **SPEECH, "title": math.nan}, "title must be a string"),
        ({"image_asset_id": 7, **SPEECH}, "image_asset_id must be a string"),
        ({"avatar_id": ["l1"], **SPEECH}, "avatar_id must be a string"),
        ({**IMAGE, "audio_asset_id": 3}, "audio_asset_id must be a string"),
        ({**IMAGE, **SPEECH, "callback_id": 12}, "callback_id must be a string"),
        ({**IMAGE, **SPEECH, "motion_prompt": 0.5}, "motion_prompt must be a string"),
    ],
)
def test_strings_must_be_str(fields: dict[str, Any], named: str) -> None:
    """Numbers, bytes and lists where text belongs are refused by field name."""
    assert named in refused(**fields)


@pytest.mark.parametrize(
    "fields",
    [
        {**IMAGE, "script": " \n\t ", "voice_id": "v"},
        {**IMAGE, "script": "Hi", "voice_id": "   "},
        {"image_asset_id": "  ", **SPEECH},
        {"avatar_id": "\t", **SPEECH},
        {**IMAGE, "audio_asset_id": " "},
        {**IMAGE, **SPEECH, "title": "   "},
        {**IMAGE, **SPEECH, "callback_id": " "},
        {**IMAGE, **SPEECH, "motion_prompt": "\n"},
    ],
)
def test_whitespace_only_text_is_refused(fields: dict[str, Any]) -> None:
    """A script, id or title of only whitespace is blank, hence refused."""
    message = refused(**fields)
    assert "must not be blank" in message


def test_blank_voice_id_with_a_script_names_both_rules() -> None:
    """An empty voice_id is both too short and no voice for the script."""
    message = refused(**IMAGE, script="Hi", voice_id="")
    assert "voice_id must be 1 to 256 characters; got 0" in message
    assert "script requires voice_id" in message


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({**IMAGE, "script": "x" * 5001, "voice_id": "v"}, "script must be 1 to 5000"),
        ({**IMAGE, **SPEECH, "title": "t" * 1001}, "title must be 1 to 1000"),
        (
            {**IMAGE, **SPEECH, "motion_prompt": "m" * 5001},
            "motion_prompt must be 1 to 5000",
        ),
        ({"image_asset_id": "a" * 257, **SPEECH}, "image_asset_id must be 1 to 256"),
        ({"avatar_id": "l" * 257, **SPEECH}, "avatar_id must be 1 to 256"),
        ({**IMAGE, "script": "Hi", "voice_id": "v" * 257}, "voice_id must be 1 to 256"),
        (
            {**IMAGE, **SPEECH, "callback_id": "c" * 1001},
            "callback_id must be 1 to 1000",
        ),
        (
            {"image_url": "https://e.com/" + "p" * 2040, **SPEECH},
            "image_url must be 1 to 2048",
        ),
    ],
)
def test_lengths_have_a_ceiling(fields: dict[str, Any], named: str) -> None:
    """Each text field has a documented (script) or generous (others) limit."""
    assert named in refused(**fields)


def test_limits_are_inclusive() -> None:
    """Values exactly at each limit are accepted."""
    request = hg.VideoRequest(
        image_url="https://e.com/" + "p" * (2048 - len("https://e.com/")),
        script="s" * 5000,
        voice_id="v" * 256,
        title="t" * 1000,
        motion_prompt="m" * 5000,
        callback_id="c" * 1000,
    )
    assert len(request.script or "") == 5000


@pytest.mark.parametrize(
    ("value", "got"),
    [
        (10**5000, "got int <16610-bit int>"),
        (json.loads("[" * 900 + "]" * 900), "got list"),
        ({"a": 1}, "got dict"),
        (b"x" * 1000, "got bytes b'xxxxxxxx"),
    ],
    ids=["huge-int", "deep-list", "dict", "bytes"],
)
def test_wrong_values_are_named_safely(value: object, got: str) -> None:
    """Huge ints and deep containers are described, never repr()'d in full."""
    message = refused(**IMAGE, **SPEECH, title=value)
    assert f"title must be a string; {got}" in message
    assert len(message) < 200


def test_a_huge_value_is_not_copied_into_the_message() -> None:
    """A multi-megabyte string is reported by its length, not echoed back."""
    message = refused(image_url="x" * 3_000_000, **SPEECH)
    assert "got 3000000" in message
    assert len(message) < 300


@pytest.mark.parametrize(
    "url",
    [
        "ftp://e.com/a.jpg",
        "e.com/a.jpg",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://",
        "https://[::1/a.jpg",
        "https://e.com/a b.jpg",
        "u",
    ],
)
@pytest.mark.parametrize("field", ["image_url", "audio_url", "callback_url"])
def test_urls_must_be_http_or_https(field: str, url: str) -> None:
    """URL fields take absolute http(s) URLs with a host and no whitespace."""
    fields: dict[str, Any] = {**IMAGE, **SPEECH}
    if field == "audio_url":
        fields = {**IMAGE, "audio_url": url}
    else:
        fields[field] = url
    assert field in refused(**fields)


def test_background_image_url_must_be_http_or_https() -> None:
    """A background image URL follows the same rule."""
    with pytest.raises(ValueError, match=r"background\.image_url must be an http"):
        hg.Background(image_url="ftp://e.com/bg.png")


def test_background_color_must_match_entirely() -> None:
    """A colour with a trailing newline is not '#rrggbb'."""
    with pytest.raises(ValueError, match=r"background\.color"):
        hg.Background(color="#a0b1c2\n")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"speed": math.nan}, "voice_settings.speed must be a finite number; got nan"),
        ({"pitch": math.inf}, "voice_settings.pitch must be a finite number"),
        ({"volume": -math.inf}, "voice_settings.volume must be a finite number"),
        ({"speed": True}, "voice_settings.speed must be a number; got bool"),
        ({"speed": "1.0"}, "voice_settings.speed must be a number; got str"),
        ({"pitch": 10**400}, "voice_settings.pitch must be between -50 and 50"),
        ({"locale": 5}, "voice_settings.locale must be a string"),
        ({"locale": " "}, "voice_settings.locale must not be blank"),
        ({"locale": "x" * 36}, "voice_settings.locale must be 1 to 35"),
    ],
)
def test_voice_settings_numbers_are_finite_reals(
    fields: dict[str, Any], named: str
) -> None:
    """NaN, infinities, bools and numeric strings never reach the wire."""
    with pytest.raises(ValueError) as info:  # noqa: PT011 (message checked below)
        hg.VoiceSettings(**fields)
    assert named in str(info.value)


def test_voice_settings_report_every_problem() -> None:
    """Three bad settings give one error naming all three."""
    with pytest.raises(ValueError) as info:  # noqa: PT011 (message checked below)
        hg.VoiceSettings(speed=math.nan, pitch="high", volume=2)  # type: ignore[arg-type]
    for name in ("speed", "pitch", "volume"):
        assert f"voice_settings.{name}" in str(info.value)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({**IMAGE, **SPEECH, "remove_background": "yes"}, "remove_background"),
        ({**IMAGE, **SPEECH, "remove_background": 1}, "remove_background"),
        ({**IMAGE, **SPEECH, "resolution": 1080}, "resolution must be one of"),
        ({**IMAGE, **SPEECH, "aspect_ratio": ["16:9"]}, "aspect_ratio"),
        (
            {**IMAGE, **SPEECH, "voice_settings": {"speed": 1.0}},
            "voice_settings must be a VoiceSettings; got dict",
        ),
        (
            {**IMAGE, **SPEECH, "background": "#000000"},
            "background must be a Background; got str",
        ),
        ({**IMAGE, **SPEECH, "caption": True}, "caption must be a Caption; got bool"),
        ({"image_path": 5, **SPEECH}, "image_path must be a path"),
        ({"image_path": "  ", **SPEECH}, "image_path must not be blank"),
        ({"image_path": "a\0.png", **SPEECH}, "image_path must not contain a NUL"),
    ],
)
def test_flags_enums_and_nested_values_are_typed(
    fields: dict[str, Any], named: str
) -> None:
    """Booleans must be bool, enums their strings, nested values their classes."""
    assert named in refused(**fields)


def test_caption_style_follows_the_schema_enum() -> None:
    """The schema's only caption style is 'default'."""
    with pytest.raises(ValueError, match=r"caption\.style must be one of default"):
        hg.Caption(style="fancy")
    assert hg.Caption(style="default").style == "default"


def test_every_problem_is_reported_at_once() -> None:
    """One request with four mistakes raises one error naming all four."""
    message = refused(
        image_url="ftp://e.com/a.jpg",
        script="   ",
        voice_id=5,
        title=math.inf,
        resolution="8k",
    )
    for field in ("image_url", "script", "voice_id", "title", "resolution"):
        assert field in message
    assert message.count(";") >= 4


def test_avatar_with_script_and_no_voice_id_is_valid() -> None:
    """With avatar_id the voice may be left out: the avatar's own voice speaks."""
    request = hg.VideoRequest(avatar_id="look1", script="Hi there")
    assert request.voice_id is None


@pytest.mark.parametrize(
    "source",
    [IMAGE, {"image_asset_id": "a1"}, {"image_path": "me.png"}],
)
def test_image_with_script_still_needs_a_voice(source: dict[str, str]) -> None:
    """The schema's image variant has no default voice: voice_id is required."""
    assert "script requires voice_id" in refused(**source, script="Hi")


async def test_avatar_without_voice_is_sent_and_accepted(fake: FakeHeyGen) -> None:
    """avatar_id + script without voice_id is created by the fake, schema-valid."""
    sent: list[dict[str, Any]] = []

    async def record(request: web.Request) -> web.Response:
        """Keep the create body; answer like HeyGen."""
        sent.append(await request.json())
        return web.json_response({"data": {"video_id": "v_1", "status": "waiting"}})

    async with strict_client(fake) as client:
        avatar = await client.create_photo_avatar(
            name="Ada", image_url="https://e.com/ada.png"
        )
        look = await client.wait_for_avatar(avatar.look.id)
        request = hg.VideoRequest(avatar_id=look.id, script="Hello from my own voice")
        created = await client.create_video(request)
    assert created.id.startswith("v_")
    async with (
        loopback_server(record) as url,
        hg.Client(api_key="k", base_url=url) as recorder,
    ):
        await recorder.create_video(request)
    assert "voice_id" not in sent[0]
    checker = SchemaChecker()
    assert checker.problems(operations()["VideoCreate"], "request", sent[0]) == []


async def test_invalid_request_sends_nothing(fake: FakeHeyGen) -> None:
    """A refused request fails at construction: the server sees no create."""
    with pytest.raises(ValueError, match=r"voice_settings\.speed"):
        hg.VideoRequest(
            **IMAGE, **SPEECH, voice_settings=hg.VoiceSettings(speed=math.nan)
        )
    assert fake.stats.jobs_created == 0


def test_valid_values_survive_unchanged(tmp_path: Path) -> None:
    """Valid ints, floats and paths are stored as given and encode as JSON."""
    request = hg.VideoRequest(
        image_path=tmp_path / "me.png",
        **SPEECH,
        voice_settings=hg.VoiceSettings(speed=1, pitch=-2.5, volume=0, locale="en-US"),
        remove_background=False,
        caption=hg.Caption(),
        callback_url="http://127.0.0.1:8000/hook",
    )
    assert request.image_path == tmp_path / "me.png"
    assert request.voice_settings is not None
    json.dumps([request.voice_settings.speed, request.voice_settings.pitch])
