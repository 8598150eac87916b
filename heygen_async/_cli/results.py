"""
What a run leaves behind: ``results.jsonl`` and the summary at the end.

``OUT/results.jsonl`` is rewritten atomically at the end of every run, with
one JSON object per job of the journal (so each job appears exactly once,
resumed ones included):

.. code-block:: json

    {"input": "photos/ada.png", "video_id": "v_1f...", "status": "completed",
     "video_url": "https://...", "file": "heygen-out/ada.mp4", "error": null,
     "duration": 12.4}

``duration`` is the video's real length in seconds, once HeyGen tells it.
``status`` is ``completed``, ``failed``, ``timed_out`` or ``pending`` (not
finished when the run stopped); ``error`` says why a job failed, timed out or
could not be downloaded. ``video_url`` is presigned and expires: use ``file``,
or ``heygen-async status`` and the SDK's ``get_video`` for a fresh URL.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from heygen_async import Estimate, Failed

from .common import EXIT_FAILED, EXIT_OK
from .progress import Reporter


__all__ = [
    "RESULTS_FILE",
    "Result",
    "RunReport",
    "describe_requests",
    "failure_reason",
    "previous_files",
    "print_outcome_notes",
    "summary_rows",
    "write_results",
]

RESULTS_FILE = "results.jsonl"
_FAILURES_SHOWN = 10


@attrs.frozen(kw_only=True)
class Result:
    """One line of ``results.jsonl``."""

    input: str
    video_id: str | None
    status: str
    video_url: str | None = None
    file: str | None = None
    error: str | None = None
    duration: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object written for this job."""
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class RunReport:
    """What a run did."""

    results: tuple[Result, ...]
    interrupted: bool
    elapsed: float
    requests: Mapping[str, int]
    stop_signal: int = signal.SIGINT  # what interrupted it, if it was
    estimate: Estimate | None = None  # of the jobs this run sent, if made

    def count(self, status: str) -> int:
        """Jobs that ended with *status*."""
        return sum(result.status == status for result in self.results)

    @property
    def exit_code(self) -> int:
        """
        128 + the signal if interrupted (the shell's convention: 130 for
        Ctrl-C, 143 for SIGTERM), 0 if every job completed (and downloaded),
        else 1.
        """
        if self.interrupted:
            return 128 + self.stop_signal
        ok = all(r.status == "completed" and r.error is None for r in self.results)
        return EXIT_OK if ok else EXIT_FAILED


def failure_reason(outcome: Failed) -> str:
    """Why a job failed, in words, even when HeyGen gave no reason."""
    video = outcome.video
    if video is not None:
        reason = video.failure_message or video.failure_code
        return reason or "the render failed and HeyGen gave no reason"
    return str(outcome.error)


def write_results(path: Path, results: Sequence[Result]) -> None:
    """Replace *path* atomically with one JSON line per result."""
    part = path.with_name(path.name + ".part")
    with part.open("w", encoding="utf-8") as file:
        for result in results:
            file.write(json.dumps(result.to_json()) + "\n")
        file.flush()
        os.fsync(file.fileno())
    part.replace(path)


def previous_files(path: Path) -> dict[tuple[str, str], str]:
    """``(input, video_id) -> file`` from the last run's results, if any."""
    found: dict[tuple[str, str], str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            row = json.loads(line)
            if row.get("file") and row.get("video_id"):
                found[(str(row["input"]), str(row["video_id"]))] = str(row["file"])
        except (ValueError, AttributeError, KeyError):
            continue  # a hand-edited or foreign line: ignore it
    return found


def summary_rows(
    report: RunReport, *, out: Path, download: bool
) -> list[tuple[str, str]]:
    """The summary table shared by ``render`` and ``demo``."""
    completed = report.count("completed")
    downloaded = sum(1 for r in report.results if r.file)
    rows = [("completed", str(completed))]
    if download:
        rows.append(("downloaded", f"{downloaded} to {out}{os.sep}"))
    rows += [
        ("failed", str(report.count("failed"))),
        ("timed out", str(report.count("timed_out"))),
    ]
    if report.count("pending"):
        rows.append(("not finished", str(report.count("pending"))))
    if report.estimate is not None:
        rows.append(("video seconds", _seconds(report, report.estimate)))
    rows += [
        ("HTTP requests", describe_requests(report.requests)),
        ("elapsed", f"{report.elapsed:.1f} s"),
        ("results", str(out / RESULTS_FILE)),
    ]
    return rows


def _seconds(report: RunReport, estimate: Estimate) -> str:
    """Real ``duration`` of the finished videos against the estimate."""
    durations = [r.duration for r in report.results if r.duration is not None]
    actual = f"{sum(durations):,.0f} s actual ({len(durations)} videos)"
    return f"{actual}; ~{estimate.seconds:,.0f} s estimated for {len(estimate.jobs)}"


def describe_requests(requests: Mapping[str, int]) -> str:
    """``57 (24 create, 9 bulk status, ...)``, largest first."""
    names = {
        "POST /v3/videos": "create",
        "GET /v3/videos/statuses": "bulk status",
        "GET /v3/videos/{video_id}": "video GET",
        "POST /v3/assets": "upload",
    }
    parts = sorted(requests.items(), key=lambda item: (-item[1], item[0]))
    detail = ", ".join(f"{n} {names.get(route, route)}" for route, n in parts)
    total = sum(requests.values())
    return f"{total} ({detail})" if detail else str(total)


def print_outcome_notes(
    report: RunReport, reporter: Reporter, *, resume: str | None
) -> None:
    """Failures worth reading, and how to pick up unfinished jobs."""
    problems = [r for r in report.results if r.error and r.status != "timed_out"]
    for result in problems[:_FAILURES_SHOWN]:
        reporter.line(f"  {result.input}: {result.error}", style="red")
    if len(problems) > _FAILURES_SHOWN:
        more = len(problems) - _FAILURES_SHOWN
        reporter.line(f"  ... and {more} more in {RESULTS_FILE}")
    unfinished = report.count("pending") + report.count("timed_out")
    if report.interrupted:
        kept = (
            "; they are kept in the journal and will not be paid for twice"
            if resume
            else ""
        )
        reporter.line(
            f"Interrupted: stopped sending jobs, {unfinished} unfinished{kept}.",
            style="yellow",
        )
    elif report.count("timed_out"):
        reporter.line(
            f"{report.count('timed_out')} jobs passed the deadline; HeyGen may "
            "still finish them.",
            style="yellow",
        )
    if unfinished and resume:
        reporter.line(f"Resume with:\n  {resume}", style="bold")
