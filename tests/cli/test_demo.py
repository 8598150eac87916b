"""`heygen-async demo`: sample photos, the embedded fake, the request comparison."""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import pytest

from heygen_async._cli import main
from heygen_async._cli.demo import demo_poll_policy, polling_requests
from heygen_async._cli.samples import PHOTOS_DIR, _portraits, photos
from tests.helpers.cli import cli_command


def idat(data: bytes) -> bytes:
    """The decompressed image data of a PNG (the pixels, however compressed)."""
    chunks, position = [], 8
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            chunks.append(data[position + 8 : position + 8 + length])
        position += 12 + length
    return zlib.decompress(b"".join(chunks))


def test_sample_photos_ship_and_match_their_generator(tmp_path: Path) -> None:
    """Two dozen distinct PNG portraits ship, exactly as _portraits draws them."""
    shipped = photos()
    assert len(shipped) == 24
    assert [p.stem for p in shipped] == sorted(_portraits.NAMES)
    assert len({idat(p.read_bytes()) for p in shipped}) == 24
    assert _portraits.main([str(tmp_path)]) == 0
    for photo in shipped:
        fresh = (tmp_path / photo.name).read_bytes()
        assert fresh[:8] == b"\x89PNG\r\n\x1a\n"
        assert idat(fresh) == idat(photo.read_bytes())
    assert PHOTOS_DIR.is_dir()


@pytest.mark.parametrize(
    ("seconds", "requests"),
    [(0.5, 2), (2.0, 2), (2.1, 3), (6.0, 3), (14.0, 4), (30.0, 5), (31.0, 6)],
)
def test_per_job_polling_estimate(seconds: float, requests: int) -> None:
    """Create plus GETs at 2, 6, 14, 30, 60... seconds until one sees the end."""
    assert polling_requests(seconds) == requests


def test_demo_policy_is_the_default_compressed() -> None:
    """The demo polls like the default policy, only faster."""
    policy = demo_poll_policy(10)
    assert (policy.interval_initial, policy.interval_max) == (0.5, 1.5)
    assert policy.deadline == 120.0


def test_demo_in_process(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo needs no key, renders every sample and compares request counts."""
    monkeypatch.chdir(tmp_path)
    code = main(["demo", "--speed", "1000", "--json"], environ={})
    assert code == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 24
    assert len(list((tmp_path / "heygen-demo").glob("*.mp4"))) == 24
    assert "Demo summary" in err
    assert "per-job polling" in err
    assert "The estimate assumes one coroutine per video" in err
    assert "saved" in err
    assert "small placeholders the fake server makes" in err


def test_demo_failures_and_no_download(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With failures the demo reports them and exits 1; --no-download saves nothing."""
    monkeypatch.chdir(tmp_path)
    code = main(
        ["demo", "--speed", "1000", "--failure-rate", "0.5", "--no-download"],
        environ={},
    )
    assert code == 1
    assert not list(tmp_path.rglob("*.mp4"))
    err = capsys.readouterr().err
    assert "FAILED" in err
    assert "placeholders" not in err  # nothing downloaded, nothing to explain


def test_installed_command_runs_the_demo(tmp_path: Path) -> None:
    """The installed `heygen-async demo` works from a clean folder, offline."""
    result = subprocess.run(
        [*cli_command(), "demo", "--speed", "500", "--out", "videos"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "videos").glob("*.mp4"))) == 24
    assert "HTTP requests" in result.stderr
    assert len(result.stdout.splitlines()) == 24  # stdout is a pipe: data lines


def test_demo_refuses_an_unusable_out(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An --out that cannot be a folder is a usage error."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("x")
    assert main(["demo", "--out", "file"], environ={}) == 2
    assert "--out file: cannot use it" in capsys.readouterr().err
