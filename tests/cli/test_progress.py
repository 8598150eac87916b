"""Progress on stderr: rich on a terminal, plain lines otherwise or without rich."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from heygen_async._cli import main
from heygen_async._cli.progress import (
    RICH_HINT,
    Counts,
    PlainReporter,
    RichReporter,
    make_reporter,
    print_table,
)
from heygen_async.testing import Fault
from tests.helpers.cli import FAST, VOICE_ID, copy_photos, threaded_fake


@pytest.fixture(name="no_rich")
def _no_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every `import rich...` fail, as without the cli extra."""
    for name in [n for n in sys.modules if n == "rich" or n.startswith("rich.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "rich", None)


def render_photos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> tuple[int, int]:
    """Render two photos with *env* added; return (exit code, requests made)."""
    monkeypatch.chdir(tmp_path)
    copy_photos(tmp_path / "p", 2)
    with threaded_fake() as served:
        served.call(
            lambda: served.fake.add_fault(
                Fault(
                    kind="error", status=503, route="GET /v3/videos/statuses", nth=(1,)
                )
            )
        )
        argv = ["render", "p", "--script", "Hi", "--voice-id", VOICE_ID, *FAST]
        code = main(argv, environ=served.environ(**env))
        return code, served.stats.total_requests


def test_rich_progress_on_a_terminal(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """FORCE_COLOR makes stderr a terminal: a rich bar, counts and a table."""
    code, _ = render_photos(tmp_path, monkeypatch, FORCE_COLOR="1", COLUMNS="160")
    assert code == 0
    err = capsys.readouterr().err
    assert "━" in err
    assert "queued 0 · in flight 0 · done 2 · failed 0" in err
    assert "\x1b[32m" in err or "\x1b[1;32m" in err  # green "done" lines
    assert "heygen.retry_scheduled" in err  # through rich's log handler
    assert "Summary" in err


def test_no_color_keeps_the_bar_without_colours(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """NO_COLOR removes colours but keeps the progress display."""
    env = {"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "160"}
    code, _ = render_photos(tmp_path, monkeypatch, **env)
    assert code == 0
    err = capsys.readouterr().err
    assert "━" in err
    assert "\x1b[32m" not in err
    assert "\x1b[1;32m" not in err


@pytest.mark.usefixtures("no_rich")
def test_without_rich_plain_lines_and_a_hint(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without rich a terminal gets plain lines and how to get the bar."""
    code, _ = render_photos(tmp_path, monkeypatch, FORCE_COLOR="1")
    assert code == 0
    err = capsys.readouterr().err
    assert f"for a progress bar: {RICH_HINT}" in err
    assert "━" not in err
    assert "heygen-async: WARNING heygen.retry_scheduled" in err


@pytest.mark.usefixtures("no_rich")
def test_print_table_without_rich(capsys: pytest.CaptureFixture[str]) -> None:
    """Tables fall back to aligned columns when rich is missing."""
    print_table(("A", "LONGER"), [("1", "x"), ("22", "")], environ={"FORCE_COLOR": "1"})
    assert capsys.readouterr().out == "A   LONGER\n1   x\n22\n"


def test_make_reporter_choices() -> None:
    """--json and a non-terminal get plain lines; a terminal gets rich."""
    assert isinstance(make_reporter(environ={}, plain=True), PlainReporter)
    assert isinstance(make_reporter(environ={}, plain=False), PlainReporter)
    forced = make_reporter(environ={"FORCE_COLOR": "1"}, plain=False)
    assert isinstance(forced, RichReporter)
    forced.close()


def test_plain_reporter_status_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """A status line is printed when counts change and enough time passed."""
    reporter = PlainReporter(every=0)
    reporter.start(3, "Rendering")
    reporter.update(Counts(total=3, queued=1, in_flight=1, completed=1))
    reporter.update(Counts(total=3, queued=1, in_flight=1, completed=1))
    reporter.summary("Summary", [("a", "1"), ("longer", "2")])
    assert isinstance(reporter.log_handler(), logging.StreamHandler)
    reporter.close()
    assert capsys.readouterr().err == (
        "Rendering: 3 videos\n"
        "[1/3] queued 1 · in flight 1 · done 1 · failed 0\n"
        "Summary\n"
        "  a       1\n"
        "  longer  2\n"
    )


def test_rich_reporter_prints_text_literally(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Messages are never read as rich markup; closing twice is harmless."""
    reporter = make_reporter(environ={"FORCE_COLOR": "1"}, plain=False)
    reporter.update(Counts(total=1))  # before start: ignored
    reporter.start(1, "Rendering")
    reporter.line("[bold]photo[1].png[/bold]")
    reporter.close()
    reporter.close()
    assert "[bold]photo[1].png[/bold]" in capsys.readouterr().err


@pytest.mark.usefixtures("no_rich")
def test_no_hint_when_stderr_is_not_a_terminal() -> None:
    """Without rich and without a terminal there is nothing to recommend."""
    reporter = make_reporter(environ={}, plain=False)
    assert isinstance(reporter, PlainReporter)
    assert reporter._hint is None
