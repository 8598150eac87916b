"""
Many renders at once, within the account's concurrency cap, crash-safe.

A :class:`Batch` queues requests, admits at most ``max_in_flight`` of them
(HeyGen rejects creates over the account's cap with 429), hands each created
video to the client's shared scheduler, and reports every job as an outcome in
completion order. A 429 on create puts the job back at the head of the queue
and lowers the limit (AIMD); ``insufficient_credit`` stops admission and
reports the rest as failed without sending them. A create that got no
definite answer (no response, a 5xx, an unreadable 2xx, ``409
request_in_progress``) may have made the job, so it is never reported failed:
it is asked again later with the same key, and if the batch ends first it is
reported as :class:`TimedOut` and stays pending in the journal. Every step is
written to a journal (:mod:`.stores`) first, so a batch reopened on the same
journal picks up where a crashed one stopped without paying for anything twice.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, Unpack

import attrs

from heygen_async import _log
from heygen_async._aio import cancel_and_wait
from heygen_async._models import Video, VideoRequest
from heygen_async._pacing import RenderFeatures
from heygen_async.exceptions import (
    CreditLimitError,
    HeyGenError,
    InsufficientCreditError,
    RateLimitError,
)

from . import journal
from .admission import Admission, CreditBudget, Submitter
from .handles import BatchStats, JobHandle, Stage
from .options import BatchOptions, Settings
from .outcomes import Completed, Failed, Outcome, TimedOut, of_watch
from .stores import JobRecord, JobStore, MemoryStore


if TYPE_CHECKING:
    from heygen_async._scheduler import Scheduler, Watch

__all__ = ["Batch", "BatchOptions"]

log = _log.batch_logger

_KINDS = {Completed: "completed", Failed: "failed", TimedOut: "timed_out"}
# Creates in a row without a definite answer before a job is left for the
# next run (as TimedOut, still pending in the journal).
_UNKNOWN_ROUNDS = 8


class Batch:
    """
    Render many videos with at most *max_in_flight* running at once.

    Use it as an async context manager from :meth:`Client.batch`::

        async with client.batch(max_in_flight=10) as batch:
            for path in photos:
                batch.submit(VideoRequest(image_path=path, script=s, voice_id=v),
                             tag=str(path))
            async for outcome in batch.as_completed():
                ...

    Leaving the block waits for every job; leaving it with an exception
    cancels what has not finished (HeyGen keeps rendering what it accepted,
    and a journal keeps track of it for the next run).
    """

    def __init__(
        self,
        submitter: Submitter,
        scheduler: Scheduler,
        **options: Unpack[BatchOptions],
    ) -> None:
        settings = Settings.of(options)  # refuses bad values before anything runs
        self._submitter = submitter
        self._scheduler = scheduler
        budget = settings.max_credits
        credit = None if budget is None else CreditBudget(budget, settings.pricing)
        self._admission = Admission(settings.max_in_flight, credit)
        self._deadline = settings.deadline
        self._poll = settings.poll or scheduler.poll
        self._uploads = asyncio.Semaphore(settings.max_uploads)
        self._outcome_buffer = settings.outcome_buffer
        store = settings.store
        self._store: JobStore = store if store is not None else MemoryStore()
        self._run_id = ""
        self._seq = 0
        self._by_key: dict[str, JobHandle] = {}
        self._occurrences: collections.Counter[str] = collections.Counter()
        self._jobs: list[JobHandle] = []
        self._watches: dict[JobHandle, Watch] = {}
        self._waiting: dict[JobHandle, asyncio.TimerHandle] = {}
        self._retired: set[str] = set()
        self._submitted = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._writes: set[asyncio.Future[None]] = set()
        self._outcomes: collections.deque[tuple[JobHandle, Outcome]] = (
            collections.deque()
        )
        self._changed = asyncio.Event()
        self._delivered = asyncio.Event()
        self._counts: collections.Counter[Stage] = collections.Counter()
        self._results: collections.Counter[str] = collections.Counter()
        self._consumers = 0
        self._halted: InsufficientCreditError | CreditLimitError | None = None
        self._deadline_at: float | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._deadline_passed = False
        self._hurried = False
        self._requests_at_open: dict[str, int] = {}
        self._admitter: asyncio.Task[None] | None = None
        self._state = "new"

    # -- context manager ------------------------------------------------

    async def __aenter__(self) -> Batch:
        if self._state != "new":
            msg = "a Batch can be entered only once"
            raise RuntimeError(msg)
        self._state = "opening"
        loop = asyncio.get_running_loop()
        self._requests_at_open = self._submitter.request_counts()
        self._run_id = await self._store.open()
        try:
            if self._deadline is not None:
                self._deadline_at = loop.time() + self._deadline
                self._deadline_timer = loop.call_at(self._deadline_at, self._expire)
            self._state = "open"
            for record in await self._store.load():
                self._resume(record)
        except BaseException:
            # An unreadable journal: release it (and its lock) for the next try.
            await self._shutdown()
            raise
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
        return self._admission.saturated

    def submit(self, request: VideoRequest, *, tag: Any = None) -> JobHandle:
        """
        Queue *request* and return its handle at once.

        The request is sent when a slot frees; its ``Idempotency-Key`` is
        minted now and reused for every retry, so it is never paid twice. On
        a journal that already holds this request and tag (a resumed run),
        the existing job's handle is returned instead of a new job.

        Raises:
            ValueError: A durable store was given a tag JSON cannot hold.
        """
        if self._state != "open":
            msg = "submit() needs an open batch: use 'async with client.batch()'"
            raise RuntimeError(msg)
        if not isinstance(request, VideoRequest):
            msg = f"submit() takes a VideoRequest; got {type(request).__name__}"
            raise TypeError(msg)
        body = journal.request_record(request)
        ident = journal.identity(body, tag, durable=self._store.durable)
        key = journal.job_key(self._run_id, ident, self._occurrences[ident])
        self._occurrences[ident] += 1
        self._submitted = True
        while key in self._retired:
            key = journal.retry_key(key)
        if (known := self._by_key.get(key)) is not None:
            return known
        job = self._new_handle(request, tag, key)
        record = JobRecord(key=key, seq=self._seq, tag=tag, request=body)
        self._seq += 1
        job._recorded = self._write(self._store.add(record))
        if (refused := self._refusal(job)) is not None:
            self._finish(job, refused)
        else:
            self._enqueue(job)
        return job

    async def as_completed(self) -> AsyncIterator[Outcome]:
        """
        Yield each job's outcome as soon as it is known.

        Ends when every job submitted so far has been reported. While a
        consumer iterates, a full buffer of unread outcomes pauses admission
        instead of growing memory. An outcome counts as reported (and is not
        yielded again by a resumed batch) once the consumer asks for the next.
        """
        self._consumers += 1
        try:
            while True:
                while self._outcomes:
                    job, outcome = self._outcomes.popleft()
                    self._changed.set()
                    yield outcome
                    self._update(job, reported=True)
                if self._all_done():
                    return
                self._delivered.clear()
                await self._delivered.wait()
        finally:
            self._consumers -= 1
            self._changed.set()

    def stats(self) -> BatchStats:
        """Counts by stage and the requests made so far."""
        requests = {}
        for route, count in self._submitter.request_counts().items():
            if made := count - self._requests_at_open.get(route, 0):
                requests[route] = made
        return BatchStats(
            queued=self._counts[Stage.QUEUED],
            uploading=self._counts[Stage.UPLOADING],
            submitting=self._counts[Stage.SUBMITTING],
            in_flight=self._counts[Stage.IN_FLIGHT],
            completed=self._results["completed"],
            failed=self._results["failed"],
            timed_out=self._results["timed_out"],
            limit=int(self._admission.limit),
            requests=requests,
        )

    def retry_failed(self) -> int:
        """
        Let the jobs an earlier run journaled as failed be sent again.

        Call it before any :meth:`submit`. Each failed job is retired: kept in
        the journal but no longer reported, so submitting its request and tag
        again makes a new job under a new ``Idempotency-Key``, which HeyGen
        bills again. Use it on purpose, once the cause is fixed. Returns how
        many jobs were retired.
        """
        if self._state != "open" or self._submitted:
            msg = "retry_failed() must come right after opening, before submit()"
            raise RuntimeError(msg)
        retired = {job for job in self._jobs if isinstance(job.outcome, Failed)}
        for job in retired:
            self._jobs.remove(job)
            del self._by_key[job.key]
            self._retired.add(job.key)
            self._results["failed"] -= 1
            self._update(job, outcome="retired")
        kept = [(job, o) for job, o in self._outcomes if job not in retired]
        self._outcomes = collections.deque(kept)
        return len(retired)

    @property
    def jobs(self) -> tuple[JobHandle, ...]:
        """Every job, resumed ones first, in submission order."""
        return tuple(self._jobs)

    # -- journal --------------------------------------------------------

    def _write(self, coro: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        """Run a journal write in the background, in order, never cancelled."""
        task = asyncio.ensure_future(coro)
        self._writes.add(task)
        task.add_done_callback(self._write_done)
        return task

    def _write_done(self, task: asyncio.Future[None]) -> None:
        self._writes.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("heygen.journal_write_failed error=%s", error)

    def _update(self, job: JobHandle, **changes: Any) -> None:
        self._write(self._store.update(job.key, **changes))

    def _new_handle(self, request: VideoRequest, tag: Any, key: str) -> JobHandle:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        job = JobHandle(request, tag, future, key=key)
        self._jobs.append(job)
        self._by_key[key] = job
        return job

    def _resume(self, record: JobRecord) -> None:
        """Re-attach to a job an earlier run journaled."""
        self._seq = max(self._seq, record.seq + 1)
        if record.outcome == "retired":
            self._retired.add(record.key)
            return
        request = journal.structure_request(record.request)
        job = self._new_handle(request, record.tag, record.key)
        job.video_id = record.video_id
        job.last_status = journal.recorded_status(record)
        outcome = journal.recorded_outcome(record, request)
        if outcome is not None:
            self._finish(job, outcome, record=False, report=not record.reported)
        elif record.video_id is not None:
            self._admission.occupy()
            self._move(job, Stage.IN_FLIGHT)
            self._watch(job, record.video_id)
        else:
            if record.asset_id is not None and request.image_path is not None:
                job._resolved = attrs.evolve(
                    request, image_path=None, image_asset_id=record.asset_id
                )
            # An earlier run may have sent it and died before hearing back.
            job._maybe_sent = True
            self._enqueue(job)

    # -- admission ------------------------------------------------------

    def _jobs_done(self) -> bool:
        return self._results.total() == len(self._jobs)

    def _all_done(self) -> bool:
        return not self._outcomes and self._jobs_done()

    def _refusal(self, job: JobHandle) -> Outcome | None:
        """
        The outcome of a job that will never be sent, or ``None``.

        Out of credit, a job that may already exist is still sent: with its
        key that is a free replay, or a definite refusal.
        """
        if self._halted is not None and not job._maybe_sent:
            return Failed(error=self._halted, tag=job.tag, request=job.request)
        expired = self._deadline_passed or (
            self._deadline_at is not None
            and asyncio.get_running_loop().time() >= self._deadline_at
        )
        if expired:
            return TimedOut(video_id=None, tag=job.tag, request=job.request)
        return None

    def _may_admit(self) -> bool:
        if not self._admission.has_room():
            return False
        return not (self._consumers and len(self._outcomes) >= self._outcome_buffer)

    def _enqueue(self, job: JobHandle) -> None:
        self._admission.queue.append(job)
        self._move(job, Stage.QUEUED)
        self._changed.set()

    async def _admit(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._may_admit():
                # Bring in-flight polls forward once, when jobs start queueing;
                # while saturated, the scheduler keeps their intervals short.
                if self.saturated and not self._hurried:
                    self._scheduler.hurry(self)
                self._hurried = self.saturated
                self._changed.clear()
                await self._changed.wait()
            job = self._admission.take()
            budget = self._admission.budget
            if budget is not None and (over := budget.charge(job)) is not None:
                self._release()
                self._halt(over)
                self._finish(job, Failed(error=over, tag=job.tag, request=job.request))
                continue
            self._move(job, Stage.SUBMITTING)
            task = loop.create_task(self._submit(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _move(self, job: JobHandle, stage: Stage) -> None:
        if job._stage is not None and job._stage is not Stage.DONE:
            self._counts[job._stage] -= 1
        job._stage = stage
        if stage is not Stage.DONE:
            self._counts[stage] += 1

    def _release(self) -> None:
        self._admission.release()
        self._changed.set()

    async def _submit(self, job: JobHandle) -> None:
        if job._recorded is not None:
            try:
                await asyncio.shield(job._recorded)
            except Exception as error:  # noqa: BLE001 (any store; never send unjournaled)
                self._release()
                self._finish(job, Failed(error=error, tag=job.tag, request=job.request))
                return
        try:
            request = job._resolved or job.request
            if request.image_path is not None:
                self._move(job, Stage.UPLOADING)
                async with self._uploads:
                    request = await self._submitter.resolve(request)
                job._resolved = request
                self._update(job, asset_id=request.image_asset_id)
                self._move(job, Stage.SUBMITTING)
            created = await self._submitter.create(request, idempotency_key=job.key)
        except RateLimitError:
            self._on_rate_limited(job)
            return
        except InsufficientCreditError as error:
            self._release()
            self._halt(error)
            self._finish(job, Failed(error=error, tag=job.tag, request=job.request))
            return
        except (HeyGenError, ValueError, OSError) as error:
            if journal.outcome_unknown(error):
                self._retry_later(job, error)
                return
            log.info("heygen.job_rejected tag=%r error=%s", job.tag, error)
            self._release()
            self._finish(job, Failed(error=error, tag=job.tag, request=job.request))
            return
        job.video_id = created.id
        job.last_status = created.status
        self._update(job, video_id=created.id, status=created.status.value)
        self._move(job, Stage.IN_FLIGHT)
        self._watch(job, created.id)

    def _watch(self, job: JobHandle, video_id: str) -> None:
        deadline = None
        if self._poll.deadline is not None:
            deadline = asyncio.get_running_loop().time() + self._poll.deadline
        if self._deadline_at is not None:
            deadline = min(deadline or self._deadline_at, self._deadline_at)
        watch = self._scheduler.watch(
            video_id,
            policy=self._poll,
            deadline=deadline,
            owner=self,
            features=RenderFeatures.of(job.request),
        )
        self._watches[job] = watch
        watch.future.add_done_callback(lambda f: self._on_watch_done(job, f))

    def _on_rate_limited(self, job: JobHandle) -> None:
        accepted = self._counts[Stage.IN_FLIGHT]
        self._admission.limited(accepted)
        limit = int(self._admission.limit)
        log.info("heygen.admission_limited limit=%d accepted=%d", limit, accepted)
        self._move(job, Stage.QUEUED)
        self._admission.queue.appendleft(job)
        self._release()

    def _retry_later(self, job: JobHandle, error: BaseException) -> None:
        """The create may have made the job: ask again later, with its key."""
        self._release()
        job._maybe_sent = True
        job._unknown += 1
        log.warning(
            "heygen.create_outcome_unknown tag=%r attempt=%d error=%s",
            job.tag,
            job._unknown,
            error,
        )
        if job._unknown >= _UNKNOWN_ROUNDS or self._deadline_passed:
            log.warning("heygen.create_unresolved tag=%r key=%s", job.tag, job.key)
            self._finish(job, TimedOut(video_id=None, tag=job.tag, request=job.request))
            return
        self._move(job, Stage.QUEUED)
        poll = self._poll
        delay = min(
            poll.interval_initial * poll.multiplier ** (job._unknown - 1),
            poll.interval_max,
        )
        loop = asyncio.get_running_loop()
        self._waiting[job] = loop.call_later(delay, self._requeue, job)

    def _requeue(self, job: JobHandle) -> None:
        """A job whose create is to be asked again goes to the head of the queue."""
        del self._waiting[job]
        self._admission.queue.appendleft(job)
        self._changed.set()

    def _halt(self, error: InsufficientCreditError | CreditLimitError) -> None:
        """Out of credit (or max_credits): report queued jobs as failed, send none."""
        if self._halted is None:
            why = (
                "max_credits"
                if isinstance(error, CreditLimitError)
                else "insufficient_credit"
            )
            log.warning("heygen.admission_halted reason=%s", why)
        self._halted = error
        self._drain()

    def _expire(self) -> None:
        """The batch deadline: queued and waiting jobs will never be sent."""
        self._deadline_passed = True
        waiting, self._waiting = self._waiting, {}
        for job, timer in waiting.items():
            timer.cancel()
            self._admission.queue.append(job)
        self._drain()

    def _drain(self) -> None:
        """Report every queued job as refused (see :meth:`_refusal`)."""
        kept: collections.deque[JobHandle] = collections.deque()
        queue = self._admission.queue
        while queue:
            job = queue.popleft()
            refused = self._refusal(job)
            if refused is None:
                kept.append(job)  # out of credit, but may exist: ask HeyGen
            else:
                self._finish(job, refused)
        self._admission.queue = kept

    def _on_watch_done(self, job: JobHandle, future: asyncio.Future[Video]) -> None:
        self._watches.pop(job, None)
        if future.cancelled():
            return
        self._admission.finished()
        self._changed.set()
        outcome = of_watch(
            future,
            tag=job.tag,
            request=job.request,
            video_id=job.video_id,
            last_status=job.last_status,
        )
        self._finish(job, outcome)

    def _finish(
        self,
        job: JobHandle,
        outcome: Outcome,
        *,
        record: bool = True,
        report: bool = True,
    ) -> None:
        self._move(job, Stage.DONE)
        self._results[_KINDS[type(outcome)]] += 1
        if isinstance(outcome, Completed | Failed) and outcome.video is not None:
            job.last_status = outcome.video.status
        elif isinstance(outcome, TimedOut):
            job.last_status = outcome.last_status
        job._future.set_result(outcome)
        if record:
            self._update(job, **journal.outcome_changes(outcome))
        if report:
            self._outcomes.append((job, outcome))
        self._delivered.set()
        self._changed.set()

    async def _shutdown(self) -> None:
        """Stop admitting, cancel what is left, flush the journal."""
        self._state = "closed"
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        for timer in self._waiting.values():
            timer.cancel()
        self._waiting.clear()
        await cancel_and_wait([self._admitter, *self._tasks])
        for watch in list(self._watches.values()):
            self._scheduler.forget(watch)
        self._watches.clear()
        for job in self._jobs:
            if not job.done():
                job._future.cancel()
        while pending := [w for w in self._writes if not w.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
        await self._store.close()
