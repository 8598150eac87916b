"""Uploads: MIME sniffing, size limits, and one upload per distinct photo."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

import heygen_async as hg
from heygen_async._config import MAX_UPLOAD_BYTES
from heygen_async._uploads import load, sniff_mime
from heygen_async.testing import FakeHeyGen, Fault
from tests.helpers import JPEG, MP3, MP4, WAV, WEBM, png, strict_client


def speech() -> dict[str, str]:
    """A speech source that needs no voice lookup."""
    return {"audio_url": "https://e.com/a.mp3"}


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (png(), "image/png"),
        (JPEG, "image/jpeg"),
        (MP3, "audio/mpeg"),
        (b"\xff\xfb\x90\x00" + b"\x00" * 8, "audio/mpeg"),
        (WAV, "audio/wav"),
        (MP4, "video/mp4"),
        (WEBM, "video/webm"),
        (b"GIF89a", None),
        (b"%PDF-1.7", None),
        (b"", None),
        (b"\xff", None),
    ],
)
def test_mime_from_magic_bytes(data: bytes, mime: str | None) -> None:
    """The type comes from the content, never from the file name."""
    assert sniff_mime(data) == mime


@pytest.mark.parametrize(
    ("data", "filename", "mime"),
    [
        (png(), "upload.png", "image/png"),
        (JPEG, "upload.jpg", "image/jpeg"),
        (MP3, "upload.mp3", "audio/mpeg"),
        (WAV, "upload.wav", "audio/wav"),
        (MP4, "upload.mp4", "video/mp4"),
        (WEBM, "upload.webm", "video/webm"),
    ],
)
async def test_upload_bytes_of_each_type(
    fake: FakeHeyGen, client: hg.Client, data: bytes, filename: str, mime: str
) -> None:
    """Bytes upload as the multipart field 'file' with the sniffed type."""
    asset = await client.upload_asset(data)
    assert asset.mime_type == mime
    assert asset.size_bytes == len(data)
    fetched = await client.get_asset(asset.id)
    assert fetched.name == filename
    assert fetched.uploaded_at is not None
    assert fake.stats.uploads == 1


async def test_upload_from_path_and_file_object(
    client: hg.Client, tmp_path: Path
) -> None:
    """Paths keep their file name; file objects use theirs, or the caller's."""
    path = tmp_path / "portrait.png"
    path.write_bytes(png(1))
    from_path = await client.upload_asset(path)
    from_str = await client.upload_asset(str(path), filename="renamed.png")
    with path.open("rb") as handle:
        from_handle = await client.upload_asset(handle)
    from_buffer = await client.upload_asset(io.BytesIO(JPEG))
    names = [
        (await client.get_asset(a.id)).name
        for a in (from_path, from_str, from_handle, from_buffer)
    ]
    assert names == ["portrait.png", "renamed.png", "portrait.png", "upload.jpg"]


@pytest.mark.parametrize(
    ("source", "match"),
    [
        (b"GIF89a....", r"'<bytes>' is not a supported file type \(expected png, jpeg"),
        (b"", "not a supported file type"),
        (io.BytesIO(b"%PDF-1.7"), "'<stream>' is not a supported file type"),
    ],
)
async def test_unsupported_types_are_refused_before_upload(
    fake: FakeHeyGen, client: hg.Client, source: bytes | io.BytesIO, match: str
) -> None:
    """An unsupported file is a ValueError naming it, and nothing is sent."""
    with pytest.raises(ValueError, match=match):
        await client.upload_asset(source)
    assert fake.stats.total_requests == 0


async def test_too_large_is_refused_before_upload(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """Over 32 MiB is a ValueError naming the file, for paths, bytes and streams."""
    big = png() + b"\x00" * MAX_UPLOAD_BYTES
    path = tmp_path / "huge.png"
    path.write_bytes(big)
    with pytest.raises(ValueError, match=r"huge\.png.*limited to 32 MiB"):
        await client.upload_asset(path)
    with pytest.raises(ValueError, match=r"'big\.png' is \d+ bytes"):
        await client.upload_asset(big, filename="big.png")
    with pytest.raises(ValueError, match="limited to 32 MiB"):
        await client.upload_asset(io.BytesIO(big))
    assert fake.stats.total_requests == 0


async def test_unreadable_paths_are_value_errors(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """Missing files and directories are ValueErrors naming the path."""
    with pytest.raises(ValueError, match=r"cannot read '.*nope\.png'"):
        await client.upload_asset(tmp_path / "nope.png")
    with pytest.raises(ValueError, match="cannot read"):
        await client.upload_asset(tmp_path)
    assert fake.stats.total_requests == 0


def test_load_images_only() -> None:
    """Photo sources must be PNG or JPEG."""
    with pytest.raises(ValueError, match=r"expected PNG or JPEG"):
        load(MP3, images_only=True)
    assert load(JPEG, images_only=True).mime_type == "image/jpeg"


# -- image_path in VideoRequest ----------------------------------------------


async def test_image_path_is_uploaded_then_sent_as_asset(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """create_video uploads a local photo and sends its asset id."""
    path = tmp_path / "me.png"
    path.write_bytes(png(2))
    created = await client.create_video(hg.VideoRequest(image_path=path, **speech()))
    body = fake.videos[created.id].request
    assert body["image"]["type"] == "asset_id"
    assert "image_path" not in body
    assert fake.stats.uploads == 1
    assert client.request_counts() == {"POST /v3/assets": 1, "POST /v3/videos": 1}


async def test_same_content_is_uploaded_once(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """Different paths with the same bytes share one asset; new bytes upload again."""
    first, copy, other = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    first.write_bytes(png(3))
    copy.write_bytes(png(3))
    other.write_bytes(png(4))
    resolved = [
        await client._resolve_request(hg.VideoRequest(image_path=p, **speech()))
        for p in (first, copy, other, first)
    ]
    assert [r.image_path for r in resolved] == [None] * 4
    ids = [r.image_asset_id for r in resolved]
    assert ids[0] == ids[1] == ids[3] != ids[2]
    assert fake.stats.uploads == 2


async def test_concurrent_callers_share_one_upload(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """Ten concurrent creates with one photo cause exactly one upload."""
    path = tmp_path / "me.png"
    path.write_bytes(png(7))
    created = await asyncio.gather(
        *(
            client.create_video(
                hg.VideoRequest(image_path=path, audio_url=f"https://e.com/{i}.mp3")
            )
            for i in range(10)
        )
    )
    assert fake.stats.uploads == 1
    assets = {fake.videos[c.id].request["image"]["asset_id"] for c in created}
    assert len(assets) == 1


async def test_explicit_upload_feeds_the_cache(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """A photo already sent with upload_asset is not uploaded again."""
    path = tmp_path / "me.png"
    path.write_bytes(png(8))
    asset = await client.upload_asset(path)
    resolved = await client._resolve_request(
        hg.VideoRequest(image_path=path, **speech())
    )
    assert resolved.image_asset_id == asset.id
    assert fake.stats.uploads == 1


async def test_requests_without_a_path_resolve_to_themselves(client: hg.Client) -> None:
    """_resolve_request leaves URL and asset requests untouched (no I/O)."""
    request = hg.VideoRequest(image_url="https://e.com/a.jpg", **speech())
    assert await client._resolve_request(request) is request
    assert client.request_counts() == {}


async def test_missing_image_path_fails_before_any_request(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """A missing image_path is a ValueError naming the path; nothing is sent."""
    missing = tmp_path / "missing.jpg"
    with pytest.raises(ValueError, match=r"missing\.jpg"):
        await client.create_video(hg.VideoRequest(image_path=missing, **speech()))
    assert fake.stats.total_requests == 0


async def test_non_image_path_is_refused(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """An image_path that is not a PNG/JPEG fails before upload."""
    path = tmp_path / "song.png"
    path.write_bytes(MP3)
    with pytest.raises(ValueError, match=r"song\.png.*PNG or JPEG"):
        await client.create_video(hg.VideoRequest(image_path=path, **speech()))
    assert fake.stats.total_requests == 0


async def test_failed_upload_is_not_cached(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """After a failed upload, the next caller tries again."""
    path = tmp_path / "me.png"
    path.write_bytes(png(9))
    fake.add_fault(Fault(kind="error", route="POST /v3/assets", nth=(1,), status=400))
    request = hg.VideoRequest(image_path=path, **speech())
    with pytest.raises(hg.BadRequestError):
        await client.create_video(request)
    await client.create_video(request)
    assert fake.stats.uploads == 1
    assert fake.stats.requests["POST /v3/assets"] == 2


async def test_a_cancelled_waiter_does_not_cancel_the_shared_upload(
    fake: FakeHeyGen, client: hg.Client, tmp_path: Path
) -> None:
    """Cancelling one caller leaves the upload running for the others."""
    path = tmp_path / "me.png"
    path.write_bytes(png(10))
    fake.add_fault(Fault(kind="slow", route="POST /v3/assets", nth=(1,), delay=0.3))
    request = hg.VideoRequest(image_path=path, **speech())
    first = asyncio.create_task(client._resolve_request(request))
    second = asyncio.create_task(client._resolve_request(request))
    await asyncio.sleep(0.03)
    first.cancel()
    resolved = await second
    assert first.cancelled()
    assert resolved.image_asset_id is not None
    assert fake.stats.uploads == 1


async def test_aclose_cancels_uploads_in_flight(
    fake: FakeHeyGen, tmp_path: Path
) -> None:
    """Closing the client does not leave an upload task behind."""
    path = tmp_path / "me.png"
    path.write_bytes(png(11))
    fake.add_fault(Fault(kind="slow", route="POST /v3/assets", nth=(1,), delay=0.4))
    client = strict_client(fake)
    waiter = asyncio.create_task(
        client._resolve_request(hg.VideoRequest(image_path=path, **speech()))
    )
    await asyncio.sleep(0.03)
    await client.aclose()
    with pytest.raises(asyncio.CancelledError):
        await waiter
