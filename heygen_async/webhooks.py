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
        case webhooks.BatchFinished(batch_id=batch_id): ...
        case webhooks.GenericEvent(): ...  # anything else HeyGen sends

HeyGen has not published its signature scheme, so two are verified, and
``event.scheme`` says which one matched (pin one with ``scheme=``):

- ``"standard"``: `Standard Webhooks <https://www.standardwebhooks.com>`_,
  which the ``whsec_`` secret prefix suggests. ``webhook-signature`` holds
  one or more space-separated ``v1,<base64>`` HMAC-SHA256 signatures of
  ``"{webhook-id}.{webhook-timestamp}.{body}"``, keyed with the
  base64-decoded part after ``whsec_`` (or, in case HeyGen keys it like its
  own scheme, the whole secret as UTF-8). The id and the timestamp are
  signed, so a replay is refused once stale and de-duplicated before that.
- ``"heygen"``: what independent receivers implement today.
  ``Heygen-Signature`` is the lowercase hex HMAC-SHA256 of the raw body
  (or of ``"{timestamp}.{body}"``), keyed with the whole ``whsec_...``
  string as UTF-8, with ``Heygen-Timestamp`` in unix seconds. The legacy
  headers ``Signature`` and ``X-HeyGen-Signature`` carry the body-only HMAC.

The event id always comes from signed material: the body's ``event_id``
(or, under Standard Webhooks, the signed ``webhook-id``). The unsigned
``Heygen-Event-Id`` header is ignored, so a captured delivery replayed with
a fresh header still carries its old id and is de-duplicated.

.. warning:: A body-only signature covers neither the timestamp nor any
   header, so a captured delivery can be replayed with fresh headers at any
   time. Such a delivery is accepted only if the body itself carries its
   ``event_id`` (reason ``"unsigned_event_id"`` otherwise); de-duplicate on
   that id (:class:`SeenEvents`, or your own store for replays after a
   restart) and make your side effects idempotent on it. Feeding a replayed
   render event to a client is harmless: the job is already settled.

The event types are the one place that knows webhook payload names; the
webhook *endpoint* resources of the REST API go through ``_converter`` like
every other resource.

A body that passes verification but is not the JSON HeyGen documents
(unknown event type, missing fields, n8n's ``event`` key, even invalid or
absurdly nested JSON) becomes a :class:`GenericEvent`, never an exception:
it did come from HeyGen, and refusing it would only make HeyGen retry it for
a day.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import hashlib
import hmac
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from ._models import WebhookEventRecord
from ._webhook_events import (
    BatchFinished,
    EventScheme,
    GenericEvent,
    VideoFailed,
    VideoSucceeded,
    WebhookEvent,
    decode,
    from_payload,
)
from .exceptions import InvalidSignatureError


__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_TOLERANCE",
    "BatchFinished",
    "EventScheme",
    "GenericEvent",
    "Scheme",
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

DEFAULT_MAX_BODY = 1 << 20
"""Bytes of body a webhook route reads at most (1 MiB); bigger gets 413."""

Scheme: TypeAlias = Literal["heygen", "standard"]
"""A signature scheme :func:`verify` can be pinned to."""

SIGNATURE_HEADER = "heygen-signature"
TIMESTAMP_HEADER = "heygen-timestamp"
EVENT_ID_HEADER = "heygen-event-id"  # unsigned: never used as the event id
LEGACY_SIGNATURE_HEADERS = ("signature", "x-heygen-signature")
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
STANDARD_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
    scheme: Scheme | None = None,
) -> WebhookEvent:
    """
    Check that a delivery came from HeyGen, then parse it.

    Args:
        body: The raw request body, byte for byte (never re-serialised JSON).
        headers: The request headers; names are matched case-insensitively.
        secret: The endpoint's ``whsec_...`` secret, or several (during a
            rotation, the new and the old); any one may match.
        tolerance: Seconds the delivery's timestamp may be behind *or ahead
            of* our clock.
        now: Unix seconds to check against (``time.time()`` by default).
        scheme: ``"standard"`` or ``"heygen"`` to accept only that scheme;
            ``None`` tries each scheme whose signature header is present,
            Standard Webhooks first.

    Returns:
        The event, with ``verified=True`` and the ``scheme`` that matched.

    Raises:
        InvalidSignatureError: ``.reason`` says why: ``missing_signature``
            (no signature header of an accepted scheme), ``wrong_scheme``
            (only the other scheme's headers, with *scheme* pinned),
            ``missing_id`` / ``missing_timestamp`` / ``malformed_timestamp``
            (a header the scheme signs is absent or not unix seconds),
            ``stale`` / ``future`` (outside *tolerance*), ``mismatch`` (no
            secret produces the signature) or ``unsigned_event_id`` (a
            body-only signature over a body without ``event_id``).
        ValueError: No secret, or an empty one (a configuration mistake).

    Legacy deliveries (``Signature`` / ``X-HeyGen-Signature``) are checked
    against the body alone; their timestamp is checked only if present.
    Signatures are compared in constant time.
    """
    body = _raw_body(body, scheme)
    keys = _secrets(secret)
    lowered = _lower(headers)
    clock = time.time() if now is None else now
    present = [name for name in ("standard", "heygen") if _signs(name, lowered)]
    accepted = [name for name in present if scheme in (None, name)]
    if not accepted:
        raise _no_signature(scheme, present)
    errors: list[InvalidSignatureError] = []
    for name in accepted:
        try:
            return _VERIFIERS[name](body, lowered, keys, tolerance, clock)
        except InvalidSignatureError as exc:
            errors.append(exc)
    raise errors[0]


def parse(body: bytes | str, headers: Mapping[str, str] | None = None) -> WebhookEvent:
    """
    Parse a delivery without verifying it: ``verified=False``, ``"unsigned"``.

    For per-video ``callback_url`` deliveries, which HeyGen may not sign.
    Treat the result as a hint ("this video may have changed"), never as
    proof: anyone who knows the URL can post to it.
    :meth:`Client.feed_webhook <heygen_async.Client.feed_webhook>` only
    polls sooner for unverified events. *headers* are accepted for symmetry
    with :func:`verify`; none is read (the event id comes from the body).
    """
    del headers  # nothing unsigned is worth more than the body itself
    raw = body.encode() if isinstance(body, str) else body
    return decode(raw, verified=False, scheme="unsigned")


def event_from_record(record: WebhookEventRecord) -> WebhookEvent:
    """
    The event of a ``GET /v3/webhooks/events`` history record.

    The history comes over the authenticated API, so the event is marked
    ``verified=True`` (``scheme="history"``): feed it to
    :meth:`Client.feed_webhook <heygen_async.Client.feed_webhook>` to catch
    up on missed deliveries.
    """
    raw: dict[str, Any] = {
        "event_id": record.event_id,
        "event_type": record.event_type,
        "event_data": dict(record.event_data),
    }
    return from_payload(raw, record.event_id, verified=True, scheme="history")


class SeenEvents:
    """
    A bounded memory of event ids, oldest forgotten first (an LRU).

    HeyGen delivers at least once and retries; remember each verified
    event's id and skip the repeats, answering them 2xx (HeyGen counts
    anything else as a failed delivery and retries it)::

        seen = SeenEvents()
        if event.event_id is not None and not seen.add(event.event_id):
            return 200  # already processed: acknowledge, change nothing
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

_Verifier = Callable[
    [bytes, Mapping[str, str], list[str], float, float], "WebhookEvent"
]


def _raw_body(body: bytes, scheme: Scheme | None) -> bytes:
    if isinstance(body, str):
        msg = "pass the raw body bytes (e.g. await request.body()), not text"
        raise TypeError(msg)
    if scheme not in (None, "heygen", "standard"):
        msg = f"scheme must be 'heygen', 'standard' or None; got {scheme!r}"
        raise ValueError(msg)
    return bytes(body)


def _secrets(secret: str | Sequence[str]) -> list[str]:
    values: list[object] = [secret] if isinstance(secret, str) else list(secret)
    keys = [value for value in values if isinstance(value, str) and value]
    if not keys or len(keys) != len(values):
        msg = "pass at least one webhook secret, and no empty ones"
        raise ValueError(msg)
    return keys


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _signs(scheme: str, headers: Mapping[str, str]) -> bool:
    if scheme == "standard":
        return STANDARD_SIGNATURE_HEADER in headers
    names = (SIGNATURE_HEADER, *LEGACY_SIGNATURE_HEADERS)
    return any(name in headers for name in names)


def _no_signature(scheme: Scheme | None, present: list[str]) -> InvalidSignatureError:
    if present:
        msg = f"the delivery is signed with {present[0]!r}, but only {scheme!r} is"
        return InvalidSignatureError(msg + " accepted", "wrong_scheme")
    msg = "no webhook-signature or Heygen-Signature (or legacy Signature) header"
    return InvalidSignatureError(msg, "missing_signature")


def _check_time(value: str, tolerance: float, now: float, header: str) -> None:
    try:
        stamp = float(value.strip())
    except ValueError:
        stamp = math.nan
    if not math.isfinite(stamp):
        msg = f"{header} is not unix seconds: {value[:40]!r}"
        raise InvalidSignatureError(msg, "malformed_timestamp")
    if stamp < now - tolerance:
        msg = f"stale timestamp: {now - stamp:.0f} s old (tolerance {tolerance:g} s)"
        raise InvalidSignatureError(msg, "stale")
    if stamp > now + tolerance:
        ahead = stamp - now
        msg = f"timestamp is {ahead:.0f} s in the future (tolerance {tolerance:g} s)"
        raise InvalidSignatureError(msg, "future")


def _verify_standard(
    body: bytes,
    headers: Mapping[str, str],
    secrets: list[str],
    tolerance: float,
    now: float,
) -> WebhookEvent:
    """Standard Webhooks: the id and the timestamp are signed with the body."""
    message_id = headers.get(STANDARD_ID_HEADER, "").strip()
    if not message_id:
        raise InvalidSignatureError("no webhook-id header", "missing_id")
    timestamp = headers.get(STANDARD_TIMESTAMP_HEADER)
    if timestamp is None:
        raise InvalidSignatureError("no webhook-timestamp header", "missing_timestamp")
    _check_time(timestamp, tolerance, now, "webhook-timestamp")
    signed = f"{message_id}.{timestamp}.".encode() + body
    candidates = [
        part[3:].encode("utf-8", "surrogatepass")
        for part in headers[STANDARD_SIGNATURE_HEADER].split()
        if part.startswith("v1,")
    ]
    matched = False
    # Every combination is compared, in constant time, with no early exit.
    for key in [k for secret in secrets for k in _standard_keys(secret)]:
        digest = hmac.new(key, signed, hashlib.sha256).digest()
        expected = base64.b64encode(digest)
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise InvalidSignatureError("signature does not match", "mismatch")
    return decode(body, verified=True, scheme="standard", fallback_id=message_id)


def _standard_keys(secret: str) -> list[bytes]:
    """The spec's key (base64 after ``whsec_``), then the secret as UTF-8."""
    keys = []
    if secret.startswith(STANDARD_SECRET_PREFIX):
        encoded = secret.removeprefix(STANDARD_SECRET_PREFIX)
        with contextlib.suppress(binascii.Error, ValueError):  # not base64
            keys.append(base64.b64decode(encoded, validate=True))
    keys.append(secret.encode())
    return keys


def _verify_heygen(
    body: bytes,
    headers: Mapping[str, str],
    secrets: list[str],
    tolerance: float,
    now: float,
) -> WebhookEvent:
    """``Heygen-Signature`` (or a legacy header): hex HMAC of the body."""
    legacy = SIGNATURE_HEADER not in headers
    names = LEGACY_SIGNATURE_HEADERS if legacy else (SIGNATURE_HEADER,)
    signature = next(headers[name] for name in names if name in headers)
    timestamp = headers.get(TIMESTAMP_HEADER)
    if timestamp is None and not legacy:
        raise InvalidSignatureError("no Heygen-Timestamp header", "missing_timestamp")
    if timestamp is not None:
        _check_time(timestamp, tolerance, now, "Heygen-Timestamp")
    keys = [secret.encode() for secret in secrets]
    stamped = False
    if timestamp is not None:
        stamped = _matches(signature, keys, timestamp.strip().encode() + b"." + body)
    body_only = _matches(signature, keys, body)
    if not (stamped or body_only):
        raise InvalidSignatureError("signature does not match", "mismatch")
    event = decode(body, verified=True, scheme="heygen")
    if not stamped and event.event_id is None:
        msg = (
            "the signature covers the body alone and the body carries no "
            "event_id, so a replay could not be told apart"
        )
        raise InvalidSignatureError(msg, "unsigned_event_id")
    return event


_VERIFIERS: dict[str, _Verifier] = {
    "standard": _verify_standard,
    "heygen": _verify_heygen,
}


def _candidates(header: str) -> list[bytes]:
    # One hex digest, or several separated by commas or spaces; an optional
    # ``sha256=`` prefix is tolerated. Hex is compared in lowercase.
    found = []
    for part in header.replace(",", " ").split():
        value = part.removeprefix("sha256=").lower()
        found.append(value.encode("utf-8", "surrogatepass"))
    return found


def _matches(header: str, keys: list[bytes], message: bytes) -> bool:
    candidates = _candidates(header)
    matched = False
    # Every combination is compared, in constant time, with no early exit.
    for key in keys:
        expected = hmac.new(key, message, hashlib.sha256).hexdigest().encode()
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)
    return matched
