"""Event hooks: what they see of each HTTP attempt, retries and failures included."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

import heygen_async as hg
from heygen_async.testing import FakeHeyGen, Fault
from tests.helpers import strict_client


SECRET = "sk-hooks-test-SECRET-0123456789"
VIDEO_ROUTE = "/v3/videos/{video_id}"


def request() -> hg.VideoRequest:
    """A valid request that needs no voice lookup."""
    return hg.VideoRequest(
        image_url="https://e.com/a.jpg", audio_url="https://e.com/a.mp3"
    )


@pytest.fixture(name="secret_fake")
async def _secret_fake() -> AsyncIterator[FakeHeyGen]:
    async with FakeHeyGen(api_key=SECRET, render_seconds=0.01, seed=1) as fake:
        yield fake


class Recorder:
    """Sync and async hooks that keep what they were shown."""

    def __init__(self) -> None:
        self.requests: list[hg.RequestInfo] = []
        self.responses: list[hg.ResponseInfo] = []
        self.async_calls = 0

    def on_request(self, info: hg.RequestInfo) -> None:
        self.requests.append(info)

    async def on_response(self, info: hg.ResponseInfo) -> None:
        await asyncio.sleep(0)
        self.async_calls += 1
        self.responses.append(info)

    def hooks(self) -> dict[str, list[Any]]:
        return {"request": [self.on_request], "response": [self.on_response]}


async def test_sync_and_async_hooks_see_each_attempt(secret_fake: FakeHeyGen) -> None:
    """A sync request hook and an async response hook both run, in order."""
    seen = Recorder()
    async with strict_client(secret_fake, event_hooks=seen.hooks()) as client:
        created = await client.create_video(request())
        await client.get_video(created.id)
    assert [r.method for r in seen.requests] == ["POST", "GET"]
    assert [r.route for r in seen.requests] == ["/v3/videos", VIDEO_ROUTE]
    assert seen.requests[1].url == f"{secret_fake.url}/v3/videos/{created.id}"
    assert [r.attempt for r in seen.requests] == [1, 1]
    assert seen.async_calls == 2
    assert [r.status for r in seen.responses] == [200, 200]
    assert [r.request for r in seen.responses] == seen.requests
    for response in seen.responses:
        assert response.request_id
        assert response.elapsed >= 0
        assert response.headers["X-Request-Id"] == response.request_id


async def test_hook_views_never_show_the_key(secret_fake: FakeHeyGen) -> None:
    """The key reads ``[redacted]`` in headers, reprs and every value."""
    seen = Recorder()
    async with strict_client(secret_fake, event_hooks=seen.hooks()) as client:
        await client.create_video(request(), idempotency_key="job-1")
    (sent,) = seen.requests
    assert sent.headers["x-api-key"] == "[redacted]"
    assert sent.headers["Idempotency-Key"] == "job-1"
    assert sent.headers["User-Agent"].startswith("heygen-async/")
    for view in (*seen.requests, *seen.responses):
        assert SECRET not in repr(view)
        assert SECRET not in str(dict(view.headers))
    with pytest.raises(TypeError):
        sent.headers["x-api-key"] = SECRET  # type: ignore[index]


async def test_hooks_see_retries(secret_fake: FakeHeyGen) -> None:
    """A 500 then a 200: two attempts, both shown, numbered 1 and 2."""
    seen = Recorder()
    async with strict_client(secret_fake, event_hooks=seen.hooks()) as client:
        created = await client.create_video(request())
        secret_fake.add_fault(
            Fault(kind="error", route="GET /v3/videos/{video_id}", nth=(1,), status=500)
        )
        await client.get_video(created.id)
    gets = [r for r in seen.responses if r.request.method == "GET"]
    assert [(r.request.attempt, r.status) for r in gets] == [(1, 500), (2, 200)]
    assert [r.attempt for r in seen.requests] == [1, 1, 2]


async def test_hooks_see_rate_limits_and_queries(secret_fake: FakeHeyGen) -> None:
    """A 429 is shown before the retry; a query string is part of the url."""
    seen = Recorder()
    async with strict_client(secret_fake, event_hooks=seen.hooks()) as client:
        created = await client.create_video(request())
        secret_fake.add_fault(
            Fault(
                kind="rate_limit",
                route="GET /v3/videos/statuses",
                nth=(1,),
                retry_after=0.001,
            )
        )
        await client.get_statuses([created.id])
    statuses = [r for r in seen.responses if r.request.route == "/v3/videos/statuses"]
    assert [r.status for r in statuses] == [429, 200]
    assert statuses[0].headers["Retry-After"]
    assert statuses[1].request.url.endswith(f"?video_ids={created.id}")


async def test_transport_failure_has_no_response(secret_fake: FakeHeyGen) -> None:
    """A dropped connection: the request hook ran, no response was shown."""
    seen = Recorder()
    secret_fake.add_fault(Fault(kind="drop", route="POST /v3/videos", nth=(1,)))
    async with strict_client(secret_fake, event_hooks=seen.hooks()) as client:
        await client.create_video(request())
    assert [r.attempt for r in seen.requests] == [1, 2]
    assert [(r.request.attempt, r.status) for r in seen.responses] == [(2, 200)]
    assert secret_fake.stats.jobs_created == 1


async def test_a_failing_hook_loses_no_job(
    secret_fake: FakeHeyGen, caplog: pytest.LogCaptureFixture
) -> None:
    """Hooks that raise are logged; the paid create still returns its id."""

    def broken(info: hg.ResponseInfo) -> None:
        raise RuntimeError("hook bug")

    async def broken_async(info: hg.RequestInfo) -> None:
        raise RuntimeError("async hook bug")

    hooks = {"request": [broken_async], "response": [broken]}
    caplog.set_level(logging.WARNING, logger="heygen_async")
    async with strict_client(secret_fake, event_hooks=hooks) as client:
        created = await client.create_video(request())
    assert created.id in secret_fake.videos
    assert secret_fake.stats.jobs_created == 1
    failures = [
        r
        for r in caplog.records
        if r.getMessage().startswith("heygen.event_hook_failed")
    ]
    assert [r.getMessage().split()[1] for r in failures] == [
        "event=request",
        "event=response",
    ]
    assert "hook=test_a_failing_hook_loses_no_job.<locals>.broken" in (
        failures[1].getMessage()
    )


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        ({"reqest": [], "error": []}, "unknown event_hooks: 'error', 'reqest'"),
        ({"request": print}, r"event_hooks\['request'\] must be a list"),
        ({"response": [print, 3]}, r"event_hooks\['response'\]\[1\] is not callable"),
        ({"response": 3}, r"event_hooks\['response'\] must be a list"),
        ([print], "event_hooks must be a dict"),
    ],
)
def test_bad_hooks_are_refused_at_construction(hooks: Any, message: str) -> None:
    """Unknown events and non-callables raise ValueError naming them."""
    with pytest.raises(ValueError, match=message):
        hg.Client(api_key="k", event_hooks=hooks)


def test_hook_tuples_are_accepted() -> None:
    """Any iterable of callables will do; nothing is sent at construction."""
    client = hg.Client(api_key="k", event_hooks={"request": (print,)})
    assert repr(client).startswith("<heygen_async.Client")
