"""
What travels on the wire, read defensively: the pieces of ``_http`` that
need no session.

Capped body reading, depth-checked JSON decoding, success-envelope checks,
the mapping of error responses onto :mod:`heygen_async.exceptions`,
``Retry-After`` parsing and the ``data`` / list envelopes. All of it is plain
functions of bytes and headers, so hostile input is tested without a server.
"""

from __future__ import annotations

import array
import email.utils
import itertools
import json as jsonlib
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import aiohttp

from ._config import Limits
from .exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientCreditError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)


__all__ = [
    "JSONTooDeepError",
    "Response",
    "api_error",
    "data_of",
    "decode_success",
    "load_json",
    "located",
    "page_of",
    "parse_retry_after",
    "read_capped",
]

_D = TypeVar("_D")

# Error class by HeyGen ``code`` first, then by HTTP status. Unknown 4xx fall
# back to APIError, unknown 5xx to ServerError.
_ERRORS: Mapping[str | int, type[APIError]] = {
    "insufficient_credit": InsufficientCreditError,
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitError,
}

# Codes for error bodies that are not HeyGen's envelope (gateway HTML, ...).
_STATUS_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    402: "insufficient_credit",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limit_exceeded",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}

_READ_CHUNK = 64 * 1024
_ERROR_DEPTH = 16  # an error envelope is two levels deep


class Response(NamedTuple):
    """One HTTP answer, read in full or up to the body cap."""

    status: int
    body: bytes
    headers: Mapping[str, str]
    reason: str
    oversize: bool = False

    @property
    def request_id(self) -> str | None:
        return self.headers.get("X-Request-Id")

    def error(self) -> APIError:
        retry_after = parse_retry_after(self.headers.get("Retry-After"))
        return api_error(
            self.status, self.body, self.reason, self.request_id, retry_after
        )


async def read_capped(resp: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """The body, read up to *limit* bytes, and whether there was more."""
    if resp.content_length is not None:
        # aiohttp reads exactly Content-Length bytes: one read, no chunk loop.
        if resp.content_length > limit:
            return b"", True
        return await resp.read(), False
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def decode_success(response: Response, name: str, limits: Limits) -> Any:
    if response.oversize:
        what = f"a body larger than {limits.max_body_bytes} bytes"
        raise _invalid(response, name, what)
    if not response.body.strip():
        return None
    try:
        decoded = load_json(response.body, max_depth=limits.max_json_depth)
    except JSONTooDeepError as exc:
        what = f"JSON nested deeper than {limits.max_json_depth} levels"
        raise _invalid(response, name, what) from exc
    except ValueError as exc:
        raise _invalid(response, name, "a body that is not JSON") from exc
    if isinstance(decoded, dict) and _is_error(decoded.get("error")):
        # Some endpoints answer 200 with an error envelope; it is still an error.
        raise response.error()
    return decoded


def _is_error(member: Any) -> bool:
    """
    Whether a 2xx body's ``error`` member is an error envelope.

    Only HeyGen's error shape counts (an object with a string ``code`` or
    ``message``): ``null``, ``[]``, ``1`` or an unrelated object is not, and
    refusing the answer to a paid POST over one would report a job we paid
    for as failed.
    """
    if not isinstance(member, dict):
        return False
    return any(isinstance(member.get(key), str) for key in ("code", "message"))


def _invalid(response: Response, name: str, what: str) -> ResponseValidationError:
    msg = f"{name} returned {response.status} with {what}"
    if response.request_id:
        msg += f" (request_id={response.request_id})"
    return ResponseValidationError(
        msg, route=name, status=response.status, request_id=response.request_id
    )


def located(
    error: ResponseValidationError, name: str, response: Response
) -> ResponseValidationError:
    """*error*, from parsing a body, told which request and answer it was."""
    msg = f"{name}: {error}"
    if response.request_id:
        msg += f" (request_id={response.request_id})"
    return ResponseValidationError(
        msg,
        route=name,
        fields=error.fields,
        status=response.status,
        request_id=response.request_id,
    )


class JSONTooDeepError(ValueError):
    """A JSON text nests arrays and objects deeper than allowed."""


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 / -1 as signed bytes
_SCAN = 1 << 16


def load_json(body: bytes, *, max_depth: int) -> Any:
    """
    Decode JSON whose nesting is checked first, so no input recurses deeply.

    The check runs at C speed: strings are cut out, brackets become +1/-1
    steps, and running sums are taken a chunk at a time, stopping at the
    first chunk that goes too deep.

    Raises:
        JSONTooDeepError: Deeper than *max_depth*.
        ValueError: Not JSON.
    """
    if body.count(b"[") + body.count(b"{") > max_depth:
        skeleton = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
        _check_depth(skeleton.translate(_STEPS), max_depth)
    return jsonlib.loads(body)


def _check_depth(steps: bytes, max_depth: int) -> None:
    depth = 0
    for start in range(0, len(steps), _SCAN):
        chunk = array.array("b", steps[start : start + _SCAN])
        running = list(itertools.accumulate(chunk, initial=depth))
        if max(running) > max_depth:
            msg = f"JSON nested deeper than {max_depth} levels"
            raise JSONTooDeepError(msg)
        if min(running) < 0:
            break
        depth = running[-1]
    else:
        if depth == 0:
            return
    msg = "unbalanced brackets"
    raise ValueError(msg)


def api_error(
    status: int,
    body: bytes,
    reason: str,
    request_id: str | None,
    retry_after: float | None,
) -> APIError:
    """Map an error response onto the exception tree, by code then status."""
    default_code = _STATUS_CODES.get(
        status, "server_error" if status >= 500 else "client_error"
    )
    code, message = default_code, f"HTTP {status} {reason}".strip()
    param = doc_url = None
    try:
        decoded = load_json(body, max_depth=_ERROR_DEPTH) if body.strip() else None
    except ValueError:
        decoded = None  # HTML from a gateway, plain text, too deep, ...
    if isinstance(decoded, dict):
        envelope = decoded.get("error")
        if isinstance(envelope, dict):
            code = _str_or(envelope.get("code"), code)
            message = _str_or(envelope.get("message"), message)
            param = _str_or(envelope.get("param"), None)
            doc_url = _str_or(envelope.get("doc_url"), None)
        elif isinstance(envelope, str):
            message = envelope
        elif isinstance(decoded.get("message"), str):
            message = decoded["message"]
    cls = _ERRORS.get(code) or _ERRORS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    fields: dict[str, Any] = {
        "status": status,
        "code": code,
        "message": message,
        "param": param,
        "request_id": request_id,
        "doc_url": doc_url,
    }
    if issubclass(cls, RateLimitError):
        fields["retry_after"] = retry_after
    return cls(**fields)


def _str_or(value: object, default: _D) -> str | _D:
    return value if isinstance(value, str) and value else default


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def data_of(body: Any, name: str) -> Any:
    """The ``data`` member of a single-resource envelope."""
    if not isinstance(body, dict) or "data" not in body:
        msg = f"{name} returned no 'data' envelope"
        raise ResponseValidationError(msg)
    return body["data"]


def page_of(body: Any, name: str) -> tuple[list[Any], str | None]:
    """The items of a list envelope and the next page's token (None at the end)."""
    data = data_of(body, name)
    if not isinstance(data, list):
        msg = f"{name} returned a non-list 'data' for a list endpoint"
        raise ResponseValidationError(msg)
    token = body.get("next_token")
    if not body.get("has_more") or not isinstance(token, str) or not token:
        return data, None
    return data, token
