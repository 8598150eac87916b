"""What HeyGen says about videos: their status, one video, a status row."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from heygen_async import _log


log = _log.logger

_seen_unknown_statuses: set[str] = set()


class VideoStatus(enum.StrEnum):
    """
    Where a video is in its life.

    HeyGen uses several vocabularies (``waiting`` on create, ``queued`` in
    bulk status, ``pending`` on GET); all three mean :attr:`PENDING`. A value
    this SDK does not know becomes :attr:`UNKNOWN` and counts as in progress,
    so a new server status never crashes a wait.
    """

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> VideoStatus:
        if value in ("waiting", "queued"):
            return cls.PENDING
        raw = str(value)
        if raw not in _seen_unknown_statuses:
            _seen_unknown_statuses.add(raw)
            log.info("heygen.unknown_status value=%r treated as in progress", raw)
        return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        """Whether the render has finished, for better or worse."""
        return self in (VideoStatus.COMPLETED, VideoStatus.FAILED)


@attrs.frozen(kw_only=True)
class CreatedVideo:
    """
    HeyGen accepted a render request; the video is not ready yet.

    Attributes:
        id: The video id to wait for.
        status: The initial status (usually :attr:`VideoStatus.PENDING`).
        output_format: ``mp4`` or ``webm``.
    """

    id: str
    status: VideoStatus = VideoStatus.PENDING
    output_format: str | None = None


@attrs.frozen(kw_only=True)
class Video:
    """
    A video and what HeyGen knows about it.

    URLs are presigned and expire: fetch the video again for fresh ones and
    never store them. A failed video may carry no ``failure_code`` or
    ``failure_message``. Timestamps are aware UTC datetimes.
    """

    id: str
    status: VideoStatus
    title: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    gif_url: str | None = None
    captioned_video_url: str | None = None
    subtitle_url: str | None = None
    video_page_url: str | None = None
    duration: float | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    folder_id: str | None = None
    output_language: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


@attrs.frozen(kw_only=True)
class StatusError:
    """
    Why a video in a bulk status row failed.

    HeyGen's schema leaves this object open; either part may be missing.
    """

    code: str | None = None
    message: str | None = None


@attrs.frozen(kw_only=True)
class StatusItem:
    """
    One row of the bulk status endpoint: no URLs, just where a job is.

    *id* is ``None`` for a batch item whose video does not exist yet; such
    a row says nothing about any video you wait for.
    """

    status: VideoStatus
    id: str | None = None
    error: StatusError | None = None
    batch_id: str | None = None
    item_index: int | None = None
