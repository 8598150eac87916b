"""The HTTP layer: headers, error mapping, retries, idempotency, back-pressure."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import pickle
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

import heygen_async as hg
from heygen_async._http import parse_retry_after
from heygen_async._throttle import Throttle
from heygen_async.testing import FakeHeyGen, Fault
from heygen_async.testing._faults import FaultPhase
from tests.helpers import FAST_RETRY, loopback_server, png, strict_client


VIDEO_ROUTE = "GET /v3/videos/{video_id}"
CREATE_ROUTE = "POST /v3/videos"
NO_429_RETRY = attrs.evolve(FAST_RETRY, retry_on_rate_limit=False)
"""What a batch's creates use: a 429 is raised at once, for requeueing."""
BODY = {
    "type": "image",
    "image": {"type": "url", "url": "https://e.com/a.jpg"},
    "audio_url": "https://e.com/a.mp3",
}


def request() -> hg.VideoRequest:
    """A valid request that needs no voice lookup."""
    return hg.VideoRequest(
        image_url="https://e.com/a.jpg", audio_url="https://e.com/a.mp3"
    )


async def any_video(client: hg.Client) -> str:
    """Create one video and return its id."""
    return (await client.create_video(request())).id


# -- error mapping ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        (
            Fault(kind="error", nth=(1,), status=400),
            hg.BadRequestError,
            "invalid_parameter",
        ),
        (
            Fault(kind="error", nth=(1,), status=401),
            hg.AuthenticationError,
            "unauthorized",
        ),
        (
            Fault(kind="error", nth=(1,), status=402),
            hg.InsufficientCreditError,
            "insufficient_credit",
        ),
        (
            Fault(kind="error", nth=(1,), status=403),
            hg.PermissionDeniedError,
            "forbidden",
        ),
        (Fault(kind="error", nth=(1,), status=404), hg.NotFoundError, "not_found"),
        (Fault(kind="error", nth=(1,), status=409), hg.ConflictError, "conflict"),
        (
            Fault(kind="error", nth=(1,), status=413),
            hg.PayloadTooLargeError,
            "payload_too_large",
        ),
        (Fault(kind="error", nth=(1,), status=418), hg.APIError, "invalid_request"),
        (
            Fault(kind="error", nth=(1,), status=400, code="insufficient_credit"),
            hg.InsufficientCreditError,
            "insufficient_credit",
        ),
        (
            Fault(kind="rate_limit", nth=(1,), retry_after=0.5),
            hg.RateLimitError,
            "rate_limit_exceeded",
        ),
        (
            Fault(kind="rate_limit", nth=(1,), code="quota_exceeded"),
            hg.RateLimitError,
            "quota_exceeded",
        ),
        (Fault(kind="error", nth=(1,), status=500), hg.ServerError, "internal_error"),
        (Fault(kind="error", nth=(1,), status=502), hg.ServerError, "internal_error"),
        (Fault(kind="error", nth=(1,), status=503), hg.ServerError, "internal_error"),
        (Fault(kind="error", nth=(1,), status=504), hg.ServerError, "gateway_timeout"),
        (Fault(kind="html", nth=(1,), status=502), hg.ServerError, "bad_gateway"),
        (
            Fault(kind="html", nth=(1,), status=503),
            hg.ServerError,
            "service_unavailable",
        ),
        (Fault(kind="html", nth=(1,), status=500), hg.ServerError, "server_error"),
        (Fault(kind="html", nth=(1,), status=507), hg.ServerError, "server_error"),
        (
            Fault(kind="html", nth=(1,), status=403),
            hg.PermissionDeniedError,
            "forbidden",
        ),
        (Fault(kind="html", nth=(1,), status=418), hg.APIError, "client_error"),
    ],
    ids=lambda v: f"{v.kind}-{v.status}-{v.code}" if isinstance(v, Fault) else None,
)
async def test_status_maps_to_exception(
    fake: FakeHeyGen, fault: Fault, error: type[hg.APIError], code: str
) -> None:
    """Every status (and non-JSON body) maps onto one exception class and code."""
    fake.add_fault(fault)
    async with strict_client(fake, retry=hg.RetryPolicy(attempts=1)) as client:
        with pytest.raises(error) as info:
            await client.get_me()
    assert type(info.value) is error
    assert info.value.status == (429 if fault.kind == "rate_limit" else fault.status)
    assert info.value.code == code
    assert info.value.request_id is not None
    assert info.value.request_id.startswith("req_")
    assert client.request_counts() == {"GET /v3/users/me": 1}
    if fault.kind == "rate_limit" and fault.retry_after is not None:
        assert isinstance(info.value, hg.RateLimitError)
        assert info.value.retry_after == 0.5


async def test_error_text_carries_code_message_param(client: hg.Client) -> None:
    """A 404 error's text is short and useful: status, code, message, request id."""
    with pytest.raises(hg.NotFoundError) as info:
        await client.get_voice("nope")
    text = str(info.value)
    assert text.startswith("404 voice_not_found: Voice not found.")
    assert "request_id=req_" in text


async def test_param_is_reported(client: hg.Client) -> None:
    """invalid_parameter errors name the parameter HeyGen complained about."""
    with pytest.raises(hg.BadRequestError) as info:
        await client.request("GET", "/v3/voices", params={"gender": "other"})
    assert info.value.param == "gender"
    assert "(param=gender)" in str(info.value)


async def test_bad_credentials_are_an_authentication_error(fake: FakeHeyGen) -> None:
    """A wrong key is a 401 AuthenticationError, and the key is not in its text."""
    async with strict_client(fake, api_key="sk-wrong-secret-123") as client:
        with pytest.raises(hg.AuthenticationError) as info:
            await client.get_me()
    assert "sk-wrong-secret-123" not in str(info.value)
    assert "sk-wrong-secret-123" not in repr(info.value)


async def test_malformed_json_is_a_validation_error(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A truncated 2xx body raises ResponseValidationError, chained."""
    fake.add_fault(Fault(kind="malformed", route="GET /v3/users/me", nth=(1,)))
    with pytest.raises(hg.ResponseValidationError, match="not JSON") as info:
        await client.get_me()
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize("empty", [None, [], {}, "", 1, {"unrelated": 0}])
async def test_an_empty_error_member_is_no_error(empty: Any) -> None:
    """A 2xx whose ``error`` is no error envelope is read: the job is not lost."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"data": {"video_id": "v_1", "status": "waiting"}, "error": empty}
        )

    async with (
        loopback_server(handler) as url,
        hg.Client(api_key="k", base_url=url, retry=hg.RetryPolicy(attempts=1)) as c,
    ):
        created = await c.create_video(request(), idempotency_key="empty-error")
    assert created.id == "v_1"


async def test_unusual_bodies() -> None:
    """200 with an error envelope is an error; odd error bodies still map by status."""
    answers = iter(
        [
            web.json_response(
                {"data": None, "error": {"code": "internal_error", "message": "boom"}}
            ),
            web.json_response({"error": "plain text error"}, status=400),
            web.json_response({"message": "nested nowhere"}, status=404),
            web.Response(status=500),
            web.json_response({"detail": "unexpected"}, status=503),
            web.json_response({"no": "data"}),
            web.json_response({"data": {"x": 1}}),
            web.Response(status=204),
        ]
    )

    async def handler(_: web.Request) -> web.StreamResponse:
        return next(answers)

    async with (
        loopback_server(handler) as url,
        hg.Client(
            api_key="k", base_url=url, retry=hg.RetryPolicy(attempts=1)
        ) as client,
    ):
        with pytest.raises(hg.APIError) as ok_but_error:
            await client.get_me()
        assert (ok_but_error.value.status, ok_but_error.value.code) == (
            200,
            "internal_error",
        )
        with pytest.raises(
            hg.BadRequestError, match="400 bad_request: plain text error"
        ):
            await client.get_me()
        with pytest.raises(hg.NotFoundError, match="404 not_found: nested nowhere"):
            await client.get_me()
        with pytest.raises(
            hg.ServerError, match="500 server_error: HTTP 500 Internal Server Error"
        ):
            await client.get_me()
        with pytest.raises(hg.ServerError, match="503 service_unavailable: HTTP 503"):
            await client.get_me()
        with pytest.raises(hg.ResponseValidationError, match="no 'data' envelope"):
            await client.get_me()
        with pytest.raises(hg.ResponseValidationError, match="non-list 'data'"):
            await anext(aiter(client.iter_voices()))
        assert await client.request("DELETE", "/v3/anything") is None


async def test_headers_identify_and_authenticate() -> None:
    """Requests carry x-api-key, Accept and a versioned User-Agent with the suffix."""
    seen: list[Any] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers)
        if request.method == "POST":
            return web.json_response({"data": {"video_id": "v1", "status": "waiting"}})
        return web.json_response({"data": {}})

    async with (
        loopback_server(handler) as url,
        hg.Client(api_key="k-1", base_url=url, user_agent="myapp/2") as client,
    ):
        await client.get_me()
        await client.create_video(request(), idempotency_key="job-1")
    headers = seen[0]
    assert headers["x-api-key"] == "k-1"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == f"heygen-async/{hg.__version__} myapp/2"
    assert "Idempotency-Key" not in headers
    assert seen[1]["Idempotency-Key"] == "job-1"


# -- Retry-After -------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        ("0.25", 0.25),
        ("-4", 0.0),
        ("soon", None),
        ("inf", None),
    ],
)
def test_retry_after_parsing(header: str | None, expected: float | None) -> None:
    """Retry-After is seconds (int or float), never negative, else ignored."""
    assert parse_retry_after(header) == expected


def test_retry_after_http_date() -> None:
    """Retry-After may be an HTTP date; it becomes seconds from now."""
    later = datetime.now(UTC) + timedelta(seconds=30)
    seconds = parse_retry_after(email.utils.format_datetime(later, usegmt=True))
    assert seconds is not None
    assert 28 <= seconds <= 30
    naive = email.utils.format_datetime(later.replace(tzinfo=None))
    seconds = parse_retry_after(naive)
    assert seconds is not None
    assert 28 <= seconds <= 30


async def test_429_waits_retry_after_then_succeeds(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """429 with Retry-After waits at least that long, then retries once."""
    fake.add_fault(
        Fault(kind="rate_limit", route="GET /v3/users/me", nth=(1,), retry_after=0.2)
    )
    started = time.monotonic()
    await client.get_me()
    assert time.monotonic() - started >= 0.2
    assert fake.stats.requests["GET /v3/users/me"] == 2
    assert client.request_counts() == {"GET /v3/users/me": 2}


async def test_429_on_post_is_retried_with_the_same_key(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A rate-limited create is retried (nothing was processed) and makes one job."""
    fake.add_fault(
        Fault(kind="rate_limit", route=CREATE_ROUTE, nth=(1, 2), retry_after=0.01)
    )
    created = await client.create_video(request(), idempotency_key="same-key")
    assert fake.stats.requests[CREATE_ROUTE] == 3
    assert fake.stats.jobs_created == 1
    assert fake.videos[created.id].idempotency_key == "same-key"


async def test_retry_after_above_cap_raises(fake: FakeHeyGen) -> None:
    """A Retry-After beyond retry_after_max is not waited for."""
    fake.add_fault(
        Fault(kind="rate_limit", route="GET /v3/users/me", nth=(1,), retry_after=30)
    )
    policy = hg.RetryPolicy(wait_initial=0.001, retry_after_max=1.0)
    async with strict_client(fake, retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(hg.RateLimitError) as info:
            await client.get_me()
        assert time.monotonic() - started < 1.0
        assert info.value.retry_after == 30
        assert fake.stats.requests["GET /v3/users/me"] == 1
        # The throttle holds everyone back, but only up to the cap.
        assert 0 < client._throttle.delay() <= 1.0


async def test_429_without_retry_after_uses_backoff() -> None:
    """A 429 that gives no Retry-After still backs off and retries."""
    calls = 0

    async def handler(_: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.json_response(
                {"error": {"code": "rate_limit_exceeded", "message": "slow"}},
                status=429,
            )
        return web.json_response({"data": {}})

    async with (
        loopback_server(handler) as url,
        hg.Client(
            api_key="k", base_url=url, retry=hg.RetryPolicy(wait_initial=0.01)
        ) as client,
    ):
        await client.get_me()
    assert calls == 2


async def test_shared_retry_after_delays_other_callers(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """One call's 429 makes a concurrent, unrelated call wait too."""
    voice_id = await first_voice_id(fake)
    fake.add_fault(
        Fault(kind="rate_limit", route="GET /v3/users/me", nth=(1,), retry_after=0.3)
    )
    first = asyncio.create_task(client.get_me())
    while client._throttle.delay() == 0:
        await asyncio.sleep(0.002)
    started = time.monotonic()
    await client.get_voice(voice_id)
    assert time.monotonic() - started >= 0.15  # unthrottled, it takes a millisecond
    await first
    assert fake.stats.responses["GET /v3/voices/{voice_id}"] == {200: 1}


async def first_voice_id(fake: FakeHeyGen) -> str:
    """A voice id, fetched with a separate client so it does not share a throttle."""
    async with strict_client(fake) as other:
        voice = await anext(aiter(other.iter_voices()))
    return voice.id


async def test_create_without_rate_limit_retry_raises_at_once(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A policy with retry=NO_429_RETRY raises the 429, throttle told."""
    fake.add_fault(
        Fault(kind="rate_limit", route=CREATE_ROUTE, nth=(1,), retry_after=0.05)
    )
    with pytest.raises(hg.RateLimitError):
        await client._create(request(), idempotency_key="k1", retry=NO_429_RETRY)
    assert client._throttle.delay() > 0
    assert fake.stats.requests[CREATE_ROUTE] == 1


# -- 5xx, transport errors and idempotency -----------------------------------


async def test_503_on_get_is_retried(fake: FakeHeyGen, client: hg.Client) -> None:
    """GETs are retried through 5xx until they succeed."""
    video_id = await any_video(client)
    fake.add_fault(Fault(kind="error", route=VIDEO_ROUTE, nth=(1, 2), status=503))
    video = await client.get_video(video_id)
    assert video.id == video_id
    assert fake.stats.requests[VIDEO_ROUTE] == 3
    assert client.request_counts()[VIDEO_ROUTE] == 3


async def test_503_on_delete_is_retried(fake: FakeHeyGen, client: hg.Client) -> None:
    """DELETE is idempotent, so it is retried through a 503 too."""
    video_id = await any_video(client)
    fake.add_fault(
        Fault(kind="html", route="DELETE /v3/videos/{video_id}", nth=(1,), status=503)
    )
    await client.delete_video(video_id)
    assert fake.stats.requests["DELETE /v3/videos/{video_id}"] == 2
    assert video_id not in fake.videos


async def test_503_on_keyed_post_is_retried(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """create_video always sends a key, so a 503 is retried safely."""
    fake.add_fault(Fault(kind="error", route=CREATE_ROUTE, nth=(1,), status=503))
    await client.create_video(request())
    assert fake.stats.requests[CREATE_ROUTE] == 2
    assert fake.stats.jobs_created == 1


async def test_503_on_unkeyed_post_is_not_retried(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """request('POST') without a key surfaces the 503 after one try."""
    fake.add_fault(Fault(kind="error", route=CREATE_ROUTE, nth=(1,), status=503))
    with pytest.raises(hg.ServerError):
        await client.request("POST", "/v3/videos", json=BODY)
    assert fake.stats.requests[CREATE_ROUTE] == 1


async def test_503_on_post_with_explicit_key_is_retried(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """request('POST', idempotency_key=...) is retried like create_video."""
    fake.add_fault(Fault(kind="error", route=CREATE_ROUTE, nth=(1,), status=503))
    body = await client.request(
        "POST", "/v3/videos", json=BODY, idempotency_key="raw-1"
    )
    assert body["data"]["video_id"] in fake.videos
    assert fake.stats.requests[CREATE_ROUTE] == 2


async def test_dropped_create_makes_exactly_one_paid_job(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A connection dropped after the job was created is retried and replayed."""
    fake.add_fault(Fault(kind="drop", route=CREATE_ROUTE, nth=(1,), phase="after"))
    created = await client.create_video(request())
    stats = fake.stats
    assert stats.jobs_created == 1
    assert stats.idempotent_replays == 1
    assert stats.requests[CREATE_ROUTE] == 2
    assert list(fake.videos) == [created.id]


async def test_dropped_unkeyed_post_is_not_retried(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """Without a key a dropped POST is a TransportError, chained to aiohttp's."""
    fake.add_fault(Fault(kind="drop", route=CREATE_ROUTE, nth=(1,), phase="after"))
    with pytest.raises(hg.TransportError) as info:
        await client.request("POST", "/v3/videos", json=BODY)
    assert isinstance(info.value.__cause__, aiohttp.ClientError)
    assert fake.stats.jobs_created == 1
    assert fake.stats.requests[CREATE_ROUTE] == 1


async def test_request_in_progress_is_waited_out(fake: FakeHeyGen) -> None:
    """A keyed retry that meets 409 request_in_progress waits and is replayed."""
    fake.add_fault(
        Fault(kind="slow", route=CREATE_ROUTE, nth=(1,), delay=0.3, phase="after")
    )
    policy = hg.RetryPolicy(attempts=50, wait_initial=0.02, wait_max=0.05)
    async with strict_client(
        fake, retry=policy, timeouts=hg.Timeouts(write=0.1)
    ) as client:
        created = await client.create_video(request())
    stats = fake.stats
    assert stats.responses[CREATE_ROUTE].get(409, 0) >= 1
    assert stats.jobs_created == 1
    assert list(fake.videos) == [created.id]


async def test_conflict_without_key_is_raised(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """409 request_in_progress is only retried when we sent the key."""
    fake.add_fault(
        Fault(
            kind="error",
            route="GET /v3/users/me",
            nth=(1,),
            status=409,
            code="request_in_progress",
        )
    )
    with pytest.raises(hg.ConflictError):
        await client.get_me()


async def test_timed_out_get_is_retried(fake: FakeHeyGen) -> None:
    """A GET that times out is retried, and the retry succeeds."""
    fake.add_fault(Fault(kind="slow", route="GET /v3/users/me", nth=(1,), delay=0.6))
    async with strict_client(fake, timeouts=hg.Timeouts(read=0.3)) as client:
        await client.get_me()
    assert fake.stats.requests["GET /v3/users/me"] == 2


async def test_timed_out_unkeyed_post_is_never_retried(fake: FakeHeyGen) -> None:
    """A timed-out POST without a key may have created a job: it is not resent."""
    fake.add_fault(Fault(kind="slow", route=CREATE_ROUTE, nth=(1,), delay=0.3))
    async with strict_client(fake, timeouts=hg.Timeouts(write=0.05)) as client:
        with pytest.raises(hg.RequestTimeoutError) as info:
            await client.request("POST", "/v3/videos", json=BODY)
    assert isinstance(info.value, TimeoutError)
    assert "POST /v3/videos timed out" in str(info.value)
    assert fake.stats.requests[CREATE_ROUTE] == 1


def unused_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_is_a_transport_error() -> None:
    """No server: GETs retry up to attempts, then raise TransportError."""
    policy = hg.RetryPolicy(attempts=3, wait_initial=0.001, wait_max=0.002)
    url = f"http://127.0.0.1:{unused_port()}"
    async with hg.Client(api_key="k", base_url=url, retry=policy) as client:
        with pytest.raises(hg.TransportError) as info:
            await client.get_me()
    assert isinstance(info.value, ConnectionError)
    assert isinstance(info.value.__cause__, aiohttp.ClientError)
    assert client.request_counts() == {"GET /v3/users/me": 3}


async def test_attempts_cap_retries(fake: FakeHeyGen) -> None:
    """attempts bounds the tries, the first included."""
    fake.add_fault(
        Fault(kind="error", route="GET /v3/users/me", nth=(1, 2, 3, 4, 5), status=500)
    )
    async with strict_client(
        fake, retry=hg.RetryPolicy(attempts=2, wait_initial=0.001)
    ) as client:
        with pytest.raises(hg.ServerError):
            await client.get_me()
    assert fake.stats.requests["GET /v3/users/me"] == 2


async def test_deadline_stops_retrying(fake: FakeHeyGen) -> None:
    """No retry starts once its wait would cross the policy deadline."""
    fake.add_fault(
        Fault(kind="error", route="GET /v3/users/me", nth=(1, 2, 3), status=503)
    )
    policy = hg.RetryPolicy(
        attempts=10, wait_initial=0.2, jitter=False, give_up_after=0.1
    )
    async with strict_client(fake, retry=policy) as client:
        with pytest.raises(hg.ServerError):
            await client.get_me()
    assert fake.stats.requests["GET /v3/users/me"] == 1  # 9 attempts were left


async def test_retry_budget_refuses_when_exhausted(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """An empty retry budget turns a retryable error into the raised one."""
    budget = client._throttle.budget
    budget.tokens = 0
    fake.add_fault(Fault(kind="error", route="GET /v3/users/me", nth=(1,), status=503))
    with pytest.raises(hg.ServerError):
        await client.get_me()
    assert budget.refused == 1
    assert fake.stats.requests["GET /v3/users/me"] == 1
    await client.get_me()
    assert budget.tokens == budget.success_refund


async def test_retries_spend_the_budget(fake: FakeHeyGen, client: hg.Client) -> None:
    """Each retry costs the budget; the final success refunds a little."""
    budget = client._throttle.budget
    fake.add_fault(
        Fault(kind="error", route="GET /v3/users/me", nth=(1, 2), status=503)
    )
    await client.get_me()
    assert (
        budget.tokens == budget.capacity - 2 * budget.retry_cost + budget.success_refund
    )


async def test_retries_are_logged_without_secrets(
    fake: FakeHeyGen, caplog: pytest.LogCaptureFixture
) -> None:
    """Each retry logs heygen.retry_scheduled at WARNING; no key, no URL."""
    fake.add_fault(Fault(kind="error", route=VIDEO_ROUTE, nth=(1,), status=503))
    caplog.set_level(logging.DEBUG, logger="heygen_async")
    async with strict_client(fake) as client:
        video_id = await any_video(client)
        await client.get_video(video_id)
    retries = [
        r for r in caplog.records if r.getMessage().startswith("heygen.retry_scheduled")
    ]
    assert len(retries) == 1
    assert retries[0].levelno == logging.WARNING
    assert retries[0].name == "heygen_async.http"
    assert "route=/v3/videos/{video_id}" in retries[0].getMessage()
    assert "reason=503 internal_error" in retries[0].getMessage()
    for record in caplog.records:
        text = record.getMessage()
        assert fake.api_key not in text
        assert fake.url not in text
        assert video_id not in text or record.levelno < logging.WARNING


async def test_rate_limit_option_reaches_the_throttle(fake: FakeHeyGen) -> None:
    """requests_per_second configures the client's token bucket."""
    async with strict_client(fake, requests_per_second=50) as client:
        for _ in range(3):
            await client.get_me()
        assert client._throttle.rate == 50


# -- exceptions and the throttle ----------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        hg.NotFoundError(status=404, code="not_found", message="gone", request_id="r1"),
        hg.RateLimitError(code="rate_limit_exceeded", message="slow", retry_after=2.0),
    ],
)
def test_api_errors_pickle(error: hg.APIError) -> None:
    """Errors survive pickling (process pools, task queues) with their fields."""
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own object)
    assert type(clone) is type(error)
    assert clone.__dict__ == error.__dict__
    assert str(clone) == str(error)


def test_video_failed_error_message() -> None:
    """VideoFailedError carries the video and says why, or that nobody said."""
    silent = hg.Video(id="v1", status=hg.VideoStatus.FAILED)
    coded = hg.Video(
        id="v2", status=hg.VideoStatus.FAILED, failure_code="download_failed"
    )
    assert str(hg.VideoFailedError(silent)) == "video v1 failed: no reason given"
    assert hg.VideoFailedError(coded).video is coded
    assert str(hg.VideoFailedError(coded)) == "video v2 failed: download_failed"


async def test_throttle_rate_spaces_requests() -> None:
    """A token bucket with burst 1 spaces acquisitions by 1/rate seconds."""
    throttle = Throttle(requests_per_second=50, burst=1)
    started = time.monotonic()
    for _ in range(4):
        await throttle.acquire()
    assert time.monotonic() - started >= 3 / 50 * 0.9


def test_throttle_keeps_the_later_deferral() -> None:
    """A shorter Retry-After never shortens a longer shared wait."""
    throttle = Throttle()
    throttle.defer(5.0)
    throttle.defer(1.0)
    assert throttle.deferrals == 1
    assert throttle.delay() > 4


# -- malformed 2xx on keyed POSTs, and outcome_unknown ------------------------


@pytest.mark.parametrize("phase", ["before", "after"])
async def test_malformed_create_is_replayed(
    fake: FakeHeyGen, client: hg.Client, phase: FaultPhase
) -> None:
    """A truncated 200 on a keyed create is retried: one paid job, returned."""
    fake.add_fault(Fault(kind="malformed", route=CREATE_ROUTE, nth=(1,), phase=phase))
    created = await client.create_video(request(), idempotency_key="malformed-1")
    stats = fake.stats
    assert stats.requests[CREATE_ROUTE] == 2
    assert stats.jobs_created == 1
    assert [created.id] == list(fake.videos)
    assert (1 if phase == "after" else 0) == stats.idempotent_replays
    assert client._throttle.budget.tokens == client._throttle.budget.capacity


async def test_malformed_upload_is_replayed(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A truncated 200 on an asset upload is replayed: one asset, returned."""
    route = "POST /v3/assets"
    fake.add_fault(Fault(kind="malformed", route=route, nth=(1,), phase="after"))
    asset = await client.upload_asset(png(7))
    assert asset.id
    assert fake.stats.requests[route] == 2
    assert fake.stats.uploads == 1


async def test_unexpected_envelope_on_keyed_create_is_replayed() -> None:
    """A 2xx that is JSON but not the create envelope is asked for again."""
    answers = iter(
        [
            web.json_response({"no": "data"}),
            web.json_response({"data": {"video_id": "v_1", "status": "waiting"}}),
        ]
    )
    keys: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        keys.append(request.headers["Idempotency-Key"])
        return next(answers)

    async with (
        loopback_server(handler) as url,
        hg.Client(api_key="k", base_url=url, retry=FAST_RETRY) as client,
    ):
        created = await client.create_video(request(), idempotency_key="env-1")
    assert created.id == "v_1"
    assert keys == ["env-1", "env-1"]


async def test_malformed_create_after_attempts_is_outcome_unknown(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A keyed create that never gets a readable 2xx raises, outcome unknown."""
    fake.add_fault(
        Fault(kind="malformed", route=CREATE_ROUTE, nth=(1, 2, 3, 4), phase="after")
    )
    with pytest.raises(hg.ResponseValidationError) as info:
        await client.create_video(request(), idempotency_key="never-readable")
    error = info.value
    assert error.outcome_unknown is True
    assert error.route == "POST /v3/videos"
    assert error.status == 200
    assert error.request_id is not None
    assert f"request_id={error.request_id}" in str(error)
    assert fake.stats.requests[CREATE_ROUTE] == 4  # attempts=4
    assert fake.stats.jobs_created == 1


async def test_malformed_unkeyed_post_is_not_retried(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """Without a key a malformed 2xx is not resent, and says the job may exist."""
    fake.add_fault(Fault(kind="malformed", route=CREATE_ROUTE, nth=(1,), phase="after"))
    with pytest.raises(hg.ResponseValidationError) as info:
        await client.request("POST", "/v3/videos", json=BODY)
    assert info.value.outcome_unknown is True
    assert fake.stats.requests[CREATE_ROUTE] == 1
    assert fake.stats.jobs_created == 1


async def test_malformed_get_is_not_outcome_unknown(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A read has no side effect, so its errors never claim an unknown outcome."""
    fake.add_fault(Fault(kind="malformed", route="GET /v3/users/me", nth=(1,)))
    with pytest.raises(hg.ResponseValidationError) as info:
        await client.get_me()
    assert info.value.outcome_unknown is False


@pytest.mark.parametrize(
    ("fault", "unknown"),
    [
        (Fault(kind="error", route=CREATE_ROUTE, nth=(1,), status=503), True),
        (Fault(kind="html", route=CREATE_ROUTE, nth=(1,), status=502), True),
        (Fault(kind="drop", route=CREATE_ROUTE, nth=(1,), phase="after"), True),
        (Fault(kind="drop", route=CREATE_ROUTE, nth=(1,)), True),
        (Fault(kind="error", route=CREATE_ROUTE, nth=(1,), status=400), False),
        (Fault(kind="error", route=CREATE_ROUTE, nth=(1,), status=402), False),
        (Fault(kind="error", route=CREATE_ROUTE, nth=(1,), status=404), False),
        (Fault(kind="error", route=CREATE_ROUTE, nth=(1,), status=409), True),
    ],
    ids=lambda v: f"{v.kind}-{v.status}-{v.phase}" if isinstance(v, Fault) else None,
)
async def test_unkeyed_post_errors_say_whether_the_job_may_exist(
    fake: FakeHeyGen, client: hg.Client, fault: Fault, unknown: bool
) -> None:
    """5xx, drops and 409 leave a POST's outcome unknown; other 4xx are definite."""
    fake.add_fault(fault)
    with pytest.raises(hg.HeyGenError) as info:
        await client.request("POST", "/v3/videos", json=BODY)
    assert unknown is info.value.outcome_unknown
    assert fake.stats.requests[CREATE_ROUTE] == 1


async def test_rate_limited_create_is_a_definite_not_yet(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A 429 processed nothing: outcome_unknown is False."""
    fake.add_fault(
        Fault(kind="rate_limit", route=CREATE_ROUTE, nth=(1,), retry_after=0.01)
    )
    with pytest.raises(hg.RateLimitError) as info:
        await client._create(request(), idempotency_key="rl-1", retry=NO_429_RETRY)
    assert info.value.outcome_unknown is False


async def test_429_after_a_dropped_try_keeps_the_outcome_unknown(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A 429 on the retry says nothing about the first try, which made a job."""
    fake.add_fault(Fault(kind="drop", route=CREATE_ROUTE, nth=(1,), phase="after"))
    fake.add_fault(
        Fault(kind="rate_limit", route=CREATE_ROUTE, nth=(2,), retry_after=0.01)
    )
    with pytest.raises(hg.RateLimitError) as info:
        await client._create(request(), idempotency_key="rl-2", retry=NO_429_RETRY)
    assert info.value.outcome_unknown is True
    assert fake.stats.jobs_created == 1


async def test_keyed_create_5xx_after_attempts_is_outcome_unknown(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A keyed create that keeps meeting 5xx gives up with outcome unknown."""
    fake.add_fault(
        Fault(kind="error", route=CREATE_ROUTE, nth=(1, 2, 3, 4), status=500)
    )
    with pytest.raises(hg.ServerError) as info:
        await client.create_video(request())
    assert info.value.outcome_unknown is True
    assert fake.stats.requests[CREATE_ROUTE] == 4


async def test_timed_out_post_is_outcome_unknown(fake: FakeHeyGen) -> None:
    """A POST that timed out may have made a job."""
    fake.add_fault(Fault(kind="slow", route=CREATE_ROUTE, nth=(1,), delay=0.3))
    async with strict_client(fake, timeouts=hg.Timeouts(write=0.05)) as client:
        with pytest.raises(hg.RequestTimeoutError) as info:
            await client.request("POST", "/v3/videos", json=BODY)
    assert info.value.outcome_unknown is True


async def test_refused_connection_is_a_definite_not_sent() -> None:
    """A POST whose connection was never made was never sent."""
    url = f"http://127.0.0.1:{unused_port()}"
    async with hg.Client(
        api_key="k", base_url=url, retry=hg.RetryPolicy(attempts=1)
    ) as client:
        with pytest.raises(hg.TransportError) as info:
            await client.request("POST", "/v3/videos", json=BODY)
    assert info.value.outcome_unknown is False


def test_outcome_unknown_survives_pickling() -> None:
    """The flag crosses process boundaries with the error."""
    error = hg.ServerError(status=500, code="internal_error", message="boom")
    error.outcome_unknown = True
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own object)
    assert clone.outcome_unknown is True
    invalid = hg.ResponseValidationError("bad", route="POST /v3/videos", status=200)
    invalid.outcome_unknown = True
    clone2 = pickle.loads(pickle.dumps(invalid))  # noqa: S301 (our own object)
    assert (clone2.route, clone2.status, clone2.outcome_unknown) == (
        "POST /v3/videos",
        200,
        True,
    )
    assert hg.HeyGenError("x").outcome_unknown is False


# -- 409 request_in_progress: its own patience -------------------------------


def in_progress() -> web.Response:
    """HeyGen's answer to a keyed retry racing its first try."""
    body = {"error": {"code": "request_in_progress", "message": "busy"}}
    return web.json_response(body, status=409)


async def test_request_in_progress_spends_neither_attempts_nor_budget() -> None:
    """Six 409s are waited out with attempts=2 and an empty retry budget."""
    calls = 0

    async def handler(_: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls <= 6:
            return in_progress()
        return web.json_response({"data": {"video_id": "v_1", "status": "waiting"}})

    policy = hg.RetryPolicy(attempts=2, wait_initial=0.001, wait_max=0.005)
    async with (
        loopback_server(handler) as url,
        hg.Client(api_key="k", base_url=url, retry=policy) as client,
    ):
        client._throttle.budget.tokens = 0
        created = await client.create_video(request(), idempotency_key="busy-1")
    assert created.id == "v_1"
    assert calls == 7
    assert client._throttle.budget.refused == 0


async def test_request_in_progress_gives_up_after_patience() -> None:
    """Past its patience a keyed POST raises ConflictError, outcome unknown."""
    calls = 0

    async def handler(_: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        return in_progress()

    policy = hg.RetryPolicy(
        wait_initial=0.005, wait_max=0.01, jitter=False, in_progress_patience=0.1
    )
    async with (
        loopback_server(handler) as url,
        hg.Client(api_key="k", base_url=url, retry=policy) as client,
    ):
        started = time.monotonic()
        with pytest.raises(hg.ConflictError) as info:
            await client.create_video(request(), idempotency_key="busy-2")
        elapsed = time.monotonic() - started
    assert info.value.code == "request_in_progress"
    assert info.value.outcome_unknown is True
    assert 0.1 <= elapsed < 2.0
    assert calls > 2


async def test_request_in_progress_stops_at_the_policy_deadline() -> None:
    """The policy's deadline bounds the patience too."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return in_progress()

    policy = hg.RetryPolicy(
        wait_initial=0.01, wait_max=0.02, in_progress_patience=30, give_up_after=0.1
    )
    async with (
        loopback_server(handler) as url,
        hg.Client(api_key="k", base_url=url, retry=policy) as client,
    ):
        started = time.monotonic()
        with pytest.raises(hg.ConflictError) as info:
            await client.create_video(request(), idempotency_key="busy-3")
    assert time.monotonic() - started < 5.0
    assert info.value.outcome_unknown is True


async def test_malformed_photo_avatar_is_replayed(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """A truncated 200 on a keyed avatar create is replayed: one avatar."""
    route = "POST /v3/avatars"
    fake.add_fault(Fault(kind="malformed", route=route, nth=(1,), phase="after"))
    avatar = await client.create_photo_avatar(
        name="me", image_url="https://e.com/face.jpg"
    )
    assert avatar.look.id
    assert fake.stats.requests[route] == 2


async def test_resumed_create_waits_for_the_first_one(fake: FakeHeyGen) -> None:
    """A second process resending the key waits for the first try and shares its job."""
    fake.add_fault(
        Fault(kind="slow", route=CREATE_ROUTE, nth=(1,), delay=0.3, phase="after")
    )
    policy = hg.RetryPolicy(attempts=1, wait_initial=0.01, wait_max=0.02)
    async with (
        strict_client(fake) as first,
        strict_client(fake, retry=policy) as second,
    ):
        second._throttle.budget.tokens = 0
        original = asyncio.create_task(
            first.create_video(request(), idempotency_key="resume-1")
        )
        while fake.stats.requests.get(CREATE_ROUTE, 0) == 0:
            await asyncio.sleep(0.005)
        resumed = await second.create_video(request(), idempotency_key="resume-1")
        assert (await original).id == resumed.id
    assert fake.stats.jobs_created == 1
    assert fake.stats.responses[CREATE_ROUTE].get(409, 0) >= 1


def test_in_progress_patience_is_a_policy_field() -> None:
    """The patience is configurable and never negative."""
    assert hg.RetryPolicy().in_progress_patience == 120.0
    with pytest.raises(ValueError, match="in_progress_patience"):
        hg.RetryPolicy(in_progress_patience=-1)


async def test_give_up_after_passing_during_a_wait_sends_nothing_more() -> None:
    """
    A retry wait that overruns give_up_after (here the loop is blocked) ends
    the call with the answer it had, instead of a try with no time left.
    """
    sent = 0

    async def handler(_: web.Request) -> web.StreamResponse:
        nonlocal sent
        sent += 1
        return web.json_response(
            {"error": {"code": "unavailable", "message": "busy"}}, status=503
        )

    async def block_the_loop() -> None:
        await asyncio.sleep(0.02)
        time.sleep(0.15)  # noqa: ASYNC251 - blocks the loop on purpose

    policy = hg.RetryPolicy(
        wait_initial=0.05, wait_max=0.05, jitter=False, give_up_after=0.1
    )
    async with (
        loopback_server(handler) as url,
        hg.Client(api_key="k", base_url=url, retry=policy) as client,
    ):
        blocker = asyncio.create_task(block_the_loop())
        with pytest.raises(hg.APIError) as info:
            await client.get_video("v_1")
        await blocker
    assert info.value.status == 503
    assert sent == 1
