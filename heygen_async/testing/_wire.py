"""
The HeyGen v3 wire format as the fake speaks it.

Every route answers through these helpers so envelopes stay uniform:
``{"data": ...}`` for one resource, ``{"data": [...], "has_more",
"next_token"}`` for lists, and ``{"error": {"code", "message", "param",
"doc_url"}}`` for errors. Handlers raise :class:`ApiError` instead of building
error responses by hand.
"""

from __future__ import annotations

import base64
import binascii
import http
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web


DOC_URL = "https://developers.heygen.com/docs/error-codes"

_DEFAULT_CODES: dict[int, str] = {
    400: "invalid_parameter",
    401: "unauthorized",
    402: "insufficient_credit",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limit_exceeded",
    504: "gateway_timeout",
}


def default_code(status: int) -> str:
    """The error code HeyGen uses for *status* when nothing more specific fits."""
    if status in _DEFAULT_CODES:
        return _DEFAULT_CODES[status]
    return "internal_error" if status >= 500 else "invalid_request"


def reason(status: int) -> str:
    """The standard reason phrase for *status* (``"Bad Gateway"``)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def format_seconds(seconds: float) -> str:
    """A ``Retry-After`` value: ``1`` for whole seconds, ``0.05`` otherwise."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"


class ApiError(Exception):
    """An error the fake answers with, in HeyGen's error envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        doc_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.doc_url = doc_url
        self.headers = dict(headers or {})

    def to_response(self) -> web.Response:
        """The JSON response for this error."""
        return error_response(
            self.status,
            self.code,
            self.message,
            param=self.param,
            doc_url=self.doc_url,
            headers=self.headers,
        )


def invalid(message: str, param: str | None = None) -> ApiError:
    """A 400 ``invalid_parameter`` error."""
    return ApiError(400, "invalid_parameter", message, param=param)


def not_found(code: str, message: str) -> ApiError:
    """A 404 with a resource-specific *code*."""
    return ApiError(404, code, message)


def rate_limited(retry_after: float, message: str) -> ApiError:
    """A 429 ``rate_limit_exceeded`` carrying ``Retry-After``."""
    return ApiError(
        429,
        "rate_limit_exceeded",
        message,
        headers={"Retry-After": format_seconds(retry_after)},
    )


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    doc_url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """``{"error": {...}}`` with *status*."""
    error = {"code": code, "message": message, "param": param, "doc_url": doc_url}
    return web.json_response({"error": error}, status=status, headers=headers)


def data_response(data: Mapping[str, Any]) -> web.Response:
    """``{"data": {...}}`` with status 200."""
    return web.json_response({"data": data})


def list_response(
    items: list[dict[str, Any]], *, next_token: str | None = None
) -> web.Response:
    """A list page: ``has_more`` and ``next_token`` sit beside ``data``."""
    return web.json_response(
        {"data": items, "has_more": next_token is not None, "next_token": next_token}
    )


def encode_token(position: int) -> str:
    """An opaque pagination cursor for *position*."""
    return base64.urlsafe_b64encode(f"p:{position}".encode()).decode().rstrip("=")


def decode_token(token: str | None) -> int | None:
    """The position inside a cursor made by :func:`encode_token`."""
    if token is None or token == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "p" or not number.isdigit():
            raise ValueError(raw)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid("token is not a valid pagination token.", "token") from None


def parse_limit(query: Mapping[str, str], *, default: int, maximum: int = 100) -> int:
    """The ``limit`` query parameter, 1 to *maximum*."""
    raw = query.get("limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        msg = f"limit must be an integer between 1 and {maximum}."
        raise invalid(msg, "limit")
    return limit


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400."""
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        raise invalid("Request body must be valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object.")
    return body
