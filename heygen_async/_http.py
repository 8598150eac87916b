"""
The only code that performs API HTTP.

One :class:`HTTP` per client sends every request, in three layers that each
do one job (as httpx's ``send`` does)::

    call            one logical request: URL, headers, timeout; the result
    _with_retries   tries until success or ``_retry.decide`` gives up;
                    carries out the decision (sleep, throttle, budget, logs)
    _send           one try: the shared throttle, the exchange, the status
                    check, decoding (``_wire``) and parsing

Which failures are retried, and how long we wait, is decided by the pure
:func:`._retry.decide`; what is read from the wire, and how defensively, by
:mod:`._wire`. An error from a request with side effects that may have been
applied carries ``outcome_unknown=True`` so no caller records such a job as
failed.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import importlib.metadata
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import aiohttp
import attrs

from . import _log
from ._config import Limits, RetryPolicy, Timeouts
from ._observe.instrument import Instrumentation
from ._retry import Attempt, Decision, Tries, decide
from ._throttle import Throttle
from ._wire import (
    JSONTooDeepError,
    Response,
    api_error,
    data_of,
    decode_success,
    load_json,
    located,
    page_of,
    parse_retry_after,
    read_capped,
)
from .exceptions import (
    APIError,
    HeyGenError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    TransportError,
)


# The wire helpers are re-exported: they lived here before ``_wire``.
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

Form = Callable[[], aiohttp.FormData]
"""Builds a fresh multipart body for each attempt (a FormData is single-use)."""

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


@attrs.frozen(kw_only=True)
class _Request:
    """One logical request, the same on every try."""

    method: str
    name: str  # "METHOD /route/{template}": names it in counts and logs
    url: str
    headers: Mapping[str, str] = attrs.field(repr=False)  # holds the API key
    params: Mapping[str, str | int] | None
    json: Any
    form: Form | None
    seconds: float  # the timeout of one try
    parse: Callable[[Any], Any] | None
    keyed: bool
    policy: RetryPolicy  # what the retry decision reads

    @property
    def route(self) -> str:
        return self.name.partition(" ")[2]


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
        observe: Event hooks and telemetry, told about every attempt.
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
        observe: Instrumentation | None = None,
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
        self._observe = observe or Instrumentation()
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
        retry: RetryPolicy | None = None,
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
            retry: This call's policy; the client's by default. A batch
                passes one with ``retry_on_rate_limit=False`` to requeue a
                429'd job itself.
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
        request = _Request(
            method=method,
            name=f"{method} {route}",
            url=self._url(route, path),
            headers=self._headers(idempotency_key),
            params=params,
            json=json,
            form=form,
            seconds=self._timeout(method, form),
            parse=parse,
            keyed=idempotency_key is not None,
            policy=self._retry if retry is None else retry,
        )
        _request_id.set(None)
        result = await self._with_retries(request)
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

    async def _with_retries(self, request: _Request) -> Any:
        """Try *request* until it succeeds or the retry decision gives up."""
        tries = Tries(request.policy, request.method)
        budget = self._throttle.budget
        while True:
            try:
                return await self._send(request, tries)
            except HeyGenError as error:
                tries.judge(error)
                attempt = tries.attempt(
                    request.method,
                    keyed=request.keyed,
                    budget=budget.tokens >= budget.retry_cost,
                )
                decision = decide(error, attempt, request.policy)
                tries.record(decision)
                if decision.defer is not None:
                    self._throttle.defer(decision.defer)
                if decision.spends:
                    budget.try_spend()  # refuses (and counts) when exhausted
                self._log(decision, error, request, attempt)
                if decision.wait is None:
                    raise
                if decision.defer is None:
                    # A 429's wait lives in the throttle, shared by every caller.
                    await asyncio.sleep(decision.wait)
                if tries.remaining() == 0.0:
                    raise  # give_up_after passed while waiting: this answer stands

    def _log(
        self, decision: Decision, error: HeyGenError, request: _Request, tried: Attempt
    ) -> None:
        """One line per retry and per telling reason to give up."""
        name, why, number = request.name, decision.why, tried.counted + 1
        if why == "retry":
            reason = (
                f"{error.status} {error.code}"
                if isinstance(error, APIError)
                else type(error).__name__
            )
            log.warning(
                "heygen.retry_scheduled method=%s route=%s attempt=%d wait=%.2f "
                "reason=%s",
                request.method,
                request.route,
                number,
                decision.wait,
                reason,
                extra={"heygen.attempt": number, "heygen.wait": decision.wait},
            )
        elif why == "in_progress":
            log.info(
                "heygen.request_in_progress request=%s wait=%.2f", name, decision.wait
            )
        elif why == "in_progress_gave_up":
            log.warning(
                "heygen.request_in_progress_gave_up request=%s patience=%.2f",
                name,
                request.policy.in_progress_patience,
            )
        elif why == "retry_after_too_long" and isinstance(error, RateLimitError):
            asked = error.retry_after
            log.warning(
                "heygen.retry_after_too_long request=%s retry_after=%.2f max=%.2f",
                name,
                tried.backoff if asked is None else asked,
                request.policy.retry_after_max,
            )
        elif why == "retry_budget_exhausted":
            log.warning(
                "heygen.retry_budget_exhausted request=%s attempt=%d",
                name,
                number,
            )

    async def _send(self, request: _Request, tries: Tries) -> Any:
        """One try: send, map an error status, decode and parse a 2xx."""
        await self._throttle.acquire()
        seconds = request.seconds
        remaining = tries.remaining()
        if remaining is not None:
            seconds = max(min(seconds, remaining), 1e-3)
        self.counts[request.name] += 1
        tries.sent += 1
        async with self._observe.attempt(
            request.method,
            request.route,
            request.url,
            request.params,
            request.headers,
            tries.sent,
        ) as seen:
            response = await self._exchange(request, seconds)
            await seen.responded(response.status, response.headers, response.request_id)
        _request_id.set(response.request_id)
        log.debug(
            "heygen.response method=%s route=%s status=%d attempt=%d "
            "elapsed=%.3f request_id=%s",
            request.method,
            request.route,
            response.status,
            tries.sent,
            time.monotonic() - tries.started,
            response.request_id,
        )
        if not 200 <= response.status < 300:
            raise response.error()
        decoded = decode_success(response, request.name, self._limits)
        if request.parse is None:
            return decoded
        try:
            return request.parse(decoded)
        except ResponseValidationError as exc:
            raise located(exc, request.name, response) from exc

    async def _exchange(self, request: _Request, seconds: float) -> Response:
        """Put *request* on the wire once; aiohttp failures become ours."""
        timeout = aiohttp.ClientTimeout(total=seconds, connect=self._timeouts.connect)
        form = request.form
        try:
            async with self._session().request(
                request.method,
                request.url,
                headers=request.headers,
                params=request.params,
                json=request.json,
                data=form() if form is not None else None,
                timeout=timeout,
                allow_redirects=False,
            ) as resp:
                body, oversize = await read_capped(resp, self._limits.max_body_bytes)
                return Response(
                    resp.status, body, resp.headers, resp.reason or "", oversize
                )
        except TimeoutError as exc:
            msg = f"{request.name} timed out after {seconds:.1f}s"
            raise RequestTimeoutError(msg) from exc
        except (aiohttp.ClientError, OSError) as exc:
            msg = f"{request.name} failed: {type(exc).__name__}: {exc}"
            raise TransportError(msg) from exc
