"""
Every response HeyGen's official schema allows decodes through the public API.

For each operation the SDK reads, hypothesis draws bodies from the vendored
response schema (``heygen_async/testing/contract``), a loopback server
answers with them over a real socket, and a default (lenient, production)
:class:`heygen_async.Client` must decode every one. Each drawn body is first
checked against the schema with ``jsonschema``, so the generator cannot
wander outside the contract.

Two generators draw the bodies: ``hypothesis-jsonschema``'s ``from_schema``
(the reference implementation of "any instance of this schema"), and our own
small walker (``_schemas``), which biases the draw: nullable fields are
null half the time, optional fields are left out half the time, and
objects grow unknown extra keys (allowed: no schema here forbids them).
A deterministic pass then serves one body per value of every enum and one
with every nullable field null, so coverage does not depend on luck.

Decisions:

- The top-level ``data`` envelope is treated as present: the schemas mark
  it optional, but HeyGen always sends it and a body without it carries
  nothing to decode. Such a body raises a typed
  :class:`~heygen_async.ResponseValidationError` naming the route, the field
  and the request id (tested below), never a crash.
- Ids the SDK sends back in a URL (``GET /v3/videos/{id}`` ...) are drawn
  non-blank: the client refuses a blank id before any request.
- A list page that says ``has_more`` is followed once; the server ends the
  listing on the second page.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema

import heygen_async as hg
from heygen_async.testing._contract import SchemaChecker, operations
from tests.contract._schemas import (
    enum_sites,
    instance,
    pin_ids,
    response_schema,
    strategy,
)
from tests.helpers import FAST_RETRY, loopback_server, png


EXAMPLES = 50
CHECKER = SchemaChecker()


# -- the SDK calls, one per operation --------------------------------------

Call = Callable[[hg.Client, Any], Awaitable[None]]


async def _create_video(client: hg.Client, body: Any) -> None:
    request = hg.VideoRequest(
        image_url="https://example.com/a.jpg", audio_url="https://example.com/a.mp3"
    )
    created = await client.create_video(request)
    assert body["data"]["video_id"] == created.id


async def _get_video(client: hg.Client, body: Any) -> None:
    video = await client.get_video(body["data"]["id"])
    assert body["data"]["status"] == video.status.value


async def _statuses(client: hg.Client, body: Any) -> None:
    ids = [row["video_id"] for row in body["data"] if row.get("video_id")]
    items = await client.get_statuses(ids or ["v_none"])
    assert set(ids) <= {item.id for item in items}
    for item in items:
        assert item.error is None or isinstance(item.error, hg.StatusError)


async def _videos(client: hg.Client, body: Any) -> None:
    videos = [video async for video in client.iter_videos()]
    assert len(body["data"]) == len(videos)


async def _upload(client: hg.Client, body: Any) -> None:
    asset = await client.upload_asset(png(1))
    assert body["data"]["asset_id"] == asset.id


async def _get_asset(client: hg.Client, body: Any) -> None:
    asset = await client.get_asset(body["data"]["id"])
    assert body["data"]["id"] == asset.id


async def _voices(client: hg.Client, body: Any) -> None:
    voices = [voice async for voice in client.iter_voices()]
    assert [row["voice_id"] for row in body["data"]] == [v.id for v in voices]


async def _get_voice(client: hg.Client, body: Any) -> None:
    voice = await client.get_voice(body["data"]["voice_id"])
    assert body["data"]["voice_id"] == voice.id


async def _me(client: hg.Client, body: Any) -> None:
    account = await client.get_me()
    wallet = body["data"].get("wallet")
    if wallet is not None and wallet.get("auto_reload") is not None:
        assert account.wallet is not None
        assert account.wallet.auto_reload is not None
        assert wallet["auto_reload"]["enabled"] is account.wallet.auto_reload.enabled


async def _create_avatar(client: hg.Client, body: Any) -> None:
    avatar = await client.create_photo_avatar(
        name="me", image_url="https://example.com/me.jpg"
    )
    item = body["data"].get("avatar_item")
    assert (item["id"] if item else None) == (avatar.look.id if avatar.look else None)


async def _get_look(client: hg.Client, body: Any) -> None:
    look = await client.get_avatar_look(body["data"]["id"])
    assert body["data"]["id"] == look.id
    if body["data"].get("status") == "completed":
        assert look.is_ready


async def _create_endpoint(client: hg.Client, body: Any) -> None:
    endpoint = await client.create_webhook_endpoint("https://example.com/hook")
    assert body["data"]["endpoint_id"] == endpoint.id


async def _endpoints(client: hg.Client, body: Any) -> None:
    endpoints = [e async for e in client.iter_webhook_endpoints()]
    assert len(body["data"]) == len(endpoints)


async def _update_endpoint(client: hg.Client, body: Any) -> None:
    endpoint = await client.update_webhook_endpoint(
        "ep_1", url="https://example.com/new"
    )
    assert body["data"]["url"] == endpoint.url


async def _rotate(client: hg.Client, body: Any) -> None:
    secret = await client.rotate_webhook_secret("ep_1")
    assert body["data"]["secret"] == secret.secret


async def _event_types(client: hg.Client, body: Any) -> None:
    types = await client.list_webhook_event_types()
    assert len(body["data"]) == len(types)


async def _events(client: hg.Client, body: Any) -> None:
    records = [r async for r in client.iter_webhook_events()]
    assert [row["event_id"] for row in body["data"]] == [r.event_id for r in records]


# operation -> (SDK call, paths of ids the SDK sends back in a URL)
CALLS: dict[str, tuple[Call, frozenset[str]]] = {
    "VideoCreate": (_create_video, frozenset()),
    "VideoGet": (_get_video, frozenset({"$.data.id"})),
    "VideoStatusesList": (_statuses, frozenset({"$.data[].video_id"})),
    "VideoList": (_videos, frozenset()),
    "AssetCreate": (_upload, frozenset()),
    "AssetGet": (_get_asset, frozenset({"$.data.id"})),
    "VoiceList": (_voices, frozenset()),
    "VoiceGet": (_get_voice, frozenset({"$.data.voice_id"})),
    "UserMeGet": (_me, frozenset()),
    "AvatarCreate": (_create_avatar, frozenset()),
    "AvatarLooksGet": (_get_look, frozenset({"$.data.id"})),
    "WebhookEndpointsCreate": (_create_endpoint, frozenset()),
    "WebhookEndpointsList": (_endpoints, frozenset()),
    "WebhookEndpointsUpdate": (_update_endpoint, frozenset()),
    "WebhookEndpointsRotateSecret": (_rotate, frozenset()),
    "WebhookEventTypesList": (_event_types, frozenset()),
    "WebhookEventsList": (_events, frozenset()),
}


class Server:
    """What the loopback server answers next, and what it was asked."""

    def __init__(self) -> None:
        self.body: Any = None
        self.requests: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        """The current body; a follow-up page request ends the listing."""
        self.requests.append(f"{request.method} {request.path}")
        await request.read()
        if "token" in request.query:
            return web.json_response({"data": [], "has_more": False})
        headers = {"X-Request-Id": f"req_{len(self.requests)}"}
        return web.json_response(self.body, headers=headers)


@asynccontextmanager
async def _client(server: Server) -> AsyncIterator[hg.Client]:
    async with loopback_server(server.handle) as url:
        async with hg.Client(api_key="k", base_url=url, retry=FAST_RETRY) as client:
            yield client


@contextmanager
def serving() -> Iterator[Callable[[Any, Call], None]]:
    """A loopback server and a default client on one loop, for many bodies."""
    server = Server()
    with asyncio.Runner() as runner:
        context = _client(server)
        client = runner.run(context.__aenter__())
        try:

            def serve(body: Any, call: Call) -> None:
                server.body = body
                runner.run(call(client, body))

            yield serve
        finally:
            runner.run(context.__aexit__(None, None, None))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_schema_valid_response_decodes(name: str) -> None:
    """Drawn bodies, each valid under HeyGen's schema, all decode."""
    call, ids = CALLS[name]
    operation = operations()[name]
    seen = {"null": 0, "extra": 0}

    with serving() as serve:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy(response_schema(name), ids))
        def check(body: Any) -> None:
            assert CHECKER.problems(operation, "response", body) == []
            text = repr(body)
            seen["null"] += "None" in text
            seen["extra"] += "'x_" in text
            serve(body, call)

        check()
    assert seen["null"] > 0
    assert seen["extra"] > 0


@pytest.mark.parametrize("name", sorted(CALLS))
def test_hypothesis_jsonschema_bodies_decode(name: str) -> None:
    """Bodies from ``hypothesis-jsonschema``, valid under the schema, decode."""
    call, ids = CALLS[name]
    operation = operations()[name]

    with serving() as serve:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(from_schema(pin_ids(response_schema(name), ids)))
        def check(body: Any) -> None:
            assert CHECKER.problems(operation, "response", body) == []
            serve(body, call)

        check()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_enum_value_and_all_nulls_decode(name: str) -> None:
    """One body per enum value, and one with every nullable field null."""
    call, _ = CALLS[name]
    operation = operations()[name]
    schema = response_schema(name)
    bodies = [instance(schema), instance(schema, nulls=True)]
    for path, values in enum_sites(schema):
        bodies += [instance(schema, enums={path: value}) for value in values]
    with serving() as serve:
        for body in bodies:
            assert CHECKER.problems(operation, "response", body) == []
            serve(body, call)


# -- what does not decode is a typed, named error ---------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "$.data"),
        ({"error": None}, "$.data"),
        ({"data": {"id": "v1"}}, "$.data.status"),
        ({"data": {"id": "v1", "status": "completed", "duration": "long"}}, None),
    ],
)
def test_an_undecodable_body_is_a_named_validation_error(
    body: Any, field: str | None
) -> None:
    """A body without data, or with a field the SDK cannot read, is typed."""
    route = "GET /v3/videos/{video_id}"

    async def call(client: hg.Client, _: Any) -> None:
        with pytest.raises(hg.ResponseValidationError) as info:
            await client.get_video("v1")
        error = info.value
        assert route == error.route
        assert (field or "$.data.duration") in error.fields
        assert error.request_id is not None
        assert error.request_id.startswith("req_")
        assert route in str(error)
        assert error.request_id in str(error)

    with serving() as serve:
        serve(body, call)


def test_a_list_body_without_data_is_a_validation_error() -> None:
    """A list endpoint whose body has no data raises, and never loops."""

    async def call(client: hg.Client, _: Any) -> None:
        with pytest.raises(hg.ResponseValidationError, match="/v3/videos"):
            _ = [video async for video in client.iter_videos()]

    with serving() as serve:
        serve({"has_more": True, "next_token": "t"}, call)


def test_a_list_row_that_does_not_decode_names_its_route() -> None:
    """A bad row in a list names the route and the row's field."""

    async def call(client: hg.Client, _: Any) -> None:
        with pytest.raises(hg.ResponseValidationError) as info:
            _ = [voice async for voice in client.iter_voices()]
        assert info.value.route == "GET /v3/voices"
        assert any(f.startswith("$.data[0]") for f in info.value.fields)

    with serving() as serve:
        serve({"data": [{"voice_id": "v", "support_pause": "no"}]}, call)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_models_declare_every_schema_field(name: str) -> None:
    """A strict client reads full bodies: no schema field is unmodelled."""
    call, _ = CALLS[name]
    schema = response_schema(name)
    bodies = [
        instance(schema, extras=False),
        instance(schema, nulls=True, extras=False),
    ]
    server = Server()

    async def run() -> None:
        async with loopback_server(server.handle) as url:
            async with hg.Client(
                api_key="k", base_url=url, retry=FAST_RETRY, strict=True
            ) as client:
                for body in bodies:
                    server.body = body
                    await call(client, body)

    asyncio.run(run())
