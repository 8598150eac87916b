"""`account`, `download`, `status --url`, `-v` / HEYGEN_LOG, `fake-server` lines."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import heygen_async as hg
from heygen_async._cli import main
from tests.helpers.cli import ThreadedFake, cli_command, cli_env, threaded_fake
from tests.helpers.fake import fake_server_process


@pytest.fixture(name="served")
def _served() -> Iterator[ThreadedFake]:
    """A fake server on a background thread, renders finishing at once."""
    with threaded_fake(render_seconds=0.0) as served:
        yield served


def _finished(served: ThreadedFake, count: int) -> list[str]:
    """Render *count* videos to the end with the SDK; return their ids."""

    async def render() -> list[str]:
        fast = hg.PollPolicy(interval_initial=0.01, interval_max=0.02)
        key, url = served.fake.api_key, served.url
        async with hg.Client(api_key=key, base_url=url, poll=fast) as c:
            ids = []
            for n in range(count):
                url = f"https://x.test/{n}.jpg"
                created = await c.create_video(
                    hg.VideoRequest(image_url=url, audio_url=url)
                )
                ids.append((await c.wait_for_video(created.id)).id)
            return ids

    return asyncio.run(render())


def test_account_shows_balance_plan_and_currency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A subscription's credits, and a wallet's USD, as a table or JSON."""
    with threaded_fake(billing_type="subscription", credits=42) as served:
        assert main(["account", "--json"], environ=served.environ()) == 0
        row = json.loads(capsys.readouterr().out)
        assert (row["balance"], row["currency"], row["plan"]) == (
            42.0,
            "credits",
            "pro",
        )
        assert row["billing_type"] == "subscription"
    with threaded_fake(credits=7) as served:
        assert main(["account"], environ=served.environ()) == 0
        out = capsys.readouterr().out
    assert re.search(r"balance\s+7\.0", out)
    assert re.search(r"currency\s+usd", out)


def test_download_saves_each_video_atomically(
    served: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each id becomes OUT/ID.mp4 (no .part left); an unknown id exits 1."""
    ids = _finished(served, 2)
    out = tmp_path / "videos"
    assert main(["download", *ids, "--out", str(out)], environ=served.environ()) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{i}.mp4" for i in ids)
    assert all(p.read_bytes()[4:8] == b"ftyp" for p in out.iterdir())
    printed = sorted(capsys.readouterr().out.splitlines())
    assert printed == sorted(str(out / f"{i}.mp4") for i in ids)
    code = main(
        ["download", ids[0], "v_missing", "--out", str(out)], environ=served.environ()
    )
    assert code == 1
    assert "v_missing" in capsys.readouterr().err
    assert not list(out.glob("*.part"))


def test_download_gets_fresh_urls(tmp_path: Path) -> None:
    """Links expire; download asks for the video again, so that does not matter."""
    with threaded_fake(render_seconds=0.0, url_ttl=0.05) as served:
        [video_id] = _finished(served, 1)
        asyncio.run(asyncio.sleep(0.1))
        code = main(
            ["download", video_id, "--out", str(tmp_path)], environ=served.environ()
        )
    assert code == 0
    assert (tmp_path / f"{video_id}.mp4").is_file()


def test_status_url_shows_fresh_links(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """--url adds each completed video's URL to the table and the JSON."""
    [video_id] = _finished(served, 1)
    assert main(["status", video_id, "--url", "--json"], environ=served.environ()) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["video_url"].startswith(served.url)
    assert main(["status", video_id, "--url"], environ=served.environ()) == 0
    out = capsys.readouterr().out
    assert "ERROR / URL" in out
    assert served.url in out


def test_missing_key_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a key, the message says both ways to give one."""
    assert main(["account"], environ={}) == 2
    err = capsys.readouterr().err
    assert "--api-key" in err
    assert "HEYGEN_API_KEY" in err


def test_verbose_and_heygen_log_show_the_sdks_log_in_the_cli_format() -> None:
    """A retried 503 says so before the run starts, in the CLI's format, -v or not."""
    fault = "error:GET:/v3/users/me:1.0:nth=1:status=503"
    with fake_server_process("--api-key", "k", "--fault", fault) as (_process, url):
        env = cli_env(HEYGEN_API_BASE=url, HEYGEN_API_KEY="k")
        quiet = subprocess.run(
            [*cli_command(), "account"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        loud = subprocess.run(
            [*cli_command(), "account"],
            env={**env, "HEYGEN_LOG": "debug"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert quiet.returncode == 0, quiet.stderr
    assert "heygen-async: WARNING heygen.retry_scheduled" in quiet.stderr
    assert "DEBUG" not in quiet.stderr
    assert loud.returncode == 0
    assert "heygen-async: DEBUG " in loud.stderr
    assert "x-api-key" not in loud.stderr.lower()


def test_dash_v_after_the_command_counts(served: ThreadedFake) -> None:
    """-v works before or after the command; -vv is debug."""
    from heygen_async._cli import build_parser
    from heygen_async._cli.common import log_level

    parser = build_parser()
    assert parser.parse_args(["account", "-vv"]).verbose == 2
    assert parser.parse_args(["-v", "account"]).verbose == 1
    assert parser.parse_args(["account"]).verbose == 0
    assert log_level(0, {"HEYGEN_LOG": "INFO"}) == 20
    assert log_level(2, {}) == 10
    assert log_level(0, {"HEYGEN_LOG": "nonsense"}) == 30


def test_fake_server_prints_export_lines_and_webhook_secrets() -> None:
    """The lines to paste work as they are; a --webhook-url gets a secret."""
    hook = "https://example.com/hooks"
    with fake_server_process(
        "--api-key", "paste-me", "--webhook-url", hook, "--webhook-scheme", "standard"
    ) as (process, url):
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(4)]
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert exports == {"HEYGEN_API_BASE": url, "HEYGEN_API_KEY": "paste-me"}
        [registered] = [line for line in lines if line.startswith("webhook endpoint")]
        assert f"-> {hook} (secret: whsec_" in registered
        # Standard Webhooks secrets are base64 key bytes (HeyGen's are hex).
        secret = registered.rsplit("whsec_", 1)[1].rstrip(")")
        assert len(base64.b64decode(secret, validate=True)) == 32
        done = subprocess.run(
            [*cli_command(), "account", "--json"],
            env=cli_env(**exports),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["currency"] == "usd"


def test_fake_server_refuses_a_webhook_url_that_is_not_http(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad --webhook-url is a usage error, before the server starts."""
    assert main(["fake-server", "--port", "0", "--webhook-url", "not a url"]) == 2
    assert "expected an http(s) URL, got 'not a url'" in capsys.readouterr().err
