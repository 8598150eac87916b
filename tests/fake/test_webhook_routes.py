"""The fake's webhook endpoint routes and delivery history (plain aiohttp)."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from heygen_async.testing import FakeHeyGen, Fault, JobPlan
from tests.helpers.fake import create, get_json, serve
from tests.helpers.webhooks import (
    ENDPOINTS,
    call,
    listening,
    plans,
    register,
)


SECRET_PATTERN = re.compile(r"whsec_[0-9a-f]{48}")


# -- endpoint routes ---------------------------------------------------------


async def test_create_returns_the_secret_once(
    fake_session: aiohttp.ClientSession,
) -> None:
    """Create answers with a whsec_ secret; the list shows the endpoint without it."""
    endpoint = await register(
        fake_session, "https://example.com/hook", events=["avatar_video.success"]
    )
    assert set(endpoint) == {
        "endpoint_id",
        "url",
        "events",
        "status",
        "created_at",
        "secret",
    }
    assert endpoint["endpoint_id"].startswith("ep_")
    assert SECRET_PATTERN.fullmatch(endpoint["secret"])
    assert endpoint["events"] == ["avatar_video.success"]
    assert endpoint["status"] == "enabled"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", endpoint["created_at"])
    status, listed = await get_json(fake_session, ENDPOINTS)
    assert status == 200
    assert listed["data"] == [{**endpoint, "secret": None}]
    assert listed["has_more"] is False


async def test_entity_id_is_kept(fake_session: aiohttp.ClientSession) -> None:
    """An entity_id given on create is echoed; events default to null (all)."""
    endpoint = await register(fake_session, "https://e.com/h", entity_id="ent_1")
    assert endpoint["entity_id"] == "ent_1"
    assert endpoint["events"] is None


async def test_list_pages(fake_session: aiohttp.ClientSession) -> None:
    """Endpoints are listed oldest first, limit per page, following next_token."""
    ids = [
        (await register(fake_session, f"https://e.com/{n}"))["endpoint_id"]
        for n in range(3)
    ]
    status, first = await get_json(fake_session, ENDPOINTS, limit="2")
    assert status == 200
    assert [e["endpoint_id"] for e in first["data"]] == ids[:2]
    assert first["has_more"] is True
    _, second = await get_json(
        fake_session, ENDPOINTS, limit="2", token=first["next_token"]
    )
    assert [e["endpoint_id"] for e in second["data"]] == ids[2:]
    assert second["next_token"] is None


async def test_update_replaces_events_and_url(
    fake_session: aiohttp.ClientSession,
) -> None:
    """PATCH replaces the whole events list and the URL; the secret stays hidden."""
    endpoint = await register(
        fake_session,
        "https://e.com/a",
        events=["avatar_video.success", "avatar_video.fail"],
    )
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
    status, body = await call(
        fake_session, "PATCH", path, json={"events": ["avatar_video.fail"]}
    )
    assert status == 200
    assert body["data"]["events"] == ["avatar_video.fail"]
    assert body["data"]["url"] == "https://e.com/a"
    assert body["data"]["secret"] is None
    status, body = await call(
        fake_session, "PATCH", path, json={"url": "https://e.com/b", "events": None}
    )
    assert status == 200
    assert (body["data"]["url"], body["data"]["events"]) == ("https://e.com/b", None)


async def test_delete_then_404(fake_session: aiohttp.ClientSession) -> None:
    """DELETE removes the endpoint; it is then unknown to every route."""
    endpoint = await register(fake_session, "https://e.com/a")
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
    status, body = await call(fake_session, "DELETE", path)
    assert status == 200
    assert body["data"] == {"endpoint_id": endpoint["endpoint_id"], "deleted": True}
    for method, suffix in [("DELETE", ""), ("PATCH", ""), ("POST", "/rotate-secret")]:
        status, body = await call(
            fake_session, method, path + suffix, json={"url": "https://e.com"}
        )
        assert status == 404
        assert body["error"]["code"] == "not_found"
    _, listed = await get_json(fake_session, ENDPOINTS)
    assert listed["data"] == []


async def test_rotate_returns_a_new_secret(
    fake_session: aiohttp.ClientSession,
) -> None:
    """rotate-secret answers a different whsec_ secret for the same endpoint."""
    endpoint = await register(fake_session, "https://e.com/a")
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}/rotate-secret"
    status, body = await call(fake_session, "POST", path)
    assert status == 200
    assert set(body["data"]) == {"endpoint_id", "secret"}
    assert body["data"]["endpoint_id"] == endpoint["endpoint_id"]
    assert SECRET_PATTERN.fullmatch(body["data"]["secret"])
    assert body["data"]["secret"] != endpoint["secret"]


async def test_create_is_idempotent(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """The same Idempotency-Key replays the first endpoint instead of a second."""
    headers = {"Idempotency-Key": "hook-1"}
    first = await call(
        fake_session, "POST", ENDPOINTS, json={"url": "https://e.com"}, headers=headers
    )
    again = await call(
        fake_session, "POST", ENDPOINTS, json={"url": "https://e.com"}, headers=headers
    )
    assert first == again
    assert fake.stats.idempotent_replays == 1


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "url"),
        ({"url": "ftp://e.com"}, "url"),
        ({"url": 5}, "url"),
        ({"url": "https://e.com", "events": []}, "events"),
        ({"url": "https://e.com", "events": "avatar_video.success"}, "events"),
        ({"url": "https://e.com", "events": ["nope"]}, "events"),
        ({"url": "https://e.com", "events": [{"x": 1}]}, "events"),
        ({"url": "https://e.com", "entity_id": 3}, "entity_id"),
        ({"url": "https://e.com", "colour": "red"}, "colour"),
    ],
)
async def test_create_validates(
    fake_session: aiohttp.ClientSession, body: dict[str, Any], param: str
) -> None:
    """Bad create bodies are 400 invalid_parameter naming the field."""
    status, answer = await call(fake_session, "POST", ENDPOINTS, json=body)
    assert status == 400
    assert answer["error"]["code"] == "invalid_parameter"
    assert answer["error"]["param"] == param


async def test_update_validates(fake_session: aiohttp.ClientSession) -> None:
    """PATCH refuses fields it cannot change and bad values."""
    endpoint = await register(fake_session, "https://e.com/a")
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
    for body, param in [
        ({"entity_id": "x"}, "entity_id"),
        ({"url": "nope"}, "url"),
        ({"events": ["nope"]}, "events"),
    ]:
        status, answer = await call(fake_session, "PATCH", path, json=body)
        assert status == 400
        assert answer["error"]["param"] == param


async def test_event_types(fake_session: aiohttp.ClientSession) -> None:
    """event-types lists the avatar_video events with descriptions."""
    status, body = await get_json(fake_session, "/v3/webhooks/event-types")
    assert status == 200
    types = {item["event_type"]: item["description"] for item in body["data"]}
    assert {"avatar_video.success", "avatar_video.fail"} <= set(types)
    assert all(isinstance(text, str) and text for text in types.values())
    assert body["has_more"] is False


async def test_webhook_routes_need_the_key(fake: FakeHeyGen) -> None:
    """The webhook routes are authenticated like every /v3 route."""
    async with aiohttp.ClientSession(fake.url) as session:
        status, _ = await get_json(session, ENDPOINTS)
    assert status == 401


async def test_faults_can_target_webhook_routes() -> None:
    """A Fault may name a webhook route, which then fails as scripted."""
    route = "PATCH /v3/webhooks/endpoints/{endpoint_id}"
    async with serve(
        faults=[Fault(kind="error", status=503, route=route, nth=(1,))]
    ) as (
        _,
        session,
    ):
        endpoint = await register(session, "https://e.com")
        path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
        status, _ = await call(session, "PATCH", path, json={"url": "https://e.com/b"})
        assert status == 503
    with pytest.raises(ValueError, match="not a FakeHeyGen route"):
        FakeHeyGen(faults=[Fault(kind="error", route="GET /v3/webhooks/x", nth=(1,))])


@pytest.mark.parametrize(
    "config",
    [
        {"webhook_attempts": 0},
        {"webhook_retry_base": -1},
        {"webhook_timeout": 0},
        {"webhook_delay": -0.1},
        {"webhook_duplicate_rate": 1.5},
        {"webhook_drop_rate": -0.1},
    ],
)
def test_invalid_webhook_knobs_are_rejected(config: dict[str, Any]) -> None:
    """Out-of-range webhook knobs raise ValueError at construction."""
    with pytest.raises(ValueError):  # noqa: PT011 - attrs' messages vary
        FakeHeyGen(**config)


# -- history -------------------------------------------------------------------


async def test_history_lists_events_with_delivery_ids() -> None:
    """GET /v3/webhooks/events lists finished events newest first, same ids."""
    async with listening(
        job_plan=plans(
            JobPlan(render_seconds=0.01),
            JobPlan(render_seconds=0.02, fail=True),
            JobPlan(render_seconds=30),
        )
    ) as (_, session, receiver, _secret):
        ids = [await create(session, script=f"Hi {n}") for n in range(3)]
        delivered = [await receiver.next() for _ in range(2)]
        status, body = await get_json(session, "/v3/webhooks/events")
        assert status == 200
        events = body["data"]
        assert [e["event_data"]["video_id"] for e in events] == [ids[1], ids[0]]
        assert [e["event_type"] for e in events] == [
            "avatar_video.fail",
            "avatar_video.success",
        ]
        assert {e["event_id"] for e in events} == {
            d.headers["Heygen-Event-Id"] for d in delivered
        }
        assert set(events[0]) == {"event_id", "event_type", "event_data", "created_at"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", events[0]["created_at"])


async def test_history_filters_and_pages(fake: FakeHeyGen) -> None:
    """event_type and entity_id filter the history; limit and token page it."""
    fake.job_plan = plans(
        JobPlan(render_seconds=0),
        JobPlan(render_seconds=0),
        JobPlan(render_seconds=0, fail=True),
    )
    headers = {"x-api-key": fake.api_key}
    async with aiohttp.ClientSession(fake.url, headers=headers) as session:
        ids = [await create(session, script=f"Hi {n}") for n in range(3)]
        path = "/v3/webhooks/events"
        _, body = await get_json(session, path, event_type="avatar_video.success")
        assert {e["event_data"]["video_id"] for e in body["data"]} == set(ids[:2])
        _, body = await get_json(session, path, entity_id=ids[2])
        assert [e["event_type"] for e in body["data"]] == ["avatar_video.fail"]
        _, first = await get_json(session, path, limit="2")
        assert len(first["data"]) == 2
        assert first["has_more"] is True
        _, rest = await get_json(session, path, limit="2", token=first["next_token"])
        assert len(rest["data"]) == 1
        assert rest["next_token"] is None
