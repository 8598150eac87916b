"""
The engine behind ``render`` and ``demo``: one batch, downloads, Ctrl-C.

Every job goes into one :class:`~heygen_async.Batch`, journaled (unless told
otherwise) in ``OUT/.heygen/journal.sqlite``, so running the same command
again re-attaches to jobs already paid for instead of submitting them twice.
Each completed video is streamed into ``OUT`` as soon as it is known (at most
four at once, ``.part`` files renamed only when complete); a job an earlier
run finished but did not download is downloaded now. Ctrl-C, or the SIGTERM
that Docker, systemd and Kubernetes send, cancels the run: the batch stops
sending jobs, the journal keeps the rest, and the results file is written
before returning. A second signal while that happens exits at once: every
journal write is an atomic SQLite commit, so nothing already recorded is lost.

One run at a time owns ``OUT``: the journal is locked while it runs. A journal
is tied to what it was asked: an input it already holds with another request
(another script, voice or option) is refused before anything is sent, unless
the run starts a fresh journal or re-sends the failed jobs on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs

from heygen_async import (
    Batch,
    Client,
    Completed,
    Estimate,
    Failed,
    HeyGenError,
    JobHandle,
    JobStore,
    Outcome,
    PollPolicy,
    SQLiteStore,
    TimedOut,
    Video,
    VideoRequest,
)
from heygen_async._batch import set_aside

from .common import sdk_logging
from .inputs import Job
from .names import safe_name
from .progress import Counts, Reporter
from .results import (
    RESULTS_FILE,
    Result,
    RunReport,
    failure_reason,
    previous_files,
    write_results,
)


__all__ = ["JOURNAL_PATH", "CommandMismatch", "RunConfig", "run_jobs"]

JOURNAL_PATH = Path(".heygen") / "journal.sqlite"
_DOWNLOADS_AT_ONCE = 4
_TICK = 0.2


@attrs.define(kw_only=True)
class RunConfig:
    """
    How one run behaves; see the ``render`` options.

    *emit* prints a data line per job on stdout (JSON with *json*); it is off
    when stdout is the terminal the progress is already shown on.
    """

    out: Path
    max_in_flight: int = 10
    deadline: float | None = None
    poll: PollPolicy | None = None
    download: bool = True
    json: bool = False
    emit: bool = True
    journal: bool = True
    fresh: bool = False
    retry_failed: bool = False
    description: str = "Rendering"
    # A campaign shard's journal instead of OUT/.heygen, and its results file.
    store: JobStore | None = None
    results_file: str = RESULTS_FILE
    # Given the requests this run would pay for and the number of jobs, shows
    # the estimate and returns it, or raises to stop before anything is sent.
    check_spend: Callable[[Sequence[VideoRequest], int], Estimate] | None = None


class CommandMismatch(Exception):  # noqa: N818 (a CLI outcome, never raised to users)
    """
    The journal holds some inputs with other requests: another command ran.

    Attributes:
        inputs: Where those inputs came from.
    """

    def __init__(self, inputs: Sequence[str]) -> None:
        self.inputs = tuple(inputs)
        super().__init__(f"{len(self.inputs)} inputs were journaled differently")


_STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
_KEPT = (
    " The journal keeps every job already sent; run the same command again to resume."
)


class _Interrupt:
    """Which signal asked us to stop, if one did."""

    signum: int | None = None

    @property
    def fired(self) -> bool:
        """Whether a stop signal came."""
        return self.signum is not None


def _exit_now(signum: int, cleanup: Callable[[], None], note: str) -> None:
    """A second stop signal: leave at once, without a traceback."""
    with contextlib.suppress(Exception):
        cleanup()
    print(f"Interrupted again: exiting now.{note}", file=sys.stderr)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    # Journal writes are atomic SQLite commits and results.jsonl is replaced
    # atomically, so stopping mid-cleanup leaves both consistent.
    os._exit(128 + signum)


@contextlib.contextmanager
def _stop_signals(
    task: asyncio.Task[None], *, cleanup: Callable[[], None], note: str = ""
) -> Iterator[_Interrupt]:
    """
    While inside, SIGINT or SIGTERM cancels *task*; a second one exits now.

    Before exiting, *cleanup* runs (e.g. stopping a live display) and *note*
    is added to the farewell line.

    After a first signal the handlers stay until the event loop closes, so a
    second one during the rest of the shutdown still exits cleanly (with
    ``128 + signal``) instead of raising ``KeyboardInterrupt``.
    """
    loop = asyncio.get_running_loop()
    flag = _Interrupt()

    def on_signal(signum: int) -> None:
        if flag.signum is None:
            flag.signum = signum
            task.cancel()
        else:
            _exit_now(signum, cleanup, note)

    installed = []
    for signum in _STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, on_signal, int(signum))
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
            continue  # Windows or not the main thread: Ctrl-C still stops us
        installed.append(signum)
    try:
        yield flag
    finally:
        if not flag.fired:
            for signum in installed:
                loop.remove_signal_handler(signum)


class _Run:
    """One run of a list of jobs through a batch; see :func:`run_jobs`."""

    def __init__(
        self,
        client: Client,
        jobs: Sequence[Job],
        config: RunConfig,
        reporter: Reporter,
    ) -> None:
        self.client = client
        self.jobs = jobs
        self.config = config
        self.reporter = reporter
        self.batch: Batch | None = None
        self.names: dict[JobHandle, str] = {}
        self.files: dict[JobHandle, Path] = {}
        self.download_errors: dict[JobHandle, str] = {}
        self.previous: dict[tuple[str, str], str] = {}
        self.by_tag: dict[str, list[JobHandle]] = {}
        self.settled: set[JobHandle] = set()
        self.earlier: set[JobHandle] = set()
        self.notes: list[str] = []
        self.interrupted = False
        self.estimate: Estimate | None = None
        self.stop_signal: int = signal.SIGINT
        self._slots = asyncio.Semaphore(_DOWNLOADS_AT_ONCE)

    async def run(self) -> RunReport:
        loop = asyncio.get_running_loop()
        started = loop.time()
        out = self.config.out
        await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
        if self.config.journal and not self.config.fresh:
            results_file = out / self.config.results_file
            self.previous = await asyncio.to_thread(previous_files, results_file)
        work = loop.create_task(self._work())
        note = _KEPT if self.config.journal else ""
        with _stop_signals(work, cleanup=self.reporter.close, note=note) as interrupt:
            try:
                await work
            except asyncio.CancelledError:
                if interrupt.signum is None:
                    raise
                self.interrupted = True
                self.stop_signal = interrupt.signum
            finally:
                self.reporter.close()
            results = tuple(self._result(h) for h in self._handles())
            await asyncio.to_thread(
                write_results, out / self.config.results_file, results
            )
        return RunReport(
            results=results,
            interrupted=self.interrupted,
            stop_signal=self.stop_signal,
            elapsed=loop.time() - started,
            # The client's, not the batch's: the voice check and the balance
            # made before the batch opened are requests of this run too.
            requests=self.client.request_counts(),
            estimate=self.estimate,
        )

    def _handles(self) -> tuple[JobHandle, ...]:
        return self.batch.jobs if self.batch is not None else ()

    async def _work(self) -> None:
        options: dict[str, Any] = {
            "max_in_flight": self.config.max_in_flight,
            "deadline": self.config.deadline,
            "poll": self.config.poll,
        }
        if self.config.store is not None:
            options["store"] = self.config.store
        elif self.config.journal:
            journal = self.config.out / JOURNAL_PATH
            if self.config.fresh:
                aside = await asyncio.to_thread(set_aside, journal)
                if aside is not None:
                    self.notes.append(f"New journal; the old one is kept as {aside}")
            options["store"] = SQLiteStore(journal)
        async with self.client.batch(**options) as batch:
            self.batch = batch
            self._submit_all(batch)
            if self.config.check_spend is not None:  # still nothing sent
                jobs = batch.jobs
                unsent = [
                    h.request for h in jobs if h.video_id is None and not h.done()
                ]
                self.estimate = self.config.check_spend(unsent, len(batch.jobs))
            for handle in batch.jobs:
                self.by_tag.setdefault(repr(handle.tag), []).append(handle)
            self._name_the_rest(batch.jobs)
            self.reporter.start(len(batch.jobs), self.config.description)
            for note in self.notes:
                self.reporter.line(note, style="yellow")
            self._say_resumed(batch.jobs)
            ticker = asyncio.get_running_loop().create_task(self._tick(batch))
            try:
                async with asyncio.TaskGroup() as downloads:
                    # Jobs an earlier run finished and reported are not
                    # yielded again, but may still need their download.
                    for handle in batch.jobs:
                        if handle.done():
                            self.earlier.add(handle)
                            self._settle(handle, downloads)
                    async for outcome in batch.as_completed():
                        handle = self._handle_of(outcome)
                        if handle not in self.settled:
                            self._settle(handle, downloads)
                        self.reporter.update(self._counts(batch))
            finally:
                ticker.cancel()
            self.reporter.update(self._counts(batch))

    def _submit_all(self, batch: Batch) -> None:
        """
        Submit every input, once the journal is known to have asked the same.

        Runs before the batch sends anything (no await), so a refusal costs
        nothing. With ``retry_failed``, failed jobs are re-sent with this
        run's request under new keys; other journaled inputs keep their job.
        """
        if self.config.retry_failed and (retired := batch.retry_failed()):
            self.notes.append(
                f"Re-sending {retired} failed jobs under new keys (paid again)"
            )
        journaled: dict[str, list[JobHandle]] = {}
        for handle in batch.jobs:
            journaled.setdefault(str(handle.tag), []).append(handle)
        differing = [
            job
            for job in self.jobs
            if (known := journaled.get(job.tag))
            and all(handle.request != job.request for handle in known)
        ]
        if differing and not self.config.retry_failed:
            raise CommandMismatch([job.where for job in differing])
        for job in differing:
            self.names.setdefault(journaled[job.tag][0], job.name)
        if differing:
            self.notes.append(
                f"{len(differing)} inputs keep the job an earlier run made with "
                "other settings (--fresh renders everything anew)"
            )
        kept = {id(job) for job in differing}
        for job in self.jobs:
            if id(job) not in kept:
                self.names[batch.submit(job.request, tag=job.tag)] = job.name

    def _say_resumed(self, handles: Sequence[JobHandle]) -> None:
        """On a resumed journal, say what an earlier run already did."""
        done = sum(h.done() for h in handles)
        rendering = sum(not h.done() and h.video_id is not None for h in handles)
        if done or rendering:
            self.reporter.line(
                f"Resuming: {done} jobs finished earlier, {rendering} still "
                f"rendering, {len(handles) - done - rendering} to send "
                f"(journal: {self.config.store or self.config.out / JOURNAL_PATH})"
            )

    def _settle(self, handle: JobHandle, downloads: asyncio.TaskGroup) -> None:
        """A job has its outcome: download its video, or just report it."""
        self.settled.add(handle)
        outcome = handle.outcome
        if isinstance(outcome, Completed) and self.config.download:
            downloads.create_task(self._download(handle, outcome.video))
        else:
            self._report(handle)

    def _name_the_rest(self, handles: Sequence[JobHandle]) -> None:
        """Safe, unique file names for journaled jobs this run did not list."""
        taken = {name.lower() for name in self.names.values()}
        for handle in handles:
            if handle in self.names:
                continue
            stem = safe_name(Path(str(handle.tag).split("#")[-1]).stem)
            name, counter = f"{stem}.mp4", 1
            while name.lower() in taken:
                counter += 1
                name = f"{stem}-{counter}.mp4"
            taken.add(name.lower())
            self.names[handle] = name

    def _handle_of(self, outcome: Outcome) -> JobHandle:
        matches = self.by_tag[repr(outcome.tag)]
        return next((h for h in matches if h.outcome is outcome), matches[0])

    async def _tick(self, batch: Batch) -> None:
        while True:
            await asyncio.sleep(_TICK)
            self.reporter.update(self._counts(batch))

    @staticmethod
    def _counts(batch: Batch) -> Counts:
        stats = batch.stats()
        return Counts(
            total=len(batch.jobs),
            queued=stats.queued,
            in_flight=stats.uploading + stats.submitting + stats.in_flight,
            completed=stats.completed,
            failed=stats.failed + stats.timed_out,
        )

    async def _download(self, handle: JobHandle, video: Video) -> None:
        path = self.config.out / self.names[handle]
        try:
            async with self._slots:
                known = self.previous.get((str(handle.tag), video.id)) == str(path)
                if not (known and await asyncio.to_thread(path.is_file)):
                    await self.client.download_video(video, path)
            self.files[handle] = path
        except (HeyGenError, OSError, ValueError, aiohttp.ClientError) as exc:
            self.download_errors[handle] = f"download failed: {exc}"
        self._report(handle)

    def _result(self, handle: JobHandle) -> Result:
        outcome = handle.outcome
        tag = str(handle.tag)
        if isinstance(outcome, Completed):
            file = self.files.get(handle)
            return Result(
                input=tag,
                video_id=outcome.video.id,
                status="completed",
                video_url=outcome.video.video_url,
                file=str(file) if file is not None else None,
                error=self.download_errors.get(handle),
                duration=outcome.video.duration,
            )
        if isinstance(outcome, Failed):
            return Result(
                input=tag,
                video_id=outcome.video.id if outcome.video else handle.video_id,
                status="failed",
                error=failure_reason(outcome),
            )
        if isinstance(outcome, TimedOut):
            video_id = outcome.video_id or handle.video_id
            last = outcome.last_status.value if outcome.last_status else "unknown"
            why = (
                f"stopped waiting (last status: {last})"
                if video_id
                else "not created yet, or HeyGen's answer never came through"
            )
            return Result(
                input=tag,
                video_id=video_id,
                status="timed_out",
                error=f"{why}; run again to resume (never paid twice)",
            )
        return Result(input=tag, video_id=handle.video_id, status="pending")

    def _report(self, handle: JobHandle) -> None:
        """One finished job: a data line on stdout, a human line on stderr."""
        result = self._result(handle)
        if self.config.emit:
            print(_data_line(result, as_json=self.config.json), flush=True)
        if result.status == "completed" and result.error is None:
            where = result.file or result.video_id
            earlier = " (earlier run)" if handle in self.earlier else ""
            self.reporter.line(
                f"done      {result.input} -> {where}{earlier}", style="green"
            )
        elif result.status == "completed":
            self.reporter.line(f"FAILED    {result.input}: {result.error}", style="red")
        else:
            label = "FAILED   " if result.status == "failed" else "TIMED OUT"
            self.reporter.line(f"{label} {result.input}: {result.error}", style="red")


def _data_line(result: Result, *, as_json: bool) -> str:
    """
    ``status  video_id  input  detail`` (tab-separated), or JSON.

    *detail* is the downloaded file, else the error, else (``--no-download``)
    the video's URL.
    """
    if as_json:
        return json.dumps(result.to_json())
    detail = result.file or result.error or result.video_url or ""
    return "\t".join((result.status, result.video_id or "-", result.input, detail))


async def run_jobs(
    client: Client, jobs: Sequence[Job], config: RunConfig, reporter: Reporter
) -> RunReport:
    """
    Render *jobs* through one batch, downloading as they complete.

    Writes ``results.jsonl`` in ``config.out`` before returning, also when
    Ctrl-C or SIGTERM interrupted the run (then ``interrupted`` is set and
    ``stop_signal`` says which).
    """
    with sdk_logging(reporter.log_handler()):
        return await _Run(client, jobs, config, reporter).run()
