"""
Regenerate ``sample_photo.png``, the stand-in portrait the examples upload.

A 96x96 PNG drawn with the standard library only (zlib + struct), so the
repository ships no downloaded binaries. Run it from anywhere::

    python examples/make_sample_photo.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


SIZE = 96
HERE = Path(__file__).resolve().parent


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _pixel(x: int, y: int) -> tuple[int, int, int]:
    """A face-ish disc on a blue-grey backdrop: enough to look like a portrait."""
    cx, cy = SIZE / 2, SIZE / 2.2
    inside = (x - cx) ** 2 / 900 + (y - cy) ** 2 / 1300 <= 1
    if inside:
        eye = y in range(34, 40) and (x in range(34, 40) or x in range(56, 62))
        mouth = y in range(56, 59) and x in range(38, 58)
        return (60, 40, 40) if eye or mouth else (236, 196, 160)
    return (70 + y // 2, 90 + y // 3, 130 + x // 3)


def png_bytes() -> bytes:
    """The sample portrait as PNG bytes (8-bit RGB, no interlace)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(_pixel(x, y)) for x in range(SIZE))
        for y in range(SIZE)
    )
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    target = HERE / "sample_photo.png"
    target.write_bytes(png_bytes())
    print(f"wrote {target} ({target.stat().st_size} bytes)")
