"""
The one seam between the core and whoever watches it.

The HTTP layer opens :meth:`Instrumentation.attempt` around each try, the
client opens :meth:`Instrumentation.span` around each wait, and the poll
loop reports the videos it watches and sees finish. With no hooks and no
telemetry every call is a no-op that builds nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import yarl

from .hooks import EventHooks, Hooks, call_hooks
from .otel import AttemptSpan, OpenTelemetry
from .views import RequestInfo, ResponseInfo, redact


if TYPE_CHECKING:
    from heygen_async._models import Video


__all__ = ["Attempt", "Instrumentation"]


class Attempt(Protocol):
    """One HTTP attempt being watched: told about its answer."""

    async def responded(
        self, status: int, headers: Mapping[str, str], request_id: str | None
    ) -> None:
        """The server answered (any status)."""


class _Unwatched(contextlib.AbstractAsyncContextManager["_Unwatched"]):
    """The attempt nobody watches: enters, answers and exits for free."""

    async def __aenter__(self) -> _Unwatched:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def responded(
        self, status: int, headers: Mapping[str, str], request_id: str | None
    ) -> None:
        return None


_UNWATCHED = _Unwatched()


class _Watched:
    """An attempt seen by hooks and/or a span."""

    def __init__(
        self, request: RequestInfo, hooks: Hooks, span: AttemptSpan | None
    ) -> None:
        self._request = request
        self._hooks = hooks
        self._span = span
        self._started = time.monotonic()

    async def responded(
        self, status: int, headers: Mapping[str, str], request_id: str | None
    ) -> None:
        response = ResponseInfo(
            request=self._request,
            status=status,
            headers=redact(headers),
            request_id=request_id,
            elapsed=time.monotonic() - self._started,
        )
        if self._span is not None:
            self._span.responded(response)
        await call_hooks("response", self._hooks.response, response)


class Instrumentation:
    """
    Event hooks and telemetry for one client. Strictly private.

    Args:
        hooks: The checked event hooks.
        telemetry: Spans and metrics, or ``None``.
    """

    def __init__(
        self, *, hooks: Hooks | None = None, telemetry: OpenTelemetry | None = None
    ) -> None:
        self._hooks = hooks or Hooks()
        self._telemetry = telemetry
        self.active = bool(self._hooks) or telemetry is not None

    @classmethod
    def build(
        cls, *, hooks: EventHooks | None, otel: bool | OpenTelemetry
    ) -> Instrumentation:
        """
        Check the client's ``event_hooks`` and ``telemetry`` and build on them.

        Raises:
            ValueError: Unknown hook events, hooks that are not callables, or
                a telemetry that is neither a bool nor an OpenTelemetry.
        """
        checked = Hooks.of(hooks)
        if otel is True:
            return cls(hooks=checked, telemetry=OpenTelemetry())
        if otel is False:
            return cls(hooks=checked)
        if not isinstance(otel, OpenTelemetry):
            msg = f"telemetry must be a bool or an OpenTelemetry, got {otel!r}"
            raise ValueError(msg)
        return cls(hooks=checked, telemetry=otel)

    def attempt(
        self,
        method: str,
        route: str,
        url: str,
        params: Mapping[str, str | int] | None,
        headers: Mapping[str, str],
        attempt: int,
    ) -> contextlib.AbstractAsyncContextManager[Attempt]:
        """Watch one HTTP attempt: request hooks now, the answer via ``responded``."""
        if not self.active:
            return _UNWATCHED
        if params:
            url = str(yarl.URL(url).update_query(params))
        request = RequestInfo(
            method=method,
            url=url,
            route=route,
            headers=redact(headers),
            attempt=attempt,
        )
        return self._watch(request)

    @contextlib.asynccontextmanager
    async def _watch(self, request: RequestInfo) -> AsyncIterator[Attempt]:
        if self._telemetry is None:
            await call_hooks("request", self._hooks.request, request)
            yield _Watched(request, self._hooks, None)
            return
        with self._telemetry.attempt(request) as span:
            await call_hooks("request", self._hooks.request, request)
            yield _Watched(request, self._hooks, span)

    def span(
        self, name: str, *, video_id: str | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """A span around a wait (``heygen.wait_for_video``, ``heygen.render``)."""
        if self._telemetry is None:
            return contextlib.nullcontext()
        return self._telemetry.span(name, video_id)

    def jobs_changed(self, delta: int) -> None:
        """The poll loop started (+) or stopped (-) watching *delta* videos."""
        if self._telemetry is not None and delta:
            self._telemetry.jobs_changed(delta)

    def video_seen(self, video: Video) -> None:
        """The poll loop (or a webhook) learned that *video* finished."""
        if self._telemetry is None or video.completed_at is None:
            return
        latency = (datetime.now(UTC) - video.completed_at).total_seconds()
        self._telemetry.video_seen(max(latency, 0.0), video.status.value)
