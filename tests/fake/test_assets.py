"""POST /v3/assets and GET /v3/assets/{id} on the fake."""

from __future__ import annotations

import io

import aiohttp
import pytest

from heygen_async.testing import FakeHeyGen
from heygen_async.testing._media import JPEG, mp4_bytes, webm_bytes
from tests.helpers.fake import get_json, png_bytes, upload


WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32)
ASSET_KEYS = {
    "id",
    "name",
    "type",
    "owner",
    "space_id",
    "folder_id",
    "uploaded_at",
    "url",
}


@pytest.mark.parametrize(
    ("data", "mime_type", "asset_type"),
    [
        (png_bytes(), "image/png", "image"),
        (JPEG, "image/jpeg", "image"),
        (b"ID3\x03\x00" + bytes(20), "audio/mpeg", "audio"),
        (b"\xff\xfb\x90\x64" + bytes(20), "audio/mpeg", "audio"),
        (b"\xff\xf3\x90\x64" + bytes(20), "audio/mpeg", "audio"),
        (b"\xff\xf2\x90\x64" + bytes(20), "audio/mpeg", "audio"),
        (WAV, "audio/wav", "audio"),
        (mp4_bytes(1.0), "video/mp4", "video"),
        (webm_bytes(1.0), "video/webm", "video"),
    ],
)
async def test_upload_detects_type_from_magic_bytes(
    fake: FakeHeyGen,
    fake_session: aiohttp.ClientSession,
    data: bytes,
    mime_type: str,
    asset_type: str,
) -> None:
    """The file type comes from its leading bytes, whatever the file name says."""
    status, body = await upload(fake_session, data, filename="upload.bin")
    assert status == 200
    asset = body["data"]
    assert set(asset) == {"asset_id", "url", "mime_type", "size_bytes"}
    assert asset["mime_type"] == mime_type
    assert asset["size_bytes"] == len(data)
    status, got = await get_json(fake_session, f"/v3/assets/{asset['asset_id']}")
    assert status == 200
    assert set(got["data"]) == ASSET_KEYS
    assert got["data"]["type"] == asset_type
    assert got["data"]["name"] == "upload.bin"
    assert got["data"]["url"] == asset["url"]
    assert isinstance(got["data"]["uploaded_at"], int)
    assert fake.stats.uploads == 1
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.get(asset["url"]) as resp,
    ):
        assert resp.content_type == mime_type
        assert await resp.read() == data


async def test_unknown_file_type_is_400(fake_session: aiohttp.ClientSession) -> None:
    """A file that is none of the supported types is rejected with param `file`."""
    status, body = await upload(fake_session, b"%PDF-1.7 not really")
    assert status == 400
    assert body["error"]["code"] == "invalid_parameter"
    assert body["error"]["param"] == "file"


async def test_missing_file_field_is_400(fake_session: aiohttp.ClientSession) -> None:
    """Multipart without a `file` field, or a JSON body, gets the documented 400."""
    form = aiohttp.FormData()
    form.add_field("other", b"x", filename="x.png")
    form.add_field("note", "hello")
    async with fake_session.post("/v3/assets", data=form) as resp:
        first = (resp.status, await resp.json())
    async with fake_session.post("/v3/assets", json={"file": "x"}) as resp:
        second = (resp.status, await resp.json())
    for status, body in (first, second):
        assert status == 400
        assert body["error"] == {
            "code": "invalid_parameter",
            "message": "File is required. Upload a file using multipart/form-data.",
            "param": "file",
            "doc_url": None,
        }


async def test_only_the_first_file_field_counts(
    fake_session: aiohttp.ClientSession,
) -> None:
    """Extra parts after the `file` field are ignored."""
    form = aiohttp.FormData()
    form.add_field("file", JPEG, filename="a.jpg")
    form.add_field("file", png_bytes(), filename="b.png")
    async with fake_session.post("/v3/assets", data=form) as resp:
        assert (await resp.json())["data"]["mime_type"] == "image/jpeg"


async def test_oversized_upload_is_413(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """A file over 32 MiB is 413 payload_too_large and stores nothing."""
    big = io.BytesIO(png_bytes() + bytes(32 * 1024 * 1024))  # bytes this large warn
    form = aiohttp.FormData()
    form.add_field("file", big, filename="huge.png")
    async with fake_session.post("/v3/assets", data=form) as resp:
        status, body = resp.status, await resp.json()
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert fake.stats.uploads == 0


async def test_unknown_asset_is_404(fake_session: aiohttp.ClientSession) -> None:
    """GET of an unknown asset id is 404."""
    status, body = await get_json(fake_session, "/v3/assets/nope")
    assert status == 404
    assert body["error"]["code"] == "not_found"
    async with fake_session.get("/_fake/assets/nope") as resp:
        assert resp.status == 404
