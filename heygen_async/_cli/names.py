"""
Output file names: safe on every platform, unique within one run.

Inputs come from untrusted places (manifests, URLs, other people's folders),
so a name is folded to ASCII and cleared of anything a file system would
refuse or misread (separators, leading dots, Windows device names) before it
becomes a file in ``--out``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence


__all__ = ["safe_name", "unique_names"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(1, 10)}
    | {f"lpt{n}" for n in range(1, 10)}
)


def safe_name(stem: str, *, max_length: int = 80) -> str:
    """
    A file-name stem that is safe on every platform, from untrusted *stem*.

    Letters are folded to ASCII, anything outside ``[A-Za-z0-9._-]`` becomes
    ``_``, leading dots and reserved device names are avoided, and the
    length is capped. Never empty.
    """
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", folded).strip("._-")[:max_length].strip("._-")
    if not cleaned:
        return "video"
    if cleaned.split(".", 1)[0].lower() in _RESERVED:
        cleaned = f"_{cleaned}"
    return cleaned


def unique_names(stems: Sequence[str], suffixes: Sequence[str]) -> list[str]:
    """Safe file names for *stems*, made unique (case-insensitively) in order."""
    taken: set[str] = set()
    names = []
    for stem, suffix in zip(stems, suffixes, strict=True):
        base = safe_name(stem)
        name = f"{base}{suffix}"
        counter = 1
        while name.lower() in taken:
            counter += 1
            name = f"{base}-{counter}{suffix}"
        taken.add(name.lower())
        names.append(name)
    return names
