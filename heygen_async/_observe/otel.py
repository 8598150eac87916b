"""
Spans and metrics through the OpenTelemetry API (the ``otel`` extra).

A client span per HTTP attempt, named by method and route template, and an
internal span per wait; counters and histograms named ``heygen.*``. What goes
into attributes is chosen here, field by field: route templates, statuses,
attempt numbers, request ids, video ids. Never a header, a query string or a
media URL, so neither the API key nor a presigned URL can leak into a trace.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from heygen_async.exceptions import VideoFailedError, WaitTimeoutError

from .views import RequestInfo, ResponseInfo


if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider


__all__ = ["OpenTelemetry"]

_SCOPE = "heygen_async"
# Seconds: from a fast poll to a slow upload.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Seconds: from a webhook's instant to a slow poll cadence.
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _version() -> str:
    try:
        return importlib.metadata.version("heygen-async")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - dev tree
        return "0+unknown"


def _outcome(error: BaseException) -> str:
    if isinstance(error, VideoFailedError):
        return "failed"
    if isinstance(error, WaitTimeoutError):
        return "timed_out"
    if isinstance(error, GeneratorExit | KeyboardInterrupt | SystemExit):
        return "interrupted"
    if type(error).__name__ == "CancelledError":
        return "cancelled"
    return "error"


class OpenTelemetry:
    """
    Traces and metrics for a client, through OpenTelemetry.

    Pass it as ``Client(telemetry=OpenTelemetry(...))``, or pass
    ``telemetry=True`` for the global providers. Needs the ``otel`` extra
    (``opentelemetry-api``); configure exporters with the OpenTelemetry SDK
    as usual.

    Spans: ``GET /v3/videos/{video_id}`` and friends (kind CLIENT, one per
    attempt, retries included), ``heygen.wait_for_video`` and
    ``heygen.render``. Metrics: ``heygen.client.requests`` (by method, route
    template and status), ``heygen.client.request.duration``,
    ``heygen.client.retries``, ``heygen.client.rate_limited`` (429s),
    ``heygen.jobs.in_flight`` (videos the poll loop watches) and
    ``heygen.video.seen_latency`` (a render finishing to the SDK knowing).

    Args:
        tracer_provider: Defaults to the global tracer provider.
        meter_provider: Defaults to the global meter provider.

    Raises:
        ImportError: ``opentelemetry-api`` is not installed.
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError as exc:  # pragma: no cover - the extra is in dev
            msg = "OpenTelemetry needs the otel extra: heygen-async[otel]"
            raise ImportError(msg) from exc
        self._trace = trace
        version = _version()
        self._tracer = trace.get_tracer(_SCOPE, version, tracer_provider)
        meter = metrics.get_meter(_SCOPE, version, meter_provider)
        self._requests = meter.create_counter(
            "heygen.client.requests", "{request}", "HTTP attempts, retries included"
        )
        self._duration = meter.create_histogram(
            "heygen.client.request.duration",
            "s",
            "Seconds from sending an attempt to reading its answer",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._retries = meter.create_counter(
            "heygen.client.retries", "{request}", "Attempts after the first"
        )
        self._rate_limited = meter.create_counter(
            "heygen.client.rate_limited", "{response}", "429 answers"
        )
        self._in_flight = meter.create_up_down_counter(
            "heygen.jobs.in_flight", "{video}", "Videos the poll loop is waiting on"
        )
        self._seen_latency = meter.create_histogram(
            "heygen.video.seen_latency",
            "s",
            "Seconds from a render finishing (completed_at) to the SDK seeing it",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        )

    def __repr__(self) -> str:
        return "<heygen_async.OpenTelemetry>"

    @contextlib.contextmanager
    def attempt(self, request: RequestInfo) -> Iterator[AttemptSpan]:
        """A CLIENT span around one HTTP attempt, and its metrics."""
        route = request.route.partition("?")[0]
        base = {"http.request.method": request.method, "url.template": route}
        attributes: dict[str, Any] = {**base, "heygen.attempt": request.attempt}
        attributes.update(_server(request.url))
        if request.attempt > 1:
            attributes["http.request.resend_count"] = request.attempt - 1
            self._retries.add(1, base)
        with self._tracer.start_as_current_span(
            f"{request.method} {route}",
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            seen = AttemptSpan(span, self._trace)
            try:
                yield seen
            except BaseException as exc:
                seen.error(type(exc).__qualname__)
                raise
            finally:
                self._record(seen, base)

    def _record(self, seen: AttemptSpan, base: dict[str, Any]) -> None:
        labels = dict(base)
        if seen.status is not None:
            labels["http.response.status_code"] = seen.status
            self._duration.record(seen.elapsed or 0.0, labels)
        if seen.error_type is not None:
            labels["error.type"] = seen.error_type
        self._requests.add(1, labels)
        if seen.status == 429:
            self._rate_limited.add(1, base)

    @contextlib.contextmanager
    def span(self, name: str, video_id: str | None) -> Iterator[None]:
        """An INTERNAL span around a wait, with its outcome."""
        attributes = {} if video_id is None else {"heygen.video_id": video_id}
        with self._tracer.start_as_current_span(
            name,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield
            except BaseException as exc:
                outcome = _outcome(exc)
                span.set_attribute("heygen.outcome", outcome)
                span.set_attribute("error.type", type(exc).__qualname__)
                if isinstance(exc, VideoFailedError) and exc.video.failure_code:
                    span.set_attribute("heygen.failure_code", exc.video.failure_code)
                if outcome != "cancelled":
                    span.set_status(self._trace.StatusCode.ERROR)
                raise
            span.set_attribute("heygen.outcome", "completed")

    def jobs_changed(self, delta: int) -> None:
        """The poll loop started (+) or stopped (-) watching videos."""
        self._in_flight.add(delta)

    def video_seen(self, latency: float, status: str) -> None:
        """A finished video became known *latency* seconds after it finished."""
        self._seen_latency.record(latency, {"heygen.video.status": status})


def _server(url: str) -> dict[str, Any]:
    """Where the request went: scheme, host, port and path; no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host  # userinfo never kept
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return {
        "server.address": host,
        "server.port": parts.port or _DEFAULT_PORTS.get(parts.scheme, 0),
        "url.full": f"{parts.scheme}://{netloc}{parts.path}",
    }


class AttemptSpan:
    """What one attempt's span learned: its answer, or why there was none."""

    def __init__(self, span: Span, trace: Any) -> None:
        self._span = span
        self._trace = trace
        self.status: int | None = None
        self.elapsed: float | None = None
        self.error_type: str | None = None

    def responded(self, response: ResponseInfo) -> None:
        """Record the answer on the span (and, later, in the metrics)."""
        self.status = response.status
        self.elapsed = response.elapsed
        self._span.set_attribute("http.response.status_code", response.status)
        if response.request_id is not None:
            self._span.set_attribute("heygen.request_id", response.request_id)
        if response.status >= 400:
            self.error(str(response.status))

    def error(self, error_type: str) -> None:
        """Mark the attempt failed: an error status or no answer at all."""
        if self.error_type is None:
            self.error_type = error_type
            self._span.set_attribute("error.type", error_type)
            self._span.set_status(self._trace.StatusCode.ERROR)
