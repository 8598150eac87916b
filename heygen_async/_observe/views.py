"""
What event hooks see of one HTTP attempt: frozen views, the API key redacted.

Hooks get copies, not the live request: a hook can log or trace a request
but never change what is sent, and never read the key.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from multidict import CIMultiDict, CIMultiDictProxy


__all__ = ["REDACTED", "RequestInfo", "ResponseInfo", "redact"]

REDACTED = "[redacted]"
# Compared lower-cased: header names are case-insensitive.
_SECRET_HEADERS = frozenset(
    {"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"}
)


def redact(headers: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only, case-insensitive copy of *headers*, credentials replaced."""
    return CIMultiDictProxy(
        CIMultiDict(
            (name, REDACTED if name.lower() in _SECRET_HEADERS else value)
            for name, value in headers.items()
        )
    )


@attrs.frozen(kw_only=True)
class RequestInfo:
    """
    One HTTP attempt as a ``"request"`` hook sees it, just before it is sent.

    Attributes:
        method: ``GET``, ``POST``, ...
        url: The full URL, query string included.
        route: The path template, e.g. ``/v3/videos/{video_id}``: group by it,
            not by *url*, to keep ids out of your metrics.
        headers: The request headers (read-only, case-insensitive); the API
            key reads ``[redacted]``.
        attempt: 1 for the first try, 2 for the first retry, ...
    """

    method: str
    url: str
    route: str
    headers: Mapping[str, str] = attrs.field(eq=False)
    attempt: int


@attrs.frozen(kw_only=True)
class ResponseInfo:
    """
    One HTTP answer as a ``"response"`` hook sees it, before it is checked.

    Every answer is shown, errors and 429s included; a transport failure
    (no answer) is not.

    Attributes:
        request: The attempt this answers.
        status: The HTTP status.
        headers: The response headers (credentials redacted).
        request_id: HeyGen's ``X-Request-Id``, to quote to support.
        elapsed: Seconds from sending the request to reading the answer.
    """

    request: RequestInfo
    status: int
    headers: Mapping[str, str] = attrs.field(eq=False)
    request_id: str | None
    elapsed: float
