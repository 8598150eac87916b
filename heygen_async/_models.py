"""
Value types: what the user sends and what HeyGen returns.

Frozen attrs classes with no JSON knowledge; ``_converter`` maps them to and
from the wire. Requests validate themselves at construction so bad input fails
before any network call, with a message that names the fields.
"""

from __future__ import annotations

import contextlib
import enum
import math
import os
import re
import typing
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import attrs

from . import _log
from ._config import MAX_SCRIPT_CHARS


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
_seen_unknown_statuses: set[str] = set()


class VideoStatus(enum.StrEnum):
    """
    Where a video is in its life.

    HeyGen uses several vocabularies (``waiting`` on create, ``queued`` in
    bulk status, ``pending`` on GET); all three mean :attr:`PENDING`. A value
    this SDK does not know becomes :attr:`UNKNOWN` and counts as in progress,
    so a new server status never crashes a wait.
    """

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> VideoStatus:
        if value in ("waiting", "queued"):
            return cls.PENDING
        raw = str(value)
        if raw not in _seen_unknown_statuses:
            _seen_unknown_statuses.add(raw)
            log.info("heygen.unknown_status value=%r treated as in progress", raw)
        return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        """Whether the render has finished, for better or worse."""
        return self in (VideoStatus.COMPLETED, VideoStatus.FAILED)


# Request limits, and where each comes from. HeyGen's request schema
# (VideoCreate) sets no maxLength on any string; only the script's length is
# documented (usage limits page: "Script text: Maximum 5,000 characters",
# ``MAX_SCRIPT_CHARS``). The other caps are ours: generous, so that no real
# value trips them, yet a runaway one (a whole file pasted into a title)
# fails here instead of at a paid endpoint.
_MAX_ID_CHARS = 256  # undocumented; HeyGen ids are 32 hex characters
_MAX_URL_CHARS = 2_048  # undocumented; what browsers and CDNs reliably carry
_MAX_TITLE_CHARS = 1_000  # undocumented; a dashboard label
_MAX_PROMPT_CHARS = MAX_SCRIPT_CHARS  # undocumented; as long as a script
_MAX_CALLBACK_ID_CHARS = 1_000  # undocumented; echoed back in webhooks
_MAX_LOCALE_CHARS = 35  # a BCP 47 tag; RFC 5646 section 4.4.1 sizes them so
CAPTION_STYLES: tuple[str, ...] = ("default",)  # the schema's enum
_SHOWN = 40  # characters of a bad value quoted in a message


def _shown(value: object) -> str:
    """A bad value for a message, cut short: it may be megabytes long."""
    if isinstance(value, str | bytes):
        text = repr(value[: _SHOWN + 1])
        return text if len(value) <= _SHOWN else f"{text[:_SHOWN]}..."
    if isinstance(value, int) and value.bit_length() > 64:
        return f"<{value.bit_length()}-bit int>"  # repr() refuses huge ints
    if isinstance(value, int | float | None):
        return repr(value)
    return f"<{type(value).__name__}>"  # a container's repr may be huge or deep


def _got(value: object) -> str:
    """``int 42``, ``list``: the type of a wrong value, and the value if small."""
    shown = _shown(value)
    name = type(value).__name__
    return name if shown == f"<{name}>" else f"{name} {shown}"


def _raise_all(problems: list[str | None]) -> None:
    """One ValueError listing every problem found, so one fix round suffices."""
    found = [problem for problem in problems if problem is not None]
    if found:
        raise ValueError("; ".join(found))


def _text(field: str, value: object, max_chars: int) -> str | None:
    """A problem with an optional text field: type, length, blankness."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"{field} must be a string; got {_got(value)}"
    if not 1 <= len(value) <= max_chars:
        return f"{field} must be 1 to {max_chars} characters; got {len(value)}"
    if not value.strip():
        return f"{field} must not be blank (only whitespace)"
    return None


def _url(field: str, value: object) -> str | None:
    """A problem with an optional URL: it must be absolute http(s)."""
    problem = _text(field, value, _MAX_URL_CHARS)
    if problem is not None or not isinstance(value, str):
        return problem
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        return f"{field} must be an http:// or https:// URL; got {_shown(value)}"
    if any(char.isspace() for char in value):
        return f"{field} must not contain whitespace; got {_shown(value)}"
    return None


def _number(field: str, value: object, low: float, high: float) -> str | None:
    """A problem with an optional number: a finite int or float in range."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{field} must be a number; got {_got(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{field} must be a finite number; got {value!r}"
    if not low <= value <= high:
        return f"{field} must be between {low} and {high}; got {_shown(value)}"
    return None


def _flag(field: str, value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return f"{field} must be True or False; got {_got(value)}"


def _choice(field: str, value: object, choices: tuple[str, ...]) -> str | None:
    if value is None or (isinstance(value, str) and value in choices):
        return None
    return f"{field} must be one of {', '.join(choices)}; got {_shown(value)}"


def _instance(field: str, value: object, cls: type) -> str | None:
    if value is None or isinstance(value, cls):
        return None
    return f"{field} must be a {cls.__name__}; got {_got(value)}"


def _exactly_one(what: str, **fields: object) -> str | None:
    given = [name for name, value in fields.items() if value is not None]
    if len(given) == 1:
        return None
    names = ", ".join(fields)
    detail = f"got {', '.join(given)}" if given else "got none"
    return f"{what}: pass exactly one of {names} ({detail})"


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
        _raise_all(
            [
                _number("voice_settings.speed", self.speed, 0.5, 1.5),
                _number("voice_settings.pitch", self.pitch, -50, 50),
                _number("voice_settings.volume", self.volume, 0, 1),
                _text("voice_settings.locale", self.locale, _MAX_LOCALE_CHARS),
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
                f"background.color must look like '#rrggbb'; got {_shown(color)}"
            )
        _raise_all(
            [
                _exactly_one(
                    "background",
                    color=color,
                    image_url=self.image_url,
                    image_asset_id=self.image_asset_id,
                ),
                bad_color,
                _url("background.image_url", self.image_url),
                _text("background.image_asset_id", self.image_asset_id, _MAX_ID_CHARS),
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
        _raise_all(
            [
                _choice("caption.file_format", self.file_format, ("srt",)),
                _choice("caption.style", self.style, CAPTION_STYLES),
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
        return f"image_path must be a path to a PNG or JPEG file; got {_got(value)}"
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
        _raise_all(
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
            _exactly_one(
                "image source",
                image_url=self.image_url,
                image_asset_id=self.image_asset_id,
                image_path=self.image_path,
                avatar_id=self.avatar_id,
            ),
            _exactly_one(
                "speech source",
                script=self.script,
                audio_url=self.audio_url,
                audio_asset_id=self.audio_asset_id,
            ),
            _url("image_url", self.image_url),
            _text("image_asset_id", self.image_asset_id, _MAX_ID_CHARS),
            _image_path(self.image_path),
            _text("avatar_id", self.avatar_id, _MAX_ID_CHARS),
            _text("script", self.script, MAX_SCRIPT_CHARS),
            _text("voice_id", self.voice_id, _MAX_ID_CHARS),
            _url("audio_url", self.audio_url),
            _text("audio_asset_id", self.audio_asset_id, _MAX_ID_CHARS),
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
            _text("title", self.title, _MAX_TITLE_CHARS),
            _choice("resolution", self.resolution, RESOLUTIONS),
            _choice("aspect_ratio", self.aspect_ratio, ASPECT_RATIOS),
            _flag("remove_background", self.remove_background),
            _instance("background", self.background, Background),
            _instance("voice_settings", self.voice_settings, VoiceSettings),
            _url("callback_url", self.callback_url),
            _text("callback_id", self.callback_id, _MAX_CALLBACK_ID_CHARS),
            _text("motion_prompt", self.motion_prompt, _MAX_PROMPT_CHARS),
            _choice("expressiveness", self.expressiveness, EXPRESSIVENESS),
            _choice("fit", self.fit, FITS),
            _choice("output_format", self.output_format, OUTPUT_FORMATS),
            _instance("caption", self.caption, Caption),
            "background cannot be combined with output_format='webm'"
            if webm_background
            else None,
        ]


@attrs.frozen(kw_only=True)
class CreatedVideo:
    """
    HeyGen accepted a render request; the video is not ready yet.

    Attributes:
        id: The video id to wait for.
        status: The initial status (usually :attr:`VideoStatus.PENDING`).
        output_format: ``mp4`` or ``webm``.
    """

    id: str
    status: VideoStatus = VideoStatus.PENDING
    output_format: str | None = None


@attrs.frozen(kw_only=True)
class Video:
    """
    A video and what HeyGen knows about it.

    URLs are presigned and expire: fetch the video again for fresh ones and
    never store them. A failed video may carry no ``failure_code`` or
    ``failure_message``. Timestamps are aware UTC datetimes.
    """

    id: str
    status: VideoStatus
    title: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    gif_url: str | None = None
    captioned_video_url: str | None = None
    subtitle_url: str | None = None
    video_page_url: str | None = None
    duration: float | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    folder_id: str | None = None
    output_language: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


@attrs.frozen(kw_only=True)
class StatusError:
    """
    Why a video in a bulk status row failed.

    HeyGen's schema leaves this object open; either part may be missing.
    """

    code: str | None = None
    message: str | None = None


@attrs.frozen(kw_only=True)
class StatusItem:
    """
    One row of the bulk status endpoint: no URLs, just where a job is.

    *id* is ``None`` for a batch item whose video does not exist yet; such
    a row says nothing about any video you wait for.
    """

    status: VideoStatus
    id: str | None = None
    error: StatusError | None = None
    batch_id: str | None = None
    item_index: int | None = None


@attrs.frozen(kw_only=True)
class Asset:
    """
    An uploaded file (image, audio or video) usable by id in requests.

    Upload responses fill *mime_type* and *size_bytes*; ``get_asset`` fills
    the rest.
    """

    id: str
    url: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    name: str | None = None
    type: str | None = None
    owner: str | None = None
    space_id: str | None = None
    folder_id: str | None = None
    uploaded_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Voice:
    """A voice that can speak a script."""

    id: str
    name: str | None = None
    language: str | None = None
    gender: str | None = None
    type: str | None = None
    preview_audio_url: str | None = None
    support_pause: bool | None = None
    support_locale: bool | None = None
    support_interactive_avatar: bool | None = None
    status: str | None = None
    failure_message: str | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class AvatarError:
    """Why a photo avatar (group or look) failed training."""

    code: str | None = None
    message: str | None = None


@attrs.frozen(kw_only=True)
class AvatarGroup:
    """
    The group a photo-avatar look belongs to.

    *status* is ``processing``, ``pending_consent``, ``failed`` or
    ``completed`` (``None`` for avatars that are not private).
    """

    id: str
    name: str | None = None
    status: str | None = None
    consent_status: str | None = None
    default_voice_id: str | None = None
    preview_image_url: str | None = None
    preview_video_url: str | None = None
    gender: str | None = None
    created_at: datetime | None = None
    looks_count: int | None = None
    error: AvatarError | None = None


@attrs.frozen(kw_only=True)
class AvatarLook:
    """
    A trained (or training) photo-avatar look; its id is a video ``avatar_id``.

    *status* is ``processing``, ``pending_consent`` (its group needs
    consent: ``POST /v3/avatars/{group_id}/consent``), ``failed`` (see
    *error*) or ``completed``. HeyGen sends no status for looks that are not
    private; those count as ready once their preview image and its size
    are known.
    """

    id: str
    name: str | None = None
    avatar_type: str | None = None
    status: str | None = None
    group_id: str | None = None
    supported_api_engines: tuple[str, ...] = ()
    image_width: int | None = None
    image_height: int | None = None
    preview_image_url: str | None = None
    preview_video_url: str | None = None
    default_voice_id: str | None = None
    gender: str | None = None
    preferred_orientation: str | None = None
    tags: tuple[str, ...] = ()
    error: AvatarError | None = None

    @property
    def is_ready(self) -> bool:
        """Whether the look can be used in a video."""
        if self.status is None:
            # No training status: the prose rule, a preview and its size.
            return bool(
                self.preview_image_url and self.image_width and self.image_height
            )
        return self.status == "completed"

    @property
    def is_failed(self) -> bool:
        """Whether training failed."""
        return self.status == "failed"

    @property
    def needs_consent(self) -> bool:
        """Whether training waits for the person's consent."""
        return self.status == "pending_consent"


@attrs.frozen(kw_only=True)
class PhotoAvatar:
    """
    A photo avatar just created: its group and its first look.

    HeyGen may leave either out (``null``): the avatar exists all the same.
    Without a *look*, find it later with
    ``client.request("GET", "/v3/avatars/looks?group_id=...")``.
    """

    group: AvatarGroup | None = None
    look: AvatarLook | None = None


@attrs.frozen(kw_only=True)
class AutoReload:
    """A wallet's automatic top-up, in USD."""

    enabled: bool
    amount_usd: float | None = None
    threshold_usd: float | None = None


@attrs.frozen(kw_only=True)
class Wallet:
    """
    A prepaid API wallet.

    *currency* is ``"usd"``, or ``"credits"`` for Enterprise; other values
    are passed through as they come.
    """

    currency: str | None = None
    remaining_balance: float | None = None
    auto_reload: AutoReload | None = None


@attrs.frozen(kw_only=True)
class CreditPool:
    """One pool of subscription credits and when it refills."""

    remaining: int | None = None
    resets_at: str | None = None


@attrs.frozen(kw_only=True)
class SubscriptionCredits:
    """A subscription's credit pools."""

    premium_credits: CreditPool | None = None
    add_on_credits: CreditPool | None = None


@attrs.frozen(kw_only=True)
class Subscription:
    """
    Billing for subscription accounts (OAuth apps).

    *plan* is e.g. ``"pro"`` or ``"enterprise"``; new plans pass through.
    """

    plan: str | None = None
    credits: SubscriptionCredits | None = None


@attrs.frozen(kw_only=True)
class UsageBased:
    """Metered billing with an optional spending cap."""

    included_credits: float | None = None
    remaining_credits: float | None = None
    spending_cap_usd: float | None = None
    spending_current_usd: float | None = None


@attrs.frozen(kw_only=True)
class Account:
    """
    The account the API key belongs to (``GET /v3/users/me``).

    *billing_type* (``wallet``, ``subscription`` or ``usage_based``) says
    which one of *wallet*, *subscription* and *usage_based* is set.
    """

    username: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    billing_type: str | None = None
    wallet: Wallet | None = None
    subscription: Subscription | None = None
    usage_based: UsageBased | None = None


@attrs.frozen(kw_only=True)
class WebhookEndpoint:
    """
    A URL registered to receive signed webhook deliveries.

    Attributes:
        id: The endpoint id (``ep_...``).
        url: Where deliveries are posted.
        events: The event types it receives; ``None`` means all of them.
        status: ``"enabled"`` or ``"disabled"``.
        created_at: When it was registered.
        secret: The ``whsec_...`` signing secret. HeyGen returns it only from
            :meth:`~heygen_async.Client.create_webhook_endpoint`; store it
            then (it is ``None`` everywhere else, and hidden from ``repr``).
        entity_id: The entity the endpoint is scoped to, if any.
    """

    id: str
    url: str
    events: tuple[str, ...] | None = None
    status: str | None = None
    created_at: datetime | None = None
    secret: str | None = attrs.field(default=None, repr=False)
    entity_id: str | None = None


@attrs.frozen(kw_only=True)
class WebhookSecret:
    """
    A freshly rotated signing secret; the previous one stopped working.

    Attributes:
        endpoint_id: The endpoint it signs for.
        secret: The new ``whsec_...`` secret (hidden from ``repr``).
    """

    endpoint_id: str
    secret: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class WebhookEventType:
    """An event type an endpoint can subscribe to."""

    event_type: str
    description: str | None = None


@attrs.frozen(kw_only=True)
class WebhookEventRecord:
    """
    One event from the delivery history (``GET /v3/webhooks/events``).

    Turn it into a typed event with
    :func:`heygen_async.webhooks.event_from_record`.

    Attributes:
        event_id: The id deliveries carry in ``Heygen-Event-Id``.
        event_type: e.g. ``"avatar_video.success"``.
        event_data: The payload, as HeyGen sent it.
        created_at: When the event happened.
    """

    event_id: str
    event_type: str
    event_data: dict[str, Any] = attrs.field(factory=dict, eq=False)
    created_at: datetime | None = None
