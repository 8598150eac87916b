"""
Webhook events: the typed values a delivery becomes, and how a body is read.

The one place that knows webhook payload names. :mod:`heygen_async.webhooks`
re-exports the event types; verification lives there. Strictly private.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import attrs


__all__ = [
    "BatchFinished",
    "EventScheme",
    "GenericEvent",
    "VideoFailed",
    "VideoSucceeded",
    "WebhookEvent",
    "decode",
    "from_payload",
]

EventScheme: TypeAlias = Literal["heygen", "standard", "unsigned", "history"]
"""
How an event was authenticated: a signature scheme, ``"unsigned"``
(:func:`parse`) or ``"history"`` (:func:`event_from_record`).
"""

# Event types parsed into typed events; each family shares one payload shape.
_SUCCESS = frozenset(
    {"avatar_video.success", "avatar_video_gif.success", "avatar_video_caption.success"}
)
_FAIL = frozenset(
    {"avatar_video.fail", "avatar_video_gif.fail", "avatar_video_caption.fail"}
)
_BATCH_FINISHED = "batch.finished"


@attrs.frozen(kw_only=True)
class VideoSucceeded:
    """
    A render finished (``avatar_video.success`` and its GIF/caption kin).

    Attributes:
        event_id: The body's ``event_id`` (or the signed ``webhook-id``),
            for de-duplication; ``None`` if HeyGen sent neither.
        event_type: ``avatar_video.success``, ``avatar_video_gif.success``
            or ``avatar_video_caption.success``.
        video_id: The video the event is about.
        url: The file the event announces (``url``, or ``video_url``): the
            video, or for the GIF and caption events the GIF or the
            captioned video. Presigned and expiring, like every HeyGen URL.
        gif_url: ``gif_download_url`` or ``gif_url``, if sent.
        thumbnail_url: If sent.
        video_page_url: The video's page in HeyGen's app, if sent.
        callback_id: Your ``callback_id`` from the create request.
        duration: Seconds of video, if sent.
        verified: ``True`` from :func:`verify`, ``False`` from :func:`parse`:
            an unverified event is a hint, never proof.
        scheme: Which signature scheme matched (``"heygen"`` or
            ``"standard"``), ``"unsigned"`` from :func:`parse`, or
            ``"history"`` from :func:`event_from_record`.
        raw: The whole decoded body.
    """

    event_id: str | None
    event_type: str
    video_id: str
    url: str | None = None
    gif_url: str | None = None
    thumbnail_url: str | None = None
    video_page_url: str | None = None
    callback_id: str | None = None
    duration: float | None = None
    verified: bool
    scheme: EventScheme
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class VideoFailed:
    """
    A render failed (``avatar_video.fail`` and its GIF/caption kin).

    Attributes:
        event_id: For de-duplication, from signed material only; ``None``
            if HeyGen sent none.
        event_type: ``avatar_video.fail``, ``avatar_video_gif.fail`` or
            ``avatar_video_caption.fail``.
        video_id: The video the event is about.
        message: Why, from ``msg``, ``error`` (a string or an object with a
            ``message``) or ``failure_message``; ``None`` if HeyGen did not
            say (it sometimes does not).
        failure_code: ``failure_code`` or ``error.code``, if sent.
        callback_id: Your ``callback_id`` from the create request.
        verified: ``True`` from :func:`verify`, ``False`` from :func:`parse`.
        scheme: How the event was authenticated (see :class:`VideoSucceeded`).
        raw: The whole decoded body.
    """

    event_id: str | None
    event_type: str
    video_id: str
    message: str | None = None
    failure_code: str | None = None
    callback_id: str | None = None
    verified: bool
    scheme: EventScheme
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class BatchFinished:
    """
    Every item of a video batch (``POST /v3/videos/batches``) is terminal.

    The payload is not documented; its fields are read, leniently, with the
    names of the batch resource (``GET /v3/videos/batches/{batch_id}``).

    Attributes:
        event_id: For de-duplication, from signed material only; ``None``
            if HeyGen sent none.
        event_type: ``batch.finished``.
        batch_id: The batch the event is about.
        status: The batch's aggregate status (``completed``, ``failed``,
            ...), if sent.
        total_items: How many videos the batch holds, if sent.
        counts_by_status: Item counts keyed by item status, if sent.
        title: The batch's name, if sent.
        video_ids: The ``video_id`` of each item the event lists (none if
            it lists no items): each one may have just finished.
        verified: ``True`` from :func:`verify`, ``False`` from :func:`parse`.
        scheme: How the event was authenticated (see :class:`VideoSucceeded`).
        raw: The whole decoded body.
    """

    event_id: str | None
    event_type: str = _BATCH_FINISHED
    batch_id: str
    status: str | None = None
    total_items: int | None = None
    counts_by_status: Mapping[str, int] = attrs.field(factory=dict, hash=False)
    title: str | None = None
    video_ids: tuple[str, ...] = ()
    verified: bool
    scheme: EventScheme
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class GenericEvent:
    """
    Any other delivery: an event type this SDK does not model, or a payload
    missing what a typed event needs.

    Attributes:
        event_id: For de-duplication, from signed material only; ``None``
            if HeyGen sent none.
        event_type: ``event_type`` (or n8n's ``event``); ``None`` if absent.
        data: ``event_data`` if it is an object, else empty.
        verified: ``True`` from :func:`verify`, ``False`` from :func:`parse`.
        scheme: How the event was authenticated (see :class:`VideoSucceeded`).
        raw: The decoded JSON body (any JSON value), or the body as text if
            it was not JSON.
    """

    event_id: str | None
    event_type: str | None
    data: Mapping[str, Any] = attrs.field(eq=False, repr=False)
    verified: bool
    scheme: EventScheme
    raw: object = attrs.field(eq=False, repr=False)


WebhookEvent: TypeAlias = VideoSucceeded | VideoFailed | BatchFinished | GenericEvent
"""What :func:`verify` and :func:`parse` return."""


def decode(
    body: bytes,
    *,
    verified: bool,
    scheme: EventScheme,
    fallback_id: str | None = None,
) -> WebhookEvent:
    try:
        raw: object = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested beyond reason
        text = body.decode("utf-8", "replace")
        return GenericEvent(
            event_id=fallback_id,
            event_type=None,
            data={},
            verified=verified,
            scheme=scheme,
            raw=text,
        )
    if not isinstance(raw, dict):
        return GenericEvent(
            event_id=fallback_id,
            event_type=None,
            data={},
            verified=verified,
            scheme=scheme,
            raw=raw,
        )
    event_id = _str(raw.get("event_id")) or fallback_id
    return from_payload(raw, event_id, verified=verified, scheme=scheme)


def from_payload(
    raw: dict[str, Any], event_id: str | None, *, verified: bool, scheme: EventScheme
) -> WebhookEvent:
    event_type = _str(raw.get("event_type"))
    data = raw.get("event_data")
    data = data if isinstance(data, dict) else {}
    common: dict[str, Any] = {
        "event_id": event_id,
        "verified": verified,
        "scheme": scheme,
        "raw": raw,
    }
    video_id = _str(data.get("video_id"))
    if event_type in _SUCCESS and video_id is not None:
        return VideoSucceeded(
            event_type=event_type,
            video_id=video_id,
            url=_first_str(data, "url", "video_url"),
            gif_url=_first_str(data, "gif_download_url", "gif_url"),
            thumbnail_url=_str(data.get("thumbnail_url")),
            video_page_url=_str(data.get("video_page_url")),
            callback_id=_str(data.get("callback_id")),
            duration=_number(data.get("duration")),
            **common,
        )
    if event_type in _FAIL and video_id is not None:
        error = data.get("error")
        error_obj = error if isinstance(error, dict) else {}
        return VideoFailed(
            event_type=event_type,
            video_id=video_id,
            message=_first_str(data, "msg", "error", "failure_message")
            or _str(error_obj.get("message")),
            failure_code=_str(data.get("failure_code")) or _str(error_obj.get("code")),
            callback_id=_str(data.get("callback_id")),
            **common,
        )
    if event_type == _BATCH_FINISHED and (batch := _batch(data, common)) is not None:
        return batch
    return GenericEvent(
        event_type=event_type or _str(raw.get("event")),
        data=data,
        **common,
    )


def _batch(data: Mapping[str, Any], common: dict[str, Any]) -> BatchFinished | None:
    batch_id = _str(data.get("batch_id"))
    if batch_id is None:
        return None
    counts = data.get("counts_by_status")
    items = data.get("items")
    return BatchFinished(
        batch_id=batch_id,
        status=_str(data.get("status")),
        total_items=_count(data.get("total_items")),
        counts_by_status={
            str(name): count
            for name, value in (counts.items() if isinstance(counts, dict) else ())
            if (count := _count(value)) is not None
        },
        title=_str(data.get("title")),
        video_ids=tuple(
            dict.fromkeys(
                video_id
                for item in (items if isinstance(items, list) else ())
                if isinstance(item, dict)
                and (video_id := _str(item.get("video_id"))) is not None
            )
        ),
        **common,
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _first_str(data: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        if (value := _str(data.get(name))) is not None:
            return value
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
