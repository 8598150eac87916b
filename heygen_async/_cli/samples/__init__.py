"""
Sample photos for ``heygen-async demo``: two dozen small cartoon portraits.

They ship inside the wheel as package data. ``_portraits`` draws them with
nothing but ``zlib`` and ``struct``; see its docstring to regenerate them.
"""

from __future__ import annotations

from pathlib import Path


__all__ = ["PHOTOS_DIR", "photos"]

PHOTOS_DIR = Path(__file__).parent / "photos"


def photos() -> list[Path]:
    """The sample portraits, sorted by name."""
    return sorted(PHOTOS_DIR.glob("*.png"))
