"""
Webhooks in the fake: registered endpoints, signed deliveries, their history.

Job status is computed from the clock when asked (``_state``), so nothing
happens by itself when a render ends. Deliveries therefore need a clock of
their own: while someone listens (a registered endpoint, or a video created
with a ``callback_url``) one background task sleeps until the earliest finish
time in a heap, then posts the event. It exits when the heap is empty, so a
fake nobody subscribed to runs no task at all.

What a delivery looks like is INFERRED from HeyGen's webhook docs and
third-party receivers, not confirmed: ``{"event_id", "event_type",
"event_data", "created_at"}`` (a history record's shape) with ``url`` on
success and ``msg`` on failure. HeyGen has not published its signature
scheme, so the fake signs registered endpoints' deliveries in either
(``FakeHeyGen.webhook_scheme``):

- ``"heygen"``: ``Heygen-Signature`` (lowercase hex HMAC-SHA256 of the raw
  body, keyed with the ``whsec_...`` string as UTF-8), ``Heygen-Timestamp``
  (unix seconds, fresh on every attempt) and ``Heygen-Event-Id``;
- ``"standard"``: Standard Webhooks, ``webhook-id`` (the event id, the same
  on every attempt), ``webhook-timestamp`` and ``webhook-signature:
  v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the
  base64-decoded part of the ``whsec_<base64>`` secret.

Per-video ``callback_url`` deliveries are sent unsigned: whether HeyGen
signs them is UNCONFIRMED, and unsigned is the cautious assumption for a
receiver.

A receiver that answers non-2xx or cannot be reached is retried with
exponential backoff (``webhook_retry_base`` doubling, ``webhook_attempts``
tries). ``webhook_delay``, ``webhook_duplicate_rate`` and
``webhook_drop_rate`` make delivery late, doubled or lost, deterministically
for the fake's seed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import heapq
import hmac
import itertools
import json
import random
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import attrs

from heygen_async import _log
from heygen_async._aio import cancel_and_wait

from ._wire import invalid


if TYPE_CHECKING:
    from ._config import FakeConfig
    from ._state import FakeVideo, VideoStore
    from ._stats import StatsRecorder


log = _log.testing_logger

SUCCESS = "avatar_video.success"
FAIL = "avatar_video.fail"
EVENT_TYPES: tuple[tuple[str, str], ...] = (
    (SUCCESS, "An avatar video finished rendering."),
    (FAIL, "An avatar video failed to render."),
    ("avatar_video_gif.success", "The GIF preview of an avatar video is ready."),
    ("avatar_video_gif.fail", "The GIF preview of an avatar video failed."),
    ("avatar_video_caption.success", "The captioned version of a video is ready."),
    ("avatar_video_caption.fail", "Captioning a video failed."),
    ("video_translate.success", "A video translation finished."),
    ("video_translate.fail", "A video translation failed."),
    (
        "video_translate.preflight.validation_failed",
        "A video translation was refused before it started.",
    ),
    (
        "video_translate.preflight.download_failed",
        "The video to translate could not be downloaded.",
    ),
    ("video_agent.success", "A Video Agent session produced its video."),
    ("video_agent.fail", "A Video Agent session failed."),
    ("personalized_video", "A personalized video changed."),
    ("instant_avatar.success", "An instant avatar is ready."),
    ("instant_avatar.fail", "An instant avatar failed."),
    ("photo_avatar_generation.success", "Photo avatar generation finished."),
    ("photo_avatar_generation.fail", "Photo avatar generation failed."),
    ("photo_avatar_train.success", "Photo avatar training finished."),
    ("photo_avatar_train.fail", "Photo avatar training failed."),
    ("photo_avatar_add_motion.success", "Motion was added to a photo avatar."),
    ("photo_avatar_add_motion.fail", "Adding motion to a photo avatar failed."),
    ("proofread_creation.success", "A proofread was created."),
    ("proofread_creation.fail", "Creating a proofread failed."),
    ("live_avatar.success", "A live avatar session finished."),
    ("live_avatar.fail", "A live avatar session failed."),
    ("hyperframes_video.success", "A HyperFrames video finished."),
    ("hyperframes_video.fail", "A HyperFrames video failed."),
    ("ai_clipping.success", "AI clipping finished."),
    ("ai_clipping.fail", "AI clipping failed."),
    ("batch.finished", "Every video of a batch reached a final status."),
)
KNOWN_EVENTS = frozenset(name for name, _ in EVENT_TYPES)
SIGNATURE_HEADER = "Heygen-Signature"
TIMESTAMP_HEADER = "Heygen-Timestamp"
EVENT_ID_HEADER = "Heygen-Event-Id"
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"


def sign(secret: str, body: bytes) -> str:
    """``Heygen-Signature``: lowercase hex HMAC-SHA256 of *body*."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_standard(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """``webhook-signature`` of Standard Webhooks: ``v1,<base64 HMAC-SHA256>``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def iso(unix: float) -> str:
    """``2026-03-25T12:00:00Z``: how webhook resources carry their times."""
    return datetime.fromtimestamp(unix, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.define(kw_only=True, eq=False)
class Endpoint:
    """One registered webhook endpoint (mutable: PATCH and rotate change it)."""

    id: str
    index: int
    url: str
    events: tuple[str, ...] | None
    secret: str
    created_unix: float
    entity_id: str | None = None
    status: str = "enabled"

    def wants(self, event_type: str) -> bool:
        """Whether this endpoint subscribed to *event_type* (``None``: all)."""
        return self.events is None or event_type in self.events

    def to_json(self, *, with_secret: bool) -> dict[str, Any]:
        """The API form; the secret only on create and rotate."""
        data: dict[str, Any] = {
            "endpoint_id": self.id,
            "url": self.url,
            "events": None if self.events is None else list(self.events),
            "status": self.status,
            "created_at": iso(self.created_unix),
            "secret": self.secret if with_secret else None,
        }
        if self.entity_id is not None:
            data["entity_id"] = self.entity_id
        return data


@attrs.frozen(kw_only=True)
class _Target:
    url: str
    endpoint_id: str | None  # None: a per-video callback_url, unsigned


class HubHost(Protocol):
    """What the hub reads from the fake's runtime: knobs, clocks, videos, counters."""

    @property
    def config(self) -> FakeConfig: ...  # pragma: no cover

    @property
    def videos(self) -> VideoStore: ...  # pragma: no cover

    @property
    def recorder(self) -> StatsRecorder: ...  # pragma: no cover

    def now(self) -> float: ...  # pragma: no cover

    def unix(self, mono: float) -> float: ...  # pragma: no cover

    def media_url(self, video_id: str, suffix: str) -> str: ...  # pragma: no cover


class WebhookHub:
    """Endpoints, event history and the delivery loop of one fake."""

    def __init__(self, rt: HubHost) -> None:
        self.rt = rt
        seed = rt.config.seed
        self.endpoints: dict[str, Endpoint] = {}
        self._ids = random.Random(f"heygen-fake-webhook-ids:{seed}")
        self._chaos = random.Random(f"heygen-fake-webhook-chaos:{seed}")
        self._created = itertools.count()
        self._heap: list[tuple[float, int, str]] = []
        self._queued: set[str] = set()
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    # -- endpoints -----------------------------------------------------------

    def _hex(self, digits: int) -> str:
        return f"{self._ids.getrandbits(digits * 4):0{digits}x}"

    def new_secret(self) -> str:
        """A fresh ``whsec_`` secret (base64 key bytes under Standard Webhooks)."""
        if self.rt.config.webhook_scheme == "standard":
            key = self._ids.getrandbits(256).to_bytes(32, "big")
            return "whsec_" + base64.b64encode(key).decode()
        return "whsec_" + self._hex(48)

    def create(
        self, url: str, events: tuple[str, ...] | None, entity_id: str | None
    ) -> Endpoint:
        """Register an endpoint; from now on every unfinished job is watched."""
        endpoint = Endpoint(
            id="ep_" + self._hex(16),
            index=next(self._created),
            url=url,
            events=events,
            secret=self.new_secret(),
            created_unix=self.rt.unix(self.rt.now()),
            entity_id=entity_id,
        )
        self.endpoints[endpoint.id] = endpoint
        now = self.rt.now()
        for video in self.rt.videos.view.values():
            if video.finishes_mono > now:
                self._queue(video)
        return endpoint

    def rotate(self, endpoint: Endpoint) -> str:
        """A new secret for *endpoint*; the old one stops working at once."""
        endpoint.secret = self.new_secret()
        return endpoint.secret

    # -- events ----------------------------------------------------------------

    def event_id(self, video_id: str, event_type: str) -> str:
        """The same id for an event in every delivery and in the history."""
        digest = hashlib.sha256(
            f"{self.rt.config.seed}:{video_id}:{event_type}".encode()
        ).hexdigest()
        return "evt_" + digest[:24]

    def event_of(self, video: FakeVideo) -> tuple[str, dict[str, Any]]:
        """The event type and ``event_data`` for a finished *video*."""
        rt = self.rt
        callback_id = video.request.get("callback_id")
        if video.failed:
            data: dict[str, Any] = {"video_id": video.id}
            message = video.failure_message or video.failure_code
            if message is not None:
                data["msg"] = message
            data["callback_id"] = callback_id
            return FAIL, data
        return SUCCESS, {
            "video_id": video.id,
            "url": rt.media_url(video.id, video.output_format),
            "gif_download_url": rt.media_url(video.id, "gif"),
            "thumbnail_url": rt.media_url(video.id, "jpg"),
            "video_page_url": f"https://app.heygen.com/videos/{video.id}",
            "duration": video.duration,
            "callback_id": callback_id,
        }

    def history(self) -> Iterator[dict[str, Any]]:
        """Every event so far, newest first (computed, like job status)."""
        now = self.rt.now()
        finished = sorted(
            (v for v in self.rt.videos.view.values() if v.finishes_mono <= now),
            key=lambda v: (v.finishes_mono, v.index),
            reverse=True,
        )
        for video in finished:
            yield self.record(video)

    def record(self, video: FakeVideo) -> dict[str, Any]:
        """The event of a finished *video*: a history item and a delivery body."""
        event_type, data = self.event_of(video)
        return {
            "event_id": self.event_id(video.id, event_type),
            "event_type": event_type,
            "event_data": data,
            "created_at": iso(self.rt.unix(video.finishes_mono)),
        }

    # -- scheduling ------------------------------------------------------------

    def job_created(self, video: FakeVideo) -> None:
        """Watch *video* if anyone will want to hear that it finished."""
        if self.endpoints or video.request.get("callback_url"):
            self._queue(video)

    def _queue(self, video: FakeVideo) -> None:
        if video.id in self._queued or self._closed:
            return
        self._queued.add(video.id)
        heapq.heappush(self._heap, (video.finishes_mono, next(self._seq), video.id))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="heygen_async.testing.webhooks"
            )
        elif self._heap[0][2] == video.id:
            self._wake.set()

    async def _run(self) -> None:
        while self._heap:
            delay = self._heap[0][0] - self.rt.now()
            if delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                continue
            _, _, video_id = heapq.heappop(self._heap)
            self._queued.discard(video_id)
            self._fire(video_id)

    def _fire(self, video_id: str) -> None:
        video = self.rt.videos.get(video_id)
        if video is None:  # deleted while rendering: nothing to announce
            return
        record = self.record(video)
        event_type = record["event_type"]
        targets = [
            _Target(url=endpoint.url, endpoint_id=endpoint.id)
            for endpoint in self.endpoints.values()
            if endpoint.wants(event_type)
        ]
        callback_url = video.request.get("callback_url")
        if isinstance(callback_url, str) and callback_url:
            targets.append(_Target(url=callback_url, endpoint_id=None))
        if not targets:
            return
        body = json.dumps(record).encode()
        event_id = record["event_id"]
        config = self.rt.config
        for target in targets:
            if self._chaos.random() < config.webhook_drop_rate:
                self.rt.recorder.webhooks_dropped += 1
                continue
            copies = 2 if self._chaos.random() < config.webhook_duplicate_rate else 1
            task = asyncio.get_running_loop().create_task(
                self._deliver(target, event_id, body, copies)
            )
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    # -- delivery ----------------------------------------------------------------

    def _headers(self, target: _Target, event_id: str, body: bytes) -> dict[str, str]:
        timestamp = str(int(self.rt.unix(self.rt.now())))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "HeyGen-Webhooks (FakeHeyGen)",
        }
        standard = self.rt.config.webhook_scheme == "standard"
        if standard:
            headers[STANDARD_ID_HEADER] = event_id
            headers[STANDARD_TIMESTAMP_HEADER] = timestamp
        else:
            headers[EVENT_ID_HEADER] = event_id
            headers[TIMESTAMP_HEADER] = timestamp
        if target.endpoint_id is not None:
            secret = self.endpoints[target.endpoint_id].secret
            if standard:
                signature = sign_standard(secret, event_id, timestamp, body)
                headers[STANDARD_SIGNATURE_HEADER] = signature
            else:
                headers[SIGNATURE_HEADER] = sign(secret, body)
        return headers

    async def _deliver(
        self, target: _Target, event_id: str, body: bytes, copies: int
    ) -> None:
        config = self.rt.config
        if config.webhook_delay:
            await asyncio.sleep(config.webhook_delay)
        for _ in range(copies):
            await self._deliver_once(target, event_id, body)

    async def _deliver_once(self, target: _Target, event_id: str, body: bytes) -> None:
        config, recorder = self.rt.config, self.rt.recorder
        timeout = aiohttp.ClientTimeout(total=config.webhook_timeout)
        for attempt in range(config.webhook_attempts):
            if attempt:
                await asyncio.sleep(config.webhook_retry_base * 2 ** (attempt - 1))
            if target.endpoint_id is not None and (
                target.endpoint_id not in self.endpoints
            ):
                return  # deleted since: HeyGen stops delivering to it
            headers = self._headers(target, event_id, body)
            recorder.webhooks_attempted += 1
            try:
                async with self._client().post(
                    target.url, data=body, headers=headers, timeout=timeout
                ) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.debug("heygen.fake.webhook_error url=%s error=%r", target.url, exc)
                continue
            if 200 <= status < 300:
                recorder.webhooks_delivered += 1
                return
            log.debug(
                "heygen.fake.webhook_refused url=%s status=%d", target.url, status
            )
        recorder.webhooks_failed += 1

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def aclose(self) -> None:
        """Stop the loop and every delivery in progress; close the session."""
        self._closed = True
        await cancel_and_wait([self._task, *self._deliveries])
        self._task = None
        self._heap.clear()
        self._queued.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None


def parse_events(value: object) -> tuple[str, ...] | None:
    """``events`` of a create or update body: known names, or null for all."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        msg = "events must be a non-empty list of event types, or null."
        raise invalid(msg, "events")
    unknown = [
        repr(name)
        for name in value
        if not isinstance(name, str) or name not in KNOWN_EVENTS
    ]
    if unknown:
        raise invalid(f"Unknown event type(s): {', '.join(unknown)}.", "events")
    return tuple(dict.fromkeys(value))


def event_types_json() -> list[Mapping[str, str]]:
    """``GET /v3/webhooks/event-types`` items."""
    return [{"event_type": name, "description": text} for name, text in EVENT_TYPES]
