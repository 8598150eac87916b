"""The seed's own "Full example" script runs unchanged against the fake server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tests.helpers.fake import fake_server_process


EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "seed_full_example.py.txt"


def test_seed_full_example_runs_against_the_fake(tmp_path: Path) -> None:
    """The seed script, with key, base URL and voice id filled in, prints a URL."""
    with fake_server_process(
        "--api-key", "seed-key", "--render-seconds", "0", "--seed", "1"
    ) as (
        _,
        url,
    ):
        voices = requests.get(
            f"{url}/v3/voices",
            headers={"x-api-key": "seed-key"},
            params={"limit": 1},
            timeout=5,
        )
        voice_id = voices.json()["data"][0]["voice_id"]
        source = EXAMPLE.read_text()
        for placeholder, value in (
            ("YOUR_API_KEY", "seed-key"),
            ("https://api.heygen.com", url),
            ("YOUR_VOICE_ID", voice_id),
        ):
            assert placeholder in source
            source = source.replace(placeholder, value)
        script = tmp_path / "full_example.py"
        script.write_text(source)
        result = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Video created: v_")
    assert lines[1] == "Status: completed"
    assert lines[-1].startswith(f"Download: {url}/_fake/media/")
