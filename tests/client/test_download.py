"""Client.download_video: keyless fetches, expired URLs, atomic files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

import heygen_async as hg
from heygen_async._download import download_video
from heygen_async.testing import FakeHeyGen
from tests.helpers import FAST_RETRY, Handler, loopback_server, req, strict_client


MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100


@asynccontextmanager
async def media_server(handler: Handler) -> AsyncIterator[str]:
    """A tiny CDN: serve *handler* and yield a presigned-looking URL."""
    async with loopback_server(handler) as base:
        yield f"{base}/media.mp4?sig=abc"


def files_in(folder: Path) -> list[str]:
    """The names in *folder*, sorted."""
    return sorted(p.name for p in folder.iterdir())


def completed(url: str, video_id: str = "v_1") -> hg.Video:
    """A completed video whose file lives at *url*."""
    return hg.Video(id=video_id, status=hg.VideoStatus.COMPLETED, video_url=url)


async def rendered(client: hg.Client, voice_id: str) -> hg.Video:
    """Render one video on the fake and return it, completed."""
    return await client.render(req(voice_id))


async def test_download_writes_the_file_atomically(
    client: hg.Client, voice_id: str, tmp_path: Path
) -> None:
    """The MP4 lands at dest with nothing left beside it."""
    video = await rendered(client, voice_id)
    dest = tmp_path / "sub" / "out.mp4"
    assert await client.download_video(video, dest) == dest
    assert dest.read_bytes()[4:8] == b"ftyp"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["out.mp4"]


async def test_download_by_id_and_into_a_folder(
    client: hg.Client, fake: FakeHeyGen, voice_id: str, tmp_path: Path
) -> None:
    """An id is fetched first; an existing folder gets <video_id>.mp4."""
    video = await rendered(client, voice_id)
    before = fake.stats.requests["GET /v3/videos/{video_id}"]
    path = await client.download_video(video.id, tmp_path)
    assert path == tmp_path / f"{video.id}.mp4"
    assert fake.stats.requests["GET /v3/videos/{video_id}"] == before + 1


async def test_expired_url_is_refreshed(voice_id: str, tmp_path: Path) -> None:
    """A 403 from an expired URL fetches the video again and retries."""
    async with FakeHeyGen(render_seconds=0.01, url_ttl=0.05) as fake:
        async with strict_client(fake) as client:
            video = await rendered(client, voice_id)
            await asyncio.sleep(0.1)
            gets = fake.stats.requests["GET /v3/videos/{video_id}"]
            path = await client.download_video(video, tmp_path / "v.mp4")
            assert fake.stats.requests["GET /v3/videos/{video_id}"] == gets + 1
    assert path.read_bytes()[4:8] == b"ftyp"


async def test_presigned_url_is_fetched_without_the_key(
    client: hg.Client, tmp_path: Path
) -> None:
    """No x-api-key or Authorization header ever reaches the CDN."""
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        """Answer the download."""
        seen.append(dict(request.headers))
        return web.Response(body=MP4, content_type="video/mp4")

    async with media_server(handler) as url:
        await client.download_video(completed(url), tmp_path / "a.mp4")
        async with aiohttp.ClientSession(headers={"x-api-key": "leak"}) as borrowed:
            await download_video(
                client, completed(url), tmp_path / "b.mp4", session=borrowed
            )
    assert len(seen) == 2
    for headers in seen:
        lowered = {name.lower() for name in headers}
        assert "x-api-key" not in lowered
        assert "authorization" not in lowered
    assert (tmp_path / "b.mp4").read_bytes() == MP4


async def test_borrowed_session_is_used_and_left_open(
    client: hg.Client, tmp_path: Path
) -> None:
    """A session without auth headers is used as is and not closed."""

    async def handler(_request: web.Request) -> web.Response:
        """Answer the download."""
        return web.Response(body=MP4)

    async with media_server(handler) as url, aiohttp.ClientSession() as session:
        await download_video(
            client, completed(url), tmp_path / "a.mp4", session=session
        )
        assert not session.closed


async def test_still_refused_after_refreshes_raises(tmp_path: Path) -> None:
    """A URL refused after every refresh ends in PermissionDeniedError."""
    refreshes = 0

    async def get_video(request: web.Request) -> web.Response:
        """A completed video whose URL points back here."""
        nonlocal refreshes
        refreshes += 1
        url = f"http://{request.host}/media.mp4?sig={refreshes}"
        data = {"id": "v_1", "status": "completed", "video_url": url}
        return web.json_response({"data": data})

    async def media(_request: web.Request) -> web.Response:
        """Refuse every download."""
        return web.Response(status=403, text="<Error>AccessDenied</Error>")

    app = web.Application()
    app.router.add_get("/v3/videos/{video_id}", get_video)
    app.router.add_get("/media.mp4", media)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with hg.Client(api_key="k", base_url=base, retry=FAST_RETRY) as client:
            with pytest.raises(hg.PermissionDeniedError) as caught:
                await client.download_video("v_1", tmp_path / "a.mp4")
    finally:
        await runner.cleanup()
    assert caught.value.code == "download_url_expired"
    assert refreshes == 4  # the first fetch, then three refreshes
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, hg.APIError), (404, hg.NotFoundError)],
)
async def test_client_errors_are_not_retried(
    client: hg.Client, tmp_path: Path, status: int, error: type[Exception]
) -> None:
    """A 4xx raises at once; a 404 first asks for a fresh URL (here: gone too)."""
    calls = 0

    async def handler(_request: web.Request) -> web.Response:
        """Answer the download."""
        nonlocal calls
        calls += 1
        return web.Response(status=status)

    async with media_server(handler) as url:
        with pytest.raises(error):
            await client.download_video(completed(url, "v_gone"), tmp_path / "a.mp4")
    assert calls == 1


async def test_server_errors_and_truncation_are_retried(
    client: hg.Client, tmp_path: Path
) -> None:
    """A 503 and a truncated body are retried; the final file is whole."""
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        """Answer the download."""
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=503)
        if calls == 2:
            response = web.StreamResponse(headers={"Content-Length": str(len(MP4))})
            await response.prepare(request)
            await response.write(MP4[:10])
            assert request.transport is not None
            request.transport.close()
            return response
        return web.Response(body=MP4)

    async with media_server(handler) as url:
        path = await client.download_video(completed(url), tmp_path / "a.mp4")
    assert calls == 3
    assert path.read_bytes() == MP4
    assert files_in(tmp_path) == ["a.mp4"]


async def test_retries_give_up_and_leave_no_part(
    fake: FakeHeyGen, tmp_path: Path
) -> None:
    """After the last attempt the error is raised and no .part remains."""

    async def handler(_request: web.Request) -> web.Response:
        """Answer the download."""
        return web.Response(status=502)

    async with strict_client(
        fake, retry=hg.RetryPolicy(attempts=2, wait_initial=0.001)
    ) as client:
        async with media_server(handler) as url:
            with pytest.raises(hg.ServerError) as caught:
                await client.download_video(completed(url), tmp_path / "a.mp4")
    assert caught.value.status == 502
    assert files_in(tmp_path) == []


async def test_retries_stop_at_give_up_after(fake: FakeHeyGen, tmp_path: Path) -> None:
    """Downloads share the one retry loop: give_up_after bounds them too."""
    calls = 0

    async def handler(_request: web.Request) -> web.Response:
        """Answer the download."""
        nonlocal calls
        calls += 1
        return web.Response(status=503)

    policy = hg.RetryPolicy(
        attempts=1_000,
        wait_initial=0.02,
        wait_max=0.02,
        jitter=False,
        give_up_after=0.1,
    )
    async with strict_client(fake, retry=policy) as client:
        async with media_server(handler) as url:
            with pytest.raises(hg.ServerError):
                await client.download_video(completed(url), tmp_path / "a.mp4")
    assert 2 <= calls <= 7  # ~0.1 s of 0.02 s waits, not 1,000 tries
    assert files_in(tmp_path) == []


async def test_a_429_on_the_file_is_retried(client: hg.Client, tmp_path: Path) -> None:
    """A 429 from the file host is transient: the download tries again."""
    answers = [429, 200]

    async def handler(_request: web.Request) -> web.Response:
        """Answer the download."""
        status = answers.pop(0)
        return web.Response(status=status, body=MP4 if status == 200 else b"")

    async with media_server(handler) as url:
        path = await client.download_video(completed(url), tmp_path / "a.mp4")
    assert answers == []
    assert path.read_bytes() == MP4


async def test_transport_errors_become_transport_error(
    client: hg.Client, tmp_path: Path
) -> None:
    """A connection that never answers raises TransportError after retries."""

    async def handler(request: web.Request) -> web.StreamResponse:
        """Answer the download."""
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    async with media_server(handler) as url:
        with pytest.raises(hg.TransportError, match="downloading video v_1 failed"):
            await client.download_video(completed(url), tmp_path / "a.mp4")
    assert files_in(tmp_path) == []


async def test_cancelled_download_removes_the_part(
    client: hg.Client, tmp_path: Path
) -> None:
    """Cancelling mid-stream leaves neither the file nor its .part."""
    started = asyncio.Event()
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        """Answer the download."""
        response = web.StreamResponse(headers={"Content-Length": "1000000"})
        await response.prepare(request)
        await response.write(b"\x00" * 1000)
        started.set()
        await release.wait()
        return response

    async with media_server(handler) as url:
        task = asyncio.create_task(
            client.download_video(completed(url), tmp_path / "a.mp4")
        )
        await started.wait()
        while not (tmp_path / "a.mp4.part").exists():
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("video", "message"),
    [
        (hg.Video(id="v_1", status=hg.VideoStatus.PROCESSING), "is processing"),
        (hg.Video(id="v_1", status=hg.VideoStatus.COMPLETED), "has no video_url"),
    ],
)
async def test_unfinished_videos_cannot_be_downloaded(
    client: hg.Client, tmp_path: Path, video: hg.Video, message: str
) -> None:
    """Only completed videos with a URL can be downloaded."""
    with pytest.raises(ValueError, match=message):
        await client.download_video(video, tmp_path / "a.mp4")


async def test_webm_suffix_from_the_url(client: hg.Client, tmp_path: Path) -> None:
    """Into a folder, a WebM URL gives a .webm file name."""

    async def handler(_request: web.Request) -> web.Response:
        """Answer the download."""
        return web.Response(body=b"\x1a\x45\xdf\xa3")

    app = web.Application()
    app.router.add_get("/x/clip.webm", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/x/clip.webm"
        path = await client.download_video(completed(url), tmp_path)
    finally:
        await runner.cleanup()
    assert path.name == "v_1.webm"


# -- names from the caller, size caps -----------------------------------------


@pytest.mark.parametrize("bad", ["../../pwned", "..", ".hidden", "a/b", "a b"])
async def test_hostile_id_cannot_name_a_file_outside_the_folder(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path, bad: str
) -> None:
    """An id that is no plain file name is refused before any request."""
    folder = tmp_path / "out"
    await asyncio.to_thread(folder.mkdir)
    video = completed("http://127.0.0.1:9/never.mp4", video_id=bad)
    with pytest.raises(ValueError, match="id must be"):
        await client.download_video(bad, folder)
    with pytest.raises(ValueError, match="plain file name"):
        await client.download_video(video, folder)
    assert fake.stats.requests == {}
    assert files_in(tmp_path) == ["out"]
    assert files_in(folder) == []


async def test_file_is_named_after_the_callers_id(tmp_path: Path) -> None:
    """The server's answer never picks the file name: a swapped id is refused."""
    served: list[str] = []

    async def get_video(request: web.Request) -> web.Response:
        """Answer about another video than the one asked for."""
        served.append(request.match_info["video_id"])
        url = f"http://{request.host}/media.mp4"
        data = {"id": "../../pwned", "status": "completed", "video_url": url}
        return web.json_response({"data": data})

    async def media(_request: web.Request) -> web.Response:
        """Serve the file."""
        return web.Response(body=MP4)

    app = web.Application()
    app.router.add_get("/v3/videos/{video_id}", get_video)
    app.router.add_get("/media.mp4", media)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    folder = tmp_path / "a" / "b"
    await asyncio.to_thread(folder.mkdir, parents=True)
    try:
        async with hg.Client(api_key="k", base_url=base, retry=FAST_RETRY) as client:
            with pytest.raises(hg.ResponseValidationError, match="asked for 'v_1'"):
                await client.download_video("v_1", folder)
    finally:
        await runner.cleanup()
    assert served == ["v_1"]
    assert files_in(tmp_path) == ["a"]
    assert files_in(folder) == []


async def test_download_over_the_cap_is_refused(
    fake: FakeHeyGen, tmp_path: Path
) -> None:
    """A file larger than max_download_bytes is refused and leaves nothing."""

    async def handler(_request: web.Request) -> web.Response:
        """Answer with a declared length."""
        return web.Response(body=MP4)

    async def streamed(request: web.Request) -> web.StreamResponse:
        """Answer without a length, more than the cap."""
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(20):
            await response.write(MP4)
        return response

    limits = hg.Limits(max_download_bytes=64)
    async with strict_client(fake, limits=limits) as client:
        for answer in (handler, streamed):
            async with media_server(answer) as url:
                with pytest.raises(hg.ResponseValidationError, match="larger than"):
                    await client.download_video(completed(url), tmp_path / "a.mp4")
    assert files_in(tmp_path) == []


async def test_download_cap_can_be_lifted(fake: FakeHeyGen, tmp_path: Path) -> None:
    """max_download_bytes=None saves any size; a file at the cap is fine."""

    async def handler(_request: web.Request) -> web.Response:
        """Serve the file."""
        return web.Response(body=MP4)

    for cap in (None, len(MP4)):
        limits = hg.Limits(max_download_bytes=cap)
        async with (
            strict_client(fake, limits=limits) as client,
            media_server(handler) as url,
        ):
            path = await client.download_video(completed(url), tmp_path / "a.mp4")
        assert path.read_bytes() == MP4
