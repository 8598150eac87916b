"""
Many renders at once, within the account's concurrency cap.

A :class:`Batch` queues requests, admits at most ``max_in_flight`` of them
(HeyGen rejects creates over the account's cap with 429), hands each created
video to the client's shared scheduler, and reports every job as an outcome in
completion order. A 429 on create puts the job back at the head of the queue
and lowers the limit (AIMD); ``insufficient_credit`` stops admission and
reports the rest as failed without sending them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import uuid
from collections.abc import AsyncIterator, Generator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from ._config import PollPolicy
from ._models import Video, VideoRequest, VideoStatus
from ._outcomes import Completed, Failed, Outcome, TimedOut
from .exceptions import (
    HeyGenError,
    InsufficientCreditError,
    RateLimitError,
    VideoFailedError,
    WaitTimeoutError,
)


if TYPE_CHECKING:
    from ._client import Client
    from ._scheduler import Scheduler, Watch

log = logging.getLogger("heygen_async.batch")


class _Stage(enum.Enum):
    QUEUED = "queued"
    UPLOADING = "uploading"
    SUBMITTING = "submitting"
    IN_FLIGHT = "in_flight"
    DONE = "done"


@attrs.frozen(kw_only=True)
class BatchStats:
    """
    A snapshot of a batch.

    Attributes:
        queued: Waiting for a slot.
        uploading: Uploading a local image before submission.
        submitting: Create request under way.
        in_flight: Created and not yet finished.
        completed: Finished with a video.
        failed: Failed or refused.
        timed_out: Past a deadline.
        limit: The current in-flight limit (lowered by 429s, then regrown).
        requests: HTTP requests the client made since the batch opened, by
            route.
    """

    queued: int
    uploading: int
    submitting: int
    in_flight: int
    completed: int
    failed: int
    timed_out: int
    limit: int
    requests: Mapping[str, int]


class JobHandle:
    """
    One submitted request. ``await handle`` gives its outcome.

    Awaiting never raises for a failed render: the outcome says what happened.
    Cancelling the awaiting task does not cancel the job.

    Attributes:
        request: What was submitted.
        tag: The caller's label for it.
        key: The ``Idempotency-Key`` minted for it, reused on every retry.
        video_id: The HeyGen video id once created, else ``None``.
        last_status: The last status seen, else ``None``.
    """

    __slots__ = (
        "_future",
        "_stage",
        "key",
        "last_status",
        "request",
        "tag",
        "video_id",
    )

    def __init__(
        self, request: VideoRequest, tag: Any, future: asyncio.Future[Outcome]
    ) -> None:
        self.request = request
        self.tag = tag
        self.key = f"heygen-async-{uuid.uuid4().hex}"
        self.video_id: str | None = None
        self.last_status: VideoStatus | None = None
        self._future = future
        self._stage = _Stage.QUEUED

    def __repr__(self) -> str:
        return (
            f"<heygen_async.JobHandle tag={self.tag!r} video_id={self.video_id!r} "
            f"stage={self._stage.value}>"
        )

    def done(self) -> bool:
        """Whether the outcome is known."""
        return self._future.done()

    @property
    def outcome(self) -> Outcome | None:
        """The outcome if known, else ``None``."""
        if self._future.done() and not self._future.cancelled():
            return self._future.result()
        return None

    def __await__(self) -> Generator[Any, None, Outcome]:
        return asyncio.shield(self._future).__await__()


class Batch:
    """
    Render many videos with at most *max_in_flight* running at once.

    Use it as an async context manager from :meth:`Client.batch`::

        async with client.batch(max_in_flight=10) as batch:
            for path in photos:
                batch.submit(VideoRequest(image_path=path, script=s, voice_id=v),
                             tag=path)
            async for outcome in batch.as_completed():
                ...

    Leaving the block waits for every job; leaving it with an exception
    cancels what has not finished (HeyGen keeps rendering what it accepted).
    """

    def __init__(
        self,
        client: Client,
        scheduler: Scheduler,
        *,
        max_in_flight: int = 10,
        deadline: float | None = None,
        poll: PollPolicy | None = None,
        max_uploads: int = 4,
        outcome_buffer: int = 100,
    ) -> None:
        if max_in_flight < 1:
            msg = f"max_in_flight must be >= 1; got {max_in_flight!r}"
            raise ValueError(msg)
        if max_uploads < 1:
            msg = f"max_uploads must be >= 1; got {max_uploads!r}"
            raise ValueError(msg)
        if outcome_buffer < 1:
            msg = f"outcome_buffer must be >= 1; got {outcome_buffer!r}"
            raise ValueError(msg)
        if deadline is not None and deadline <= 0:
            msg = f"deadline must be > 0 or None; got {deadline!r}"
            raise ValueError(msg)
        self._client = client
        self._scheduler = scheduler
        self._max_in_flight = max_in_flight
        self._limit = float(max_in_flight)
        self._deadline = deadline
        self._poll = poll or scheduler.poll
        self._uploads = asyncio.Semaphore(max_uploads)
        self._outcome_buffer = outcome_buffer
        self._queue: collections.deque[JobHandle] = collections.deque()
        self._jobs: list[JobHandle] = []
        self._watches: dict[JobHandle, Watch] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: collections.deque[Outcome] = collections.deque()
        self._changed = asyncio.Event()
        self._delivered = asyncio.Event()
        self._counts = collections.Counter[_Stage]()
        self._results = collections.Counter[str]()
        self._occupied = 0
        self._consumers = 0
        self._halted: InsufficientCreditError | None = None
        self._deadline_at: float | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._requests_at_open: Mapping[str, int] = {}
        self._admitter: asyncio.Task[None] | None = None
        self._state = "new"

    # -- context manager ------------------------------------------------

    async def __aenter__(self) -> Batch:
        if self._state != "new":
            msg = "a Batch can be entered only once"
            raise RuntimeError(msg)
        self._state = "open"
        loop = asyncio.get_running_loop()
        self._requests_at_open = self._client.request_counts()
        if self._deadline is not None:
            self._deadline_at = loop.time() + self._deadline
            self._deadline_timer = loop.call_at(self._deadline_at, self._expire)
        self._admitter = loop.create_task(self._admit(), name="heygen_async.batch")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                while not self._jobs_done():
                    self._delivered.clear()
                    await self._delivered.wait()
        finally:
            await self._shutdown()

    # -- public surface -------------------------------------------------

    @property
    def saturated(self) -> bool:
        """Jobs are waiting for a slot, so in-flight jobs are polled briskly."""
        return bool(self._queue) and self._occupied >= int(self._limit)

    def submit(self, request: VideoRequest, *, tag: Any = None) -> JobHandle:
        """
        Queue *request* and return its handle at once.

        The request is sent when a slot frees; its ``Idempotency-Key`` is
        minted now and reused for every retry, so it is never paid twice.
        """
        if self._state != "open":
            msg = "submit() needs an open batch: use 'async with client.batch()'"
            raise RuntimeError(msg)
        if not isinstance(request, VideoRequest):
            msg = f"submit() takes a VideoRequest; got {type(request).__name__}"
            raise TypeError(msg)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        job = JobHandle(request, tag, future)
        self._jobs.append(job)
        if self._halted is not None:
            self._finish(job, Failed(error=self._halted, tag=tag, request=request))
        elif self._deadline_at is not None and self._expired():
            self._finish(job, TimedOut(video_id=None, tag=tag, request=request))
        else:
            self._queue.append(job)
            self._counts[_Stage.QUEUED] += 1
            self._changed.set()
        return job

    async def as_completed(self) -> AsyncIterator[Outcome]:
        """
        Yield each job's outcome as soon as it is known.

        Ends when every job submitted so far has been reported. While a
        consumer iterates, a full buffer of unread outcomes pauses admission
        instead of growing memory.
        """
        self._consumers += 1
        try:
            while True:
                while self._outcomes:
                    outcome = self._outcomes.popleft()
                    self._changed.set()
                    yield outcome
                if self._all_done():
                    return
                self._delivered.clear()
                await self._delivered.wait()
        finally:
            self._consumers -= 1
            self._changed.set()

    def stats(self) -> BatchStats:
        """Counts by stage and the requests made so far."""
        now = self._client.request_counts()
        requests = {
            route: count - self._requests_at_open.get(route, 0)
            for route, count in now.items()
            if count - self._requests_at_open.get(route, 0)
        }
        return BatchStats(
            queued=self._counts[_Stage.QUEUED],
            uploading=self._counts[_Stage.UPLOADING],
            submitting=self._counts[_Stage.SUBMITTING],
            in_flight=self._counts[_Stage.IN_FLIGHT],
            completed=self._results["completed"],
            failed=self._results["failed"],
            timed_out=self._results["timed_out"],
            limit=int(self._limit),
            requests=requests,
        )

    @property
    def jobs(self) -> tuple[JobHandle, ...]:
        """Every job submitted, in submission order."""
        return tuple(self._jobs)

    # -- admission ------------------------------------------------------

    def _jobs_done(self) -> bool:
        return self._results.total() == len(self._jobs)

    def _all_done(self) -> bool:
        return not self._outcomes and self._jobs_done()

    def _expired(self) -> bool:
        loop = asyncio.get_running_loop()
        return self._deadline_at is not None and loop.time() >= self._deadline_at

    def _may_admit(self) -> bool:
        if not self._queue or self._occupied >= int(self._limit):
            return False
        return not (self._consumers and len(self._outcomes) >= self._outcome_buffer)

    async def _admit(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._may_admit():
                if self.saturated:
                    self._scheduler.hurry(self)
                self._changed.clear()
                await self._changed.wait()
            job = self._queue.popleft()
            self._move(job, _Stage.SUBMITTING)
            self._occupied += 1
            task = loop.create_task(self._submit(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _move(self, job: JobHandle, stage: _Stage) -> None:
        self._counts[job._stage] -= 1
        job._stage = stage
        if stage is not _Stage.DONE:
            self._counts[stage] += 1

    def _release(self) -> None:
        self._occupied -= 1
        self._changed.set()

    async def _submit(self, job: JobHandle) -> None:
        request = job.request
        try:
            if request.image_path is not None:
                self._move(job, _Stage.UPLOADING)
                async with self._uploads:
                    request = await self._client._resolve_request(request)
                self._move(job, _Stage.SUBMITTING)
            created = await self._client._create(
                request, idempotency_key=job.key, retry_on_rate_limit=False
            )
        except RateLimitError:
            self._on_rate_limited(job)
            return
        except InsufficientCreditError as error:
            self._release()
            self._halt(error)
            self._finish(job, Failed(error=error, tag=job.tag, request=job.request))
            return
        except (HeyGenError, ValueError, OSError) as error:
            log.info("heygen.job_rejected tag=%r error=%s", job.tag, error)
            self._release()
            self._finish(job, Failed(error=error, tag=job.tag, request=job.request))
            return
        job.video_id = created.id
        job.last_status = created.status
        self._move(job, _Stage.IN_FLIGHT)
        deadline = None
        if self._poll.deadline is not None:
            deadline = asyncio.get_running_loop().time() + self._poll.deadline
        if self._deadline_at is not None:
            deadline = min(deadline or self._deadline_at, self._deadline_at)
        watch = self._scheduler.watch(
            created.id, policy=self._poll, deadline=deadline, owner=self
        )
        self._watches[job] = watch
        watch.future.add_done_callback(lambda f: self._on_watch_done(job, f))

    def _on_rate_limited(self, job: JobHandle) -> None:
        accepted = self._counts[_Stage.IN_FLIGHT]
        self._limit = max(1.0, float(accepted) if accepted else self._limit / 2)
        log.info(
            "heygen.admission_limited limit=%d accepted=%d", int(self._limit), accepted
        )
        self._move(job, _Stage.QUEUED)
        self._queue.appendleft(job)
        self._release()

    def _halt(self, error: InsufficientCreditError) -> None:
        """Out of credit: report every queued job as failed, send none."""
        if self._halted is None:
            log.warning("heygen.admission_halted reason=insufficient_credit")
        self._halted = error
        while self._queue:
            job = self._queue.popleft()
            self._finish(job, Failed(error=error, tag=job.tag, request=job.request))

    def _expire(self) -> None:
        """The batch deadline: queued jobs will never be sent."""
        while self._queue:
            job = self._queue.popleft()
            self._finish(job, TimedOut(video_id=None, tag=job.tag, request=job.request))

    def _on_watch_done(self, job: JobHandle, future: asyncio.Future[Video]) -> None:
        self._watches.pop(job, None)
        if future.cancelled():
            return
        self._release()
        self._limit = min(float(self._max_in_flight), self._limit + 1 / self._limit)
        error = future.exception()
        outcome: Outcome
        if error is None:
            video = future.result()
            job.last_status = video.status
            outcome = Completed(video=video, tag=job.tag, request=job.request)
        elif isinstance(error, VideoFailedError):
            job.last_status = error.video.status
            outcome = Failed(
                error=error, video=error.video, tag=job.tag, request=job.request
            )
        elif isinstance(error, WaitTimeoutError):
            job.last_status = error.last_status
            outcome = TimedOut(
                video_id=error.video_id,
                last_status=error.last_status,
                tag=job.tag,
                request=job.request,
            )
        elif isinstance(error, Exception):
            outcome = Failed(error=error, tag=job.tag, request=job.request)
        else:  # pragma: no cover (BaseException never reaches a watch)
            raise error
        self._finish(job, outcome)

    def _finish(self, job: JobHandle, outcome: Outcome) -> None:
        self._move(job, _Stage.DONE)
        kind = {Completed: "completed", Failed: "failed", TimedOut: "timed_out"}
        self._results[kind[type(outcome)]] += 1
        job._future.set_result(outcome)
        self._outcomes.append(outcome)
        self._delivered.set()
        self._changed.set()

    async def _shutdown(self) -> None:
        """Stop admitting, cancel what is left, leave no task behind."""
        self._state = "closed"
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        tasks = [t for t in (self._admitter, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for watch in list(self._watches.values()):
            self._scheduler.forget(watch)
        self._watches.clear()
        for job in self._jobs:
            if not job.done():
                job._future.cancel()
