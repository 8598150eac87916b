"""
Draw the demo's sample portraits: small, distinct, dependency-free PNGs.

Each portrait is a flat cartoon bust (background, shoulders, neck, head,
hair, eyes, mouth) whose colours and hair style come from the person's
index, so the set is the same on every machine. The PNGs are committed under
``photos/``; regenerate them with ``python -m heygen_async._cli.samples._portraits``.
"""

from __future__ import annotations

import struct
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path


WIDTH = 96
HEIGHT = 120

NAMES: tuple[str, ...] = (
    "ada", "bruno", "chen", "dara", "emeka", "farah", "gus", "hana",
    "ivan", "jade", "kofi", "lena", "mateo", "nia", "omar", "priya",
    "quinn", "rosa", "sami", "tara", "umar", "vera", "wen", "yara",
)  # fmt: skip

Color = tuple[int, int, int]

_BACKGROUNDS: tuple[Color, ...] = (
    (120, 170, 220), (240, 200, 120), (170, 220, 170), (230, 150, 160),
    (190, 170, 230), (140, 210, 210), (250, 230, 180), (200, 200, 200),
)  # fmt: skip
_SKINS: tuple[Color, ...] = (
    (255, 220, 185), (241, 194, 150), (224, 172, 125),
    (198, 134, 90), (141, 85, 54), (96, 60, 40),
)  # fmt: skip
_HAIRS: tuple[Color, ...] = (
    (40, 30, 25), (110, 70, 40), (220, 190, 110), (170, 60, 30), (140, 140, 140),
)  # fmt: skip
_SHIRTS: tuple[Color, ...] = (
    (50, 80, 160), (180, 40, 50), (40, 130, 80), (90, 60, 120),
    (230, 120, 30), (30, 30, 30), (0, 140, 150),
)  # fmt: skip
_EYES: Color = (30, 30, 40)
_MOUTH: Color = (150, 50, 60)


def _inside(x: int, y: int, cx: float, cy: float, rx: float, ry: float) -> bool:
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def pixels(index: int) -> list[list[Color]]:
    """The RGB rows of portrait *index*."""
    background = _BACKGROUNDS[index % len(_BACKGROUNDS)]
    skin = _SKINS[(index * 5 + 1) % len(_SKINS)]
    hair = _HAIRS[(index * 3) % len(_HAIRS)]
    shirt = _SHIRTS[(index * 2 + 3) % len(_SHIRTS)]
    style = index % 4  # 0 short, 1 long, 2 bald, 3 tall
    head_rx = 20 + index % 3 * 2
    head_ry = 25 + (index // 3) % 3 * 2
    cx, cy = WIDTH / 2, 48.0
    rows: list[list[Color]] = []
    for y in range(HEIGHT):
        shade = 1.0 - 0.25 * y / HEIGHT
        row: list[Color] = []
        for x in range(WIDTH):
            color: Color = (
                int(background[0] * shade),
                int(background[1] * shade),
                int(background[2] * shade),
            )
            if style == 1 and _inside(x, y, cx, cy + 14, head_rx + 7, head_ry + 14):
                color = hair
            if _inside(x, y, cx, HEIGHT + 8, 44, 34):
                color = shirt
            elif abs(x - cx) <= 8 and cy < y < cy + head_ry + 14:
                color = skin
            if _inside(x, y, cx, cy, head_rx, head_ry):
                color = skin
                top = cy - head_ry * (0.35 if style == 3 else 0.5)
                if style != 2 and y < top:
                    color = hair
                if abs(y - (cy - 3)) <= 2 and abs(abs(x - cx) - 8) <= 2:
                    color = _EYES
                if abs(y - (cy + 12)) <= 1 and abs(x - cx) <= 6 + index % 3:
                    color = _MOUTH
            row.append(color)
        rows.append(row)
    return rows


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def raw_rows(index: int) -> bytes:
    """The uncompressed PNG scanlines (filter byte 0, then RGB) of *index*."""
    return b"".join(
        b"\x00" + bytes(channel for pixel in row for channel in pixel)
        for row in pixels(index)
    )


def png(index: int) -> bytes:
    """Portrait *index* as a complete PNG file."""
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw_rows(index), 9))
        + _chunk(b"IEND", b"")
    )


def write_all(directory: Path) -> list[Path]:
    """Write every portrait into *directory*; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for index, name in enumerate(NAMES):
        path = directory / f"{name}.png"
        path.write_bytes(png(index))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the shipped photos (or write them to ``argv[0]``)."""
    args = sys.argv[1:] if argv is None else list(argv)
    target = Path(args[0]) if args else Path(__file__).parent / "photos"
    for path in write_all(target):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
