"""
The fake's memory: render jobs, idempotency records and the rate bucket.

Job status is computed from monotonic timestamps when asked, never advanced by
background tasks, so ten thousand jobs cost ten thousand small records and
nothing else. Unfinished jobs sit in a heap ordered by finish time, which
makes "how many jobs are in flight" cheap enough to ask on every create.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Literal

import attrs


IDEMPOTENCY_TTL = 24 * 3600.0
PENDING_FRACTION = 0.2
IN_PROGRESS: Literal["in_progress"] = "in_progress"


@attrs.frozen(kw_only=True)
class JobPlan:
    """
    How one render job will go, chosen by a ``job_plan`` callback.

    Attributes:
        render_seconds: Time from creation to the terminal status.
        fail: End ``failed`` instead of ``completed``.
        failure_code: Reported on failure; with *failure_message* also
            ``None`` the failure is "silent" (no reason at all), as the real
            API sometimes does.
        failure_message: Reported on failure.
    """

    render_seconds: float = attrs.field(validator=attrs.validators.ge(0.0))
    fail: bool = False
    failure_code: str | None = "rendering_failed"
    failure_message: str | None = "Render failed on the server."


@attrs.frozen(kw_only=True, eq=False)
class FakeVideo:
    """
    One render job as the fake sees it (read-only).

    Attributes:
        id: The ``video_id``.
        index: 0-based creation order.
        created_mono: ``loop.time()`` at creation.
        finishes_mono: ``loop.time()`` when the render ends.
        failed: Whether it ends ``failed``.
        failure_code: Reported failure code (``None`` when silent or not failed).
        failure_message: Reported failure message.
        request: The JSON body it was created from.
        idempotency_key: The ``Idempotency-Key`` of the create, if any.
        duration: Length of the rendered video in seconds.
        in_progress_status: What GET reports while it renders.
    """

    id: str
    index: int
    created_mono: float
    finishes_mono: float
    failed: bool
    failure_code: str | None
    failure_message: str | None
    request: Mapping[str, Any]
    idempotency_key: str | None
    duration: float
    in_progress_status: str = "processing"
    _clock: Callable[[], float] = attrs.field(repr=False, alias="clock")

    @property
    def status(self) -> str:
        """The status ``GET /v3/videos/{id}`` reports now."""
        return self.status_at(self._clock())

    @property
    def output_format(self) -> str:
        """``mp4`` or ``webm``."""
        return str(self.request.get("output_format") or "mp4")

    @property
    def title(self) -> str:
        """The title given at creation (empty when none was)."""
        return str(self.request.get("title") or "")

    @property
    def silent_failure(self) -> bool:
        """Whether it fails without saying why."""
        return (
            self.failed and self.failure_code is None and self.failure_message is None
        )

    def status_at(self, now: float) -> str:
        """``pending``, then the in-progress status, then ``completed``/``failed``."""
        if now >= self.finishes_mono:
            return "failed" if self.failed else "completed"
        pending_until = self.created_mono + PENDING_FRACTION * (
            self.finishes_mono - self.created_mono
        )
        return "pending" if now < pending_until else self.in_progress_status


def canonical_json(body: Mapping[str, Any]) -> str:
    """*body* serialised with sorted keys, to recognise duplicate requests."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


class VideoStore:
    """Every video created and not deleted, plus the in-flight heap."""

    def __init__(self) -> None:
        self._videos: dict[str, FakeVideo] = {}
        self._unfinished: list[tuple[float, str]] = []
        self._active: set[str] = set()
        self._bodies: set[str] = set()
        self.created = 0

    @property
    def view(self) -> Mapping[str, FakeVideo]:
        """A read-only live view by id."""
        return MappingProxyType(self._videos)

    def get(self, video_id: str) -> FakeVideo | None:
        """The video, or ``None`` if unknown or deleted."""
        return self._videos.get(video_id)

    def add(self, video: FakeVideo) -> bool:
        """Store *video*; return whether an earlier video had the same body."""
        self.created += 1
        self._videos[video.id] = video
        heapq.heappush(self._unfinished, (video.finishes_mono, video.id))
        self._active.add(video.id)
        body = canonical_json(video.request)
        duplicate = body in self._bodies
        self._bodies.add(body)
        return duplicate

    def delete(self, video_id: str) -> None:
        """Forget a video; if it was still rendering its slot frees at once."""
        self._videos.pop(video_id, None)
        self._active.discard(video_id)

    def in_flight(self, now: float) -> int:
        """Videos created and not yet finished at monotonic time *now*."""
        heap = self._unfinished
        while heap and heap[0][0] <= now:
            _, video_id = heapq.heappop(heap)
            self._active.discard(video_id)
        return len(self._active)

    def newest_first(self) -> Iterator[FakeVideo]:
        """Videos from the most recently created to the oldest."""
        return reversed(list(self._videos.values()))


@attrs.frozen(kw_only=True)
class StoredResponse:
    """A first response kept for idempotent replay."""

    status: int
    body: bytes
    content_type: str


@attrs.define
class _Record:
    started: float
    response: StoredResponse | None = None


class IdempotencyStore:
    """``Idempotency-Key`` records, scoped by route, kept for 24 hours."""

    def __init__(self, ttl: float = IDEMPOTENCY_TTL) -> None:
        self._ttl = ttl
        self._records: dict[tuple[str, str], _Record] = {}

    def begin(
        self, scope: str, key: str, now: float
    ) -> StoredResponse | Literal["in_progress"] | None:
        """
        Look *key* up for a new request.

        Returns the stored response to replay, :data:`IN_PROGRESS` while the
        first request is still being handled, or ``None`` after reserving the
        key for this request.
        """
        record = self._records.get((scope, key))
        if record is not None and now - record.started < self._ttl:
            return IN_PROGRESS if record.response is None else record.response
        self._records[(scope, key)] = _Record(started=now)
        return None

    def finish(self, scope: str, key: str, response: StoredResponse | None) -> None:
        """Keep *response* for replay, or release the key if it is ``None``."""
        if response is None:
            self._records.pop((scope, key), None)
        else:
            self._records[(scope, key)].response = response


class TokenBucket:
    """A requests-per-second limiter with a burst of one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._last: float | None = None

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        if self._last is not None:
            self._tokens = min(
                self.capacity, self._tokens + (now - self._last) * self.rate
            )
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class IdSource:
    """Deterministic ids in HeyGen's shapes, from their own seeded stream."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"heygen-fake-ids:{seed}")
        # Request ids draw from their own stream so that reading stats or
        # polling never shifts the ids of the resources created later.
        self._requests = random.Random(f"heygen-fake-request-ids:{seed}")

    def hex(self, digits: int) -> str:
        """*digits* random lowercase hex digits."""
        return f"{self._rng.getrandbits(digits * 4):0{digits}x}"

    def video_id(self) -> str:
        """``v_`` and 16 hex digits."""
        return "v_" + self.hex(16)

    def request_id(self) -> str:
        """``req_`` and 20 hex digits."""
        return f"req_{self._requests.getrandbits(80):020x}"

    def secret(self) -> bytes:
        """Key material for signing media URLs."""
        return self._rng.getrandbits(256).to_bytes(32, "big")
