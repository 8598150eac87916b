"""
The pytest plugin, as a user meets it: a fresh project, one test file, no conftest.

Each test writes a test file into an empty folder and runs pytest on it in a
subprocess with the installed package, under pytest-asyncio (auto and strict
mode), anyio (with and without pytest-asyncio loaded) and in sync tests. When
this suite measures coverage, the subprocess adds its own to the same data.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import coverage
import pytest


pytestmark = pytest.mark.slow

# Every user test file below starts with these lines.
HEADER = """\
import urllib.request

import pytest

import heygen_async as hg
from heygen_async.testing import FakeHeyGen


async def request(client):
    voice = await anext(aiter(client.iter_voices()))
    image = "https://example.com/a.jpg"
    return hg.VideoRequest(image_url=image, script="Hi", voice_id=voice.id)
"""

# The same behaviour, written once; each mode adds its own marker.
ASYNC_TESTS = """
{mark}
async def test_render(heygen_client, heygen_fake):
    video = await heygen_client.render(await request(heygen_client))
    assert video.video_url
    assert heygen_fake.stats.jobs_created == 1
    assert heygen_client.base_url == heygen_fake.url
    assert heygen_client.poll == hg.PollPolicy.for_testing()


{mark}
@pytest.mark.heygen_fake(failure_rate=1.0, silent_failure_rate=0.0, render_seconds=0.01)
async def test_marker_knobs(heygen_client):
    with pytest.raises(hg.VideoFailedError):
        await heygen_client.render(await request(heygen_client))


{mark}
@pytest.mark.parametrize("heygen_fake", [{{"credits": 0}}], indirect=True)
@pytest.mark.heygen_client(strict=True)
async def test_indirect_parameter_and_client_marker(heygen_client, heygen_fake):
    assert heygen_client.strict
    assert heygen_fake.credits == 0
    with pytest.raises(hg.InsufficientCreditError):
        await heygen_client.create_video(await request(heygen_client))


{mark}
async def test_fake_alone(heygen_fake):
    assert isinstance(heygen_fake, FakeHeyGen)
    async with hg.Client(api_key=heygen_fake.api_key, base_url=heygen_fake.url) as c:
        assert (await c.get_me()).billing_type == "wallet"
"""

SYNC_TESTS = """
@pytest.mark.heygen_fake(api_key="sync-key")
def test_sync_fake_on_a_thread(heygen_fake):
    assert heygen_fake.api_key == "sync-key"
    with urllib.request.urlopen(heygen_fake.url + "/_fake/stats") as answer:
        assert answer.status == 200
"""

MISUSE_TESTS = """
def test_client_in_a_sync_test(heygen_client):
    pass


@pytest.mark.heygen_fake(0.5)
def test_positional_marker(heygen_fake):
    pass


@pytest.mark.parametrize("heygen_fake", [0.5], indirect=True)
def test_param_not_a_dict(heygen_fake):
    pass
"""

LOOP_SCOPE = "-o asyncio_default_fixture_loop_scope=function"


def _coverage_prefix() -> list[str]:
    """``coverage run`` into this run's data, when this run measures coverage."""
    current = coverage.Coverage.current()
    if current is None:
        return []
    data_file = os.path.abspath(current.config.data_file)
    rcfile = Path(__file__).resolve().parents[2] / "pyproject.toml"
    return [
        "-m",
        "coverage",
        "run",
        "--parallel-mode",
        f"--rcfile={rcfile}",
        f"--data-file={data_file}",
    ]


def run_user_suite(folder: Path, source: str, *args: str) -> tuple[int, str]:
    """Pytest on *source* in *folder*, as a user runs it: no conftest, no ini."""
    (folder / "test_user.py").write_text(textwrap.dedent(source))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("PYTHONPATH", None)  # the installed package, not this checkout
    command = [sys.executable, *_coverage_prefix(), "-m", "pytest", "-p"]
    command += ["no:cacheprovider", "-q", "--strict-markers", *args]
    done = subprocess.run(
        command,
        check=False,
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(autouse=True)
def _plugin_installed() -> None:
    names = {ep.name for ep in entry_points(group="pytest11")}
    assert "heygen_async" in names, "reinstall the package: pip install -e '.[dev]'"


@pytest.mark.parametrize(
    ("mark", "args"),
    [
        pytest.param("", ["-o", "asyncio_mode=auto", *LOOP_SCOPE.split()], id="auto"),
        pytest.param(
            "@pytest.mark.asyncio",
            ["-o", "asyncio_mode=strict", *LOOP_SCOPE.split()],
            id="strict",
        ),
        pytest.param(
            '@pytest.mark.asyncio(loop_scope="module")',
            ["-o", "asyncio_mode=strict", *LOOP_SCOPE.split()],
            id="module-loop",
        ),
        pytest.param("@pytest.mark.anyio", [*LOOP_SCOPE.split()], id="anyio"),
        pytest.param(
            "@pytest.mark.anyio", ["-p", "no:asyncio"], id="anyio-without-asyncio"
        ),
    ],
)
def test_fixtures_in_a_fresh_project(
    tmp_path: Path, mark: str, args: list[str]
) -> None:
    """Under each runner, both fixtures work and their knobs apply."""
    source = HEADER + ASYNC_TESTS.format(mark=mark) + SYNC_TESTS
    rc, output = run_user_suite(tmp_path, source, "-W", "error", *args)
    assert rc == 0, output
    assert "5 passed" in output, output


def test_misuse_fails_with_a_message(tmp_path: Path) -> None:
    """A client in a sync test, an unhandled async test, bad knobs: clear errors."""
    source = (
        HEADER + MISUSE_TESTS + "\n\nasync def test_no_runner(heygen_fake):\n    pass\n"
    )
    rc, output = run_user_suite(tmp_path, source, "-p", "no:asyncio", "-p", "no:anyio")
    assert rc == 1, output
    assert "heygen_client needs an async test" in output
    assert "neither pytest-asyncio nor anyio runs it" in output
    assert "takes keyword arguments only" in output
    assert "must be a dict; got 0.5" in output
    assert "4 error" in output, output
