"""
Upload plumbing: reading sources, MIME sniffing, and upload deduplication.

A batch of 500 jobs often reuses a handful of photos. :class:`UploadCache`
maps the SHA-256 of the content to the asset id, and concurrent callers with
the same content share one in-flight upload, so each distinct file is uploaded
once per client.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

import attrs

from . import _log
from ._config import MAX_UPLOAD_BYTES


__all__ = [
    "IMAGE_TYPES",
    "Payload",
    "UploadCache",
    "check_upload",
    "load",
    "sniff_mime",
]

log = _log.logger

Source = str | os.PathLike[str] | bytes | BinaryIO

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
}
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})


def sniff_mime(data: bytes) -> str | None:
    """The MIME type from the file's magic bytes, or None if not one we upload."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    # ID3 tag, or a bare MPEG audio frame sync (11 set bits).
    if data.startswith(b"ID3") or (
        len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0
    ):
        return "audio/mpeg"
    return None


def check_upload(path: str | os.PathLike[str], *, images_only: bool = False) -> str:
    """
    The MIME type of a local file, checked as an upload would check it.

    Reads only its first bytes, so 500 photos are checked before a batch
    starts without loading them.

    Raises:
        OSError: The file is missing or unreadable.
        ValueError: It is over the 32 MiB upload limit, or its content is
            not a type HeyGen takes (PNG or JPEG with *images_only*).
    """
    file = Path(path)
    size = file.stat().st_size
    with file.open("rb") as stream:
        head = stream.read(16)
    if size > MAX_UPLOAD_BYTES:
        limit = MAX_UPLOAD_BYTES // (1024 * 1024)
        msg = f"{size} bytes is over the {limit} MiB upload limit"
        raise ValueError(msg)
    mime = sniff_mime(head)
    if mime is None or (images_only and mime not in IMAGE_TYPES):
        kinds = "PNG or JPEG" if images_only else "PNG, JPEG, MP3, WAV, MP4 or WebM"
        msg = f"not a {kinds} file (its content says otherwise)"
        raise ValueError(msg)
    return mime


@attrs.frozen(kw_only=True)
class Payload:
    """One file's content, ready to upload. Strictly private."""

    data: bytes = attrs.field(repr=False)
    filename: str
    mime_type: str
    sha256: str


def load(
    source: Source, *, filename: str | None = None, images_only: bool = False
) -> Payload:
    """
    Read *source* and check it is a file HeyGen accepts, before any upload.

    Raises:
        ValueError: The file is missing, empty, larger than 32 MiB, or not
            one of png/jpeg/mp3/wav/mp4/webm (png/jpeg with *images_only*).
            The message names the file.
    """
    if isinstance(source, bytes):
        label = filename or "<bytes>"
        data = source
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        label = str(path)
        try:
            size = path.stat().st_size
            if size > MAX_UPLOAD_BYTES:
                raise _too_large(label, size)
            data = path.read_bytes()
        except OSError as exc:
            msg = f"cannot read {label!r}: {exc.strerror or exc}"
            raise ValueError(msg) from exc
        filename = filename or path.name
    else:
        name = getattr(source, "name", None)
        label = filename or (name if isinstance(name, str) else "<stream>")
        data = source.read(MAX_UPLOAD_BYTES + 1)
        if isinstance(name, str):
            filename = filename or os.path.basename(name)
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large(label, len(data))
    mime = sniff_mime(data)
    if mime is None or (images_only and mime not in IMAGE_TYPES):
        kinds = "PNG or JPEG" if images_only else "png, jpeg, mp3, wav, mp4 or webm"
        msg = f"{label!r} is not a supported file type (expected {kinds})"
        raise ValueError(msg)
    return Payload(
        data=data,
        filename=filename or f"upload{_EXTENSIONS[mime]}",
        mime_type=mime,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _too_large(label: str, size: int) -> ValueError:
    limit = MAX_UPLOAD_BYTES // (1024 * 1024)
    return ValueError(f"{label!r} is {size} bytes; uploads are limited to {limit} MiB")


class UploadCache:
    """
    Content hash -> asset id, with one shared upload per distinct content.

    A waiter that is cancelled does not cancel the shared upload (others may
    still want it); :meth:`aclose` cancels whatever is still running.
    """

    def __init__(self) -> None:
        self._assets: dict[str, str] = {}
        self._inflight: dict[str, asyncio.Task[str]] = {}

    def remember(self, digest: str, asset_id: str) -> None:
        """Record an upload made elsewhere, so the same content is not resent."""
        self._assets[digest] = asset_id

    async def asset_id(
        self, payload: Payload, upload: Callable[[Payload], Awaitable[str]]
    ) -> str:
        """The asset id for *payload*, uploading it only if nobody has yet."""
        digest = payload.sha256
        if (known := self._assets.get(digest)) is not None:
            log.debug("heygen.upload_reused sha256=%s", digest[:12])
            return known
        task = self._inflight.get(digest)
        if task is None:
            task = asyncio.ensure_future(upload(payload))
            self._inflight[digest] = task
            task.add_done_callback(lambda done: self._settle(digest, done))
        return await asyncio.shield(task)

    def _settle(self, digest: str, task: asyncio.Task[str]) -> None:
        self._inflight.pop(digest, None)
        if task.cancelled():
            return
        if task.exception() is None:
            self._assets[digest] = task.result()
        # A failed upload is not cached: the next caller tries again.

    async def aclose(self) -> None:
        """Cancel uploads still in flight and wait for them to finish."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
