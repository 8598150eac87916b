"""
Saving finished videos to disk, never half-written and never with the key.

A video's ``video_url`` is presigned: it carries its own signature, so it is
fetched *without* the API key (sending the key to a CDN would only leak it).
It also expires; a 403 or 404 from it means "fetch the video again for a
fresh URL" (``GET /v3/videos/{id}``), which :func:`download_video` does by
itself. Bytes go to ``<dest>.part``, are fsynced, and only then renamed to
*dest*, so a file with the final name is always complete; a failed or
cancelled download removes its ``.part``.

It needs little of a client, stated as :class:`VideoSource` (the client's
public settings and :meth:`get_video`) plus a session, so it never imports
the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Protocol
from urllib.parse import urlsplit

import aiohttp

from . import _backoff, _log
from ._config import Limits, RetryPolicy, Timeouts
from ._models import Video, VideoStatus
from .exceptions import (
    APIError,
    HeyGenError,
    NotFoundError,
    PermissionDeniedError,
    ResponseValidationError,
    ServerError,
    TransportError,
)


__all__ = ["VideoSource", "download_video"]

log = _log.download_logger

_CHUNK = 256 * 1024
# A fresh URL is minted on every GET; needing more than this many in a row
# means the problem is not expiry.
_MAX_REFRESHES = 3
_EXPIRED = frozenset({403, 404, 410})
_AUTH_HEADERS = ("x-api-key", "authorization")
_FILE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}")


class VideoSource(Protocol):
    """What a download needs from a client; :class:`Client` is one."""

    @property
    def retry(self) -> RetryPolicy:
        """How a failed fetch is retried."""

    @property
    def timeouts(self) -> Timeouts:
        """Connect and read timeouts for the fetch."""

    @property
    def limits(self) -> Limits:
        """``max_download_bytes``."""

    async def get_video(self, video_id: str) -> Video:
        """The video with a freshly presigned URL."""


async def download_video(
    client: VideoSource,
    video_or_id: Video | str,
    dest: Path,
    *,
    session: aiohttp.ClientSession | Callable[[], aiohttp.ClientSession],
) -> Path:
    """
    Stream a completed video's MP4 (or WebM) to *dest* and return the path.

    *video_or_id* is a :class:`Video` (its URL is used, and refreshed if it
    has expired) or a video id (fetched first). If *dest* is an existing
    directory the file is named after the id the caller gave, never after
    anything the server sent, and that id must be a plain file name.
    Parent directories are created. Transport errors and 5xx are retried
    with the client's retry policy. A file over ``Limits.max_download_bytes``
    is refused. *session* is a session, or a function called once for it;
    one that adds the API key to every request is replaced by a keyless one.

    Raises:
        ValueError: The video is not completed, or has no ``video_url``; or
            *dest* is a directory and the id is not a safe file name (before
            any request).
        ResponseValidationError: The file is larger than the client's
            ``Limits.max_download_bytes``.
        PermissionDeniedError: The URL was still refused (403) after
            fetching fresh ones (``code="download_url_expired"``).
        NotFoundError: The same with 404, or the video no longer exists.
        TransportError: The connection failed or the body was truncated.
    """
    video_id = video_or_id if isinstance(video_or_id, str) else video_or_id.id
    into_folder = await asyncio.to_thread(dest.is_dir)
    if into_folder:
        _check_file_name(video_id)
    video = (
        await client.get_video(video_id)
        if isinstance(video_or_id, str)
        else video_or_id
    )
    url = _url_of(video)
    if into_folder:
        dest = dest / f"{video_id}{_suffix(url)}"
    await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    http = session if isinstance(session, aiohttp.ClientSession) else session()
    own_session = _sends_key(http)
    if own_session:  # a borrowed session that adds the key to every request
        http = aiohttp.ClientSession()
    try:
        await _fetch_retrying(client, http, video_id, url, part)
        await asyncio.to_thread(_commit, part, dest)
        log.debug("heygen.download_done video_id=%s", video_id)
        return dest
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(part)  # sync on purpose: we may be cancelled
        raise
    finally:
        if own_session:
            await http.close()


async def _fetch_retrying(
    client: VideoSource,
    http: aiohttp.ClientSession,
    video_id: str,
    url: str,
    part: Path,
) -> None:
    """
    Fill *part*, retrying transient failures as the client's policy says.

    Tries and waits come from ``_backoff`` (the loop every retry shares):
    at most ``attempts`` tries, none started past ``give_up_after``.
    """
    timeouts = client.timeouts
    limits = aiohttp.ClientTimeout(
        total=None, connect=timeouts.connect, sock_read=timeouts.read
    )
    policy = client.retry
    waits = _backoff.waits(policy)
    last: HeyGenError | None = None
    async for number in _backoff.attempts(waits, deadline=policy.give_up_after):
        try:
            url = await _fetch_fresh(client, http, video_id, url, part, limits)
        except (TransportError, APIError) as exc:
            if not _transient(exc) or number >= policy.attempts:
                raise
            last = exc
        else:
            return
        log.warning(
            "heygen.download_retry video_id=%s attempt=%d wait=%.2f reason=%s",
            video_id,
            number,
            waits.peek(),  # the wait attempts() sleeps next
            last,
        )
    if last is None:  # pragma: no cover - attempts() always yields a first try
        raise AssertionError
    raise last  # give_up_after passed


def _transient(error: HeyGenError) -> bool:
    """A failure worth another try: no connection, a 5xx, a 429."""
    if isinstance(error, APIError):
        return isinstance(error, ServerError) or error.status == 429
    return True


async def _fetch_fresh(
    client: VideoSource,
    http: aiohttp.ClientSession,
    video_id: str,
    url: str,
    part: Path,
    limits: aiohttp.ClientTimeout,
) -> str:
    """
    One try at *url*, fetching a fresh URL when it has expired; the URL used.

    Raises the failure as our error: transient ones (transport, 5xx, 429)
    for the caller to retry, the rest to give up on.
    """
    cap = client.limits.max_download_bytes
    for refresh in range(_MAX_REFRESHES + 1):
        try:
            status = await _fetch(http, url, part, limits, cap=cap)
        except (aiohttp.ClientError, TimeoutError) as exc:
            msg = f"downloading video {video_id} failed: {type(exc).__name__}: {exc}"
            raise TransportError(msg) from exc
        if status is None:
            return url
        if status not in _EXPIRED or refresh == _MAX_REFRESHES:
            raise _http_error(video_id, status)
        log.info(
            "heygen.download_url_expired video_id=%s status=%d refresh=%d",
            video_id,
            status,
            refresh + 1,
        )
        url = _url_of(await client.get_video(video_id))
    raise AssertionError  # pragma: no cover - the loop returns or raises


def _url_of(video: Video) -> str:
    if video.status is not VideoStatus.COMPLETED:
        msg = (
            f"video {video.id} is {video.status.value}; "
            "only completed videos can be downloaded"
        )
        raise ValueError(msg)
    if not video.video_url:
        msg = f"video {video.id} is completed but has no video_url"
        raise ValueError(msg)
    return video.video_url


def _suffix(url: str) -> str:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return suffix if suffix in (".mp4", ".webm") else ".mp4"


def _sends_key(session: aiohttp.ClientSession) -> bool:
    """Whether *session* adds the API key (or any auth) to every request."""
    return any(name in session.headers for name in _AUTH_HEADERS)


async def _fetch(
    session: aiohttp.ClientSession,
    url: str,
    part: Path,
    limits: aiohttp.ClientTimeout,
    *,
    cap: int | None,
) -> int | None:
    """Stream *url* into *part*; ``None`` on success, else the HTTP status."""
    async with session.get(url, timeout=limits) as response:
        if response.status != 200:
            return response.status
        expected = response.content_length
        if cap is not None and expected is not None and expected > cap:
            raise _too_large(cap)
        file = await asyncio.to_thread(part.open, "wb")
        written = 0
        try:
            async for chunk in response.content.iter_chunked(_CHUNK):
                written += len(chunk)
                if cap is not None and written > cap:
                    raise _too_large(cap)
                await asyncio.to_thread(file.write, chunk)
            await asyncio.to_thread(_sync, file)
        finally:
            file.close()
    if expected is not None and written != expected:  # pragma: no cover
        # aiohttp itself raises on a short body; this guards other transports.
        msg = f"download truncated: got {written} of {expected} bytes"
        raise aiohttp.ClientPayloadError(msg)
    return None


def _too_large(cap: int) -> ResponseValidationError:
    msg = f"the video file is larger than max_download_bytes={cap}"
    return ResponseValidationError(msg, route="GET video_url", status=200)


def _check_file_name(video_id: str) -> None:
    """Refuse an id that could name anything but one plain file in a folder."""
    if not _FILE_NAME.fullmatch(video_id):
        msg = (
            "to save into a folder, the video id must be a plain file name "
            f"(letters, digits, '_', '-', '.'; not starting with '.'); got "
            f"{video_id!r}: pass a file path as dest instead"
        )
        raise ValueError(msg)


def _sync(file: IO[bytes]) -> None:
    file.flush()
    os.fsync(file.fileno())


def _commit(part: Path, dest: Path) -> None:
    """Rename the finished ``.part`` over *dest* and make the rename durable."""
    part.replace(dest)
    try:
        fd = os.open(dest.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse
        pass
    finally:
        os.close(fd)


def _http_error(video_id: str, status: int) -> APIError:
    cls: type[APIError]
    if status in _EXPIRED:
        cls = PermissionDeniedError if status == 403 else NotFoundError
        message = (
            f"the download URL of video {video_id} was refused ({status}) "
            "even after fetching fresh ones"
        )
        return cls(status=status, code="download_url_expired", message=message)
    cls = ServerError if status >= 500 else APIError
    message = f"downloading video {video_id} failed with HTTP {status}"
    return cls(status=status, code="download_failed", message=message)
