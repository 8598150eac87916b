"""
Server-side validation of create bodies, as strict as HeyGen's OpenAPI.

The SDK validates requests before sending them; the fake validates them again
on arrival (``additionalProperties: false``, enums, ranges, references to
voices, assets and avatar looks). A converter bug that puts a field in the
wrong place therefore fails a test with a 400 naming the field instead of
passing silently.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._wire import invalid


MAX_SCRIPT_CHARS = 5_000
RESOLUTIONS = ("4k", "1080p", "720p")
ASPECT_RATIOS = ("16:9", "9:16", "4:5", "5:4", "1:1", "auto")
FITS = ("contain", "cover")
OUTPUT_FORMATS = ("mp4", "webm")
EXPRESSIVENESS = ("high", "medium", "low")
IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg")
AVATAR_ENGINES = ("avatar_iv", "avatar_v", "avatar_iii")
TTS_ENGINES = ("elevenlabs", "fish", "starfish")
CAPTION_STYLES = ("default",)

_COMMON = frozenset(
    {
        "script",
        "voice_id",
        "audio_url",
        "audio_asset_id",
        "voice_settings",
        "title",
        "resolution",
        "aspect_ratio",
        "fit",
        "background",
        "remove_background",
        "output_format",
        "motion_prompt",
        "expressiveness",
        "caption",
        "callback_url",
        "callback_id",
        "watermark",
    }
)
_FIELDS_BY_TYPE: dict[str | None, frozenset[str]] = {
    None: _COMMON | {"image_url", "image_asset_id", "avatar_id"},
    "image": _COMMON | {"type", "image"},
    "avatar": _COMMON | {"type", "avatar_id", "engine"},
}
_VOICE_SETTINGS = frozenset({"speed", "pitch", "volume", "locale", "engine_settings"})
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_STRING_FIELDS = ("title", "motion_prompt", "callback_url", "callback_id")


@attrs.frozen(kw_only=True)
class Lookups:
    """How validation asks whether referenced things exist."""

    voice_exists: Callable[[str], bool]
    asset_type: Callable[[str], str | None]
    look_status: Callable[[str], str | None]


@attrs.frozen(kw_only=True)
class VideoSpec:
    """What the rest of the fake needs from a valid create body."""

    output_format: str
    script: str | None
    captioned: bool


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _only(
    value: Mapping[str, Any], allowed: frozenset[str] | set[str], path: str
) -> None:
    for key in value:
        if key not in allowed:
            where = f"{path}.{key}" if path else key
            raise invalid(f"Unknown field '{where}'.", where)


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"{path} must be an object.", path)
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(f"{path} must be a non-empty string.", path)
    return value


def _url(value: object, path: str) -> str:
    url = _string(value, path)
    if not url.startswith(("https://", "http://")):
        raise invalid(f"{path} must be an http(s) URL.", path)
    return url


def _choice(body: Mapping[str, Any], field: str, choices: tuple[str, ...]) -> None:
    value = body.get(field)
    if value is not None and value not in choices:
        raise invalid(f"{field} must be one of {', '.join(choices)}.", field)


def _range(settings: Mapping[str, Any], key: str, low: float, high: float) -> None:
    value = settings.get(key)
    if value is None:
        return
    if not _is_number(value) or not low <= value <= high:
        path = f"voice_settings.{key}"
        raise invalid(f"{path} must be a number between {low} and {high}.", path)


def _asset(lookups: Lookups, asset_id: object, path: str, kind: str) -> None:
    found = lookups.asset_type(_string(asset_id, path))
    if found is None:
        raise invalid(
            f"Asset '{asset_id}' not found; upload it with POST /v3/assets.", path
        )
    if found != kind:
        raise invalid(f"Asset '{asset_id}' is {found}, not {kind}.", path)


def asset_input(value: object, path: str, lookups: Lookups) -> None:
    """Check an image ``AssetInput``: by url, by asset id or inline base64."""
    source = _object(value, path)
    kind = source.get("type")
    if kind == "url":
        _only(source, {"type", "url"}, path)
        _url(source.get("url"), f"{path}.url")
    elif kind == "asset_id":
        _only(source, {"type", "asset_id"}, path)
        _asset(lookups, source.get("asset_id"), f"{path}.asset_id", "image")
    elif kind == "base64":
        _only(source, {"type", "media_type", "data"}, path)
        if source.get("media_type") not in IMAGE_MEDIA_TYPES:
            media_path = f"{path}.media_type"
            raise invalid(f"{media_path} must be image/png or image/jpeg.", media_path)
        data = _string(source.get("data"), f"{path}.data")
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(f"{path}.data is not valid base64.", f"{path}.data") from None
    else:
        raise invalid(f"{path}.type must be url, asset_id or base64.", f"{path}.type")


def _look(lookups: Lookups, avatar_id: object) -> None:
    look_id = _string(avatar_id, "avatar_id")
    status = lookups.look_status(look_id)
    if status is None:
        msg = f"Avatar '{look_id}' not found; create one with POST /v3/avatars."
        raise invalid(msg, "avatar_id")
    if status != "completed":
        raise invalid(
            f"Avatar '{look_id}' is not ready (status {status}).", "avatar_id"
        )


def _visual(body: Mapping[str, Any], kind: str | None, lookups: Lookups) -> None:
    if kind == "image":
        if body.get("image") is None:
            raise invalid("image is required when type is 'image'.", "image")
        asset_input(body["image"], "image", lookups)
        return
    if kind == "avatar":
        _look(lookups, body.get("avatar_id"))
        engine = body.get("engine")
        if engine is not None:
            engine_type = _object(engine, "engine").get("type")
            if engine_type not in AVATAR_ENGINES:
                raise invalid(
                    f"engine.type must be one of {', '.join(AVATAR_ENGINES)}.",
                    "engine.type",
                )
        return
    given = [
        f
        for f in ("image_url", "image_asset_id", "avatar_id")
        if body.get(f) is not None
    ]
    if len(given) != 1:
        msg = (
            "Exactly one visual source required: "
            "avatar_id, image_url, or image_asset_id."
        )
        raise invalid(msg, given[1] if given else "image_url")
    if given[0] == "image_url":
        _url(body["image_url"], "image_url")
    elif given[0] == "image_asset_id":
        _asset(lookups, body["image_asset_id"], "image_asset_id", "image")
    else:
        _look(lookups, body["avatar_id"])


def _voice_settings(value: object) -> None:
    settings = _object(value, "voice_settings")
    _only(settings, _VOICE_SETTINGS, "voice_settings")
    _range(settings, "speed", 0.5, 1.5)
    _range(settings, "pitch", -50, 50)
    _range(settings, "volume", 0, 1)
    if settings.get("locale") is not None:
        _string(settings["locale"], "voice_settings.locale")
    if settings.get("engine_settings") is not None:
        engine = _object(settings["engine_settings"], "voice_settings.engine_settings")
        if engine.get("engine_type") not in TTS_ENGINES:
            path = "voice_settings.engine_settings.engine_type"
            raise invalid(f"{path} must be one of {', '.join(TTS_ENGINES)}.", path)


def _speech(body: Mapping[str, Any], lookups: Lookups) -> str | None:
    given = [
        f for f in ("script", "audio_url", "audio_asset_id") if body.get(f) is not None
    ]
    if not given:
        raise invalid(
            "Provide one of script (with voice_id), audio_url or audio_asset_id.",
            "script",
        )
    if len(given) > 1:
        raise invalid(
            "script, audio_url and audio_asset_id are mutually exclusive.", given[1]
        )
    if given[0] != "script":
        for field in ("voice_id", "voice_settings"):
            if body.get(field) is not None:
                raise invalid(f"{field} is only used with script.", field)
        if given[0] == "audio_url":
            _url(body["audio_url"], "audio_url")
        else:
            _asset(lookups, body["audio_asset_id"], "audio_asset_id", "audio")
        return None
    script = body["script"]
    if not isinstance(script, str) or not script.strip():
        raise invalid("script must not be empty.", "script")
    if len(script) > MAX_SCRIPT_CHARS:
        msg = (
            f"script must be at most {MAX_SCRIPT_CHARS} characters (got {len(script)})."
        )
        raise invalid(msg, "script")
    voice_id = body.get("voice_id")
    # The schema: without voice_id, an avatar speaks in its default voice.
    if voice_id is None and body.get("avatar_id") is None:
        raise invalid("voice_id is required when script is provided.", "voice_id")
    if voice_id is not None and not (
        isinstance(voice_id, str) and lookups.voice_exists(voice_id)
    ):
        raise invalid(
            f"Voice '{voice_id}' not found; list voices with GET /v3/voices.",
            "voice_id",
        )
    if body.get("voice_settings") is not None:
        _voice_settings(body["voice_settings"])
    return script


def _background(body: Mapping[str, Any], lookups: Lookups) -> None:
    background = _object(body["background"], "background")
    kind = background.get("type")
    if kind == "color":
        _only(background, {"type", "value"}, "background")
        value = background.get("value")
        if not isinstance(value, str) or not _HEX_COLOR.match(value):
            raise invalid(
                "background.value must be a colour like '#1a2b3c'.", "background.value"
            )
    elif kind == "image":
        _only(background, {"type", "url", "asset_id"}, "background")
        given = [f for f in ("url", "asset_id") if background.get(f) is not None]
        if len(given) != 1:
            raise invalid(
                "background image needs exactly one of url or asset_id.", "background"
            )
        if given[0] == "url":
            _url(background["url"], "background.url")
        else:
            _asset(lookups, background["asset_id"], "background.asset_id", "image")
    else:
        raise invalid("background.type must be color or image.", "background.type")
    if body.get("output_format") == "webm":
        raise invalid(
            "background cannot be combined with output_format 'webm'.", "background"
        )


def _caption(value: object) -> bool:
    caption = _object(value, "caption")
    _only(caption, {"file_format", "style"}, "caption")
    # ``file_format`` defaults to ``srt``, the only format there is.
    if caption.get("file_format", "srt") != "srt":
        raise invalid("caption.file_format must be 'srt'.", "caption.file_format")
    if caption.get("style") is not None:
        if caption["style"] not in CAPTION_STYLES:
            raise invalid("caption.style must be 'default' or null.", "caption.style")
        return True
    return False


def validate_video(body: Mapping[str, Any], lookups: Lookups) -> VideoSpec:
    """Check a ``POST /v3/videos`` body (flat seed form or typed union form)."""
    kind = body.get("type")
    if kind in ("cinematic_avatar", "studio"):
        raise invalid(f"type '{kind}' is not supported by FakeHeyGen.", "type")
    if kind not in _FIELDS_BY_TYPE:
        raise invalid(
            "type must be one of image, avatar, cinematic_avatar, studio.", "type"
        )
    _only(body, _FIELDS_BY_TYPE[kind], "")
    _visual(body, kind, lookups)
    script = _speech(body, lookups)
    _choice(body, "resolution", RESOLUTIONS)
    _choice(body, "aspect_ratio", ASPECT_RATIOS)
    _choice(body, "fit", FITS)
    _choice(body, "output_format", OUTPUT_FORMATS)
    _choice(body, "expressiveness", EXPRESSIVENESS)
    for field in _STRING_FIELDS:
        if body.get(field) is not None and not isinstance(body[field], str):
            raise invalid(f"{field} must be a string.", field)
    if body.get("remove_background") is not None and not isinstance(
        body["remove_background"], bool
    ):
        raise invalid("remove_background must be a boolean.", "remove_background")
    if body.get("watermark") is not None:
        _object(body["watermark"], "watermark")
    if body.get("background") is not None:
        _background(body, lookups)
    captioned = _caption(body["caption"]) if body.get("caption") is not None else False
    return VideoSpec(
        output_format=str(body.get("output_format") or "mp4"),
        script=script,
        captioned=captioned,
    )


@attrs.frozen(kw_only=True)
class AvatarSpec:
    """A valid ``POST /v3/avatars`` request."""

    name: str
    group_id: str | None


def validate_avatar(
    body: Mapping[str, Any], lookups: Lookups, group_exists: Callable[[str], bool]
) -> AvatarSpec:
    """Check a ``POST /v3/avatars`` body; only ``type: photo`` is simulated."""
    kind = body.get("type")
    if kind in ("digital_twin", "prompt"):
        raise invalid(
            f"type '{kind}' is not supported by FakeHeyGen; use 'photo'.", "type"
        )
    if kind != "photo":
        raise invalid("type must be one of photo, digital_twin, prompt.", "type")
    _only(body, {"type", "name", "file", "avatar_group_id"}, "")
    name = _string(body.get("name"), "name")
    if body.get("file") is None:
        raise invalid("file is required.", "file")
    asset_input(body["file"], "file", lookups)
    group_id = body.get("avatar_group_id")
    if group_id is not None and not (
        isinstance(group_id, str) and group_exists(group_id)
    ):
        raise invalid(f"Avatar group '{group_id}' not found.", "avatar_group_id")
    return AvatarSpec(name=name, group_id=group_id)


_CONSENT_FIELDS = frozenset({"consent_text", "consent_video", "reroute_url"})


def validate_consent(body: Mapping[str, Any]) -> None:
    """Check a ``POST /v3/avatars/{group_id}/consent`` body (every field optional)."""
    _only(body, _CONSENT_FIELDS, "")
    if body.get("consent_text") is not None:
        _string(body["consent_text"], "consent_text")
    if body.get("reroute_url") is not None:
        _url(body["reroute_url"], "reroute_url")
    if body.get("consent_video") is not None:
        video = _object(body["consent_video"], "consent_video")
        if video.get("type") not in ("url", "asset_id", "base64"):
            msg = "consent_video.type must be url, asset_id or base64."
            raise invalid(msg, "consent_video.type")
