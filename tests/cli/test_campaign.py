"""One campaign, the same command in many processes, some of them SIGKILLed."""

from __future__ import annotations

import argparse
import csv
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import heygen_async as hg
from heygen_async._cli import main
from heygen_async._cli.campaign import _run_shards, check_args, record_result, shard_of
from heygen_async._cli.common import poll_policy
from heygen_async._cli.inputs import Defaults, collect
from heygen_async._cli.run import RunConfig
from tests.helpers.cli import FAST, VOICE_ID, threaded_fake
from tests.helpers.fake import fake_server_process
from tests.helpers.redis import RedisServer


JOBS = 1000
SHARDS = 16
PROCESSES = 8
KILLED = 2
CAP = 10


@pytest.fixture(name="server")
def _server() -> Iterator[str]:
    """A fake HeyGen in its own process, millisecond renders, a cap of 10."""
    with fake_server_process(
        "--render-seconds", "0.02:0.1", "--concurrency-limit", str(CAP)
    ) as (_, url):
        yield url


def stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_fake/stats") as response:  # noqa: S310
        found: dict[str, Any] = json.load(response)
    return found


def write_manifest(path: Path, jobs: int) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "image_url", "script"])
        for i in range(jobs):
            writer.writerow([f"p{i}", f"https://example.com/p{i}.jpg", f"Take {i}"])


def command(url: str, redis: str, manifest: Path, out: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "heygen_async", "render", str(manifest)),
        *("--redis", redis, "--campaign", "spring", "--shards", str(SHARDS)),
        *("--lease", "3", "--voice-id", VOICE_ID, "--poll-interval", "0.02"),
        *("--base-url", url, "--api-key", "fake-api-key"),
        *("--no-download", "--json", "--out", str(out)),
    ]


@pytest.mark.slow
def test_campaign_survives_killed_machines(
    server: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    """1,000 jobs, 16 shards, 8 processes, 2 SIGKILLed: each job paid once."""
    manifest = tmp_path / "manifest.csv"
    write_manifest(manifest, JOBS)
    logs = [tmp_path / f"stderr{i}.txt" for i in range(PROCESSES)]
    procs = []
    for i, log in enumerate(logs):
        with log.open("w") as stderr:
            procs.append(
                subprocess.Popen(
                    command(server, redis_server.url, manifest, tmp_path / f"out{i}"),
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            )
    try:
        deadline = time.monotonic() + 60
        while stats(server)["jobs_created"] < JOBS // 4:
            assert time.monotonic() < deadline, "the campaign never got going"
            time.sleep(0.02)
        for proc in procs[:KILLED]:
            proc.send_signal(signal.SIGKILL)
        codes = [proc.wait(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    errors = [log.read_text()[-2000:] for log in logs[KILLED:]]
    assert codes == [-signal.SIGKILL] * KILLED + [0] * (PROCESSES - KILLED), errors
    # A dead process's shard was taken over and resumed from its journal.
    assert any("Resuming:" in log.read_text() for log in logs[KILLED:])
    found = stats(server)
    assert found["jobs_created"] == JOBS
    assert found["duplicate_jobs"] == 0
    # Every machine shared the account's cap: HeyGen never refused a create.
    assert found["responses"]["POST /v3/videos"].get("429", 0) == 0
    assert found["peak_in_flight"] <= CAP
    out = tmp_path / "all"
    argv = ["results", "--redis", redis_server.url, "--campaign", "spring"]
    assert main([*argv, "--out", str(out)], environ={}) == 0
    rows = [
        json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()
    ]
    assert len(rows) == JOBS
    assert {row["input"] for row in rows} == {f"{manifest}#p{i}" for i in range(JOBS)}
    assert {row["status"] for row in rows} == {"completed"}
    assert len({row["video_id"] for row in rows}) == JOBS


def test_campaign_options_are_checked_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A half-given campaign, or a journal option it cannot honour, exits 2."""
    base = ["render", "https://example.com/a.jpg", "--script", "hi"]
    for extra, needle in (
        (["--campaign", "c"], "need --redis"),
        (["--redis", "redis://127.0.0.1:1"], "needs --campaign"),
        (["--redis", "r", "--campaign", "c", "--shards", "2", "--fresh"], "fresh"),
    ):
        assert main([*base, *extra, "--out", str(tmp_path)], environ={}) == 2
        assert needle in capsys.readouterr().err
    args = argparse.Namespace(redis=None, campaign=None, shards=None)
    assert check_args(args) is None
    assert shard_of("manifest.csv#ada", 16) == shard_of("manifest.csv#ada", 16) < 16


def test_results_of_a_missing_campaign_or_redis(
    redis_server: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No such campaign exits 2; no Redis at all exits 1; both say why."""
    argv = ["results", "--redis", redis_server.url, "--campaign", "nope"]
    assert main([*argv, "--out", str(tmp_path)], environ={}) == 2
    assert "no campaign" in capsys.readouterr().err
    gone = ["results", "--redis", "redis://127.0.0.1:1/0", "--campaign", "c"]
    assert main([*gone, "--out", str(tmp_path)], environ={}) == 1
    assert "Redis at --redis failed" in capsys.readouterr().err


def test_journal_rows_become_result_lines() -> None:
    """Each journaled outcome has its results.jsonl line; retired ones none."""

    def row(**fields: Any) -> hg.JobRecord:
        return hg.JobRecord(key="k", seq=0, tag="t", request={}, **fields)

    video = {"id": "v1", "video_url": "https://x/v.mp4", "failure_code": "oops"}
    assert record_result(row(outcome="retired")) is None
    done = record_result(row(outcome="completed", detail={"video": video}))
    assert done is not None
    assert (done.status, done.video_id, done.video_url) == (
        "completed",
        "v1",
        "https://x/v.mp4",
    )
    failed = record_result(row(outcome="failed", detail={"video": video}))
    assert failed is not None
    assert failed.error == "oops"
    refused = record_result(
        row(outcome="failed", detail={"error": {"message": "bad voice"}})
    )
    assert refused is not None
    assert refused.error == "bad voice"
    late = record_result(row(outcome="timed_out", video_id="v2"))
    assert late is not None
    assert (late.status, late.video_id) == ("timed_out", "v2")
    pending = record_result(row())
    assert pending is not None
    assert pending.status == "pending"


def test_campaign_in_one_process(
    redis_server: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every shard in turn; a rerun sends nothing; another split is refused."""
    manifest = tmp_path / "manifest.csv"
    write_manifest(manifest, 6)
    with threaded_fake() as served:

        def render(
            *extra: str,
            shards: int = 3,
            redis: str = redis_server.url,
            inputs: Path = manifest,
        ) -> int:
            argv = [
                *("render", str(inputs), "--redis", redis, "--campaign", "one"),
                *("--shards", str(shards), *FAST, "--no-download", "--json"),
                *("--base-url", served.url, "--api-key", served.fake.api_key),
                *("--out", str(tmp_path / "out")),
            ]
            return main([*argv, *extra], environ={})

        assert render("--voice-id", VOICE_ID) == 0
        assert served.stats.jobs_created == 6
        err = capsys.readouterr().err
        assert sorted(line for line in err.splitlines() if "Shard" in line) == [
            f"Shard {i}: {n} jobs"
            for i, n in enumerate(
                [
                    sum(shard_of(f"{manifest}#p{j}", 3) == i for j in range(6))
                    for i in range(3)
                ]
            )
        ]
        before = served.stats.total_requests
        assert render("--voice-id", VOICE_ID) == 0  # the campaign is done
        # The voice check and the balance only.
        assert served.stats.total_requests == before + 2
        assert render("--voice-id", VOICE_ID, shards=4) == 2
        assert "shards=4 does not match the campaign" in capsys.readouterr().err
        # The same manifest by another path: other tags, other keys.
        (tmp_path / "copy").mkdir()
        copy = tmp_path / "copy" / "manifest.csv"
        copy.write_bytes(manifest.read_bytes())
        assert render("--voice-id", VOICE_ID, inputs=copy) == 2
        assert "the same inputs" in capsys.readouterr().err
        # Shards not done (as if their machines died) hold other requests.
        with redis.Redis.from_url(redis_server.url) as raw:
            raw.delete("hg:{heygen}:campaign:one:done")
        assert render("--voice-id", VOICE_ID, "--title", "Other {name}") == 2
        assert "another script, voice or options" in capsys.readouterr().err
        assert render("--voice-id", "no-such-voice") == 2
        assert "does not exist" in capsys.readouterr().err
        gone = "redis://127.0.0.1:1/0"
        assert render("--voice-id", VOICE_ID, redis=gone) == 1
        assert "Redis at --redis failed" in capsys.readouterr().err
    out = tmp_path / "all"
    argv = ["results", "--redis", redis_server.url, "--campaign", "one"]
    assert main([*argv, "--out", str(out)], environ={}) == 0
    assert "6 jobs in 3 shards (6 completed)" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["render", "results"])
def test_without_the_redis_extra_the_cli_says_what_to_install(
    tmp_path: Path, command: str
) -> None:
    """No redis package: exit 2 with the install hint, not a traceback."""
    argv = ["--redis", "redis://127.0.0.1:1/0", "--campaign", "c"]
    if command == "render":
        argv = ["https://e.com/a.jpg", "--script", "hi", "--voice-id", "v", *argv]
        argv += ["--shards", "2", "--api-key", "k", "--base-url", "http://127.0.0.1:1"]
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "from heygen_async._cli import main\n"
        f"sys.exit(main({[command, *argv, '--out', str(tmp_path)]!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'heygen-async[redis]'" in done.stderr


def test_a_campaign_over_the_balance_sends_nothing_unless_yes(
    redis_server: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The campaign is estimated whole, less what was sent, before any shard."""
    manifest = tmp_path / "m.csv"
    rows = "".join(f"p{i},https://example.com/p{i}.jpg\n" for i in range(3))
    manifest.write_text("name,image_url\n" + rows)
    minute = " ".join(["word"] * 150)  # 60 s, 6 usd at the default rate
    with threaded_fake(credits=5) as served:

        def render(*extra: str) -> int:
            argv = [
                *("render", str(manifest), "--script", minute, "--voice-id", VOICE_ID),
                *("--redis", redis_server.url, "--campaign", "paid", "--shards", "2"),
                *(*FAST, "--no-download", "--json", "--out", str(tmp_path / "out")),
                *("--base-url", served.url, "--api-key", served.fake.api_key),
            ]
            return main([*argv, *extra], environ={})

        assert render() == 2
        assert served.stats.jobs_created == 0
        err = capsys.readouterr().err
        assert "~18.00 usd (estimated)" in err
        assert "above the balance (5.00 usd); nothing was sent" in err
        with redis.Redis.from_url(redis_server.url) as raw:
            assert not raw.keys("hg:{heygen}:campaign:paid*")  # nothing claimed
        assert render("--yes") == 0
        assert served.stats.jobs_created == 3
        capsys.readouterr()
        # Every job was sent: nothing left to pay for, so nothing to refuse.
        assert render() == 0
        assert "Estimate" not in capsys.readouterr().err
        assert served.stats.jobs_created == 3


async def test_a_shard_another_process_took_over_is_not_a_failure(
    redis_server: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shard lost past --lease is left to its new holder; the next one runs."""
    manifest = tmp_path / "m.csv"
    write_manifest(manifest, 4)
    jobs = collect([str(manifest)], Defaults(voice_id=VOICE_ID))
    args = argparse.Namespace(shards=1, campaign="over", json=True)
    config = RunConfig(out=tmp_path, download=False, emit=False, poll=poll_policy(0.01))
    (tmp_path / ".heygen").mkdir()
    # Another process took shard 0 over while this one was stalled.
    holder = hg.RedisStore(redis_server.url, "over/0", run_id="over/0")
    await holder.open()

    async def leased() -> AsyncIterator[tuple[int, hg.JobStore]]:
        yield 0, hg.RedisStore(redis_server.url, "over/0", run_id="over/0")
        yield 0, hg.MemoryStore()  # the next shard this process claims

    try:
        with threaded_fake() as served:
            async with hg.Client(
                api_key=served.fake.api_key, base_url=served.url
            ) as client:
                code = await _run_shards(client, jobs, config, args, {}, leased())
            created = served.stats.jobs_created
    finally:
        await holder.close()
    assert code == 0
    assert created == 4  # by the next shard only
    assert "Shard 0: taken over by another process" in capsys.readouterr().err
