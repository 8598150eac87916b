"""The examples run end to end against the in-process fake server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from heygen_async._uploads import sniff_mime
from tests.helpers.cli import copy_photos, jobs_created
from tests.helpers.fake import fake_server_process


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one example with no HEYGEN_API_KEY, so it uses the fake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEYGEN_")}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_create_video_example_prints_id_and_status() -> None:
    """create_video.py uploads the sample photo and prints an id and a status."""
    result = run_example("create_video.py")
    assert result.returncode == 0, result.stderr
    assert "using an in-process FakeHeyGen" in result.stdout
    assert re.search(r"^video id: v_[0-9a-f]+$", result.stdout, re.MULTILINE)
    assert re.search(
        r"^status: (pending|processing|completed)$", result.stdout, re.MULTILINE
    )


def test_sample_photo_is_a_png_the_generator_reproduces(tmp_path: Path) -> None:
    """The shipped sample photo is a PNG, byte-identical to its generator's output."""
    shipped = (EXAMPLES / "sample_photo.png").read_bytes()
    assert sniff_mime(shipped) == "image/png"
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_sample_photo
    finally:
        sys.path.remove(str(EXAMPLES))
    assert make_sample_photo.png_bytes() == shipped


def test_fastapi_example_demo_finishes_by_webhook() -> None:
    """fastapi_app.py serves itself under uvicorn; three videos finish by webhook."""
    result = run_example("fastapi_app.py")
    assert result.returncode == 0, result.stderr
    assert "running a demo against FakeHeyGen" in result.stdout
    done = re.findall(r"^v_[0-9a-f]+: completed http://\S+$", result.stdout, re.M)
    assert len(done) == 3
    assert "webhooks delivered: 3; detail GETs: 0" in result.stdout


def test_quickstart_example_waits_and_prints_url() -> None:
    """quickstart.py creates a video, waits through the scheduler, prints its URL."""
    result = run_example("quickstart.py")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^created v_[0-9a-f]+, waiting\.\.\.$", result.stdout, re.M)
    assert re.search(
        r"^done in .*: http://127\.0\.0\.1:\d+/.+\.mp4", result.stdout, re.M
    )


def test_batch_folder_example_reports_every_photo() -> None:
    """batch_folder.py (no key) reports each photo once, in completion order."""
    result = run_example("batch_folder.py")
    assert result.returncode == 0, result.stderr
    names = re.findall(r"^(?:done|failed|too slow) +(\S+):", result.stdout, re.M)
    assert len(names) == 24
    assert len(set(names)) == 24
    assert re.search(
        r"^\d+ completed, \d+ failed, 0 timed out; \d+ requests$", result.stdout, re.M
    )


def test_batch_folder_refuses_a_journal_it_could_not_resume(tmp_path: Path) -> None:
    """Without a key, --journal is refused: the in-process fake forgets its jobs."""
    journal = tmp_path / "run.sqlite"
    result = run_example("batch_folder.py", "--journal", str(journal))
    assert result.returncode == 2
    assert "heygen-async fake-server" in result.stderr
    assert not journal.exists()


def test_batch_folder_ctrl_c_then_resume_on_a_fake_server(tmp_path: Path) -> None:
    """Ctrl-C exits 130 without a traceback; the same command resumes every job."""
    copy_photos(tmp_path / "photos", 4)
    journal = tmp_path / "run.sqlite"
    args = [sys.executable, str(EXAMPLES / "batch_folder.py"), "photos"]
    args += ["--journal", str(journal)]
    with fake_server_process("--api-key", "ex-key", "--render-seconds", "0.8") as (
        _server,
        url,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEYGEN_")}
        env.update(HEYGEN_API_KEY="ex-key", HEYGEN_API_BASE=url)
        with subprocess.Popen(
            args,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            deadline = time.monotonic() + 30
            while jobs_created(url) < 1:
                assert time.monotonic() < deadline, "no job was created"
                time.sleep(0.02)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        assert "Traceback" not in err
        assert "run the same command to resume" in err

        again = subprocess.run(
            args,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert again.returncode == 0, again.stderr
        # Every job resumes into its video: none fails (a 404 was the bug).
        assert not re.search(r"^failed ", again.stdout, re.M), again.stdout
        # A job reported before Ctrl-C is not reported again on resume.
        done = re.findall(r"^done +(\S+):", out + again.stdout, re.M)
        assert sorted(done) == ["ada.png", "bruno.png", "chen.png", "dara.png"]
        assert jobs_created(url) == 4
