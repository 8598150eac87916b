"""
The checks every request value type runs at construction.

Each returns a problem (a message naming the field) or ``None``, so a type
can collect them all and raise once (:func:`raise_all`): one fix round.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from heygen_async._config import MAX_SCRIPT_CHARS


# Request limits, and where each comes from. HeyGen's request schema
# (VideoCreate) sets no maxLength on any string; only the script's length is
# documented (usage limits page: "Script text: Maximum 5,000 characters",
# ``MAX_SCRIPT_CHARS``). The other caps are ours: generous, so that no real
# value trips them, yet a runaway one (a whole file pasted into a title)
# fails here instead of at a paid endpoint.
MAX_ID_CHARS = 256  # undocumented; HeyGen ids are 32 hex characters
MAX_URL_CHARS = 2_048  # undocumented; what browsers and CDNs reliably carry
MAX_TITLE_CHARS = 1_000  # undocumented; a dashboard label
MAX_PROMPT_CHARS = MAX_SCRIPT_CHARS  # undocumented; as long as a script
MAX_CALLBACK_ID_CHARS = 1_000  # undocumented; echoed back in webhooks
MAX_LOCALE_CHARS = 35  # a BCP 47 tag; RFC 5646 section 4.4.1 sizes them so
SHOWN = 40  # characters of a bad value quoted in a message


def shown(value: object) -> str:
    """A bad value for a message, cut short: it may be megabytes long."""
    if isinstance(value, str | bytes):
        cut = repr(value[: SHOWN + 1])
        return cut if len(value) <= SHOWN else f"{cut[:SHOWN]}..."
    if isinstance(value, int) and value.bit_length() > 64:
        return f"<{value.bit_length()}-bit int>"  # repr() refuses huge ints
    if isinstance(value, int | float | None):
        return repr(value)
    return f"<{type(value).__name__}>"  # a container's repr may be huge or deep


def got(value: object) -> str:
    """``int 42``, ``list``: the type of a wrong value, and the value if small."""
    as_shown = shown(value)
    name = type(value).__name__
    return name if as_shown == f"<{name}>" else f"{name} {as_shown}"


def raise_all(problems: list[str | None]) -> None:
    """One ValueError listing every problem found, so one fix round suffices."""
    found = [problem for problem in problems if problem is not None]
    if found:
        raise ValueError("; ".join(found))


def text(field: str, value: object, max_chars: int) -> str | None:
    """A problem with an optional text field: type, length, blankness."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"{field} must be a string; got {got(value)}"
    if not 1 <= len(value) <= max_chars:
        return f"{field} must be 1 to {max_chars} characters; got {len(value)}"
    if not value.strip():
        return f"{field} must not be blank (only whitespace)"
    return None


def url(field: str, value: object) -> str | None:
    """A problem with an optional URL: it must be absolute http(s)."""
    problem = text(field, value, MAX_URL_CHARS)
    if problem is not None or not isinstance(value, str):
        return problem
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        return f"{field} must be an http:// or https:// URL; got {shown(value)}"
    if any(char.isspace() for char in value):
        return f"{field} must not contain whitespace; got {shown(value)}"
    return None


def number(field: str, value: object, low: float, high: float) -> str | None:
    """A problem with an optional number: a finite int or float in range."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{field} must be a number; got {got(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{field} must be a finite number; got {value!r}"
    if not low <= value <= high:
        return f"{field} must be between {low} and {high}; got {shown(value)}"
    return None


def flag(field: str, value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return f"{field} must be True or False; got {got(value)}"


def choice(field: str, value: object, choices: tuple[str, ...]) -> str | None:
    if value is None or (isinstance(value, str) and value in choices):
        return None
    return f"{field} must be one of {', '.join(choices)}; got {shown(value)}"


def instance(field: str, value: object, cls: type) -> str | None:
    if value is None or isinstance(value, cls):
        return None
    return f"{field} must be a {cls.__name__}; got {got(value)}"


def exactly_one(what: str, **fields: object) -> str | None:
    given = [name for name, value in fields.items() if value is not None]
    if len(given) == 1:
        return None
    names = ", ".join(fields)
    detail = f"got {', '.join(given)}" if given else "got none"
    return f"{what}: pass exactly one of {names} ({detail})"
