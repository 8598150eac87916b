"""Hostile answers and inputs: deep or huge bodies, endless pages, bad ids."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import heygen_async as hg
from heygen_async._http import JSONTooDeepError, load_json
from heygen_async.testing import FakeHeyGen
from tests.helpers import FAST_RETRY, loopback_server, png


REQUEST_ID = "req_hostile_1"


def deep(levels: int) -> bytes:
    """A JSON body nesting *levels* arrays inside ``data``."""
    return b'{"data": ' + b"[" * levels + b"]" * levels + b"}"


def answer(body: bytes, status: int = 200) -> web.Response:
    """A JSON answer carrying a request id."""
    return web.Response(
        status=status,
        body=body,
        content_type="application/json",
        headers={"X-Request-Id": REQUEST_ID},
    )


def client_on(url: str, **options: Any) -> hg.Client:
    """A client on a loopback server with fast retries."""
    options.setdefault("retry", FAST_RETRY)
    return hg.Client(api_key="k", base_url=url, **options)


# -- the JSON decoder guard --------------------------------------------------


@pytest.mark.parametrize("levels", [100, 5_000, 1_000_000])
async def test_deeply_nested_body_is_a_validation_error(levels: int) -> None:
    """Nesting past the limit is a typed error naming route and request id."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return answer(deep(levels))

    async with loopback_server(handler) as url, client_on(url) as client:
        with pytest.raises(hg.ResponseValidationError) as info:
            await client.get_me()
    error = info.value
    assert "nested deeper than 64 levels" in str(error)
    assert "GET /v3/users/me" in str(error)
    assert (error.route, error.request_id) == ("GET /v3/users/me", REQUEST_ID)
    assert isinstance(error.__cause__, JSONTooDeepError)


async def test_deeply_nested_error_body_maps_by_status() -> None:
    """A deep error body cannot recurse either: it maps by its status."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return answer(deep(100_000), status=404)

    async with loopback_server(handler) as url, client_on(url) as client:
        with pytest.raises(hg.NotFoundError) as info:
            await client.get_me()
    assert info.value.code == "not_found"
    assert info.value.request_id == REQUEST_ID


async def test_depth_limit_is_configurable() -> None:
    """Limits(max_json_depth=...) sets how deep a body may nest."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return answer(b'{"data": {"a": [[1]]}}')

    async with loopback_server(handler) as url:
        async with client_on(url, limits=hg.Limits(max_json_depth=3)) as client:
            with pytest.raises(hg.ResponseValidationError, match="deeper than 3"):
                await client.request("GET", "/v3/anything")
        async with client_on(url, limits=hg.Limits(max_json_depth=4)) as client:
            body = await client.request("GET", "/v3/anything")
    assert body == {"data": {"a": [[1]]}}


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": "[[[[[[[[[[[[[[[[[[[[[["}',
        b'{"a": "\\"[[[[[[[[[[[[[[[[[[[", "b": ["]]]]]]]]]"]}',
        b"[" * 64 + b"]" * 64,
        b'{"a": ' * 63 + b"[]" + b"}" * 63,
        b"[" + b"[],{}," * 100 + b"[]]",
    ],
)
def test_load_json_accepts_what_is_within_the_limit(text: bytes) -> None:
    """Brackets inside strings do not count; a body at the limit is fine."""
    load_json(text, max_depth=64)


@pytest.mark.parametrize(
    "text",
    [
        b"[" * 65 + b"]" * 65,
        b'{"a": ' * 64 + b"[]" + b"}" * 64,
        b"[" * 64 + b'"x", {"deep": 1}' + b"]" * 64,
    ],
)
def test_load_json_refuses_one_level_too_deep(text: bytes) -> None:
    """One level past the limit is refused."""
    with pytest.raises(JSONTooDeepError):
        load_json(text, max_depth=64)


@pytest.mark.parametrize("text", [b"[]]" + b"[]" * 8, b"[]" * 8 + b"["])
def test_load_json_unbalanced_is_not_json(text: bytes) -> None:
    """Unbalanced brackets are a plain ValueError, not a depth complaint."""
    with pytest.raises(ValueError, match="unbalanced") as info:
        load_json(text, max_depth=6)
    assert not isinstance(info.value, JSONTooDeepError)


def test_load_json_is_fast_on_huge_hostile_input() -> None:
    """Eight MiB of brackets are judged in well under a second."""
    body = b"[" * (4 * 1024 * 1024) + b"]" * (4 * 1024 * 1024)
    started = time.monotonic()
    with pytest.raises(JSONTooDeepError):
        load_json(body, max_depth=64)
    assert time.monotonic() - started < 2.0


# -- body size caps ----------------------------------------------------------


async def test_body_over_the_cap_is_a_validation_error() -> None:
    """A 2xx body larger than max_body_bytes is refused, not read whole."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return answer(b'{"data": "' + b"x" * 5000 + b'"}')

    async with (
        loopback_server(handler) as url,
        client_on(url, limits=hg.Limits(max_body_bytes=1024)) as client,
    ):
        with pytest.raises(hg.ResponseValidationError) as info:
            await client.get_me()
    assert "larger than 1024 bytes" in str(info.value)
    assert info.value.request_id == REQUEST_ID


async def test_endless_streamed_body_stops_at_the_cap() -> None:
    """A chunked body that never ends is cut off at the cap, not awaited."""
    stop = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"data": "')
        try:
            while not stop.is_set():
                await response.write(b"x" * 65536)
        except (ConnectionError, RuntimeError):
            pass
        return response

    async with (
        loopback_server(handler) as url,
        client_on(url, limits=hg.Limits(max_body_bytes=256 * 1024)) as client,
    ):
        with pytest.raises(hg.ResponseValidationError, match="larger than"):
            await asyncio.wait_for(client.get_me(), 5)
        stop.set()


async def test_oversized_error_body_still_maps_by_status() -> None:
    """A huge error page is cut at the cap and mapped by its status."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=503, text="<html>" + "x" * 5000)

    async with (
        loopback_server(handler) as url,
        client_on(
            url,
            retry=hg.RetryPolicy(attempts=1),
            limits=hg.Limits(max_body_bytes=1024),
        ) as client,
    ):
        with pytest.raises(hg.ServerError) as info:
            await client.get_me()
    assert info.value.code == "service_unavailable"


async def test_oversized_answer_to_a_keyed_create_is_replayed() -> None:
    """An unreadably large 2xx on a keyed create is asked for again."""
    calls = 0

    async def handler(_: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            return answer(b'{"data": "' + b"x" * 5000 + b'"}')
        return answer(b'{"data": {"video_id": "v_1", "status": "waiting"}}')

    request = hg.VideoRequest(
        image_url="https://e.com/a.jpg", audio_url="https://e.com/a.mp3"
    )
    async with (
        loopback_server(handler) as url,
        client_on(url, limits=hg.Limits(max_body_bytes=1024)) as client,
    ):
        created = await client.create_video(request, idempotency_key="big-1")
    assert created.id == "v_1"
    assert calls == 2


@pytest.mark.parametrize(
    "options",
    [
        {"max_body_bytes": 0},
        {"max_json_depth": 0},
        {"max_pages": 0},
        {"max_download_bytes": 0},
    ],
)
def test_limits_refuse_nonsense(options: dict[str, int]) -> None:
    """Every limit is at least 1."""
    with pytest.raises(ValueError, match=next(iter(options))):
        hg.Limits(**options)


def test_limits_defaults_and_client_property() -> None:
    """Generous defaults; the client exposes the limits it was given."""
    limits = hg.Limits()
    assert limits.max_body_bytes == 8 * 1024 * 1024
    assert limits.max_json_depth == 64
    assert limits.max_pages == 10_000
    assert limits.max_download_bytes == 2 * 1024**3
    assert hg.Limits(max_download_bytes=None).max_download_bytes is None
    mine = hg.Limits(max_pages=3)
    assert hg.Client(api_key="k", limits=mine).limits is mine


# -- bounded paging ----------------------------------------------------------


def voice(n: int) -> dict[str, Any]:
    """One voice as the wire has it."""
    return {
        "voice_id": f"voice_{n}",
        "name": f"Voice {n}",
        "language": "English",
        "gender": "female",
        "type": "public",
        "preview_audio_url": None,
        "support_pause": True,
        "support_locale": False,
    }


async def collect(items: AsyncIterator[hg.Voice], into: list[str]) -> None:
    """Append each voice id to *into* until the iterator ends or raises."""
    async for item in items:
        into.append(item.id)


async def test_repeated_next_token_stops_paging() -> None:
    """A server that hands back the same token twice is refused, not looped."""
    calls = 0

    async def handler(_: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        body = {"data": [voice(calls)], "has_more": True, "next_token": "same"}
        return web.json_response(body)

    async with loopback_server(handler) as url, client_on(url) as client:
        seen: list[str] = []
        with pytest.raises(hg.ResponseValidationError, match="next_token"):
            await collect(client.iter_voices(), seen)
    assert calls == 2
    assert seen == ["voice_1", "voice_2"]


async def test_endless_pages_stop_at_max_pages() -> None:
    """Fresh tokens forever still stop after Limits.max_pages pages."""
    calls = 0

    async def handler(_: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        body = {"data": [voice(calls)], "has_more": True, "next_token": f"t{calls}"}
        return web.json_response(body)

    async with (
        loopback_server(handler) as url,
        client_on(url, limits=hg.Limits(max_pages=5)) as client,
    ):
        with pytest.raises(hg.ResponseValidationError, match="after 5 pages"):
            await collect(client.iter_voices(), [])
    assert calls == 5


async def test_endless_status_pages_are_bounded_by_the_ids() -> None:
    """A status endpoint saying has_more forever costs a few pages, not 10,000."""
    calls = 0

    async def handler(_: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        body = {
            "data": [{"video_id": "v_1", "status": "processing"}],
            "has_more": True,
            "next_token": f"t{calls}",
        }
        return web.json_response(body)

    async with loopback_server(handler) as url, client_on(url) as client:
        with pytest.raises(hg.ResponseValidationError, match="next_token"):
            await client.get_statuses(["v_1", "v_2"])
    assert calls == 3


# -- answers about another resource ------------------------------------------


VIDEO = {"id": "v_other", "status": "processing"}
ASSET = {"id": "a_other", "url": "https://e.com/a.png", "mime_type": "image/png"}


@pytest.mark.parametrize(
    ("method", "asked", "data"),
    [
        ("get_video", "v_1", VIDEO),
        ("get_asset", "a_1", None),
        ("get_voice", "voice_1", voice(2)),
        ("get_avatar_look", "look_1", None),
    ],
)
async def test_answer_about_another_resource_is_refused(
    fake: FakeHeyGen, method: str, asked: str, data: dict[str, Any] | None
) -> None:
    """A body whose id is not the one asked for is a typed error."""
    if data is None:
        data = await real_body(fake, method)

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.json_response({"data": data}, headers={"X-Request-Id": REQUEST_ID})

    async with loopback_server(handler) as url, client_on(url) as client:
        with pytest.raises(hg.ResponseValidationError) as info:
            await getattr(client, method)(asked)
    assert f"asked for {asked!r}" in str(info.value)
    assert info.value.request_id == REQUEST_ID
    assert info.value.route is not None
    assert info.value.route.startswith("GET /v3/")


async def real_body(fake: FakeHeyGen, method: str) -> dict[str, Any]:
    """A genuine asset or look body from the fake, to swap its id."""
    async with hg.Client(api_key=fake.api_key, base_url=fake.url) as client:
        if method == "get_asset":
            path = f"/v3/assets/{(await client.upload_asset(png(3))).id}"
        else:
            avatar = await client.create_photo_avatar(
                name="x", image_url="https://e.com/face.jpg"
            )
            path = f"/v3/avatars/looks/{avatar.look.id}"
    headers = {"x-api-key": fake.api_key}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(fake.url + path) as response:
            data: dict[str, Any] = (await response.json())["data"]
    data["id"] = "swapped"
    return data


# -- ids the caller passes ---------------------------------------------------


HOSTILE_IDS = [
    "../../pwned",
    "..",
    ".",
    "a/b",
    "a\\b",
    "a b",
    "v_1\n",
    "v\x00",
    "a,b",
    "%2e%2e",
    "x" * 256,
]


@pytest.mark.parametrize("bad", HOSTILE_IDS)
async def test_hostile_ids_are_refused_before_any_request(
    fake: FakeHeyGen, client: hg.Client, bad: str, tmp_path: Path
) -> None:
    """Ids that could change a path, a query or a file name never reach the wire."""
    with pytest.raises(ValueError, match="video_id must be"):
        await client.get_video(bad)
    with pytest.raises(ValueError, match="video_id must be"):
        await client.delete_video(bad)
    with pytest.raises(ValueError, match="video_id must be"):
        await client.get_statuses(["v_ok", bad])
    with pytest.raises(ValueError, match="video_id must be"):
        await client.download_video(bad, tmp_path)
    with pytest.raises(ValueError, match="voice_id must be"):
        await client.get_voice(bad)
    assert client.request_counts() == {}
    assert fake.stats.requests == {}
    assert not await asyncio.to_thread(lambda: list(tmp_path.iterdir()))


@pytest.mark.parametrize("bad", [1, None, b"v_1"])
async def test_non_string_ids_are_refused(client: hg.Client, bad: object) -> None:
    """An id must be a string."""
    with pytest.raises(ValueError, match="video_id must be a non-empty string"):
        await client.get_video(bad)  # type: ignore[arg-type]


async def test_deep_status_body_does_not_hang_a_wait() -> None:
    """A hostile status answer is a logged poll failure; the wait's deadline holds."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return answer(deep(100_000))

    async with (
        loopback_server(handler) as url,
        client_on(url, poll=hg.PollPolicy.for_testing()) as client,
    ):
        with pytest.raises(hg.WaitTimeoutError):
            await asyncio.wait_for(client.wait_for_video("v_1", deadline=0.2), 5)
