"""The `heygen-async fake-server` command, in-process and as a real subprocess."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from importlib import metadata

import pytest
import requests

from heygen_async import _cli
from heygen_async._cli import main
from tests._fake_helpers import fake_server_process


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_fake_server_serves_until_sigterm(capsys: pytest.CaptureFixture[str]) -> None:
    """main() prints the URL first, serves with its options, exits 0 on SIGTERM."""
    port = free_port()
    seen: list[dict[str, object]] = []

    def use_then_stop() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                response = requests.get(
                    f"http://127.0.0.1:{port}/v3/users/me",
                    headers={"x-api-key": "k"},
                    timeout=2,
                )
            except requests.ConnectionError:
                time.sleep(0.01)
                continue
            if response.status_code == 200:  # our fake, signal handlers installed
                seen.append(response.json()["data"])
                os.kill(os.getpid(), signal.SIGTERM)
            return

    thread = threading.Thread(target=use_then_stop)
    thread.start()
    code = main(
        [
            "fake-server",
            "--port",
            str(port),
            "--api-key",
            "k",
            "--render-seconds",
            "0.1:0.2",
            "--concurrency-limit",
            "none",
            "--credits",
            "7",
            "--no-bulk-statuses",
            "--seed",
            "3",
        ],
        environ={},
    )
    thread.join()
    assert code == 0
    assert seen[0]["wallet"]["remaining_balance"] == 7  # type: ignore[index]
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == (
        f"HeyGen fake server listening on http://127.0.0.1:{port} (api key: k)"
    )
    assert "stopped after 1 requests, 0 videos" in err


def test_port_in_use_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """A port that is taken is reported on stderr with exit status 1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert main(["fake-server", "--port", str(port)]) == 1
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fake-server", "--render-seconds", "soon"], "expected SECONDS or LOW:HIGH"),
        (["fake-server", "--render-seconds", "5:x"], "expected SECONDS or LOW:HIGH"),
        (["fake-server", "--concurrency-limit", "many"], "expected a whole number"),
        (["fake-server", "--port", "http"], "invalid int value"),
        (["bake-server"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Malformed arguments are usage errors (exit 2) with argparse's message."""
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["fake-server", "--failure-rate", "2"],
        ["fake-server", "--render-seconds", "5:1"],
        ["fake-server", "--concurrency-limit", "-3"],
    ],
)
def test_invalid_knobs_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """Values FakeHeyGen rejects are reported on stderr with exit status 2."""
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("heygen-async fake-server: ")


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a command the help goes to stderr and the status is 2."""
    assert main([]) == 2
    assert "fake-server" in capsys.readouterr().err


def test_help_and_version_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help and --version print and exit 0."""
    assert main(["fake-server", "--help"]) == 0
    assert "--render-seconds" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("heygen-async ")


def test_version_without_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """An uninstalled checkout reports version "unknown"."""

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert _cli._version() == "unknown"


def test_run_exits_with_mains_status(monkeypatch: pytest.MonkeyPatch) -> None:
    """run() is sys.exit(main()) over sys.argv."""
    monkeypatch.setattr(sys, "argv", ["heygen-async"])
    with pytest.raises(SystemExit) as exc:
        _cli.run()
    assert exc.value.code == 2


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_subprocess_prints_url_and_stops_on_signal(signum: signal.Signals) -> None:
    """`python -m heygen_async fake-server` prints its URL, exits 0 on a signal."""
    with fake_server_process("--api-key", "sub-key", "--render-seconds", "0") as (
        process,
        url,
    ):
        response = requests.get(
            f"{url}/v3/users/me", headers={"x-api-key": "sub-key"}, timeout=5
        )
        assert response.status_code == 200
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert "stopped after 1 requests" in process.stderr.read()
