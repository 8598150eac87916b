"""
What the command line shows people: progress, summaries and tables.

Humans read stderr, programs read stdout. On a terminal, with ``rich``
installed (the ``cli`` extra), stderr gets a live progress bar with queued /
in flight / done / failed counts and an ETA; otherwise, or with ``--json``,
plain log lines that survive redirection to a file. Tables of data (voices,
statuses) go to stdout: a rich table on a terminal, aligned plain columns when
piped. ``NO_COLOR`` and ``FORCE_COLOR`` are honoured (rich reads them from the
environment the command was given).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import attrs


if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

__all__ = [
    "RICH_HINT",
    "Counts",
    "PlainReporter",
    "Reporter",
    "RichReporter",
    "make_reporter",
    "print_table",
]

RICH_HINT = "pip install 'heygen-async[cli]'"
_LOG_FORMAT = "heygen-async: %(levelname)s %(message)s"


@attrs.frozen(kw_only=True)
class Counts:
    """Where the jobs of a run are; *failed* includes timed-out jobs."""

    total: int
    queued: int = 0
    in_flight: int = 0
    completed: int = 0
    failed: int = 0

    @property
    def finished(self) -> int:
        """Jobs with an outcome."""
        return self.completed + self.failed

    def describe(self) -> str:
        """``queued 3 · in flight 10 · done 8 · failed 1``."""
        return (
            f"queued {self.queued} · in flight {self.in_flight} · "
            f"done {self.completed} · failed {self.failed}"
        )


class Reporter(Protocol):
    """Shows a run's progress and messages to a person, on stderr."""

    def start(self, total: int, description: str) -> None:
        """Begin showing progress for *total* jobs."""

    def update(self, counts: Counts) -> None:
        """The counts changed (called often; cheap)."""

    def line(self, text: str, *, style: str | None = None) -> None:
        """Show one message line (above the bar, if there is one)."""

    def summary(self, title: str, rows: Sequence[tuple[str, str]]) -> None:
        """Show a two-column summary."""

    def log_handler(self) -> logging.Handler:
        """A handler that prints SDK warnings without breaking the display."""

    def close(self) -> None:
        """Stop the live display; safe to call twice."""


def _stderr_is_terminal(environ: Mapping[str, str]) -> bool:
    force = environ.get("FORCE_COLOR")
    if force is not None:
        return force != ""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def make_reporter(*, environ: Mapping[str, str], plain: bool) -> Reporter:
    """
    A rich progress bar on a terminal when rich is installed, else plain lines.

    With rich missing on a terminal the plain reporter says how to get the
    progress bar.
    """
    if plain:
        return PlainReporter()
    try:
        from rich.console import Console
    except ImportError:
        hint = _stderr_is_terminal(environ)
        return PlainReporter(hint=f"for a progress bar: {RICH_HINT}" if hint else None)
    console = Console(stderr=True, _environ=dict(environ))
    if not console.is_terminal:
        return PlainReporter()
    return RichReporter(console)


class PlainReporter:
    """
    Progress as log lines: one per event, a status line every *every* seconds.

    For logs, CI, pipes and ``--json``.
    """

    def __init__(self, *, hint: str | None = None, every: float = 10.0) -> None:
        self._hint = hint
        self._every = every
        self._last_status = 0.0
        self._last: Counts | None = None

    def _print(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def start(self, total: int, description: str) -> None:
        """Print what is about to happen."""
        self._print(f"{description}: {total} video{'' if total == 1 else 's'}")
        if self._hint:
            self._print(self._hint)
        self._last_status = time.monotonic()

    def update(self, counts: Counts) -> None:
        """Print a status line if enough time passed and something changed."""
        now = time.monotonic()
        if counts != self._last and now - self._last_status >= self._every:
            self._last_status = now
            self._last = counts
            self._print(f"[{counts.finished}/{counts.total}] {counts.describe()}")

    def line(self, text: str, *, style: str | None = None) -> None:
        """Print *text* as is."""
        self._print(text)

    def summary(self, title: str, rows: Sequence[tuple[str, str]]) -> None:
        """Print ``label  value`` lines under *title*."""
        self._print(title)
        width = max((len(label) for label, _ in rows), default=0)
        for label, value in rows:
            self._print(f"  {label.ljust(width)}  {value}")

    def log_handler(self) -> logging.Handler:
        """A stderr handler with a ``heygen-async:`` prefix."""
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_LOG_FORMAT))
        return handler

    def close(self) -> None:
        """Nothing to stop."""


class RichReporter:
    """A live rich progress bar on stderr, with messages printed above it."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task: TaskID | None = None
        self._started = False

    def start(self, total: int, description: str) -> None:
        """Show the bar."""
        self._task = self._progress.add_task(
            description, total=total, counts=Counts(total=total).describe()
        )
        self._progress.start()
        self._started = True

    def update(self, counts: Counts) -> None:
        """Move the bar and refresh the counts."""
        if self._task is not None:
            self._progress.update(
                self._task,
                completed=counts.finished,
                total=counts.total,
                counts=counts.describe(),
            )

    def line(self, text: str, *, style: str | None = None) -> None:
        """Print *text* above the bar (never interpreted as markup)."""
        from rich.text import Text

        self.console.print(Text(text, style=style or ""))

    def summary(self, title: str, rows: Sequence[tuple[str, str]]) -> None:
        """A borderless two-column table."""
        from rich.table import Table

        table = Table(title=title, show_header=False, box=None, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        for label, value in rows:
            table.add_row(label, value)
        self.console.print(table)

    def log_handler(self) -> logging.Handler:
        """A rich handler on the same console, so the bar stays intact."""
        from rich.logging import RichHandler

        return RichHandler(console=self.console, show_time=False, show_path=False)

    def close(self) -> None:
        """Stop the live display, leaving the final bar on screen."""
        if self._started:
            self._started = False
            self._progress.stop()


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    environ: Mapping[str, str],
) -> None:
    """
    Print a table of data to stdout.

    A rich table when rich is installed and stdout is a terminal (or
    ``FORCE_COLOR`` is set); otherwise plain columns, aligned with spaces,
    that ``cut``/``awk`` can read.
    """
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        console = None
    else:
        console = Console(_environ=dict(environ))
        if not console.is_terminal:
            console = None
    if console is not None:
        table = Table(*headers, box=None, header_style="bold")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in (headers, *rows):
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip())
