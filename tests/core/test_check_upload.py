"""check_upload: a local file checked as an upload would be, reading its first bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

import heygen_async as hg
from heygen_async.testing import Fault
from tests.helpers import png


def test_types_by_content_not_name(tmp_path: Path) -> None:
    """A PNG named .jpg is a PNG; a WAV is fine unless images only."""
    photo = tmp_path / "a.jpg"
    photo.write_bytes(png())
    assert hg.check_upload(photo) == "image/png"
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF\0\0\0\0WAVEfmt ")
    assert hg.check_upload(str(wav)) == "audio/wav"
    with pytest.raises(ValueError, match="not a PNG or JPEG file"):
        hg.check_upload(wav, images_only=True)
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a PNG, JPEG, MP3, WAV, MP4 or WebM"):
        hg.check_upload(text)


def test_missing_and_oversized_files(tmp_path: Path) -> None:
    """A missing file is an OSError; one over 32 MiB a ValueError with its size."""
    with pytest.raises(FileNotFoundError):
        hg.check_upload(tmp_path / "missing.png")
    big = tmp_path / "big.png"
    with big.open("wb") as file:
        file.write(png())
        file.truncate(32 * 1024 * 1024 + 1)
    with pytest.raises(ValueError, match="33554433 bytes is over the 32 MiB"):
        hg.check_upload(big)


def test_fault_spec_and_kinds_are_on_the_class() -> None:
    """The help text's spec and kinds come from Fault itself; every kind parses."""
    assert Fault.SPEC.startswith("KIND:ROUTE:PROBABILITY")
    for kind in Fault.KINDS:
        assert Fault.parse(f"{kind}:*:0.5").kind == kind
