"""
Verify and parse HeyGen webhook deliveries.

Verify with the raw request body, before any JSON parsing, and answer a
delivery that fails verification with a 4xx::

    from heygen_async import webhooks

    try:
        event = webhooks.verify(raw_body, request.headers, secret)
    except heygen_async.InvalidSignatureError:
        return 401
    match event:
        case webhooks.VideoSucceeded(video_id=video_id, url=url): ...
        case webhooks.VideoFailed(video_id=video_id, message=message): ...
        case webhooks.GenericEvent(): ...  # anything else HeyGen sends

The signature scheme is INFERRED from several independent implementations
(HeyGen's guide does not spell it out in full): ``Heygen-Signature`` is the
lowercase hex HMAC-SHA256 of the raw body, keyed with the endpoint secret (the
whole ``whsec_...`` string, as UTF-8); ``Heygen-Timestamp`` is unix seconds;
``Heygen-Event-Id`` identifies the event across retries. A signature over
``"{timestamp}.{body}"`` is accepted as well, in case HeyGen signs the
timestamp too. The legacy headers ``Signature`` and ``X-HeyGen-Signature``
carry the body-only HMAC.

.. warning:: A body-only signature covers neither the timestamp nor the event
   id, so a captured delivery can be replayed with fresh headers. Feeding a
   replayed render event to a client is harmless (the job is already settled);
   make your own side effects idempotent on ``(video_id, event_type)``.

This module is the one place that knows webhook payload names; the webhook
*endpoint* resources of the REST API go through ``_converter`` like every
other resource.

A body that passes verification but is not the JSON HeyGen documents
(unknown event type, missing fields, n8n's ``event`` key, even invalid JSON)
becomes a :class:`GenericEvent`, never an exception: it did come from HeyGen,
and refusing it would only make HeyGen retry it for a day.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from ._models import WebhookEventRecord
from .exceptions import InvalidSignatureError


__all__ = [
    "DEFAULT_TOLERANCE",
    "GenericEvent",
    "SeenEvents",
    "VideoFailed",
    "VideoSucceeded",
    "WebhookEvent",
    "event_from_record",
    "parse",
    "verify",
]

DEFAULT_TOLERANCE = 300.0
"""Seconds a delivery's timestamp may differ from our clock, either way."""

SIGNATURE_HEADER = "heygen-signature"
TIMESTAMP_HEADER = "heygen-timestamp"
EVENT_ID_HEADER = "heygen-event-id"
LEGACY_SIGNATURE_HEADERS = ("signature", "x-heygen-signature")

# Event types parsed into typed events; each family shares one payload shape.
_SUCCESS = frozenset(
    {"avatar_video.success", "avatar_video_gif.success", "avatar_video_caption.success"}
)
_FAIL = frozenset(
    {"avatar_video.fail", "avatar_video_gif.fail", "avatar_video_caption.fail"}
)


@attrs.frozen(kw_only=True)
class VideoSucceeded:
    """
    A render finished (``avatar_video.success`` and its GIF/caption kin).

    Attributes:
        event_id: ``Heygen-Event-Id`` (or the body's ``event_id``), for
            de-duplication; ``None`` if HeyGen sent neither.
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
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class VideoFailed:
    """
    A render failed (``avatar_video.fail`` and its GIF/caption kin).

    Attributes:
        event_id: For de-duplication; ``None`` if HeyGen sent none.
        event_type: ``avatar_video.fail``, ``avatar_video_gif.fail`` or
            ``avatar_video_caption.fail``.
        video_id: The video the event is about.
        message: Why, from ``msg``, ``error`` (a string or an object with a
            ``message``) or ``failure_message``; ``None`` if HeyGen did not
            say (it sometimes does not).
        failure_code: ``failure_code`` or ``error.code``, if sent.
        callback_id: Your ``callback_id`` from the create request.
        verified: ``True`` from :func:`verify`, ``False`` from :func:`parse`.
        raw: The whole decoded body.
    """

    event_id: str | None
    event_type: str
    video_id: str
    message: str | None = None
    failure_code: str | None = None
    callback_id: str | None = None
    verified: bool
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class GenericEvent:
    """
    Any other delivery: an event type this SDK does not model, or a payload
    missing what a typed event needs.

    Attributes:
        event_id: For de-duplication; ``None`` if HeyGen sent none.
        event_type: ``event_type`` (or n8n's ``event``); ``None`` if absent.
        data: ``event_data`` if it is an object, else empty.
        verified: ``True`` from :func:`verify`, ``False`` from :func:`parse`.
        raw: The decoded JSON body (any JSON value), or the body as text if
            it was not JSON.
    """

    event_id: str | None
    event_type: str | None
    data: Mapping[str, Any] = attrs.field(eq=False, repr=False)
    verified: bool
    raw: object = attrs.field(eq=False, repr=False)


WebhookEvent: TypeAlias = VideoSucceeded | VideoFailed | GenericEvent
"""What :func:`verify` and :func:`parse` return."""


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """
    Check that a delivery came from HeyGen, then parse it.

    Args:
        body: The raw request body, byte for byte (never re-serialised JSON).
        headers: The request headers; names are matched case-insensitively.
        secret: The endpoint's ``whsec_...`` secret, or several (during a
            rotation, the new and the old); any one may match.
        tolerance: Seconds the ``Heygen-Timestamp`` may be behind *or ahead
            of* our clock.
        now: Unix seconds to check against (``time.time()`` by default).

    Returns:
        The event, with ``verified=True``.

    Raises:
        InvalidSignatureError: No signature header, a timestamp that is
            missing (with ``Heygen-Signature``), malformed, stale or in the
            future, or a signature no secret produces. ``.reason`` says which.
        ValueError: No secret, or an empty one (a configuration mistake).

    Legacy deliveries (``Signature`` / ``X-HeyGen-Signature``) are checked
    against the body alone; their timestamp is checked only if present.
    Signatures are compared in constant time.
    """
    if isinstance(body, str):
        msg = "pass the raw body bytes (e.g. await request.body()), not text"
        raise TypeError(msg)
    body = bytes(body)
    secrets = _secrets(secret)
    lowered = _lower(headers)
    legacy = SIGNATURE_HEADER not in lowered
    names = LEGACY_SIGNATURE_HEADERS if legacy else (SIGNATURE_HEADER,)
    signature = next((lowered[name] for name in names if name in lowered), None)
    if signature is None:
        msg = "no Heygen-Signature (or legacy Signature) header"
        raise InvalidSignatureError(msg, "missing_signature")
    timestamp = lowered.get(TIMESTAMP_HEADER)
    if timestamp is None and not legacy:
        raise InvalidSignatureError("no Heygen-Timestamp header", "missing_timestamp")
    if timestamp is not None:
        _check_time(timestamp, tolerance, time.time() if now is None else now)
    messages = [body]
    if timestamp is not None:
        messages.append(timestamp.strip().encode() + b"." + body)
    if not _matches(signature, secrets, messages):
        raise InvalidSignatureError("signature does not match", "mismatch")
    return _parse(body, lowered, verified=True)


def parse(body: bytes | str, headers: Mapping[str, str] | None = None) -> WebhookEvent:
    """
    Parse a delivery without verifying it, marked ``verified=False``.

    For per-video ``callback_url`` deliveries, which HeyGen may not sign.
    Treat the result as a hint ("this video may have changed"), never as
    proof: anyone who knows the URL can post to it.
    :meth:`Client.feed_webhook <heygen_async.Client.feed_webhook>` only
    polls sooner for unverified events.
    """
    raw = body.encode() if isinstance(body, str) else body
    return _parse(raw, _lower(headers or {}), verified=False)


def event_from_record(record: WebhookEventRecord) -> WebhookEvent:
    """
    The event of a ``GET /v3/webhooks/events`` history record.

    The history comes over the authenticated API, so the event is marked
    ``verified=True``: feed it to :meth:`Client.feed_webhook
    <heygen_async.Client.feed_webhook>` to catch up on missed deliveries.
    """
    raw: dict[str, Any] = {
        "event_id": record.event_id,
        "event_type": record.event_type,
        "event_data": dict(record.event_data),
    }
    return _event(raw, record.event_id, verified=True)


class SeenEvents:
    """
    A bounded memory of event ids, oldest forgotten first (an LRU).

    HeyGen delivers at least once and retries; remember each verified
    event's id and skip or refuse the repeats::

        seen = SeenEvents()
        if event.event_id is not None and not seen.add(event.event_id):
            return 409  # a replay
    """

    def __init__(self, max_size: int = 10_000) -> None:
        if max_size < 1:
            msg = f"max_size must be >= 1; got {max_size!r}"
            raise ValueError(msg)
        self.max_size = max_size
        self._ids: collections.OrderedDict[str, None] = collections.OrderedDict()

    def add(self, event_id: str) -> bool:
        """Remember *event_id*; ``True`` if it is new, ``False`` if seen."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.max_size:
            self._ids.popitem(last=False)
        return True

    def discard(self, event_id: str) -> None:
        """Forget *event_id* (its processing failed; a retry may come)."""
        self._ids.pop(event_id, None)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)


# -- verification helpers ---------------------------------------------------------


def _secrets(secret: str | Sequence[str]) -> list[bytes]:
    values: list[object] = [secret] if isinstance(secret, str) else list(secret)
    keys = [value.encode() for value in values if isinstance(value, str) and value]
    if not keys or len(keys) != len(values):
        msg = "pass at least one webhook secret, and no empty ones"
        raise ValueError(msg)
    return keys


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _check_time(value: str, tolerance: float, now: float) -> None:
    try:
        stamp = float(value.strip())
    except ValueError:
        stamp = math.nan
    if not math.isfinite(stamp):
        msg = f"Heygen-Timestamp is not unix seconds: {value[:40]!r}"
        raise InvalidSignatureError(msg, "malformed_timestamp")
    if stamp < now - tolerance:
        msg = f"stale timestamp: {now - stamp:.0f} s old (tolerance {tolerance:g} s)"
        raise InvalidSignatureError(msg, "stale")
    if stamp > now + tolerance:
        ahead = stamp - now
        msg = f"timestamp is {ahead:.0f} s in the future (tolerance {tolerance:g} s)"
        raise InvalidSignatureError(msg, "future")


def _candidates(header: str) -> list[bytes]:
    # One hex digest, or several separated by commas or spaces; an optional
    # ``sha256=`` prefix is tolerated. Hex is compared in lowercase.
    found = []
    for part in header.replace(",", " ").split():
        value = part.removeprefix("sha256=").lower()
        found.append(value.encode("utf-8", "surrogatepass"))
    return found


def _matches(header: str, secrets: list[bytes], messages: list[bytes]) -> bool:
    candidates = _candidates(header)
    matched = False
    # Every combination is compared, in constant time, with no early exit.
    for key in secrets:
        for message in messages:
            expected = hmac.new(key, message, hashlib.sha256).hexdigest().encode()
            for candidate in candidates:
                matched |= hmac.compare_digest(expected, candidate)
    return matched


# -- payload parsing (the one place that knows webhook payload names) -------------


def _parse(body: bytes, headers: Mapping[str, str], *, verified: bool) -> WebhookEvent:
    header_id = headers.get(EVENT_ID_HEADER) or None
    try:
        raw: object = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace")
        return GenericEvent(
            event_id=header_id, event_type=None, data={}, verified=verified, raw=text
        )
    if not isinstance(raw, dict):
        return GenericEvent(
            event_id=header_id, event_type=None, data={}, verified=verified, raw=raw
        )
    event_id = header_id or _str(raw.get("event_id"))
    return _event(raw, event_id, verified=verified)


def _event(
    raw: dict[str, Any], event_id: str | None, *, verified: bool
) -> WebhookEvent:
    event_type = _str(raw.get("event_type"))
    data = raw.get("event_data")
    data = data if isinstance(data, dict) else {}
    video_id = _str(data.get("video_id"))
    if event_type in _SUCCESS and video_id is not None:
        return VideoSucceeded(
            event_id=event_id,
            event_type=event_type,
            video_id=video_id,
            url=_first_str(data, "url", "video_url"),
            gif_url=_first_str(data, "gif_download_url", "gif_url"),
            thumbnail_url=_str(data.get("thumbnail_url")),
            video_page_url=_str(data.get("video_page_url")),
            callback_id=_str(data.get("callback_id")),
            duration=_number(data.get("duration")),
            verified=verified,
            raw=raw,
        )
    if event_type in _FAIL and video_id is not None:
        error = data.get("error")
        error_obj = error if isinstance(error, dict) else {}
        return VideoFailed(
            event_id=event_id,
            event_type=event_type,
            video_id=video_id,
            message=_first_str(data, "msg", "error", "failure_message")
            or _str(error_obj.get("message")),
            failure_code=_str(data.get("failure_code")) or _str(error_obj.get("code")),
            callback_id=_str(data.get("callback_id")),
            verified=verified,
            raw=raw,
        )
    return GenericEvent(
        event_id=event_id,
        event_type=event_type or _str(raw.get("event")),
        data=data,
        verified=verified,
        raw=raw,
    )


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
