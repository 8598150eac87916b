"""The installed `heygen-async render` as a real process against `fake-server`."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import requests

from tests._cli_helpers import VOICE_ID, cli_command, copy_photos
from tests._fake_helpers import fake_server_process


def jobs_created(url: str) -> int:
    """How many videos the fake server has created."""
    stats = requests.get(f"{url}/_fake/stats", timeout=5).json()
    return int(stats["jobs_created"])


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
    env = {"PATH": "/usr/bin:/bin", "HEYGEN_API_KEY": "sub-key"}
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
