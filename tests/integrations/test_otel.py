"""OpenTelemetry: spans and metrics read back from the SDK's in-memory exporters."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

import heygen_async as hg
from heygen_async.testing import FakeHeyGen, Fault, JobPlan
from tests.helpers import strict_client


SECRET = "sk-otel-test-SECRET-0123456789"
CREATE = "POST /v3/videos"


class Telemetry:
    """An SDK tracer and meter provider that keep everything in memory."""

    def __init__(self) -> None:
        self.spans_out = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans_out))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.otel = hg.OpenTelemetry(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        """Finished spans, oldest first, optionally by name."""
        spans = list(self.spans_out.get_finished_spans())
        return [s for s in spans if name is None or s.name == name]

    def points(self, metric: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, data point) pairs of one metric, as of now."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for item in scope.metrics:
                    if item.name == metric:
                        found += [
                            (dict(p.attributes or {}), p) for p in item.data.data_points
                        ]
        return found

    def total(self, metric: str, **labels: Any) -> float:
        """The sum of a counter's points whose attributes include *labels*."""
        return sum(
            point.value
            for attributes, point in self.points(metric)
            if labels.items() <= attributes.items()
        )

    def every_string(self) -> Iterator[str]:
        """Every span name, attribute key and value, and metric attribute."""
        for span in self.spans():
            yield span.name
            for key, value in (span.attributes or {}).items():
                yield f"{key}={value}"
            for event in span.events:
                yield from (f"{k}={v}" for k, v in (event.attributes or {}).items())
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for item in scope.metrics:
                    for point in item.data.data_points:
                        yield from (
                            f"{k}={v}" for k, v in (point.attributes or {}).items()
                        )


@pytest.fixture(name="telemetry")
def _telemetry() -> Iterator[Telemetry]:
    telemetry = Telemetry()
    yield telemetry
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


@pytest.fixture(name="secret_fake")
async def _secret_fake() -> AsyncIterator[FakeHeyGen]:
    async with FakeHeyGen(api_key=SECRET, render_seconds=0.02, seed=1) as fake:
        yield fake


def request(n: int = 0) -> hg.VideoRequest:
    """A valid request that needs no voice lookup."""
    return hg.VideoRequest(
        image_url=f"https://e.com/{n}.jpg", audio_url="https://e.com/a.mp3"
    )


async def test_render_traces_attempts_inside_its_wait(
    secret_fake: FakeHeyGen, telemetry: Telemetry
) -> None:
    """render(): a render span holding the create's attempt and the wait."""
    async with strict_client(secret_fake, telemetry=telemetry.otel) as client:
        video = await client.render(request())
    (render,) = telemetry.spans("heygen.render")
    (wait,) = telemetry.spans("heygen.wait_for_video")
    (create,) = telemetry.spans(CREATE)
    assert render.attributes == {"heygen.outcome": "completed"}
    assert wait.attributes == {
        "heygen.video_id": video.id,
        "heygen.outcome": "completed",
    }
    assert wait.parent is not None
    assert create.parent is not None
    assert wait.parent.span_id == render.context.span_id
    assert create.parent.span_id == render.context.span_id
    assert create.kind is SpanKind.CLIENT
    attributes = dict(create.attributes or {})
    assert attributes["http.request.method"] == "POST"
    assert attributes["url.template"] == "/v3/videos"
    assert attributes["http.response.status_code"] == 200
    assert attributes["heygen.attempt"] == 1
    assert attributes["heygen.request_id"]
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["url.full"] == f"{secret_fake.url}/v3/videos"
    assert "http.request.resend_count" not in attributes
    # The shared poll loop belongs to no caller: its polls are not the wait's.
    polls = [s for s in telemetry.spans() if s.name.startswith("GET /v3/videos")]
    assert polls
    assert all(s.parent is None for s in polls)


async def test_retries_and_statuses_are_counted(
    secret_fake: FakeHeyGen, telemetry: Telemetry
) -> None:
    """A 500 then a 200: two attempt spans, one retry, requests by status."""
    secret_fake.add_fault(Fault(kind="error", route=CREATE, nth=(1,), status=500))
    async with strict_client(secret_fake, telemetry=telemetry.otel) as client:
        await client.create_video(request())
    first, second = telemetry.spans(CREATE)
    assert first.attributes is not None
    assert second.attributes is not None
    assert first.attributes["heygen.attempt"] == 1
    assert first.attributes["http.response.status_code"] == 500
    assert first.attributes["error.type"] == "500"
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes["heygen.attempt"] == 2
    assert second.attributes["http.request.resend_count"] == 1
    assert second.status.status_code is StatusCode.UNSET
    route = {"url.template": "/v3/videos", "http.request.method": "POST"}
    requests = "heygen.client.requests"
    assert telemetry.total(requests, **route, **{"http.response.status_code": 500}) == 1
    assert telemetry.total(requests, **route, **{"http.response.status_code": 200}) == 1
    assert telemetry.total("heygen.client.retries", **route) == 1
    assert telemetry.total("heygen.client.rate_limited") == 0
    durations = telemetry.points("heygen.client.request.duration")
    assert sum(point.count for _, point in durations) == 2


async def test_rate_limits_and_dropped_connections(
    secret_fake: FakeHeyGen, telemetry: Telemetry
) -> None:
    """A 429 is counted as such; an attempt with no answer names its error."""
    secret_fake.add_fault(
        Fault(kind="rate_limit", route=CREATE, nth=(1,), retry_after=0.001)
    )
    secret_fake.add_fault(Fault(kind="drop", route=CREATE, nth=(2,)))
    async with strict_client(secret_fake, telemetry=telemetry.otel) as client:
        await client.create_video(request())
    limited, dropped, ok = telemetry.spans(CREATE)
    assert limited.attributes is not None
    assert dropped.attributes is not None
    assert limited.attributes["http.response.status_code"] == 429
    assert "http.response.status_code" not in dropped.attributes
    assert dropped.attributes["error.type"] == "TransportError"
    assert ok.status.status_code is StatusCode.UNSET
    assert (
        telemetry.total("heygen.client.rate_limited", **{"url.template": "/v3/videos"})
        == 1
    )
    assert (
        telemetry.total("heygen.client.requests", **{"error.type": "TransportError"})
        == 1
    )
    assert telemetry.total("heygen.client.retries") == 2
    assert secret_fake.stats.jobs_created == 1


async def test_jobs_in_flight_and_seen_latency(
    secret_fake: FakeHeyGen, telemetry: Telemetry
) -> None:
    """Watched videos go up then back to 0; each finish is seen once."""
    secret_fake.render_seconds = 0.2
    async with strict_client(secret_fake, telemetry=telemetry.otel) as client:
        created = [await client.create_video(request(n)) for n in range(3)]
        waits = [asyncio.create_task(client.wait_for_video(c.id)) for c in created]
        await asyncio.sleep(0)
        assert telemetry.total("heygen.jobs.in_flight") == 3
        await asyncio.gather(*waits)
        assert telemetry.total("heygen.jobs.in_flight") == 0
    ((attributes, latency),) = telemetry.points("heygen.video.seen_latency")
    assert attributes == {"heygen.video.status": "completed"}
    assert latency.count == 3
    # completed_at has whole seconds on the wire: within a second and a poll.
    assert 0 <= latency.max < 2


async def test_failed_and_timed_out_waits_say_so(
    secret_fake: FakeHeyGen, telemetry: Telemetry
) -> None:
    """A failed render and our own deadline end their spans differently."""
    secret_fake.job_plan = lambda index, _body: JobPlan(
        render_seconds=0.01 if index == 0 else 30, fail=index == 0
    )
    async with strict_client(secret_fake, telemetry=telemetry.otel) as client:
        failing = await client.create_video(request(0))
        slow = await client.create_video(request(1))
        with pytest.raises(hg.VideoFailedError):
            await client.wait_for_video(failing.id)
        with pytest.raises(hg.WaitTimeoutError):
            await client.wait_for_video(slow.id, deadline=0.01)
        assert telemetry.total("heygen.jobs.in_flight") == 0
    failed, timed_out = telemetry.spans("heygen.wait_for_video")
    assert failed.attributes is not None
    assert timed_out.attributes is not None
    assert failed.attributes["heygen.outcome"] == "failed"
    assert failed.attributes["heygen.failure_code"] == "rendering_failed"
    assert failed.status.status_code is StatusCode.ERROR
    assert timed_out.attributes["heygen.outcome"] == "timed_out"
    assert timed_out.attributes["error.type"] == "WaitTimeoutError"


async def test_cancelled_wait_is_not_an_error(
    secret_fake: FakeHeyGen, telemetry: Telemetry
) -> None:
    """Cancelling a wait ends its span as cancelled, not failed."""
    secret_fake.render_seconds = 30
    async with strict_client(secret_fake, telemetry=telemetry.otel) as client:
        created = await client.create_video(request())
        wait = asyncio.create_task(client.wait_for_video(created.id))
        await asyncio.sleep(0.01)
        wait.cancel()
        with pytest.raises(asyncio.CancelledError):
            await wait
    (span,) = telemetry.spans("heygen.wait_for_video")
    assert span.attributes is not None
    assert span.attributes["heygen.outcome"] == "cancelled"
    assert span.status.status_code is StatusCode.UNSET


async def test_no_attribute_holds_the_key_or_a_presigned_url(
    secret_fake: FakeHeyGen, telemetry: Telemetry
) -> None:
    """Scan every span and metric attribute after a full render and a retry."""
    secret_fake.add_fault(
        Fault(kind="error", route="GET /v3/videos/{video_id}", nth=(1,), status=503)
    )
    async with strict_client(secret_fake, telemetry=telemetry.otel) as client:
        video = await client.render(request())
        again = await client.get_video(video.id)
        await client.get_statuses([video.id])
    urls = [
        url
        for v in (video, again)
        for url in (v.video_url, v.thumbnail_url, v.gif_url, v.captioned_video_url)
        if url
    ]
    assert urls
    strings = list(telemetry.every_string())
    assert len(strings) > 20
    for text in strings:
        assert SECRET not in text
        assert "?" not in text  # no query string, presigned or not
        for url in urls:
            assert url not in text
            assert url.partition("?")[2] not in text


async def test_hooks_and_telemetry_together(
    secret_fake: FakeHeyGen, telemetry: Telemetry
) -> None:
    """A request hook runs inside its attempt's span."""
    from opentelemetry import trace

    inside: list[str] = []

    def hook(info: hg.RequestInfo) -> None:
        span = trace.get_current_span()
        inside.append(getattr(span, "name", ""))

    async with strict_client(
        secret_fake, telemetry=telemetry.otel, event_hooks={"request": [hook]}
    ) as client:
        await client.create_video(request())
    assert inside == [CREATE]


async def test_telemetry_true_uses_the_global_providers(
    secret_fake: FakeHeyGen,
) -> None:
    """``telemetry=True`` works with whatever providers are global (no-op here)."""
    async with strict_client(secret_fake, telemetry=True) as client:
        video = await client.render(request())
    assert video.status is hg.VideoStatus.COMPLETED
    assert repr(hg.OpenTelemetry()) == "<heygen_async.OpenTelemetry>"


def test_bad_telemetry_is_refused() -> None:
    """Anything but a bool or an OpenTelemetry raises ValueError naming it."""
    with pytest.raises(ValueError, match="telemetry must be a bool"):
        hg.Client(api_key="k", telemetry="yes")  # type: ignore[arg-type]


def test_core_never_imports_opentelemetry() -> None:
    """Importing the package (and building a plain client) loads no OTel."""
    code = (
        "import sys, heygen_async as hg; hg.Client(api_key='k'); "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


async def test_a_wait_that_cannot_happen_is_an_error(
    secret_fake: FakeHeyGen, telemetry: Telemetry
) -> None:
    """A wait on a video HeyGen does not know ends with outcome ``error``."""
    async with strict_client(secret_fake, telemetry=telemetry.otel) as client:
        with pytest.raises(hg.NotFoundError):
            await client.wait_for_video("no-such-video")
    (span,) = telemetry.spans("heygen.wait_for_video")
    assert span.attributes is not None
    assert span.attributes["heygen.outcome"] == "error"
    assert span.attributes["error.type"] == "NotFoundError"
    assert span.status.status_code is StatusCode.ERROR
