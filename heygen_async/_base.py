"""
What a client owns, apart from its endpoints: configuration and resources.

:class:`ClientBase` reads the configuration, holds the aiohttp session
(created lazily inside the running loop, or borrowed and never closed), the
shared :class:`~._throttle.Throttle`, the HTTP layer and the upload cache, and
runs the lifecycle: ``UNOPENED -> OPENED -> CLOSED``, one event loop, an
idempotent :meth:`~ClientBase.aclose` and a ``ResourceWarning`` on leaks.
"""

from __future__ import annotations

import asyncio
import enum
import os
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import aiohttp

from . import _log
from ._config import (
    API_BASE_ENV,
    API_KEY_ENV,
    DEFAULT_BASE_URL,
    Limits,
    PollPolicy,
    RetryPolicy,
    Timeouts,
)
from ._converter import make_converter
from ._coord.local import LocalCoordinator
from ._coord.protocol import Coordinator
from ._http import HTTP
from ._observe.hooks import EventHooks
from ._observe.instrument import Instrumentation
from ._observe.otel import OpenTelemetry
from ._throttle import Throttle
from ._uploads import UploadCache
from .exceptions import ConfigurationError


if TYPE_CHECKING:
    from ._scheduler import Scheduler


__all__ = ["ClientBase", "CloseCallback"]

log = _log.logger

CloseCallback = Callable[[], Awaitable[None]]


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class ClientBase:
    """
    Configuration, session ownership and lifecycle of a client. Strictly private.

    The public constructor arguments are documented on :class:`~heygen_async.Client`.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        poll: PollPolicy | None = None,
        requests_per_second: float | None = None,
        user_agent: str | None = None,
        session: aiohttp.ClientSession | None = None,
        environ: Mapping[str, str] | None = None,
        strict: bool = False,
        limits: Limits | None = None,
        coordinator: Coordinator | None = None,
        event_hooks: EventHooks | None = None,
        telemetry: bool | OpenTelemetry = False,
    ) -> None:
        self._owned_session: aiohttp.ClientSession | None = None
        self._borrowed_session = session
        self._state = _State.UNOPENED
        self._loop: asyncio.AbstractEventLoop | None = None
        env = os.environ if environ is None else environ
        key = api_key if api_key is not None else env.get(API_KEY_ENV)
        if not key or not key.strip():
            msg = f"no API key: pass api_key= or set {API_KEY_ENV}"
            raise ConfigurationError(msg)
        base = (base_url or env.get(API_BASE_ENV) or DEFAULT_BASE_URL).rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            msg = f"base_url must be an http(s) URL; got {base!r}"
            raise ConfigurationError(msg)
        try:
            self._throttle = Throttle(requests_per_second=requests_per_second)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        self._base_url = base
        self._retry = retry or RetryPolicy()
        self._timeouts = timeouts or Timeouts()
        self._poll = poll or PollPolicy()
        self._limits = limits or Limits()
        self._strict = strict
        self._converter = make_converter(strict=strict)
        self._uploads = UploadCache()
        self._observe = Instrumentation.build(hooks=event_hooks, otel=telemetry)
        # aclose() awaits these first, newest first (the scheduler's shutdown).
        self._close_callbacks: list[CloseCallback] = []
        self._scheduler: Scheduler | None = None
        self._coordinator = self._share(coordinator)
        self._http = HTTP(
            api_key=key,
            base_url=base,
            user_agent=user_agent,
            retry=self._retry,
            timeouts=self._timeouts,
            throttle=self._throttle,
            session=self._session,
            limits=self._limits,
            observe=self._observe,
        )

    def __repr__(self) -> str:
        return f"<heygen_async.{type(self).__name__} base_url={self._base_url!r}>"

    def _share(self, coordinator: Coordinator | None) -> Coordinator:
        """The coordinator, told of every Retry-After here and closed with us."""
        if coordinator is None:
            return LocalCoordinator()
        self._throttle.on_defer = coordinator.rate_limited
        self._close_callbacks.append(coordinator.aclose)
        return coordinator

    # -- configuration ----------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._base_url

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy for each HTTP call."""
        return self._retry

    @property
    def timeouts(self) -> Timeouts:
        """Per-request timeouts."""
        return self._timeouts

    @property
    def limits(self) -> Limits:
        """Caps on response bodies, JSON nesting, pages and downloads."""
        return self._limits

    @property
    def poll(self) -> PollPolicy:
        """The default cadence for waiting on jobs."""
        return self._poll

    @property
    def coordinator(self) -> Coordinator:
        """What this client shares the account through (local by default)."""
        return self._coordinator

    @property
    def strict(self) -> bool:
        """Whether unknown response fields are rejected."""
        return self._strict

    def request_counts(self) -> dict[str, int]:
        """
        HTTP attempts so far by route template, retries included.

        For example ``{"POST /v3/videos": 3, "GET /v3/videos/{video_id}": 2}``.
        """
        return dict(self._http.counts)

    # -- lifecycle --------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state is _State.CLOSED:
            msg = "Cannot reopen a client once it has been closed."
            raise RuntimeError(msg)
        self._bind_loop()
        self._state = _State.OPENED
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """
        Stop background work and close the owned session; safe to call twice.

        A borrowed session is left open. Failures while cleaning up are logged
        and do not stop the rest of the cleanup.
        """
        if self._state is _State.CLOSED:
            return
        if self._owned_session is not None:
            self._bind_loop()  # closing another loop's session would hang
        self._state = _State.CLOSED
        while self._close_callbacks:
            callback = self._close_callbacks.pop()
            try:
                await callback()
            except Exception:
                log.warning("heygen.close_callback_failed", exc_info=True)
        await self._uploads.aclose()
        if self._owned_session is not None:
            await self._owned_session.close()

    def __del__(self) -> None:
        session = getattr(self, "_owned_session", None)
        if session is not None and not session.closed:
            warnings.warn(
                f"Unclosed {self!r}: use 'async with' or 'await client.aclose()'",
                ResourceWarning,
                stacklevel=1,
                source=self,
            )

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            msg = (
                "this heygen_async.Client is bound to a different event loop; "
                "create one client per event loop"
            )
            raise RuntimeError(msg)

    def _session(self) -> aiohttp.ClientSession:
        """The session for the next request (created lazily, in the loop)."""
        if self._state is _State.CLOSED:
            msg = "Cannot send requests with a closed heygen_async.Client."
            raise RuntimeError(msg)
        self._bind_loop()
        self._state = _State.OPENED
        if self._borrowed_session is not None:
            return self._borrowed_session
        if self._owned_session is None:
            self._owned_session = aiohttp.ClientSession()
        return self._owned_session

    async def _call(self, method: str, route: str, **kwargs: Any) -> Any:
        self._session()  # fail fast on a closed client or the wrong loop
        return await self._http.call(method, route, **kwargs)
