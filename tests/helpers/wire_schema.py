"""
A checker for ``POST /v3/videos`` bodies, written from HeyGen's OpenAPI.

Independent of ``_converter`` on purpose: it is the yardstick the converter's
output is measured against (the ``POST /v3/videos`` union of the v3 OpenAPI).
"""

from __future__ import annotations

from typing import Any


COMMON = {
    "type",
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
ENUMS = {
    "resolution": {"4k", "1080p", "720p"},
    "aspect_ratio": {"16:9", "9:16", "4:5", "5:4", "1:1", "auto"},
    "fit": {"contain", "cover"},
    "output_format": {"mp4", "webm"},
    "expressiveness": {"high", "medium", "low"},
}
STRINGS = {
    "script",
    "voice_id",
    "audio_url",
    "audio_asset_id",
    "title",
    "motion_prompt",
    "callback_url",
    "callback_id",
}


def problems(body: Any) -> list[str]:
    """Every way *body* breaks the wire schema (empty when it is valid)."""
    out: list[str] = []
    if not isinstance(body, dict):
        return ["body is not an object"]
    kind = body.get("type")
    if kind == "image":
        allowed = COMMON | {"image"}
        out += _asset_input(body.get("image"), "image")
    elif kind == "avatar":
        allowed = COMMON | {"avatar_id", "engine"}
        if not isinstance(body.get("avatar_id"), str):
            out.append("avatar_id missing")
    else:
        return [f"unknown type {kind!r}"]
    out += [f"unexpected field {k}" for k in body if k not in allowed]
    out += [f"{k} is null" for k, v in body.items() if v is None]
    out += [
        f"{k} is not a string"
        for k in STRINGS & body.keys()
        if not isinstance(body[k], str)
    ]
    for name, values in ENUMS.items():
        if name in body and body[name] not in values:
            out.append(f"{name} not in enum")
    speech = [k for k in ("script", "audio_url", "audio_asset_id") if k in body]
    if len(speech) != 1:
        out.append(f"speech sources: {speech}")
    if "script" in body and not 1 <= len(body["script"]) <= 5000:
        out.append("script length")
    if "script" in body and "voice_id" not in body and kind == "image":
        out.append("script without voice_id")
    if "remove_background" in body and not isinstance(body["remove_background"], bool):
        out.append("remove_background is not a boolean")
    if "voice_settings" in body:
        out += _voice_settings(body["voice_settings"])
    if "background" in body:
        out += _background(body["background"])
        if body.get("output_format") == "webm":
            out.append("background with webm")
    if "caption" in body:
        caption = body["caption"]
        if not isinstance(caption, dict) or caption.get("file_format") != "srt":
            out.append("caption.file_format")
        elif set(caption) - {"file_format", "style"}:
            out.append("caption has extra fields")
    return out


def _asset_input(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} is not an object"]
    kind = value.get("type")
    shapes = {"url": {"type", "url"}, "asset_id": {"type", "asset_id"}}
    if kind not in shapes:
        return [f"{where}.type {kind!r}"]
    if set(value) != shapes[kind]:
        return [f"{where} fields {sorted(value)}"]
    field = "url" if kind == "url" else "asset_id"
    return [] if isinstance(value[field], str) else [f"{where}.{field} not a string"]


def _voice_settings(value: Any) -> list[str]:
    if not isinstance(value, dict) or not value:
        return ["voice_settings is not a non-empty object"]
    ranges = {"speed": (0.5, 1.5), "pitch": (-50, 50), "volume": (0, 1)}
    out = [f"voice_settings.{k}" for k in value if k not in {*ranges, "locale"}]
    for name, (low, high) in ranges.items():
        if name in value and not low <= value[name] <= high:
            out.append(f"voice_settings.{name} out of range")
    return out


def _background(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return ["background is not an object"]
    if value.get("type") == "color":
        return [] if set(value) == {"type", "value"} else ["background color fields"]
    if value.get("type") == "image":
        sources = {"url", "asset_id"} & value.keys()
        if len(sources) != 1 or len(value) != 2:
            return ["background image fields"]
        return []
    return ["background.type"]
