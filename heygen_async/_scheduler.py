"""
One poll loop for every video a client waits on.

Peers give each job its own coroutine that sleeps and GETs; N jobs cost N
requests per interval. Here every waiting job is an entry in a heap of due
times. The loop sleeps until the earliest is due, takes every due job (and
ripe ones, since joining costs nothing), and asks the bulk status endpoint
about up to 100 of them per call. When each job is due comes from its
predicted render time once the client has learned one (``_pacing``), else
from the :class:`PollPolicy` backoff. Only a job that turns terminal costs a
``GET /v3/videos/{id}``; without the bulk endpoint (404), single GETs.

A bulk row the SDK cannot decode sends only that video to a single GET, and
the drift is logged once per route and field. A single GET that cannot be
decoded never fails a job HeyGen may have rendered: it is polled again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import itertools
import random
from collections.abc import Iterable, Sequence

from . import _log
from ._aio import cancel_and_wait
from ._config import MAX_STATUS_IDS, PollPolicy
from ._coord.local import LocalCoordinator
from ._coord.protocol import Coordinator
from ._models import StatusItem, Video, VideoStatus
from ._observe.instrument import Instrumentation
from ._pacing.model import RenderFeatures
from ._pacing.pacer import Pacer
from ._watch import Backend, Owner, Watch
from .exceptions import (
    AuthenticationError,
    BadRequestError,
    HeyGenError,
    NotFoundError,
    PermissionDeniedError,
    ResponseValidationError,
    UndecodableRowsError,
    VideoFailedError,
    WaitTimeoutError,
)


__all__ = ["Backend", "Owner", "Scheduler", "Watch"]

log = _log.scheduler_logger

# A poll fails for good (not "try again later") on these.
_FATAL = (AuthenticationError, PermissionDeniedError, BadRequestError)
# Bulk status may lag a fresh create; this many not_found rows in a row
# before we ask the single-video endpoint, which can say 404 for certain.
_NOT_FOUND_GRACE = 3
# A job joins a poll early once this fraction of its wait has passed.
_RIPE_FRACTION = 0.5
# The routes, as the HTTP layer names them in counts and logs.
_BULK = "GET /v3/videos/statuses"
_DETAIL = "GET /v3/videos/{video_id}"
# Terminal webhook results kept for videos nobody waits on (yet).
_EARLY_MAX = 1_000


class Scheduler:
    """
    The poll loop shared by everything that waits on one client.

    Started lazily by the first :meth:`watch` in the running loop, stopped by
    :meth:`aclose`. All times are seconds on the event loop's monotonic clock.

    Attributes:
        job_polls: How many job statuses have been asked for.
        status_calls: Bulk status requests made.
        detail_calls: Single-video GETs made.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        poll: PollPolicy,
        rng: random.Random | None = None,
        max_concurrent_calls: int = 4,
        coordinator: Coordinator | None = None,
        observe: Instrumentation | None = None,
    ) -> None:
        self._backend = backend
        self._coordinator = coordinator or LocalCoordinator()
        self._instrument = observe or Instrumentation()
        self.poll = poll
        self._rng = rng or random.Random()
        self._heap: list[tuple[float, int, Watch]] = []
        self._by_id: dict[str, list[Watch]] = {}
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._calls = asyncio.Semaphore(max_concurrent_calls)
        self._task: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._early: dict[str, Video] = {}
        self._settled: dict[str, None] = {}  # recently finished ids, in order
        self._drift = _log.SchemaDrift(log)
        self.bulk_supported = True
        # Learned timing is per process; with a shared poller it would pace
        # other processes' jobs from a model that never saw their requests.
        self.pacer = Pacer(enabled=not self._coordinator.shares_polling)
        self.job_polls = 0
        self.status_calls = 0
        self.detail_calls = 0

    # -- public surface -------------------------------------------------

    @property
    def watching(self) -> int:
        """Videos currently being waited on."""
        return len(self._by_id)

    def watch(
        self,
        video_id: str,
        *,
        policy: PollPolicy | None = None,
        deadline: float | None = None,
        owner: Owner | None = None,
        features: RenderFeatures | None = None,
    ) -> Watch:
        """
        Start waiting on *video_id*; the returned watch's future resolves.

        The future gets the completed :class:`Video`, or raises
        :class:`VideoFailedError`, :class:`WaitTimeoutError` or the
        :class:`APIError` that made waiting impossible. *deadline* is an
        absolute loop time; ``None`` takes it from the policy. *features*
        (what the request says about its length) sharpen the learned timing.
        """
        if self._closed:
            msg = "the client is closed; cannot wait on new videos"
            raise RuntimeError(msg)
        loop = asyncio.get_running_loop()
        policy = policy or self.poll
        now = loop.time()
        if deadline is None and policy.deadline is not None:
            deadline = now + policy.deadline
        watch = Watch(
            video_id,
            policy=policy,
            deadline=deadline,
            future=loop.create_future(),
            owner=owner,
            started=now,
            features=features,
        )
        if video_id not in self._by_id:
            self._instrument.jobs_changed(1)
        self._by_id.setdefault(video_id, []).append(watch)
        self.pacer.watching(watch, now)
        if (early := self._early.pop(video_id, None)) is not None:
            self._settle_all(early, [watch])  # its webhook beat its create
            return watch
        due = self.pacer.due(watch, now)
        if due is None:
            due = now + self._jittered(watch, watch.interval)
        self._schedule(watch, due)
        self._ensure_running()
        self._coordinator.watched(video_id)
        return watch

    async def wait(
        self,
        video_id: str,
        *,
        policy: PollPolicy | None = None,
        deadline: float | None = None,
        features: RenderFeatures | None = None,
    ) -> Video:
        """Wait for one video; see :meth:`watch` for what it raises."""
        watch = self.watch(
            video_id, policy=policy, deadline=deadline, features=features
        )
        try:
            return await watch.future
        finally:
            self.forget(watch)

    def forget(self, watch: Watch) -> None:
        """Stop waiting (the caller was cancelled or lost interest)."""
        if not watch.future.done():
            watch.future.cancel()
        self._unindex(watch)

    def hurry(self, owner: Owner) -> None:
        """*owner*'s polls to the initial interval, unless webhooks or a
        prediction time them already."""
        now = asyncio.get_running_loop().time()
        if self.pacer.webhooks_flowing(now):
            return
        for watches in self._by_id.values():
            for watch in watches:
                if self.pacer.learned(watch):
                    continue
                if watch.owner is owner and watch.active and not watch.resolving:
                    watch.interval = watch.policy.interval_initial
                    due = now + self._jittered(watch, watch.interval)
                    if due < watch.next_poll:
                        self._schedule(watch, due)

    def poke(self, video_id: str) -> bool:
        """Poll *video_id* now (an unverified hint that it changed)."""
        watches = [w for w in self._by_id.get(video_id, ()) if w.active]
        if not watches:
            return False
        now = asyncio.get_running_loop().time()
        for watch in watches:
            if not watch.resolving:
                self._schedule(watch, now)
        return True

    def resolve(self, video: Video) -> bool:
        """
        Settle every wait on *video* at once (a verified webhook said so).

        Returns whether anyone was waiting. A non-terminal *video* only
        brings the next poll forward.
        """
        if not video.status.is_terminal:
            return self.poke(video.id)
        watches = [w for w in self._by_id.get(video.id, ()) if w.active]
        if watches:
            now = asyncio.get_running_loop().time()
            if self.pacer.delivered(video, watches, now):
                self._replan(now)  # polls become (sharper) safety nets
        else:
            if video.id in self._settled:
                return False  # a late or repeated delivery
            # A delivery can arrive before the create call returns: keep it
            # (boundedly) for the watch that is about to start.
            self._early[video.id] = video
            while len(self._early) > _EARLY_MAX:
                del self._early[next(iter(self._early))]
            return False
        self._settle_all(video, watches)
        return True

    def _settle_all(self, video: Video, watches: list[Watch]) -> None:
        self._instrument.video_seen(video)
        for watch in watches:
            watch.last_status = video.status
            if video.status is VideoStatus.COMPLETED:
                self._settle(watch, video)
            else:
                self._fail(watch, VideoFailedError(video))

    async def aclose(self) -> None:
        """Stop the loop; every pending wait fails with a clear error."""
        await self.stop()
        self.fail_pending()

    async def stop(self) -> None:
        """Stop the loop and refuse new waits; pending ones stay pending."""
        self._closed = True
        await cancel_and_wait([self._task, *self._side_tasks])
        self._task = None

    def fail_pending(self) -> None:
        """Fail every pending wait now, one error each (a shared one grows)."""
        message = "the client was closed while waiting for this video"
        for watches in self._by_id.values():
            for watch in watches:
                future = watch.future
                if not future.done():
                    future.set_exception(HeyGenError(message))
                    future.exception()  # mark retrieved: nobody may wait
        self._instrument.jobs_changed(-len(self._by_id))
        self._by_id.clear()
        self._heap.clear()

    # -- scheduling -----------------------------------------------------

    def _jittered(self, watch: Watch, interval: float) -> float:
        jitter = watch.policy.jitter
        if jitter:
            interval *= self._rng.uniform(1 - jitter, 1 + jitter)
        return interval

    def _schedule(self, watch: Watch, due: float) -> None:
        if watch.deadline is not None:
            due = min(due, watch.deadline)
        watch.next_poll = due
        heapq.heappush(self._heap, (due, next(self._seq), watch))
        if self._heap[0][2] is watch:
            self._wakeup.set()

    def _reschedule(self, watch: Watch, now: float, draw: float | None = None) -> None:
        """
        Grow *watch*'s interval and queue its next poll.

        *draw* (in ``[-1, 1]``) is one jitter draw shared by every watch
        polled in the same tick: jobs asked about together stay together, so
        the next bulk call covers all of them instead of the earliest few.
        """
        policy = watch.policy
        watch.interval = min(watch.interval * policy.multiplier, policy.interval_max)
        if (due := self.pacer.due(watch, now)) is not None:
            watch.interval = policy.interval_initial  # should it become overdue
            self._schedule(watch, due)
            return
        saturated = watch.owner is not None and watch.owner.saturated
        if saturated and not self.pacer.webhooks_flowing(now):
            watch.interval = min(watch.interval, policy.interval_initial)
        if draw is None:
            wait = self._jittered(watch, watch.interval)
        else:
            wait = watch.interval * (1 + draw * policy.jitter)
        self._schedule(watch, now + wait)

    def _unindex(self, watch: Watch) -> None:
        watches = self._by_id.get(watch.video_id)
        if watches is None:
            return
        with contextlib.suppress(ValueError):
            watches.remove(watch)
        if not watches:
            del self._by_id[watch.video_id]
            self._instrument.jobs_changed(-1)
            if not self._by_id:
                self.pacer.idle(asyncio.get_running_loop().time())

    def _replan(self, now: float) -> None:
        for watches in self._by_id.values():
            for watch in watches:
                if not watch.active or watch.resolving:
                    continue
                if (due := self.pacer.due(watch, now)) is not None:
                    self._schedule(watch, due)

    def _heads(self) -> Iterable[Watch]:
        """One waiting watch per video (they share a status), for the pacer."""
        for watches in self._by_id.values():
            if not watches[0].resolving:
                yield watches[0]

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            # A fresh context: the shared loop belongs to no caller, so the
            # first waiter's span (or other context) must not adopt its polls.
            self._task = asyncio.get_running_loop().create_task(
                self._run(),
                name="heygen_async.scheduler",
                context=contextvars.Context(),
            )

    def _is_current(self, due: float, watch: Watch) -> bool:
        return watch.active and not watch.resolving and due == watch.next_poll

    def _take_due(self, now: float, *, group: bool = False) -> list[Watch]:
        """
        Pop every due watch, then top up the last chunk with ripe ones (any
        job with a predicted render time is ripe: asking costs nothing and
        its next poll follows from the prediction, not a reset backoff). A
        *group* call takes the earliest-due jobs to fill one chunk.
        """
        taken: list[Watch] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, _, watch = heapq.heappop(heap)
            if self._is_current(due, watch):
                taken.append(watch)
        room = -len({w.video_id for w in taken}) % MAX_STATUS_IDS
        if group and not taken:
            room = MAX_STATUS_IDS
        while heap and room:
            due, _, watch = heap[0]
            if not self._is_current(due, watch):
                heapq.heappop(heap)
                continue
            learned = self.pacer.learned(watch)
            if not (group or learned) and due - now > _RIPE_FRACTION * watch.interval:
                break
            heapq.heappop(heap)
            taken.append(watch)
            room -= 1
        return taken

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wakeup.clear()
            while self._heap and not self._is_current(*self._heap[0][::2]):
                heapq.heappop(self._heap)
            if not self._heap:
                await self._wakeup.wait()
                continue
            now = loop.time()
            first = self._heap[0][0]
            group_at = self.pacer.group_due(self._heads(), now, first)
            wake = first if group_at is None else min(first, group_at)
            if wake > now:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wake - now):
                        await self._wakeup.wait()
                continue
            self.pacer.called(now)
            try:
                await self._tick(self._take_due(now, group=first > now))
            except Exception:  # the loop must outlive any one bad tick
                log.exception("heygen.scheduler_tick_failed")

    # -- one tick -------------------------------------------------------

    async def _tick(self, watches: list[Watch]) -> None:
        by_id: dict[str, list[Watch]] = {}
        for watch in watches:
            by_id.setdefault(watch.video_id, []).append(watch)
        ids = list(self._coordinator.to_poll(list(by_id)))
        chunks = [
            ids[i : i + MAX_STATUS_IDS] for i in range(0, len(ids), MAX_STATUS_IDS)
        ]
        await asyncio.gather(*(self._poll_chunk(chunk, by_id) for chunk in chunks))
        now = asyncio.get_running_loop().time()
        self.pacer.answered(now)
        # One jitter draw per tick (see _reschedule): with bulk polls, per-job
        # draws would let the earliest of ~100 draws set every next tick.
        draw = self._rng.uniform(-1.0, 1.0)
        for watch in watches:
            watch.polled = now  # known running as of this answer
            if not watch.active or watch.resolving:
                continue
            if watch.deadline is not None and now >= watch.deadline:
                self._fail(watch, WaitTimeoutError(watch.video_id, watch.last_status))
            else:
                self._reschedule(watch, now, draw)

    async def _poll_chunk(
        self, ids: Sequence[str], by_id: dict[str, list[Watch]]
    ) -> None:
        self.job_polls += len(ids)
        if not self.bulk_supported:
            self._fetch_each(ids, by_id)
            return
        unread: Sequence[str] = ()
        try:
            async with self._calls:
                self.status_calls += 1
                items = await self._backend.get_statuses(ids)
        except UndecodableRowsError as exc:
            # One odd row (or body) must not stall the rest of the chunk.
            self._drift.report(_BULK, exc.fields, exc.request_id)
            items, unread = exc.items, exc.video_ids
        except NotFoundError:
            log.warning("heygen.bulk_status_unavailable falling back to single GETs")
            self.bulk_supported = False
            self._fetch_each(ids, by_id)
            return
        except _FATAL as exc:
            for video_id in ids:
                for watch in by_id[video_id]:
                    self._fail(watch, exc)
            return
        except HeyGenError as exc:
            log.warning("heygen.poll_failed ids=%d error=%s", len(ids), exc)
            return
        self._read_rows(ids, items, unread, by_id)

    def _read_rows(
        self,
        ids: Sequence[str],
        items: Iterable[StatusItem],
        unread: Iterable[str],
        by_id: dict[str, list[Watch]],
    ) -> None:
        """Act on one chunk's rows: each asked id once, whatever came back."""
        seen: set[str] = set()
        for item in items:
            video_id = item.id
            if video_id and video_id in by_id and video_id not in seen:
                seen.add(video_id)
                self._observe(video_id, item.status, by_id[video_id])
        for video_id in unread:
            if video_id in by_id and video_id not in seen:
                seen.add(video_id)
                self._start_detail(video_id, by_id[video_id])  # ask it alone
        for video_id in ids:
            if video_id not in seen:
                self._count_missing(video_id, by_id[video_id])

    def _fetch_each(self, ids: Sequence[str], by_id: dict[str, list[Watch]]) -> None:
        """The fallback: one GET per video, as peers do for every poll."""
        for video_id in ids:
            self._start_detail(video_id, by_id[video_id])

    def _observe(
        self, video_id: str, status: VideoStatus, watches: list[Watch]
    ) -> None:
        for watch in watches:
            watch.last_status = status
        if status.is_terminal:
            self._start_detail(video_id, watches)
        elif status is VideoStatus.NOT_FOUND:
            self._count_missing(video_id, watches)
        else:
            for watch in watches:
                watch.missing = 0

    def _count_missing(self, video_id: str, watches: list[Watch]) -> None:
        """Not known (or not answered for): past the grace, ask the video alone."""
        missing = max(w.missing for w in watches) + 1
        for watch in watches:
            watch.missing = missing
        if missing >= _NOT_FOUND_GRACE:
            self._start_detail(video_id, watches)

    def _start_detail(self, video_id: str, watches: list[Watch]) -> None:
        for watch in watches:
            watch.resolving = True
        task = asyncio.get_running_loop().create_task(
            self._fetch_detail(video_id, watches)
        )
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _fetch_detail(self, video_id: str, watches: list[Watch]) -> None:
        """GET one video and settle its watches, or put them back in line."""
        try:
            async with self._calls:
                self.detail_calls += 1
                video = await self._backend.get_video(video_id)
        except (NotFoundError, *_FATAL) as exc:
            for watch in watches:
                self._fail(watch, exc)
            return
        except ResponseValidationError as exc:
            # HeyGen may have rendered it: keep polling until the deadline,
            # never report a job failed because we could not read it.
            self._drift.report(_DETAIL, exc.fields or ("$.data",), exc.request_id)
            self._retry_later(watches)
            return
        except HeyGenError as exc:
            log.warning("heygen.detail_failed video_id=%s error=%s", video_id, exc)
            self._retry_later(watches)
            return
        if not video.status.is_terminal:
            for watch in watches:
                watch.last_status = video.status
            self._retry_later(watches)
            return
        self._coordinator.observed(video)  # frees its slot, tells others
        now = asyncio.get_running_loop().time()
        if self.pacer.polled_terminal(video, watches, now):
            self._replan(now)  # safety nets from the sharper prediction
        if video.status is not VideoStatus.COMPLETED:
            log.info(
                "heygen.video_failed video_id=%s code=%s", video_id, video.failure_code
            )
        self._settle_all(video, watches)

    def _retry_later(self, watches: list[Watch]) -> None:
        now = asyncio.get_running_loop().time()
        for watch in watches:
            watch.resolving = False
            if not watch.active:
                continue
            if watch.deadline is not None and now >= watch.deadline:
                self._fail(watch, WaitTimeoutError(watch.video_id, watch.last_status))
            else:
                self._reschedule(watch, now)

    def _settle(self, watch: Watch, video: Video) -> None:
        watch.resolving = False
        if watch.active:
            watch.future.set_result(video)
        self._finished(watch)

    def _fail(self, watch: Watch, error: BaseException) -> None:
        watch.resolving = False
        if watch.active:
            watch.future.set_exception(error)
        self._finished(watch)

    def _finished(self, watch: Watch) -> None:
        self._unindex(watch)
        self._settled[watch.video_id] = None
        while len(self._settled) > _EARLY_MAX:
            del self._settled[next(iter(self._settled))]
