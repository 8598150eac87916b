"""Kill a journaled batch with SIGKILL again and again: nothing is paid twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from heygen_async.testing._voices import VOICES
from tests.helpers.fake import fake_server_process


JOBS = 60
CHILD = Path(__file__).resolve().parents[1] / "helpers" / "resume_child.py"
# Deterministic crash points: between the journal write and the POST, between
# the POST and the journal update, and right after an outcome is journaled.
SCRIPTED = [
    ("after_add", 1),
    ("before_post", 1),
    ("before_post", 4),
    ("before_video_id", 1),
    ("before_video_id", 3),
    ("after_outcome", 2),
    ("before_post", 2),
    ("before_video_id", 2),
    ("after_outcome", 1),
]
RANDOM_KILLS = 14


@pytest.fixture(name="server")
def _server() -> Iterator[str]:
    """A fake HeyGen in its own process; yields its base URL."""
    with fake_server_process(
        "--render-seconds",
        "0.2:0.8",
        "--concurrency-limit",
        "10",
        "--retry-after",
        "0.05",
    ) as (_, url):
        yield url


def run_child(
    url: str, journal: Path | str, results: Path, *crash: str, jobs: int = JOBS
) -> int:
    """Run one child to its end (or its self-inflicted death)."""
    env = {**os.environ, "VOICE_ID": VOICES[0].voice_id}
    args = [sys.executable, str(CHILD), url, str(journal), str(results), str(jobs)]
    done = subprocess.run([*args, *crash], env=env, timeout=120, check=False)
    return done.returncode


def kill_child_after(
    url: str, journal: Path | str, results: Path, seconds: float
) -> None:
    """Start a child and SIGKILL it after *seconds*, wherever it is."""
    env = {**os.environ, "VOICE_ID": VOICES[0].voice_id}
    args = [sys.executable, str(CHILD), url, str(journal), str(results), str(JOBS)]
    proc = subprocess.Popen(args, env=env)
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_sigkill_at_any_moment_pays_each_job_once(
    server: str, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    """23 SIGKILLs later, every job was paid once and reported once."""
    journal: Path | str = tmp_path / "journal.sqlite"
    if kind == "redis":  # each resume a fresh process, after the lease expired
        journal = request.getfixturevalue("redis_server").url
    results = tmp_path / "results.tsv"
    deaths = 0
    for point, nth in SCRIPTED:
        code = run_child(server, journal, results, point, str(nth))
        assert code == -signal.SIGKILL, (point, nth)
        deaths += 1
    rng = random.Random(1234)
    for _ in range(RANDOM_KILLS):
        kill_child_after(server, journal, results, rng.uniform(0.3, 1.5))
        deaths += 1
    assert run_child(server, journal, results) == 0
    with urllib.request.urlopen(f"{server}/_fake/stats") as response:  # noqa: S310
        stats = json.load(response)
    lines = results.read_text().splitlines()
    tags = sorted(int(line.split("\t")[0]) for line in lines)
    assert deaths >= 20
    assert stats["jobs_created"] == JOBS
    assert stats["duplicate_jobs"] == 0
    assert tags == list(range(JOBS))
    assert all(line.endswith("\tCompleted") for line in lines)


@pytest.mark.slow
def test_killed_during_a_create_the_resume_waits_out_409(tmp_path: Path) -> None:
    """Killed while HeyGen still works on a create: the resume gets 409, then it."""
    journal = tmp_path / "journal.sqlite"
    results = tmp_path / "results.tsv"
    with fake_server_process("--render-seconds", "0.1", "--create-delay", "1.5") as (
        _,
        url,
    ):
        code = run_child(url, journal, results, "during_post", "1", jobs=3)
        assert code == -signal.SIGKILL
        assert run_child(url, journal, results, jobs=3) == 0
        with urllib.request.urlopen(f"{url}/_fake/stats") as response:  # noqa: S310
            stats = json.load(response)
    assert stats["responses"]["POST /v3/videos"]["409"] >= 1
    assert stats["jobs_created"] == 3
    assert stats["duplicate_jobs"] == 0
    lines = sorted(results.read_text().splitlines())
    assert lines == ["0\tCompleted", "1\tCompleted", "2\tCompleted"]
