"""
Value types: what the user sends and what HeyGen returns.

Frozen attrs classes with no JSON knowledge; ``_converter`` maps them to and
from the wire. Requests validate themselves at construction so bad input fails
before any network call, with a message that names the fields.
"""

from __future__ import annotations

import enum
import logging
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import attrs

from ._config import MAX_SCRIPT_CHARS


log = logging.getLogger("heygen_async")

Resolution = Literal["4k", "1080p", "720p"]
AspectRatio = Literal["16:9", "9:16", "4:5", "5:4", "1:1", "auto"]
Fit = Literal["contain", "cover"]
OutputFormat = Literal["mp4", "webm"]
Expressiveness = Literal["high", "medium", "low"]

RESOLUTIONS: tuple[str, ...] = ("4k", "1080p", "720p")
ASPECT_RATIOS: tuple[str, ...] = ("16:9", "9:16", "4:5", "5:4", "1:1", "auto")
FITS: tuple[str, ...] = ("contain", "cover")
OUTPUT_FORMATS: tuple[str, ...] = ("mp4", "webm")
EXPRESSIVENESS: tuple[str, ...] = ("high", "medium", "low")

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


def _check_choice(field: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        msg = f"{field} must be one of {', '.join(choices)}; got {value!r}"
        raise ValueError(msg)


def _check_range(field: str, value: float | None, low: float, high: float) -> None:
    if value is not None and not low <= value <= high:
        msg = f"{field} must be between {low} and {high}; got {value!r}"
        raise ValueError(msg)


def _exactly_one(what: str, **fields: object) -> None:
    given = [name for name, value in fields.items() if value is not None]
    if len(given) != 1:
        names = ", ".join(fields)
        detail = f"got {', '.join(given)}" if given else "got none"
        msg = f"{what}: pass exactly one of {names} ({detail})"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class VoiceSettings:
    """
    Adjustments to the synthesized voice (only with ``script`` + ``voice_id``).

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
        _check_range("voice_settings.speed", self.speed, 0.5, 1.5)
        _check_range("voice_settings.pitch", self.pitch, -50, 50)
        _check_range("voice_settings.volume", self.volume, 0, 1)


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
        _exactly_one(
            "background",
            color=self.color,
            image_url=self.image_url,
            image_asset_id=self.image_asset_id,
        )
        if self.color is not None and not _HEX_COLOR.match(self.color):
            msg = f"background.color must look like '#rrggbb'; got {self.color!r}"
            raise ValueError(msg)


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


def _path_or_none(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


@attrs.frozen(kw_only=True)
class VideoRequest:
    """
    One talking video to render: a picture, something to say, and options.

    Exactly one picture: *image_url*, *image_asset_id*, *image_path* (a local
    file the client uploads for you, once per distinct content) or
    *avatar_id* (a photo-avatar look). Exactly one voice: *script* with
    *voice_id*, *audio_url*, or *audio_asset_id*. Invalid combinations raise
    :class:`ValueError` naming the fields, before anything is sent.

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
        _exactly_one(
            "image source",
            image_url=self.image_url,
            image_asset_id=self.image_asset_id,
            image_path=self.image_path,
            avatar_id=self.avatar_id,
        )
        _exactly_one(
            "speech source",
            script=self.script,
            audio_url=self.audio_url,
            audio_asset_id=self.audio_asset_id,
        )
        if self.script is not None:
            if not 1 <= len(self.script) <= MAX_SCRIPT_CHARS:
                msg = (
                    f"script must be 1 to {MAX_SCRIPT_CHARS} characters; "
                    f"got {len(self.script)}"
                )
                raise ValueError(msg)
            if not self.voice_id:
                msg = "script requires voice_id (browse voices with iter_voices())"
                raise ValueError(msg)
        else:
            if self.voice_id is not None:
                msg = "voice_id goes with script, not with audio_url/audio_asset_id"
                raise ValueError(msg)
            if self.voice_settings is not None:
                msg = "voice_settings goes with script, not with audio"
                raise ValueError(msg)
        _check_choice("resolution", self.resolution, RESOLUTIONS)
        _check_choice("aspect_ratio", self.aspect_ratio, ASPECT_RATIOS)
        _check_choice("fit", self.fit, FITS)
        _check_choice("output_format", self.output_format, OUTPUT_FORMATS)
        _check_choice("expressiveness", self.expressiveness, EXPRESSIVENESS)
        if self.output_format == "webm" and self.background is not None:
            msg = "background cannot be combined with output_format='webm'"
            raise ValueError(msg)
        if self.callback_id is not None and self.callback_url is None:
            log.debug("heygen.callback_id_without_url")


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
