"""The installed `heygen-async render` as a real process against `fake-server`."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.helpers.cli import VOICE_ID, cli_command, cli_env, copy_photos, jobs_created
from tests.helpers.fake import fake_server_process


def test_render_process_downloads_and_resumes_after_ctrl_c(tmp_path: Path) -> None:
    """SIGINT exits 130 and prints the command; running it again finishes the job."""
    copy_photos(tmp_path / "photos", 4)
    command = [
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
    env = cli_env(HEYGEN_API_KEY="sub-key")
    with fake_server_process("--api-key", "sub-key", "--render-seconds", "0.6") as (
        _server,
        url,
    ):
        env["HEYGEN_API_BASE"] = url
        with subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            deadline = time.monotonic() + 20
            while jobs_created(url) < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        assert "Resume with:\n  heygen-async render photos --script 'Hello!'" in err
        assert not list((tmp_path / "heygen-out").glob("*.mp4"))

        again = subprocess.run(
            command,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert again.returncode == 0, again.stderr
        assert jobs_created(url) == 4
    names = sorted(p.name for p in (tmp_path / "heygen-out").glob("*.mp4"))
    assert names == ["ada.mp4", "bruno.mp4", "chen.mp4", "dara.mp4"]
    assert len(again.stdout.splitlines()) == 4
    assert not list(tmp_path.rglob("*.part"))


def test_hostile_manifests_exit_2_naming_every_line(tmp_path: Path) -> None:
    """A huge CSV cell and a deeply nested JSONL line are input errors, listed."""
    (tmp_path / "big.csv").write_text(
        "image_url,script\n"
        f"https://x.test/a.jpg,{'x' * 131_073}\n"
        "https://x.test/b.jpg,Hi\n"
        "ftp://x.test/c.jpg,Hi\n"
    )
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.jsonl").write_text(
        f'{{"image_url": "https://x.test/d.jpg"}}\n{deep}\n'
    )
    result = subprocess.run(
        [*cli_command(), "render", "big.csv", "deep.jsonl", "--voice-id", VOICE_ID],
        cwd=tmp_path,
        # Input errors come before any request: no server is needed.
        env=cli_env(HEYGEN_API_KEY="k", HEYGEN_API_BASE="http://127.0.0.1:9"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "big.csv line 2: cannot read this row (field larger" in result.stderr
    assert "big.csv line 4: image_url must be an http:// or https:// URL" in (
        result.stderr
    )
    assert "deep.jsonl line 1: nothing to say" in result.stderr
    assert "deep.jsonl line 2: not valid JSON (nested too deeply)" in result.stderr
    assert not (tmp_path / "heygen-out" / ".heygen").exists()
