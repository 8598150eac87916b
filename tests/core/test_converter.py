"""The converter: wire names, renames, envelopes of time, strict vs lenient."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import heygen_async as hg
from heygen_async._converter import make_converter, photo_avatar_body
from tests.helpers.wire_schema import problems


STRICT = make_converter(strict=True)
LENIENT = make_converter()


def test_image_url_goes_nested() -> None:
    """image_url becomes the nested OpenAPI image source."""
    body = STRICT.unstructure(
        hg.VideoRequest(image_url="https://e.com/a.jpg", script="Hi", voice_id="v1")
    )
    assert body == {
        "type": "image",
        "image": {"type": "url", "url": "https://e.com/a.jpg"},
        "script": "Hi",
        "voice_id": "v1",
    }


def test_image_asset_id_goes_nested() -> None:
    """image_asset_id becomes an asset_id image source."""
    body = STRICT.unstructure(
        hg.VideoRequest(image_asset_id="a1", audio_url="https://e.com/a.mp3")
    )
    assert body == {
        "type": "image",
        "image": {"type": "asset_id", "asset_id": "a1"},
        "audio_url": "https://e.com/a.mp3",
    }


def test_avatar_id_is_the_avatar_variant() -> None:
    """avatar_id selects the avatar variant with no image object."""
    body = STRICT.unstructure(hg.VideoRequest(avatar_id="look1", audio_asset_id="au1"))
    assert body == {"type": "avatar", "avatar_id": "look1", "audio_asset_id": "au1"}


@pytest.mark.parametrize(
    ("background", "wire"),
    [
        (hg.Background(color="#00ff00"), {"type": "color", "value": "#00ff00"}),
        (
            hg.Background(image_url="https://e.com/b.png"),
            {"type": "image", "url": "https://e.com/b.png"},
        ),
        (hg.Background(image_asset_id="b1"), {"type": "image", "asset_id": "b1"}),
    ],
)
def test_background_wire_forms(background: hg.Background, wire: dict[str, Any]) -> None:
    """Each background source has its own wire shape."""
    body = STRICT.unstructure(
        hg.VideoRequest(
            image_asset_id="a", script="x", voice_id="v", background=background
        )
    )
    assert body["background"] == wire


def test_every_option_is_sent_and_valid() -> None:
    """A request using every option yields a body the schema accepts."""
    request = hg.VideoRequest(
        image_url="https://e.com/a.jpg",
        script="Hello",
        voice_id="v1",
        title="T",
        resolution="1080p",
        aspect_ratio="9:16",
        remove_background=True,
        background=hg.Background(color="#ffffff"),
        voice_settings=hg.VoiceSettings(
            speed=1.2, pitch=-3, volume=0.5, locale="en-US"
        ),
        callback_url="https://e.com/hook",
        callback_id="job-1",
        motion_prompt="nods",
        expressiveness="high",
        fit="cover",
        output_format="mp4",
        caption=hg.Caption(style="default"),
    )
    body = STRICT.unstructure(request)
    assert problems(body) == []
    assert body["voice_settings"] == {
        "speed": 1.2,
        "pitch": -3,
        "volume": 0.5,
        "locale": "en-US",
    }
    assert body["caption"] == {"file_format": "srt", "style": "default"}
    assert body["remove_background"] is True


def test_unset_fields_are_omitted() -> None:
    """None never reaches the wire, even inside nested objects."""
    body = STRICT.unstructure(
        hg.VideoRequest(
            image_url="https://e.com/a.jpg",
            script="Hi",
            voice_id="v",
            voice_settings=hg.VoiceSettings(speed=1.0),
        )
    )
    assert body["voice_settings"] == {"speed": 1.0}
    assert None not in body.values()


def test_empty_voice_settings_are_not_sent() -> None:
    """VoiceSettings() with nothing set sends no voice_settings at all."""
    body = STRICT.unstructure(
        hg.VideoRequest(
            image_url="https://e.com/a.jpg",
            script="Hi",
            voice_id="v",
            voice_settings=hg.VoiceSettings(),
        )
    )
    assert "voice_settings" not in body


def test_image_path_never_reaches_the_wire() -> None:
    """Unstructuring a request that still has a local path is refused."""
    request = hg.VideoRequest(image_path=Path("me.png"), script="Hi", voice_id="v")
    with pytest.raises(ValueError, match=r"image_path 'me\.png' must be uploaded"):
        STRICT.unstructure(request)


def test_ids_are_renamed_per_resource() -> None:
    """video_id, voice_id and asset_id on the wire all become .id."""
    assert (
        STRICT.structure({"video_id": "v1", "status": "waiting"}, hg.CreatedVideo).id
        == "v1"
    )
    assert (
        STRICT.structure({"video_id": "v2", "status": "queued"}, hg.StatusItem).id
        == "v2"
    )
    assert STRICT.structure({"voice_id": "vo"}, hg.Voice).id == "vo"
    assert STRICT.structure({"id": "v3", "status": "pending"}, hg.Video).id == "v3"


def test_asset_accepts_upload_and_get_shapes() -> None:
    """Upload responses say asset_id, GET says id; both make an Asset."""
    uploaded = STRICT.structure(
        {
            "asset_id": "a1",
            "url": "https://f/a.png",
            "mime_type": "image/png",
            "size_bytes": 9,
        },
        hg.Asset,
    )
    fetched = STRICT.structure(
        {"id": "a1", "type": "image", "uploaded_at": 1711929600}, hg.Asset
    )
    assert (uploaded.id, uploaded.size_bytes) == ("a1", 9)
    assert fetched.uploaded_at == datetime(2024, 4, 1, tzinfo=UTC)


def test_upload_asset_id_wins_over_an_extra_id() -> None:
    """An upload body may carry extra keys (the schema allows it): asset_id wins."""
    asset = LENIENT.structure({"id": "a", "asset_id": "b", "url": "u"}, hg.Asset)
    assert asset.id == "b"


def test_photo_avatar_groups_and_items() -> None:
    """avatar_group/avatar_item become group/look."""
    avatar = STRICT.structure(
        {
            "avatar_group": {"id": "g1", "name": "Me", "status": "processing"},
            "avatar_item": {
                "id": "l1",
                "supported_api_engines": ["avatar_iv"],
                "image_width": 0,
            },
        },
        hg.PhotoAvatar,
    )
    assert avatar.group.id == "g1"
    assert avatar.look.supported_api_engines == ("avatar_iv",)
    assert STRICT.unstructure(avatar)["avatar_item"]["id"] == "l1"


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (1711929600, datetime(2024, 4, 1, tzinfo=UTC)),
        (1711929600.5, datetime(2024, 4, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2024-04-01T00:00:00Z", datetime(2024, 4, 1, tzinfo=UTC)),
        ("2024-04-01T02:00:00+02:00", datetime(2024, 4, 1, tzinfo=UTC)),
        ("2024-04-01T00:00:00", datetime(2024, 4, 1, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(stamp: Any, expected: datetime) -> None:
    """Unix seconds (and ISO strings) structure into aware UTC datetimes."""
    video = STRICT.structure(
        {"id": "v", "status": "completed", "created_at": stamp}, hg.Video
    )
    assert video.created_at == expected
    assert video.created_at is not None
    assert video.created_at.tzinfo is UTC


def test_datetimes_unstructure_to_unix_seconds() -> None:
    """Whole seconds go back as int, fractions as float."""
    whole = hg.Video(
        id="v",
        status=hg.VideoStatus.COMPLETED,
        created_at=datetime(2024, 4, 1, tzinfo=UTC),
    )
    part = hg.Video(
        id="v",
        status=hg.VideoStatus.COMPLETED,
        created_at=datetime(2024, 4, 1, 0, 0, 0, 250000, tzinfo=UTC),
    )
    assert STRICT.unstructure(whole)["created_at"] == 1711929600
    assert STRICT.unstructure(part)["created_at"] == 1711929600.25


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        ("pending", hg.VideoStatus.PENDING),
        ("waiting", hg.VideoStatus.PENDING),
        ("queued", hg.VideoStatus.PENDING),
        ("processing", hg.VideoStatus.PROCESSING),
        ("completed", hg.VideoStatus.COMPLETED),
        ("failed", hg.VideoStatus.FAILED),
        ("not_found", hg.VideoStatus.NOT_FOUND),
        ("rendering_v2", hg.VideoStatus.UNKNOWN),
    ],
)
def test_status_vocabularies(wire: Any, status: hg.VideoStatus) -> None:
    """Every status vocabulary maps to one enum; unknown strings never raise."""
    assert (
        STRICT.structure({"video_id": "v", "status": wire}, hg.StatusItem).status
        is status
    )


@pytest.mark.parametrize("wire", [None, 7, {"weird": 1}])
def test_a_status_that_is_not_a_string_is_drift(wire: Any) -> None:
    """Not a new status but a broken row: the poller asks that video alone."""
    with pytest.raises(hg.ResponseValidationError, match=r"\$\.status"):
        LENIENT.structure({"video_id": "v", "status": wire}, hg.StatusItem)


def test_extra_fields_tolerated_when_lenient() -> None:
    """Production ignores fields HeyGen adds later."""
    video = LENIENT.structure(
        {"id": "v", "status": "completed", "new_field": {"x": 1}}, hg.Video
    )
    assert video.id == "v"


def test_extra_fields_rejected_when_strict() -> None:
    """Strict mode names the unknown field."""
    with pytest.raises(
        hg.ResponseValidationError, match=r"extra fields found \(new_field\)"
    ) as info:
        STRICT.structure({"id": "v", "status": "completed", "new_field": 1}, hg.Video)
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"status": "completed"}, r"\$\.id"),
        ({"id": None, "status": "completed"}, r"expected str @ \$\.id"),
        ({"id": "v", "status": "completed", "duration": "long"}, r"\$\.duration"),
        ({"id": "v", "status": "completed", "duration": True}, r"\$\.duration"),
        (["not", "an", "object"], "expected a JSON object for Video, got list"),
    ],
)
def test_bad_shapes_raise_response_validation_error(data: Any, match: str) -> None:
    """Wrong types never leak cattrs errors or coerce silently."""
    with pytest.raises(hg.ResponseValidationError, match=match):
        LENIENT.structure(data, hg.Video)


@pytest.mark.parametrize("stamp", [[1], "yesterday", 10**20, -(10**20)])
def test_unreadable_timestamps_are_none_when_lenient(stamp: Any) -> None:
    """A timestamp is never worth a lost response; strict mode still flags it."""
    data = {"id": "v", "status": "completed", "created_at": stamp}
    assert LENIENT.structure(data, hg.Video).created_at is None
    with pytest.raises(hg.ResponseValidationError, match=r"\$\.created_at"):
        STRICT.structure(data, hg.Video)


def test_scalar_types_are_checked() -> None:
    """Booleans, integers and numbers must have their JSON types."""
    with pytest.raises(
        hg.ResponseValidationError, match=r"expected bool \| None @ \$\.support_pause"
    ):
        LENIENT.structure({"voice_id": "v", "support_pause": "false"}, hg.Voice)
    with pytest.raises(
        hg.ResponseValidationError, match=r"expected int \| None @ \$\.size_bytes"
    ):
        LENIENT.structure({"asset_id": "a", "size_bytes": "12"}, hg.Asset)
    assert (
        LENIENT.structure({"asset_id": "a", "size_bytes": 12.0}, hg.Asset).size_bytes
        == 12
    )
    assert (
        LENIENT.structure(
            {"id": "v", "status": "completed", "duration": 3}, hg.Video
        ).duration
        == 3.0
    )


def test_photo_avatar_body_shapes() -> None:
    """The avatar body nests its one image source under file."""
    assert photo_avatar_body(
        name="Me", image_url="https://e/a.png", image_asset_id=None
    ) == {
        "type": "photo",
        "name": "Me",
        "file": {"type": "url", "url": "https://e/a.png"},
    }
    assert photo_avatar_body(name="Me", image_url=None, image_asset_id="a1")[
        "file"
    ] == {
        "type": "asset_id",
        "asset_id": "a1",
    }
    with pytest.raises(ValueError, match="image_url or image_asset_id"):
        photo_avatar_body(name="Me", image_url=None, image_asset_id=None)


@pytest.mark.parametrize(
    ("wire", "error"),
    [
        (
            {"code": "E1", "message": "m", "retry": True},
            hg.StatusError(code="E1", message="m"),
        ),
        ({"code": 42, "message": ["not", "text"]}, hg.StatusError(code="42")),
        ({}, hg.StatusError()),
        ("a bare message", hg.StatusError(message="a bare message")),
        (None, None),
    ],
)
def test_status_errors_decode_from_any_shape(wire: Any, error: Any) -> None:
    """The schema's error is an open object; older servers sent a string."""
    row = {"video_id": "v", "status": "failed", "error": wire}
    assert error == STRICT.structure(row, hg.StatusItem).error


def test_a_status_error_that_is_not_an_object_is_drift() -> None:
    """A number where failure details belong names the field."""
    with pytest.raises(hg.ResponseValidationError, match=r"\$\.error"):
        LENIENT.structure(
            {"video_id": "v", "status": "failed", "error": 5}, hg.StatusItem
        )


def test_auto_reload_decodes_the_object_and_the_old_flag() -> None:
    """wallet.auto_reload is an object per schema; a bare flag still reads."""
    obj = {"currency": "usd", "auto_reload": {"enabled": False, "amount_usd": 20}}
    flag = {"currency": "usd", "auto_reload": True}
    assert hg.AutoReload(enabled=False, amount_usd=20.0) == (
        STRICT.structure(obj, hg.Wallet).auto_reload
    )
    assert hg.AutoReload(enabled=True) == STRICT.structure(flag, hg.Wallet).auto_reload
