"""
The only code that performs API HTTP.

One :class:`HTTP` per client sends every request: auth and identification
headers, a timeout by kind of call, the shared :class:`~._throttle.Throttle`,
the retry loop, envelope checks and the mapping of error responses and aiohttp
failures onto :mod:`heygen_async.exceptions`.

What is retried (HeyGen documents 429 + ``Retry-After`` on every endpoint;
POST is only safe to repeat with an ``Idempotency-Key``):

- 429 on any method, waiting ``Retry-After`` (capped, no jitter) and telling
  the throttle so every other caller waits too;
- 5xx and transport errors on GET and DELETE, and on POST only when it carries
  an ``Idempotency-Key`` (a retried keyed POST is replayed, never duplicated);
- 409 ``request_in_progress`` on a keyed POST (the first try is still running).

Nothing else: a timed-out POST without a key may have created a paid job.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import functools
import importlib.metadata
import json as jsonlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

import aiohttp

from . import _backoff
from ._config import RetryPolicy, Timeouts
from ._throttle import Throttle
from .exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    HeyGenError,
    InsufficientCreditError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    ServerError,
    TransportError,
)


__all__ = [
    "HTTP",
    "Form",
    "api_error",
    "data_of",
    "last_request_id",
    "page_of",
    "parse_retry_after",
]

log = logging.getLogger("heygen_async.http")

_D = TypeVar("_D")

Form = Callable[[], aiohttp.FormData]
"""Builds a fresh multipart body for each attempt (a FormData is single-use)."""

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

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "PUT"})

# Per task (and so per call chain): the body decoders above this layer can
# name the response they could not read without threading headers through.
_request_id: ContextVar[str | None] = ContextVar(
    "heygen_async.request_id", default=None
)


def last_request_id() -> str | None:
    """The ``X-Request-Id`` of the last response this task received, if any."""
    return _request_id.get()


@functools.cache
def sdk_version() -> str:
    """The installed distribution's version, for the User-Agent."""
    try:
        return importlib.metadata.version("heygen-async")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - dev tree
        return "0+unknown"


class _Response(NamedTuple):
    """One HTTP answer, read in full."""

    status: int
    body: bytes
    headers: Mapping[str, str]
    reason: str

    @property
    def request_id(self) -> str | None:
        return self.headers.get("X-Request-Id")

    def error(self) -> APIError:
        retry_after = parse_retry_after(self.headers.get("Retry-After"))
        return api_error(
            self.status, self.body, self.reason, self.request_id, retry_after
        )


class HTTP:
    """
    Sends requests for one client. Strictly private.

    Args:
        api_key: Sent as ``x-api-key``; never logged or put in errors.
        base_url: ``https://api.heygen.com`` or a fake server's URL.
        user_agent: Appended to ``heygen-async/<version>``.
        retry: How calls are retried.
        timeouts: Per-kind request timeouts.
        throttle: The client's shared back-pressure.
        session: Returns the (lazily created) aiohttp session to use.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        user_agent: str | None,
        retry: RetryPolicy,
        timeouts: Timeouts,
        throttle: Throttle,
        session: Callable[[], aiohttp.ClientSession],
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        agent = f"heygen-async/{sdk_version()}"
        self._user_agent = f"{agent} {user_agent}" if user_agent else agent
        self._retry = retry
        self._timeouts = timeouts
        self._throttle = throttle
        self._session = session
        self.counts: collections.Counter[str] = collections.Counter()

    def __repr__(self) -> str:
        return f"<heygen_async.HTTP base_url={self._base_url!r}>"

    async def call(
        self,
        method: str,
        route: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        form: Form | None = None,
        idempotency_key: str | None = None,
        retry_on_rate_limit: bool = True,
    ) -> Any:
        """
        Send one logical request, retrying as the policy allows.

        Args:
            method: ``GET``, ``POST``, ``DELETE``, ...
            route: The path template, e.g. ``/v3/videos/{video_id}``; it names
                the request in counts and logs (ids and queries stay out).
            path: Values for the template's placeholders (URL-quoted here).
            params: Query parameters.
            json: A JSON body.
            form: A multipart body factory (uploads).
            idempotency_key: Makes a POST safe to retry; reused on every try.
            retry_on_rate_limit: ``False`` raises a 429 at once (after telling
                the throttle) so a batch can requeue the job itself.

        Returns:
            The decoded JSON body (``None`` for an empty one).
        """
        method = method.upper()
        name = f"{method} {route}"
        if path is None:
            url = self._base_url + route
        else:
            quoted = {k: quote(v, safe="") for k, v in path.items()}
            url = self._base_url + route.format(**quoted)
        headers = {
            "x-api-key": self._api_key,
            "User-Agent": self._user_agent,
            "Accept": "application/json",
        }
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if form is not None:
            timeout = self._timeouts.upload
        elif method in ("GET", "HEAD", "DELETE"):
            timeout = self._timeouts.read
        else:
            timeout = self._timeouts.write
        replay_safe = method in _IDEMPOTENT_METHODS or idempotency_key is not None
        policy = self._retry
        waits = _backoff.waits(policy)
        started = time.monotonic()
        attempt = 0
        _request_id.set(None)
        while True:
            attempt += 1
            await self._throttle.acquire()
            remaining = _remaining(policy, started)
            if remaining is not None:
                timeout = max(min(timeout, remaining), 1e-3)
            self.counts[name] += 1
            try:
                response = await self._send(
                    method,
                    url,
                    name,
                    headers=headers,
                    params=params,
                    json=json,
                    form=form,
                    seconds=timeout,
                )
            except TransportError as exc:  # RequestTimeoutError included
                error: HeyGenError = exc
                wait = next(waits) if replay_safe else None
            else:
                _request_id.set(response.request_id)
                log.debug(
                    "heygen.response method=%s route=%s status=%d attempt=%d "
                    "elapsed=%.3f request_id=%s",
                    method,
                    route,
                    response.status,
                    attempt,
                    time.monotonic() - started,
                    response.request_id,
                )
                if 200 <= response.status < 300:
                    decoded = _decode_success(response, name)
                    self._throttle.budget.refund()
                    return decoded
                api = response.error()
                error = api
                wait = self._retry_wait(
                    api,
                    name,
                    waits,
                    replay_safe=replay_safe,
                    keyed=idempotency_key is not None,
                    retry_on_rate_limit=retry_on_rate_limit,
                )
            await self._before_retry(error, name, attempt, wait, started)

    def _retry_wait(
        self,
        error: APIError,
        name: str,
        waits: Iterator[float],
        *,
        replay_safe: bool,
        keyed: bool,
        retry_on_rate_limit: bool,
    ) -> float | None:
        """How long to wait before retrying *error*; ``None``: do not retry."""
        if isinstance(error, RateLimitError):
            # The server processed nothing: safe to retry on any method.
            wait = error.retry_after if error.retry_after is not None else next(waits)
            cap = self._retry.retry_after_max
            self._throttle.defer(min(wait, cap))
            if not retry_on_rate_limit:
                raise error
            if wait > cap:
                log.warning(
                    "heygen.retry_after_too_long request=%s retry_after=%.2f max=%.2f",
                    name,
                    wait,
                    cap,
                )
                raise error
            return wait
        if isinstance(error, ServerError):
            return next(waits) if replay_safe else None
        if error.code == "request_in_progress" and keyed:
            return next(waits)  # our first try is still running: wait for it
        return None

    async def _before_retry(
        self,
        error: HeyGenError,
        name: str,
        attempt: int,
        wait: float | None,
        started: float,
    ) -> None:
        """Raise *error* unless a retry is allowed; otherwise wait for it."""
        policy = self._retry
        if wait is None or attempt >= policy.attempts:
            raise error
        remaining = _remaining(policy, started)
        if remaining is not None and wait >= remaining:
            raise error
        if not self._throttle.budget.try_spend():
            log.warning(
                "heygen.retry_budget_exhausted request=%s attempt=%d", name, attempt
            )
            raise error
        reason = (
            f"{error.status} {error.code}"
            if isinstance(error, APIError)
            else type(error).__name__
        )
        method, _, route = name.partition(" ")
        log.warning(
            "heygen.retry_scheduled method=%s route=%s attempt=%d wait=%.2f reason=%s",
            method,
            route,
            attempt,
            wait,
            reason,
            extra={"heygen.attempt": attempt, "heygen.wait": wait},
        )
        if not isinstance(error, RateLimitError):
            # A 429's wait lives in the throttle, shared by every caller.
            await asyncio.sleep(wait)

    async def _send(
        self,
        method: str,
        url: str,
        name: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str | int] | None,
        json: Any,
        form: Form | None,
        seconds: float,
    ) -> _Response:
        session = self._session()
        client_timeout = aiohttp.ClientTimeout(
            total=seconds, connect=self._timeouts.connect
        )
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                params=params,
                json=json,
                data=form() if form is not None else None,
                timeout=client_timeout,
                allow_redirects=False,
            ) as resp:
                body = await resp.read()
                return _Response(resp.status, body, resp.headers, resp.reason or "")
        except TimeoutError as exc:
            msg = f"{name} timed out after {seconds:.1f}s"
            raise RequestTimeoutError(msg) from exc
        except (aiohttp.ClientError, OSError) as exc:
            msg = f"{name} failed: {type(exc).__name__}: {exc}"
            raise TransportError(msg) from exc


def _remaining(policy: RetryPolicy, started: float) -> float | None:
    if policy.deadline is None:
        return None
    return max(0.0, policy.deadline - (time.monotonic() - started))


def _decode_success(response: _Response, name: str) -> Any:
    if not response.body.strip():
        return None
    try:
        decoded = jsonlib.loads(response.body)
    except ValueError as exc:
        msg = f"{name} returned {response.status} with a body that is not JSON"
        raise ResponseValidationError(msg) from exc
    if isinstance(decoded, dict) and decoded.get("error") is not None:
        # Some endpoints answer 200 with an error envelope; it is still an error.
        raise response.error()
    return decoded


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
        decoded = jsonlib.loads(body) if body.strip() else None
    except ValueError:
        decoded = None  # HTML from a gateway, plain text, ...
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
