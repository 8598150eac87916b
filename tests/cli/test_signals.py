"""SIGTERM is Ctrl-C with exit 143; a second signal during shutdown exits at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from heygen_async._cli import main
from tests.helpers.cli import (
    FAST,
    VOICE_ID,
    cli_command,
    cli_env,
    copy_photos,
    jobs_created,
    threaded_fake,
)
from tests.helpers.fake import fake_server_process


CHILD = Path(__file__).resolve().parents[1] / "helpers" / "signal_child.py"


def wait_for(condition: object, timeout: float = 20.0) -> None:
    """Poll *condition* (a callable) every 20 ms until true, or fail."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def render_command() -> list[str]:
    """A render of four photos on a slow fake."""
    return [
        *cli_command(),
        "render",
        "photos",
        "--script",
        "Hello!",
        "--voice-id",
        VOICE_ID,
        "--max-in-flight",
        "2",
        "--poll-interval",
        "0.05",
    ]


@contextmanager
def rendering(
    tmp_path: Path,
) -> Iterator[tuple[subprocess.Popen[str], str, dict[str, str]]]:
    """A ``render`` of four photos in a subprocess, once it has created a job."""
    copy_photos(tmp_path / "photos", 4)
    env = cli_env(HEYGEN_API_KEY="sig-key")
    with fake_server_process("--api-key", "sig-key", "--render-seconds", "0.6") as (
        _server,
        url,
    ):
        env["HEYGEN_API_BASE"] = url
        with subprocess.Popen(
            render_command(),
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            wait_for(lambda: jobs_created(url) >= 1)
            yield process, url, env


def test_sigterm_stops_like_ctrl_c_and_exits_143(tmp_path: Path) -> None:
    """SIGTERM writes results, prints the resume hint, exits 143; no job paid twice."""
    with rendering(tmp_path) as (process, url, env):
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 143, err
        assert "Traceback" not in err
        assert "Interrupted: stopped sending jobs" in err
        assert "Resume with:\n  heygen-async render photos --script 'Hello!'" in err
        results = (tmp_path / "heygen-out" / "results.jsonl").read_text()
        rows = [json.loads(line) for line in results.splitlines()]
        assert len(rows) == 4
        assert {row["status"] for row in rows} <= {"pending", "completed"}
        sent = jobs_created(url)

        again = subprocess.run(
            render_command(),
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert again.returncode == 0, again.stderr
        assert jobs_created(url) == 4
        assert sent <= 4
    assert len(list((tmp_path / "heygen-out").glob("*.mp4"))) == 4


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        (signal.SIGINT, signal.SIGINT, 130),
        (signal.SIGTERM, signal.SIGINT, 130),
        (signal.SIGINT, signal.SIGTERM, 143),
    ],
)
def test_a_second_signal_during_shutdown_exits_at_once(
    tmp_path: Path, first: signal.Signals, second: signal.Signals, code: int
) -> None:
    """The second signal ends a slow shutdown now, quietly, journal intact."""
    journal = tmp_path / "journal.sqlite"
    with subprocess.Popen(
        [sys.executable, str(CHILD), str(journal)],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        process.send_signal(first)
        assert process.stdout.readline() == "shutting down\n"
        assert process.stdout.readline().startswith("wrote ")
        process.send_signal(second)
        started = time.monotonic()
        out, err = process.communicate(timeout=10)
    assert process.returncode == code, err
    assert time.monotonic() - started < 5
    assert "Traceback" not in err
    assert err == "Interrupted again: exiting now. Resume later.\n"
    assert "cleaned up" in out
    with sqlite3.connect(journal) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (count,) = db.execute("SELECT count(*) FROM jobs").fetchone()
    assert count >= 1


def test_double_ctrl_c_on_the_real_cli_never_shows_a_traceback(
    tmp_path: Path,
) -> None:
    """Two quick Ctrl-Cs on render exit 130 without a traceback."""
    with rendering(tmp_path) as (process, _url, _env):
        process.send_signal(signal.SIGINT)
        time.sleep(0.01)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    # A second Ctrl-C after the run is over may meet the interpreter's own
    # teardown: then it ends the process by SIGINT, which a shell also
    # reports as 130.
    assert process.returncode in (130, -signal.SIGINT), err
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err


def test_sigterm_in_process_exits_143(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """main() turns SIGTERM into a clean stop: 143, results written, resume hint."""
    monkeypatch.chdir(tmp_path)
    with threaded_fake(render_seconds=0.5) as served:
        copy_photos(Path("p"), 3)
        finished = threading.Event()

        def terminate() -> None:
            """Send SIGTERM once a job exists (unless main() returned)."""
            deadline = time.monotonic() + 20
            while served.stats.jobs_created < 1 and time.monotonic() < deadline:
                if finished.wait(0.01):
                    return
            os.kill(os.getpid(), signal.SIGTERM)

        thread = threading.Thread(target=terminate)
        thread.start()
        try:
            code = main(
                ["render", "p", "--voice-id", VOICE_ID, "--script", "Hi", *FAST],
                environ=served.environ(),
            )
        finally:
            finished.set()
            thread.join()
    assert code == 143
    err = capsys.readouterr().err
    assert "Interrupted: stopped sending jobs, 3 unfinished" in err
    assert "Resume with:" in err
    assert (
        len((tmp_path / "heygen-out" / "results.jsonl").read_text().splitlines()) == 3
    )
