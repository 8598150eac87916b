"""The `heygen-async fake-server` command, in-process and as a real subprocess."""

from __future__ import annotations

import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from importlib import metadata

import pytest
import requests

from heygen_async._cli import fake_server, main
from heygen_async._cli import parser as cli_parser
from heygen_async._cli import run as cli_run
from heygen_async.testing import FakeHeyGen, Fault
from heygen_async.testing._voices import VOICES
from tests.helpers.fake import create, fake_server_process, serve, video_body


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
    assert cli_parser._version() == "unknown"


def test_only_fake_server_loads_aiohttp_web() -> None:
    """Building the parser and running other commands never imports aiohttp.web."""
    code = (
        "import sys\n"
        "from heygen_async._cli import build_parser, main\n"
        "build_parser().parse_args(['status', 'v1'])\n"
        "for command in ('voices', 'status', 'render', 'demo'):\n"
        "    assert main([command, '--help']) == 0\n"
        "assert 'aiohttp.web' not in sys.modules, 'loaded too early'\n"
        "assert main(['fake-server', '--help']) == 0\n"
        "assert 'aiohttp.web' in sys.modules, 'never loaded'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_fake_server_defaults_are_fake_heygens() -> None:
    """Options that mirror a FakeHeyGen field default to that field's default."""
    parser = cli_parser.build_parser()
    args = parser.parse_args(["fake-server"])
    server = fake_server._fake_heygen(args)
    own = {"port", "render_seconds", "avatar_training_seconds"}
    mirrored = [
        name
        for name in inspect.signature(FakeHeyGen).parameters
        if name in vars(args) and name not in own | {"faults"}
    ]
    assert len(mirrored) == 14  # webhook_scheme and webhook_delay too
    for name in mirrored:
        assert getattr(server, name) == getattr(FakeHeyGen(), name), name
    assert (server.port, server.render_seconds) == (8080, (5.0, 15.0))
    assert server.avatar_training_seconds == 5.0


def test_run_exits_with_mains_status(monkeypatch: pytest.MonkeyPatch) -> None:
    """run() is sys.exit(main()) over sys.argv."""
    monkeypatch.setattr(sys, "argv", ["heygen-async"])
    with pytest.raises(SystemExit) as exc:
        cli_run()
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


CREATE_BODY = {
    "image_url": "https://example.com/person.jpg",
    "script": "Hello!",
    "voice_id": VOICES[0].voice_id,
    "title": "delayed",
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "error:POST:/v3/videos:0.1:status=500",
            Fault(kind="error", route="POST /v3/videos", probability=0.1, status=500),
        ),
        (
            "malformed:POST /v3/videos:0.05:after",
            Fault(
                kind="malformed",
                route="POST /v3/videos",
                probability=0.05,
                phase="after",
            ),
        ),
        (
            "rate_limit:get:/v3/videos/statuses:0:nth=5,6,7:retry_after=0.2",
            Fault(
                kind="rate_limit",
                route="GET /v3/videos/statuses",
                nth=(5, 6, 7),
                retry_after=0.2,
            ),
        ),
        (
            " slow:*:0.5:before:delay=1.5 ",
            Fault(kind="slow", probability=0.5, delay=1.5),
        ),
        (
            "html:GET:/v3/videos/{video_id}:1:status=502:code=bad_gateway",
            Fault(
                kind="html",
                route="GET /v3/videos/{video_id}",
                probability=1.0,
                status=502,
                code="bad_gateway",
            ),
        ),
    ],
)
def test_fault_parse(spec: str, expected: Fault) -> None:
    """Fault.parse reads KIND:ROUTE:PROBABILITY[:PHASE][:OPTION=VALUE...]."""
    assert Fault.parse(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("error", "expected KIND:ROUTE:PROBABILITY"),
        ("bogus:*:0.1", "KIND must be one of error, html, drop"),
        ("error:*", "PROBABILITY is missing"),
        ("error:*:often", "PROBABILITY must be a number"),
        ("error:FETCH:/v3/videos:0.1", "ROUTE must be '*', 'POST:/v3/videos'"),
        ("error:*:1.5", "'probability' must be <= 1.0"),
        ("error:*:0.1:sideways", "unknown part 'sideways'"),
        ("error:*:0.1:after:nth", "unknown part 'nth'"),
        ("error:*:0.1:colour=red", "unknown part 'colour=red'"),
        ("error:*:0:nth=first", "nth takes whole numbers"),
        ("error:*:0", "this Fault never strikes"),
        ("error:*:0.1:status=200", "'status' must be >= 400"),
        ("slow:*:0.1:delay=soon", "delay must be a number"),
    ],
)
def test_fault_parse_errors_name_the_part(spec: str, message: str) -> None:
    """A malformed spec is a ValueError that quotes the spec and the bad part."""
    with pytest.raises(ValueError, match=re.escape(message)) as exc:
        Fault.parse(spec)
    assert repr(spec) in str(exc.value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fault", "bogus:*:0.1"], "argument --fault: fault 'bogus:*:0.1'"),
        (["--fault", "error:*"], "PROBABILITY is missing"),
        (["--create-delay", "-1"], "argument --create-delay: expected SECONDS >= 0"),
        (["--create-delay", "nan"], "expected SECONDS >= 0"),
        (["--create-delay", "later"], "expected SECONDS >= 0"),
    ],
)
def test_fault_flag_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Bad --fault or --create-delay values are usage errors with the reason."""
    assert main(["fake-server", *argv]) == 2
    assert message in capsys.readouterr().err


def test_fault_on_unknown_route_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A well-formed fault on a route the fake does not serve is refused."""
    assert main(["fake-server", "--fault", "error:GET:/v3/nowhere:0.5"]) == 2
    err = capsys.readouterr().err
    assert "'GET /v3/nowhere' is not a FakeHeyGen route" in err


def test_help_documents_fault_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    """--help explains the fault syntax with examples."""
    assert main(["fake-server", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--fault SPEC" in out
    assert "--create-delay SECONDS" in out
    assert "--fault malformed:POST:/v3/videos:0.05:after" in out
    assert '"drop:GET /v3/videos/statuses:0.1"' in out


def test_fault_flags_strike_through_the_subprocess() -> None:
    """--fault specs (colon and quoted-space routes) are armed in a real server."""
    with fake_server_process(
        "--render-seconds",
        "0",
        "--fault",
        "error:POST:/v3/videos:0:nth=1:status=500",
        "--fault",
        "html:GET /v3/users/me:0:nth=1,2:status=502",
        "--fault",
        "malformed:POST:/v3/videos:0:nth=3:after",
    ) as (_, url):
        headers = {"x-api-key": "fake-api-key"}
        with requests.Session() as http:
            http.headers.update(headers)
            me = [http.get(f"{url}/v3/users/me", timeout=5) for _ in range(3)]
            assert [r.status_code for r in me] == [502, 502, 200]
            assert me[0].headers["Content-Type"].startswith("text/html")
            posts = [
                http.post(f"{url}/v3/videos", json=CREATE_BODY, timeout=5)
                for _ in range(3)
            ]
            assert [r.status_code for r in posts] == [500, 200, 200]
            assert posts[0].json()["error"]["code"] == "internal_error"
            with pytest.raises(ValueError, match="Expecting"):
                posts[2].json()  # truncated, but the video exists
            stats = http.get(f"{url}/_fake/stats", timeout=5).json()
            videos = http.get(f"{url}/_fake/videos", timeout=5).json()["videos"]
    assert stats["faults_injected"] == 4
    assert stats["jobs_created"] == 2
    assert [v["index"] for v in videos] == [0, 1]
    assert videos[0]["id"] == posts[1].json()["data"]["video_id"]


def test_create_delay_answers_after_the_video_exists() -> None:
    """--create-delay: the video is billed at once, the answer comes later."""
    with fake_server_process("--render-seconds", "0", "--create-delay", "1") as (
        _,
        url,
    ):
        headers = {"x-api-key": "fake-api-key", "Idempotency-Key": "job-1"}
        answers: list[tuple[float, requests.Response]] = []

        def create() -> None:
            response = requests.post(
                f"{url}/v3/videos", json=CREATE_BODY, headers=headers, timeout=10
            )
            answers.append((time.monotonic(), response))

        thread = threading.Thread(target=create)
        thread.start()
        videos: list[dict[str, object]] = []
        deadline = time.monotonic() + 10
        while not videos and time.monotonic() < deadline:
            videos = requests.get(f"{url}/_fake/videos", timeout=5).json()["videos"]
        seen_at = time.monotonic()
        retry = requests.post(
            f"{url}/v3/videos", json=CREATE_BODY, headers=headers, timeout=10
        )
        thread.join()
        replay = requests.post(
            f"{url}/v3/videos", json=CREATE_BODY, headers=headers, timeout=10
        )
        final = requests.get(f"{url}/_fake/videos", timeout=5).json()["videos"]
    answered_at, answer = answers[0]
    assert answered_at - seen_at > 0.5  # billed long before the client heard
    assert retry.status_code == 409  # a retry meanwhile: the key is in progress
    assert retry.json()["error"]["code"] == "request_in_progress"
    assert answer.status_code == 200
    video_id = answer.json()["data"]["video_id"]
    assert replay.json()["data"]["video_id"] == video_id
    assert len(final) == 1
    assert final[0]["id"] == video_id
    assert final[0]["idempotency_key"] == "job-1"
    assert final[0]["title"] == "delayed"
    assert final[0]["status"] == "completed"
    assert final[0]["request"] == CREATE_BODY


async def test_fake_videos_lists_what_was_billed() -> None:
    """GET /_fake/videos: every video, in creation order, with key and status."""
    async with serve(render_seconds=0) as (fake, session):
        first = await create(session, title="one")
        async with session.post(
            "/v3/videos",
            json=video_body(title="two"),
            headers={"Idempotency-Key": "key-2"},
        ) as resp:
            second = (await resp.json())["data"]["video_id"]
        async with session.get("/_fake/videos") as resp:
            assert resp.status == 200
            videos = (await resp.json())["videos"]
        assert fake.stats.total_requests == 2  # the judge's reads are not counted
    assert [v["id"] for v in videos] == [first, second]
    assert [v["title"] for v in videos] == ["one", "two"]
    assert [v["idempotency_key"] for v in videos] == [None, "key-2"]
    assert [v["status"] for v in videos] == ["completed", "completed"]
    assert videos[1]["request"] == video_body(title="two")
