"""
The only code that performs API HTTP.

One :class:`HTTP` per client sends every request: auth and identification
headers, a timeout by kind of call, the shared :class:`~._throttle.Throttle`,
the retry loop, capped and depth-checked decoding, envelope checks and the
mapping of error responses and aiohttp failures onto
:mod:`heygen_async.exceptions`.

What is retried (HeyGen documents 429 + ``Retry-After`` on every endpoint;
POST is only safe to repeat with an ``Idempotency-Key``):

- 429 on any method, waiting ``Retry-After`` (capped, no jitter) and telling
  the throttle so every other caller waits too;
- 5xx and transport errors on GET and DELETE, and on POST only when it carries
  an ``Idempotency-Key`` (a retried keyed POST is replayed, never duplicated);
- a 2xx we cannot read (truncated, not JSON, too big or deep, not the
  expected envelope) on a keyed POST: the retry replays the stored answer;
- 409 ``request_in_progress`` on a keyed POST (the first try is still
  running), waited out within ``RetryPolicy.in_progress_patience`` without
  spending attempts or the retry budget.

Nothing else: a timed-out POST without a key may have created a paid job. An
error from a request with side effects that may have been applied carries
``outcome_unknown=True`` so no caller records such a job as failed.
"""

from __future__ import annotations

import array
import asyncio
import collections
import email.utils
import functools
import importlib.metadata
import itertools
import json as jsonlib
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

import aiohttp

from . import _backoff, _log
from ._config import Limits, RetryPolicy, Timeouts
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
    "JSONTooDeepError",
    "api_error",
    "data_of",
    "last_request_id",
    "load_json",
    "page_of",
    "parse_retry_after",
]

log = _log.http_logger

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
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # no side effects
_READ_CHUNK = 64 * 1024
_ERROR_DEPTH = 16  # an error envelope is two levels deep

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
        limits: Caps on response bodies.
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
        limits: Limits | None = None,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        agent = f"heygen-async/{sdk_version()}"
        self._user_agent = f"{agent} {user_agent}" if user_agent else agent
        self._retry = retry
        self._timeouts = timeouts
        self._throttle = throttle
        self._session = session
        self._limits = limits or Limits()
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
        parse: Callable[[Any], Any] | None = None,
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
            parse: Turns the decoded body into the result. Its
                :class:`ResponseValidationError` counts as a malformed answer:
                a keyed request retries it (a replay), and it is raised with
                the route and request id.

        Returns:
            The parsed (or decoded JSON) body; ``None`` for an empty one.

        Raises:
            HeyGenError: With ``outcome_unknown`` set when a request with side
                effects may have been applied (see :class:`HeyGenError`).
        """
        method = method.upper()
        name = f"{method} {route}"
        send = functools.partial(
            self._attempt,
            method,
            self._url(route, path),
            name,
            headers=self._headers(idempotency_key),
            params=params,
            json=json,
            form=form,
            seconds=self._timeout(method, form),
            parse=parse,
        )
        keyed = idempotency_key is not None
        tries = _Tries(self._retry, effects=method not in _SAFE_METHODS)
        _request_id.set(None)
        while True:
            try:
                result = await send(tries)
            except HeyGenError as error:
                tries.judge(error)
                await self._recover(
                    error,
                    name,
                    tries,
                    keyed=keyed,
                    replay_safe=method in _IDEMPOTENT_METHODS or keyed,
                    retry_on_rate_limit=retry_on_rate_limit,
                )
            else:
                self._throttle.budget.refund()
                return result

    def _url(self, route: str, path: Mapping[str, str] | None) -> str:
        if path is None:
            return self._base_url + route
        quoted = {k: quote(v, safe="") for k, v in path.items()}
        return self._base_url + route.format(**quoted)

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers = {
            "x-api-key": self._api_key,
            "User-Agent": self._user_agent,
            "Accept": "application/json",
        }
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _timeout(self, method: str, form: Form | None) -> float:
        if form is not None:
            return self._timeouts.upload
        if method in ("GET", "HEAD", "DELETE"):
            return self._timeouts.read
        return self._timeouts.write

    async def _attempt(
        self,
        method: str,
        url: str,
        name: str,
        tries: _Tries,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str | int] | None,
        json: Any,
        form: Form | None,
        seconds: float,
        parse: Callable[[Any], Any] | None,
    ) -> Any:
        """One try: send, map an error status, decode and parse a 2xx."""
        await self._throttle.acquire()
        remaining = _remaining(self._retry, tries.started)
        if remaining is not None:
            seconds = max(min(seconds, remaining), 1e-3)
        self.counts[name] += 1
        tries.sent += 1
        response = await self._send(
            method,
            url,
            name,
            headers=headers,
            params=params,
            json=json,
            form=form,
            seconds=seconds,
        )
        _request_id.set(response.request_id)
        log.debug(
            "heygen.response method=%s route=%s status=%d attempt=%d "
            "elapsed=%.3f request_id=%s",
            method,
            name.partition(" ")[2],
            response.status,
            tries.sent,
            time.monotonic() - tries.started,
            response.request_id,
        )
        if not 200 <= response.status < 300:
            raise response.error()
        decoded = _decode_success(response, name, self._limits)
        if parse is None:
            return decoded
        try:
            return parse(decoded)
        except ResponseValidationError as exc:
            raise _located(exc, name, response) from exc

    async def _recover(
        self,
        error: HeyGenError,
        name: str,
        tries: _Tries,
        *,
        keyed: bool,
        replay_safe: bool,
        retry_on_rate_limit: bool,
    ) -> None:
        """Wait before the next try, or raise *error* if there is none."""
        in_progress = getattr(error, "code", None) == "request_in_progress"
        if keyed and isinstance(error, ConflictError) and in_progress:
            await self._wait_in_progress(error, name, tries)
            return
        tries.counted += 1
        spend = True
        if isinstance(error, ResponseValidationError):
            # A 2xx we could not read: with the key, asking again replays the
            # stored answer. Not storm load, so the budget does not pay for it.
            wait = next(tries.waits) if keyed else None
            spend = False
        elif isinstance(error, APIError):
            wait = self._retry_wait(
                error,
                name,
                tries.waits,
                replay_safe=replay_safe,
                retry_on_rate_limit=retry_on_rate_limit,
            )
        else:  # TransportError, RequestTimeoutError included
            wait = next(tries.waits) if replay_safe else None
        await self._before_retry(
            error, name, tries.counted, wait, tries.started, spend=spend
        )

    async def _wait_in_progress(
        self, error: ConflictError, name: str, tries: _Tries
    ) -> None:
        """Wait out our own earlier try, within the policy's patience."""
        wait = tries.in_progress_wait()
        if wait is None:
            log.warning(
                "heygen.request_in_progress_gave_up request=%s patience=%.2f",
                name,
                self._retry.in_progress_patience,
            )
            raise error
        log.info("heygen.request_in_progress request=%s wait=%.2f", name, wait)
        await asyncio.sleep(wait)

    def _retry_wait(
        self,
        error: APIError,
        name: str,
        waits: Iterator[float],
        *,
        replay_safe: bool,
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
        return None

    async def _before_retry(
        self,
        error: HeyGenError,
        name: str,
        attempt: int,
        wait: float | None,
        started: float,
        *,
        spend: bool = True,
    ) -> None:
        """Raise *error* unless a retry is allowed; otherwise wait for it."""
        policy = self._retry
        if wait is None or attempt >= policy.attempts:
            raise error
        remaining = _remaining(policy, started)
        if remaining is not None and wait >= remaining:
            raise error
        if spend and not self._throttle.budget.try_spend():
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
                body, oversize = await _read_capped(resp, self._limits.max_body_bytes)
                return _Response(
                    resp.status, body, resp.headers, resp.reason or "", oversize
                )
        except TimeoutError as exc:
            msg = f"{name} timed out after {seconds:.1f}s"
            raise RequestTimeoutError(msg) from exc
        except (aiohttp.ClientError, OSError) as exc:
            msg = f"{name} failed: {type(exc).__name__}: {exc}"
            raise TransportError(msg) from exc


class _Tries:
    """What one logical call has been through, across its tries."""

    def __init__(self, policy: RetryPolicy, *, effects: bool) -> None:
        self.policy = policy
        self.effects = effects
        self.started = time.monotonic()
        self.sent = 0  # every try
        self.counted = 0  # tries that count toward policy.attempts
        self.waits = _backoff.waits(policy)
        self.maybe_applied = False
        self._patience_until: float | None = None
        self._patience_waits = _backoff.waits(policy)

    def judge(self, error: HeyGenError) -> None:
        """Mark *error* ``outcome_unknown`` if the call may have taken effect."""
        if not self.effects:
            return
        ambiguous = _ambiguous(error)
        error.outcome_unknown = ambiguous or (
            self.maybe_applied and not _definite(error)
        )
        self.maybe_applied = self.maybe_applied or ambiguous

    def in_progress_wait(self) -> float | None:
        """The next wait for a 409 ``request_in_progress``; ``None``: give up."""
        now = time.monotonic()
        if self._patience_until is None:
            self._patience_until = now + self.policy.in_progress_patience
        left = self._patience_until - now
        remaining = _remaining(self.policy, self.started)
        if remaining is not None:
            left = min(left, remaining)
        if left <= 0:
            return None
        return min(next(self._patience_waits), left)


def _definite(error: HeyGenError) -> bool:
    """A 4xx that says the request was refused (not 409 or 429)."""
    return (
        isinstance(error, APIError)
        and 400 <= error.status < 500
        and error.status not in (409, 429)
    )


def _ambiguous(error: HeyGenError) -> bool:
    """Whether the try that raised *error* may have been applied."""
    if isinstance(error, RateLimitError):
        return False  # the server processed nothing
    if isinstance(error, TransportError):
        # A connection never made carried no request.
        return not isinstance(error.__cause__, aiohttp.ClientConnectorError)
    return not _definite(error)


async def _read_capped(resp: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """The body, read up to *limit* bytes, and whether there was more."""
    if resp.content_length is not None and resp.content_length > limit:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def _remaining(policy: RetryPolicy, started: float) -> float | None:
    if policy.deadline is None:
        return None
    return max(0.0, policy.deadline - (time.monotonic() - started))


def _decode_success(response: _Response, name: str, limits: Limits) -> Any:
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
    if isinstance(decoded, dict) and decoded.get("error") is not None:
        # Some endpoints answer 200 with an error envelope; it is still an error.
        raise response.error()
    return decoded


def _invalid(response: _Response, name: str, what: str) -> ResponseValidationError:
    msg = f"{name} returned {response.status} with {what}"
    if response.request_id:
        msg += f" (request_id={response.request_id})"
    return ResponseValidationError(
        msg, route=name, status=response.status, request_id=response.request_id
    )


def _located(
    error: ResponseValidationError, name: str, response: _Response
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
