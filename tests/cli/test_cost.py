"""`render --dry-run` and the spending checks: the plan, the balance, --yes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from heygen_async._cli import main
from heygen_async._cli.cost import Plan, confirm
from tests.helpers.cli import (
    FAST,
    VOICE_ID,
    ThreadedFake,
    cli_command,
    cli_env,
    copy_photos,
    threaded_fake,
)
from tests.helpers.fake import fake_server_process


# 150 words: 60 s at the default 150 words a minute; 6 usd/credits at 0.1 a second.
MINUTE = " ".join(["word"] * 150)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own empty folder."""
    monkeypatch.chdir(tmp_path)


def _posts(stats: Any) -> int:
    return sum(n for route, n in stats.requests.items() if route.startswith("POST"))


def test_dry_run_prints_the_plan_and_sends_nothing_paid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """3 photos, 2 identical: 3 jobs, 2 uploads, ~180 s; no POST at all."""
    with threaded_fake() as served:
        photos = copy_photos(Path("p"), 2)
        Path("p", "copy.png").write_bytes(photos[0].read_bytes())
        argv = ["render", "p", "--script", MINUTE, "--voice-id", VOICE_ID, "--dry-run"]
        code = main(argv, environ=served.environ())
        stats = served.stats
    assert code == 0
    assert _posts(stats) == 0
    assert stats.uploads == 0
    assert stats.jobs_created == 0
    out, err = capsys.readouterr()
    assert "Plan (dry run: nothing was uploaded or created)" in out
    assert "jobs     3" in out
    assert "uploads  2 distinct images" in out
    assert "video    180 s (estimated)" in out
    assert "cost     ~18.00 usd (estimated)" in out
    assert "everything checks out" in err
    assert not Path("heygen-out").exists()


def test_dry_run_lists_every_problem_at_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A missing photo, a bad row and an unknown voice: all three, exit 2."""
    Path("m.csv").write_text(
        "image_url,script,voice_id\n"
        "https://example.com/a.jpg,Hi,nope\n"
        "https://example.com/b.jpg,,\n"
        "https://example.com/c.jpg,Hi," + VOICE_ID + "\n"
    )
    with threaded_fake() as served:
        argv = ["render", "m.csv", "missing.png", "--dry-run"]
        code = main(argv, environ=served.environ())
        stats = served.stats
    assert code == 2
    assert _posts(stats) == 0
    err = capsys.readouterr().err
    assert "3 problems" in err
    assert "missing.png" in err
    assert "m.csv line 3" in err
    assert "voice 'nope' does not exist" in err


def test_a_run_over_the_balance_sends_nothing_unless_yes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 5 usd wallet does not cover ~6 usd: exit 2, nothing sent; --yes runs."""
    with threaded_fake(credits=5) as served:
        copy_photos(Path("p"), 1)
        argv = ["render", "p", "--script", MINUTE, "--voice-id", VOICE_ID, *FAST]
        assert main(argv, environ=served.environ()) == 2
        assert _posts(served.stats) == 0
        err = capsys.readouterr().err
        assert "above the balance (5.00 usd); nothing was sent" in err
        assert main([*argv, "--dry-run"], environ=served.environ()) == 2
        assert _posts(served.stats) == 0
        assert main([*argv, "--yes"], environ=served.environ()) == 0
        assert served.stats.jobs_created == 1
    err = capsys.readouterr().err
    assert "video seconds  60 s actual (1 videos); ~60 s estimated for 1" in err
    row = json.loads(Path("heygen-out", "results.jsonl").read_text())
    assert row["duration"] == 60.0


def test_dry_run_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the plan and the problems as one object on stdout."""
    with threaded_fake(credits=5) as served:
        copy_photos(Path("p"), 1)
        argv = ["render", "p", "--script", MINUTE, "--voice-id", "nope"]
        code = main([*argv, "--dry-run", "--json"], environ=served.environ())
    assert code == 2
    plan = json.loads(capsys.readouterr().out)
    assert plan["jobs"] == plan["creates"] == plan["uploads"] == 1
    assert (plan["estimated_seconds"], plan["estimated_cost"]) == (60.0, 6.0)
    assert (plan["unit"], plan["balance"], plan["over_balance"]) == ("usd", 5.0, True)
    assert plan["unknown_length_jobs"] == 0
    assert len(plan["problems"]) == 1
    assert "voice 'nope' does not exist" in plan["problems"][0]


def test_rates_are_configurable(capsys: pytest.CaptureFixture[str]) -> None:
    """--usd-per-second 0.01 brings a minute down to 0.60 usd, under 5."""
    with threaded_fake(credits=5) as served:
        copy_photos(Path("p"), 1)
        argv = ["render", "p", "--script", MINUTE, "--voice-id", VOICE_ID]
        code = main(
            [*argv, "--dry-run", "--usd-per-second", "0.01"], environ=served.environ()
        )
    assert code == 0
    assert "~0.60 usd (estimated)" in capsys.readouterr().out


def _plan(served: ThreadedFake) -> Plan:
    import asyncio

    from heygen_async import Client, Pricing
    from heygen_async._cli.cost import make_plan
    from heygen_async._cli.inputs import Defaults, collect

    copy_photos(Path("p"), 1)
    jobs = collect(["p"], Defaults(script=MINUTE, voice_id=VOICE_ID))

    async def plan() -> Plan:
        async with Client(environ=served.environ()) as client:
            return await make_plan(client, jobs, Pricing())

    return asyncio.run(plan())


def test_confirm_over_asks_on_a_terminal_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Above --confirm-over, a terminal is asked; 'y' starts, anything else not."""
    with threaded_fake() as served:
        plan = _plan(served)
    asked: list[str] = []

    def answer(text: str) -> str:
        asked.append(text)
        return "y"

    assert confirm(plan, over=5, interactive=True, ask=answer)
    assert asked == [""]
    assert "above --confirm-over 5. Start it? [y/N] " in capsys.readouterr().err
    assert not confirm(plan, over=5, interactive=True, ask=lambda _: "")
    assert confirm(plan, over=5, interactive=False, ask=lambda _: "")
    assert confirm(plan, over=10, interactive=True, ask=lambda _: "")
    assert confirm(plan, over=None, interactive=True, ask=lambda _: "")

    def closed(_text: str) -> str:
        raise EOFError

    def interrupted(_text: str) -> str:
        raise KeyboardInterrupt

    assert not confirm(plan, over=5, interactive=True, ask=closed)
    assert not confirm(plan, over=5, interactive=True, ask=interrupted)


def test_dry_run_through_the_real_cli_and_a_fake_server_process() -> None:
    """The installed command against `fake-server`: plan printed, no POST made."""
    copy_photos(Path("p"), 2)
    key = "fake-key"
    with fake_server_process("--render-seconds", "0", "--api-key", key) as (
        process,
        url,
    ):
        stats_before = requests.get(f"{url}/_fake/stats", timeout=5).json()
        argv = ["render", "p", "--script", "Hi", "--voice-id", VOICE_ID, "--dry-run"]
        done = subprocess.run(
            [*cli_command(), *argv],
            env=cli_env(HEYGEN_API_BASE=url, HEYGEN_API_KEY=key),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        stats = requests.get(f"{url}/_fake/stats", timeout=5).json()
    assert done.returncode == 0, done.stderr
    assert "jobs     2" in done.stdout
    posts = {r: n for r, n in stats["requests"].items() if r.startswith("POST")}
    assert posts == {}
    assert stats["jobs_created"] == stats_before["jobs_created"] == 0
    assert process.returncode is None or process.returncode in (0, -15)


def test_a_resumed_run_counts_only_what_it_will_send(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Jobs an earlier run paid for are not counted against what is left."""
    quarter = " ".join(["word"] * 15)  # 6 s: ~0.60 usd each
    with threaded_fake(credits=2) as served:
        copy_photos(Path("p"), 2)
        argv = ["render", "p", "--script", quarter, "--voice-id", VOICE_ID, *FAST]
        assert main(argv, environ=served.environ()) == 0
        assert served.call(lambda: served.fake.credits) == 0
        capsys.readouterr()
        assert main(argv, environ=served.environ()) == 0
        assert served.stats.jobs_created == 2
    err = capsys.readouterr().err
    assert "creates  0; 2 sent by an earlier run, not counted" in err
    assert "cost     ~0.00 usd (estimated)" in err


def test_confirm_over_on_a_real_terminal_sends_nothing_when_told_no() -> None:
    """The installed command on a pty: it asks, 'n' stops it (exit 2, no POST)."""
    import os
    import pty
    import select

    copy_photos(Path("p"), 1)
    with threaded_fake() as served:
        leader, follower = pty.openpty()
        argv = ["render", "p", "--script", MINUTE, "--voice-id", VOICE_ID]
        with subprocess.Popen(
            [*cli_command(), *argv, "--confirm-over", "1"],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=follower,
            env=cli_env(**served.environ(), TERM="dumb", NO_COLOR="1"),
        ) as process:
            os.close(follower)
            seen = b""
            while b"[y/N]" not in seen:
                ready, _, _ = select.select([leader], [], [], 30)
                assert ready, seen
                seen += os.read(leader, 4096)
            os.write(leader, b"n\n")
            assert process.wait(timeout=30) == 2
        os.close(leader)
        assert _posts(served.stats) == 0
    assert b"~6.00 usd" in seen
