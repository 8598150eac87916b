"""The examples run end to end against the in-process fake server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from heygen_async._uploads import sniff_mime


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


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


def test_batch_folder_example_reports_every_photo(tmp_path: Path) -> None:
    """batch_folder.py reports each photo once, in completion order, and resumes."""
    journal = tmp_path / "run.sqlite"
    result = run_example("batch_folder.py", "--journal", str(journal))
    assert result.returncode == 0, result.stderr
    names = re.findall(r"^(?:done|failed|too slow) +(\S+):", result.stdout, re.M)
    assert len(names) == 24
    assert len(set(names)) == 24
    assert re.search(
        r"^\d+ completed, \d+ failed, 0 timed out; \d+ requests$", result.stdout, re.M
    )
    assert journal.exists()
