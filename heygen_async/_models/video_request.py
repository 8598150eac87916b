"""
What the user sends: :class:`VideoRequest` and its parts.

Each validates itself at construction, so bad input fails before any network
call with one message that names every bad field (see ``_checks``).
"""

from __future__ import annotations

import contextlib
import os
import re
import typing
from pathlib import Path
from typing import Literal, cast

import attrs

from heygen_async import _log
from heygen_async._config import MAX_SCRIPT_CHARS

from . import _checks as check


log = _log.logger

Resolution = Literal["4k", "1080p", "720p"]
AspectRatio = Literal["16:9", "9:16", "4:5", "5:4", "1:1", "auto"]
Fit = Literal["contain", "cover"]
OutputFormat = Literal["mp4", "webm"]
Expressiveness = Literal["high", "medium", "low"]

# The choices, read from the aliases above so each value is written once.
RESOLUTIONS: tuple[str, ...] = typing.get_args(Resolution)
ASPECT_RATIOS: tuple[str, ...] = typing.get_args(AspectRatio)
FITS: tuple[str, ...] = typing.get_args(Fit)
OUTPUT_FORMATS: tuple[str, ...] = typing.get_args(OutputFormat)
EXPRESSIVENESS: tuple[str, ...] = typing.get_args(Expressiveness)

_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
CAPTION_STYLES: tuple[str, ...] = ("default",)  # the schema's enum


@attrs.frozen(kw_only=True)
class VoiceSettings:
    """
    Adjustments to the synthesized voice (only with ``script``).

    Attributes:
        speed: 0.5 to 1.5 (1 is normal).
        pitch: -50 to 50 semitones.
        volume: 0 to 1.
        locale: A locale such as ``"en-US"`` for multilingual voices.
    """

    speed: float | None = None
    pitch: float | None = None
    volume: float | None = None
    locale: str | None = None

    def __attrs_post_init__(self) -> None:
        # Ranges from the VideoCreate schema's voice_settings descriptions.
        check.raise_all(
            [
                check.number("voice_settings.speed", self.speed, 0.5, 1.5),
                check.number("voice_settings.pitch", self.pitch, -50, 50),
                check.number("voice_settings.volume", self.volume, 0, 1),
                check.text(
                    "voice_settings.locale", self.locale, check.MAX_LOCALE_CHARS
                ),
            ]
        )


@attrs.frozen(kw_only=True)
class Background:
    """
    A solid colour or an image behind the person.

    Pass exactly one of *color* (``"#rrggbb"``), *image_url* or
    *image_asset_id*.
    """

    color: str | None = None
    image_url: str | None = None
    image_asset_id: str | None = None

    def __attrs_post_init__(self) -> None:
        color: object = self.color  # annotations are not checked at runtime
        bad_color = None
        if color is not None and not (
            isinstance(color, str) and _HEX_COLOR.fullmatch(color)
        ):
            bad_color = (
                f"background.color must look like '#rrggbb'; got {check.shown(color)}"
            )
        check.raise_all(
            [
                check.exactly_one(
                    "background",
                    color=color,
                    image_url=self.image_url,
                    image_asset_id=self.image_asset_id,
                ),
                bad_color,
                check.url("background.image_url", self.image_url),
                check.text(
                    "background.image_asset_id", self.image_asset_id, check.MAX_ID_CHARS
                ),
            ]
        )


@attrs.frozen(kw_only=True)
class Caption:
    """
    Captions: an SRT sidecar, optionally burned in with *style*.

    Attributes:
        file_format: Only ``"srt"`` exists today.
        style: ``"default"`` burns captions into the video.
    """

    file_format: Literal["srt"] = "srt"
    style: str | None = None

    def __attrs_post_init__(self) -> None:
        check.raise_all(
            [
                check.choice("caption.file_format", self.file_format, ("srt",)),
                check.choice("caption.style", self.style, CAPTION_STYLES),
            ]
        )


def _path_or_none(value: str | os.PathLike[str] | None) -> Path | None:
    # A blank string or a wrong type is kept as given, for
    # ``VideoRequest.__attrs_post_init__`` to report by name.
    if isinstance(value, os.PathLike) or (isinstance(value, str) and value.strip()):
        with contextlib.suppress(TypeError):  # os.PathLike[bytes]
            return Path(value)
    return cast("Path | None", value)


def _image_path(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return "image_path must not be blank"
    if not isinstance(value, Path):
        return (
            f"image_path must be a path to a PNG or JPEG file; got {check.got(value)}"
        )
    if "\0" in str(value):
        return "image_path must not contain a NUL character"
    return None


@attrs.frozen(kw_only=True)
class VideoRequest:
    """
    One talking video to render: a picture, something to say, and options.

    Exactly one picture: *image_url*, *image_asset_id*, *image_path* (a local
    file the client uploads for you, once per distinct content) or
    *avatar_id* (a photo-avatar look). Exactly one voice: *script* with
    *voice_id* (with *avatar_id*, *voice_id* may be left out: the avatar's
    default voice speaks), *audio_url*, or *audio_asset_id*. Every type,
    value and combination is checked here: any problem raises one
    :class:`ValueError` naming all the fields at fault, before anything is
    sent.

    Example::

        VideoRequest(image_url="https://example.com/me.jpg",
                     script="Hello!", voice_id="v_123", resolution="1080p")
    """

    image_url: str | None = None
    image_asset_id: str | None = None
    image_path: Path | None = attrs.field(default=None, converter=_path_or_none)
    avatar_id: str | None = None
    script: str | None = None
    voice_id: str | None = None
    audio_url: str | None = None
    audio_asset_id: str | None = None
    title: str | None = None
    resolution: Resolution | None = None
    aspect_ratio: AspectRatio | None = None
    remove_background: bool | None = None
    background: Background | None = None
    voice_settings: VoiceSettings | None = None
    callback_url: str | None = None
    callback_id: str | None = None
    motion_prompt: str | None = None
    expressiveness: Expressiveness | None = None
    fit: Fit | None = None
    output_format: OutputFormat | None = None
    caption: Caption | None = None

    def __attrs_post_init__(self) -> None:
        check.raise_all(
            [
                *self._source_problems(),
                *self._speech_problems(),
                *self._value_problems(),
            ]
        )
        if self.callback_id is not None and self.callback_url is None:
            log.debug("heygen.callback_id_without_url")

    def _source_problems(self) -> list[str | None]:
        return [
            check.exactly_one(
                "image source",
                image_url=self.image_url,
                image_asset_id=self.image_asset_id,
                image_path=self.image_path,
                avatar_id=self.avatar_id,
            ),
            check.exactly_one(
                "speech source",
                script=self.script,
                audio_url=self.audio_url,
                audio_asset_id=self.audio_asset_id,
            ),
            check.url("image_url", self.image_url),
            check.text("image_asset_id", self.image_asset_id, check.MAX_ID_CHARS),
            _image_path(self.image_path),
            check.text("avatar_id", self.avatar_id, check.MAX_ID_CHARS),
            check.text("script", self.script, MAX_SCRIPT_CHARS),
            check.text("voice_id", self.voice_id, check.MAX_ID_CHARS),
            check.url("audio_url", self.audio_url),
            check.text("audio_asset_id", self.audio_asset_id, check.MAX_ID_CHARS),
        ]

    def _speech_problems(self) -> list[str | None]:
        if self.script is None:
            return [
                None
                if self.voice_id is None
                else "voice_id goes with script, not with audio_url/audio_asset_id",
                None
                if self.voice_settings is None
                else "voice_settings goes with script, not with audio",
            ]
        # The schema: voice_id is "required when script is provided, unless
        # avatar_id is set (the avatar's default voice is used as fallback)".
        voiced = isinstance(self.voice_id, str) and bool(self.voice_id.strip())
        if voiced or (self.voice_id is None and self.avatar_id is not None):
            return []
        return [
            (
                "script requires voice_id (browse voices with iter_voices()); "
                "only an avatar_id may leave it out, to speak in its own voice"
            )
        ]

    def _value_problems(self) -> list[str | None]:
        webm_background = self.output_format == "webm" and self.background is not None
        return [
            check.text("title", self.title, check.MAX_TITLE_CHARS),
            check.choice("resolution", self.resolution, RESOLUTIONS),
            check.choice("aspect_ratio", self.aspect_ratio, ASPECT_RATIOS),
            check.flag("remove_background", self.remove_background),
            check.instance("background", self.background, Background),
            check.instance("voice_settings", self.voice_settings, VoiceSettings),
            check.url("callback_url", self.callback_url),
            check.text("callback_id", self.callback_id, check.MAX_CALLBACK_ID_CHARS),
            check.text("motion_prompt", self.motion_prompt, check.MAX_PROMPT_CHARS),
            check.choice("expressiveness", self.expressiveness, EXPRESSIVENESS),
            check.choice("fit", self.fit, FITS),
            check.choice("output_format", self.output_format, OUTPUT_FORMATS),
            check.instance("caption", self.caption, Caption),
            "background cannot be combined with output_format='webm'"
            if webm_background
            else None,
        ]
