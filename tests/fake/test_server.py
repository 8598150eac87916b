"""FakeHeyGen lifecycle, auth, envelopes, request ids and stats."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import attrs
import pytest

from heygen_async.testing import FakeHeyGen, FakeStats, JobPlan
from heygen_async.testing._wire import decode_token, encode_token, format_seconds
from tests.helpers.fake import VOICE_ID, create, get_json, serve, video_body


async def test_context_manager_serves_and_closes() -> None:
    """`async with` starts a server on a free port and stops it on exit."""
    async with FakeHeyGen() as fake:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", fake.url)
        assert fake.port > 0
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{fake.url}/_fake/stats") as resp,
        ):
            assert resp.status == 200
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{fake.url}/_fake/stats")


async def test_start_and_aclose_are_idempotent() -> None:
    """A second start() or aclose() does nothing; a closed fake cannot restart."""
    fake = FakeHeyGen()
    await fake.start()
    port = fake.port
    await fake.start()
    assert fake.port == port
    await fake.aclose()
    await fake.aclose()
    with pytest.raises(RuntimeError, match="restarted"):
        await fake.start()


async def test_start_failure_leaves_nothing_running() -> None:
    """Binding a port already in use raises OSError and cleans up."""
    async with FakeHeyGen() as first:
        second = FakeHeyGen(port=first.port)
        with pytest.raises(OSError, match="in use"):
            await second.start()
        await second.aclose()


def test_url_needs_a_port() -> None:
    """The URL is unknown before start with port 0, and known with a fixed port."""
    with pytest.raises(RuntimeError, match="start"):
        _ = FakeHeyGen().url
    assert FakeHeyGen(port=8080).url == "http://127.0.0.1:8080"
    assert FakeHeyGen(port=8080).base_url == "http://127.0.0.1:8080"
    assert FakeHeyGen(host="::1", port=8080).url == "http://[::1]:8080"


@pytest.mark.parametrize(
    "config",
    [
        {"api_key": ""},
        {"port": -1},
        {"render_seconds": -1},
        {"render_seconds": (2, 1)},
        {"render_seconds": (1, 2, 3)},
        {"render_seconds": "5"},
        {"failure_rate": 1.5},
        {"silent_failure_rate": -0.1},
        {"concurrency_limit": 0},
        {"requests_per_second": 0},
        {"retry_after": -1},
        {"url_ttl": 0},
        {"avatar_training_seconds": -1},
        {"credits": -1},
        {"in_progress_status": ""},
        {"billing_type": "prepaid"},
    ],
)
def test_invalid_configuration_is_rejected(config: dict[str, Any]) -> None:
    """Out-of-range knobs raise ValueError at construction."""
    with pytest.raises(ValueError):  # noqa: PT011 - attrs and our validators differ
        FakeHeyGen(**config)


def test_set_credits_validates() -> None:
    """set_credits accepts None or a count and rejects negatives."""
    fake = FakeHeyGen()
    fake.set_credits(3)
    assert fake.credits == 3
    fake.set_credits(None)
    assert fake.credits is None
    with pytest.raises(ValueError, match="credits"):
        fake.set_credits(-1)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic x"},
    ],
)
async def test_missing_or_wrong_key_is_the_same_401(
    fake: FakeHeyGen, headers: dict[str, str]
) -> None:
    """No key and a wrong key get one identical 401 `unauthorized`."""
    async with aiohttp.ClientSession(fake.url, headers=headers) as session:
        status, body = await get_json(session, "/v3/users/me")
    assert status == 401
    assert body == {
        "error": {
            "code": "unauthorized",
            "message": "Invalid or missing API key.",
            "param": None,
            "doc_url": None,
        }
    }


@pytest.mark.parametrize("scheme", ["x-api-key", "bearer"])
async def test_api_key_or_bearer_token_authenticates(
    fake: FakeHeyGen, scheme: str
) -> None:
    """Both `x-api-key` and `Authorization: Bearer` carry the key."""
    if scheme == "bearer":
        headers = {"Authorization": f"Bearer {fake.api_key}"}
    else:
        headers = {"x-api-key": fake.api_key}
    async with aiohttp.ClientSession(fake.url, headers=headers) as session:
        status, _ = await get_json(session, "/v3/users/me")
    assert status == 200


async def test_every_response_has_a_request_id(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """Successes, errors, 404s, media and stats all carry a distinct X-Request-Id."""
    seen = set()
    for method, path in [
        ("GET", "/v3/users/me"),
        ("GET", "/v3/videos/v_missing"),
        ("GET", "/v3/no-such-route"),
        ("PATCH", "/v3/videos"),
        ("GET", "/_fake/stats"),
        ("GET", "/_fake/media/v_x.mp4?expires=1&sig=bad"),
    ]:
        async with fake_session.request(method, path) as resp:
            request_id = resp.headers["X-Request-Id"]
        assert re.fullmatch(r"req_[0-9a-f]{20}", request_id)
        seen.add(request_id)
    assert len(seen) == 6


async def test_unknown_routes_answer_json_404_and_405(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """Unmatched paths get the error envelope and count as `<unmatched>`."""
    status, body = await get_json(fake_session, "/v3/nothing-here")
    assert status == 404
    assert body["error"]["code"] == "not_found"
    async with fake_session.patch("/v3/videos") as resp:
        assert resp.status == 405
        assert (await resp.json())["error"]["code"] == "method_not_allowed"
    stats = fake.stats
    assert stats.requests["GET <unmatched>"] == 1
    assert stats.responses["PATCH <unmatched>"] == {405: 1}


async def test_handler_crash_is_a_json_500(caplog: pytest.LogCaptureFixture) -> None:
    """An exception inside the fake (here: a failing job_plan) is a logged 500."""

    def broken_plan(index: int, body: object) -> JobPlan:
        raise RuntimeError("boom")

    async with (
        serve(job_plan=broken_plan) as (_, session),
        session.post("/v3/videos", json=video_body()) as resp,
    ):
        assert resp.status == 500
        assert (await resp.json())["error"]["code"] == "internal_error"
    assert "heygen.fake.handler_error" in caplog.text


async def test_stats_count_routes_statuses_and_jobs(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """Stats count requests and responses by route, and jobs created."""
    video_id = await create(fake_session)
    await get_json(fake_session, f"/v3/videos/{video_id}")
    await get_json(fake_session, "/v3/videos/v_unknown")
    async with aiohttp.ClientSession(fake.url) as anonymous:
        await get_json(anonymous, "/v3/users/me")
    stats = fake.stats
    assert stats.requests == {
        "POST /v3/videos": 1,
        "GET /v3/videos/{video_id}": 2,
        "GET /v3/users/me": 1,
    }
    assert stats.responses["GET /v3/videos/{video_id}"] == {200: 1, 404: 1}
    assert stats.responses["GET /v3/users/me"] == {401: 1}
    assert stats.jobs_created == 1
    assert stats.total_requests == 4
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        stats.jobs_created = 5  # type: ignore[misc]


async def test_stats_route_serves_json_without_auth(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """GET /_fake/stats is FakeStats.to_json(), needs no key and is not counted."""
    await create(fake_session)
    async with aiohttp.ClientSession(fake.url) as anonymous:
        status, body = await get_json(anonymous, "/_fake/stats")
    assert status == 200
    assert body == fake.stats.to_json()
    assert body["responses"] == {"POST /v3/videos": {"200": 1}}
    assert body["jobs_created"] == 1
    assert "GET /_fake/stats" not in body["requests"]
    assert FakeStats().to_json()["requests"] == {}


async def test_users_me_reports_a_wallet(fake_session: aiohttp.ClientSession) -> None:
    """GET /v3/users/me returns exactly the Account fields with a wallet."""
    status, body = await get_json(fake_session, "/v3/users/me")
    assert status == 200
    data = body["data"]
    assert set(data) == {
        "username",
        "email",
        "first_name",
        "last_name",
        "billing_type",
        "wallet",
        "subscription",
        "usage_based",
    }
    assert data["billing_type"] == "wallet"
    assert set(data["wallet"]) == {"currency", "remaining_balance", "auto_reload"}
    assert data["wallet"]["remaining_balance"] >= 1000
    assert data["wallet"]["currency"] == "usd"
    assert data["wallet"]["auto_reload"] is None
    assert data["subscription"] is None
    assert data["usage_based"] is None


async def test_users_me_wallet_auto_reload() -> None:
    """wallet_auto_reload=True gives an auto_reload object, as HeyGen's schema has."""
    async with serve(wallet_auto_reload=True, credits=7) as (_, session):
        _, body = await get_json(session, "/v3/users/me")
    wallet = body["data"]["wallet"]
    assert wallet["remaining_balance"] == 7
    assert wallet["auto_reload"] == {
        "enabled": True,
        "amount_usd": 50.0,
        "threshold_usd": 10.0,
    }


async def test_users_me_subscription_and_usage_based_accounts() -> None:
    """billing_type picks which of wallet / subscription / usage_based is set."""
    async with serve(billing_type="subscription", credits=40) as (_, session):
        _, body = await get_json(session, "/v3/users/me")
    data = body["data"]
    assert data["billing_type"] == "subscription"
    assert data["wallet"] is None
    assert data["usage_based"] is None
    assert data["subscription"]["plan"] == "pro"
    assert data["subscription"]["credits"]["premium_credits"]["remaining"] == 40
    async with serve(billing_type="usage_based") as (_, session):
        _, body = await get_json(session, "/v3/users/me")
    data = body["data"]
    assert (data["billing_type"], data["wallet"], data["subscription"]) == (
        "usage_based",
        None,
        None,
    )
    assert data["usage_based"]["remaining_credits"] == 1_000_000


async def test_videos_view_is_read_only(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """fake.videos exposes each job's timeline, body and key, read-only."""
    video_id = await create(fake_session, title="Hi")
    video = fake.videos[video_id]
    assert video.id == video_id
    assert video.index == 0
    assert video.finishes_mono - video.created_mono == pytest.approx(0.05)
    assert video.request["voice_id"] == VOICE_ID
    assert video.title == "Hi"
    assert video.idempotency_key is None
    assert video.status_at(video.created_mono) == "pending"
    assert video.status_at(video.finishes_mono) == "completed"
    assert not video.failed
    with pytest.raises(TypeError):
        fake.videos[video_id] = video  # type: ignore[index]


@pytest.mark.parametrize(
    ("seconds", "text"), [(1, "1"), (1.0, "1"), (0.05, "0.05"), (2.5, "2.5"), (0, "0")]
)
def test_retry_after_formatting(seconds: float, text: str) -> None:
    """Retry-After prints whole seconds as ints and small floats plainly."""
    assert format_seconds(seconds) == text


def test_pagination_tokens_round_trip() -> None:
    """Tokens are opaque but decode back to their position."""
    assert decode_token(encode_token(40)) == 40
    assert decode_token(None) is None
    assert decode_token("") is None
