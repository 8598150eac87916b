"""Presigned media URLs: no auth, valid files, expiry, a fresh URL per GET."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import aiohttp
import pytest

from heygen_async.testing import FakeHeyGen
from heygen_async.testing._media import (
    GIF,
    JPEG,
    MP3,
    _ebml_size,
    mp4_bytes,
    sniff,
    srt_text,
    webm_bytes,
)
from tests.helpers.fake import create, get_json, png_bytes, serve


async def completed(session: aiohttp.ClientSession, **fields: Any) -> dict[str, Any]:
    """Create a video, wait for it, and return its GET data."""
    video_id = await create(session, **fields)
    await asyncio.sleep(0.06)
    _, body = await get_json(session, f"/v3/videos/{video_id}")
    assert body["data"]["status"] == "completed"
    return dict(body["data"])


async def fetch(url: str) -> tuple[int, str, bytes]:
    """GET *url* without any auth header."""
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, resp.content_type, await resp.read()


async def test_video_url_serves_an_mp4_without_auth(
    fake_session: aiohttp.ClientSession,
) -> None:
    """video_url is a presigned URL answering a small valid MP4, no key needed."""
    data = await completed(fake_session, script="one two three four five")
    status, content_type, body = await fetch(data["video_url"])
    assert status == 200
    assert content_type == "video/mp4"
    assert body[4:8] == b"ftyp"
    assert boxes(body) == [b"ftyp", b"moov", b"mdat"]
    assert boxes(body[36:-8]) == [b"mvhd"]  # inside moov: after ftyp, before mdat


def boxes(data: bytes) -> list[bytes]:
    """The ISO-BMFF box types at the top level of *data* (sizes must add up)."""
    kinds = []
    offset = 0
    while offset < len(data):
        (size,) = struct.unpack(">I", data[offset : offset + 4])
        kinds.append(data[offset + 4 : offset + 8])
        offset += size
    assert offset == len(data)
    return kinds


@pytest.mark.parametrize(
    ("key", "content_type", "expected"),
    [
        ("thumbnail_url", "image/jpeg", JPEG),
        ("gif_url", "image/gif", GIF),
    ],
)
async def test_images_are_served(
    fake_session: aiohttp.ClientSession, key: str, content_type: str, expected: bytes
) -> None:
    """Thumbnail and GIF URLs serve tiny valid images."""
    data = await completed(fake_session)
    assert await fetch(data[key]) == (200, content_type, expected)


async def test_subtitles_and_captioned_video(
    fake_session: aiohttp.ClientSession,
) -> None:
    """subtitle_url serves an SRT of the script; captioned_video_url an MP4."""
    data = await completed(
        fake_session,
        script="Hello there friend",
        caption={"file_format": "srt", "style": "default"},
    )
    status, content_type, body = await fetch(data["subtitle_url"])
    assert (status, content_type) == (200, "application/x-subrip")
    assert body.decode() == "1\n00:00:00,000 --> 00:00:01,200\nHello there friend\n"
    status, content_type, body = await fetch(data["captioned_video_url"])
    assert (status, content_type) == (200, "video/mp4")


async def test_webm_output_is_served_as_webm(
    fake_session: aiohttp.ClientSession,
) -> None:
    """output_format=webm gives a .webm video_url with an EBML header."""
    data = await completed(fake_session, output_format="webm")
    assert ".webm?" in data["video_url"]
    status, content_type, body = await fetch(data["video_url"])
    assert (status, content_type) == (200, "video/webm")
    assert sniff(body) == ("video/webm", "video")


async def test_url_expires_and_a_fresh_get_mints_a_new_one() -> None:
    """After url_ttl the URL is 403; GETting the video again gives a working URL."""
    async with serve(url_ttl=0.2) as (_, session):
        data = await completed(session)
        assert (await fetch(data["video_url"]))[0] == 200
        await asyncio.sleep(0.21)
        status, content_type, body = await fetch(data["video_url"])
        assert (status, content_type) == (403, "application/xml")
        assert b"<Code>AccessDenied</Code>" in body
        _, fresh = await get_json(session, f"/v3/videos/{data['id']}")
        assert fresh["data"]["video_url"] != data["video_url"]
        assert (await fetch(fresh["data"]["video_url"]))[0] == 200


async def test_tampered_url_is_403(fake_session: aiohttp.ClientSession) -> None:
    """A wrong signature or a changed expiry is refused."""
    data = await completed(fake_session)
    url = data["video_url"]
    status, _, body = await fetch(url[:-4] + "0000")
    assert status == 403
    assert b"SignatureDoesNotMatch" in body
    forged = url.replace("expires=", "expires=9")
    assert (await fetch(forged))[0] == 403


async def test_media_of_a_deleted_video_is_404(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """Once the video is deleted its media URLs are 404."""
    data = await completed(fake_session)
    async with fake_session.delete(f"/v3/videos/{data['id']}"):
        pass
    assert (await fetch(data["video_url"]))[0] == 404


async def test_static_previews(fake: FakeHeyGen) -> None:
    """Voice previews are MP3s and look previews JPEGs; other names are 404."""
    assert await fetch(f"{fake.url}/_fake/static/voice_x.mp3") == (
        200,
        "audio/mpeg",
        MP3,
    )
    assert await fetch(f"{fake.url}/_fake/static/look_x.jpg") == (
        200,
        "image/jpeg",
        JPEG,
    )
    assert (await fetch(f"{fake.url}/_fake/static/x.exe"))[0] == 404


def test_sample_files_are_recognisable() -> None:
    """The built-in files start with the right magic bytes."""
    assert sniff(mp4_bytes(1.0)) == ("video/mp4", "video")
    assert sniff(webm_bytes(1.0)) == ("video/webm", "video")
    assert sniff(JPEG) == ("image/jpeg", "image")
    assert sniff(MP3) == ("audio/mpeg", "audio")
    assert sniff(png_bytes()) == ("image/png", "image")
    assert sniff(GIF) is None  # GIF is served, not accepted as an upload
    assert srt_text(None, 3675.5).startswith(
        "1\n00:00:00,000 --> 01:01:15,500\n[music]"
    )
    assert _ebml_size(5) == b"\x85"
    assert _ebml_size(300) == b"\x01" + (300).to_bytes(7, "big")
