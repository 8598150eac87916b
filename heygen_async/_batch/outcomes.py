"""
What a batch job ends as: data, not exceptions.

One failure among 500 renders is something to report, not a reason to stop
the other 499; ``Batch.as_completed()`` yields one of these per job.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

import attrs

from heygen_async import _log
from heygen_async._models import Video, VideoRequest, VideoStatus
from heygen_async.exceptions import NotFoundError, VideoFailedError, WaitTimeoutError


log = _log.batch_logger


@attrs.frozen(kw_only=True)
class Completed:
    """
    The video rendered.

    Attributes:
        video: The completed video, with fresh URLs.
        tag: Whatever the caller passed to ``submit(..., tag=)``.
        request: The request that produced it.
    """

    video: Video
    tag: Any = None
    request: VideoRequest


@attrs.frozen(kw_only=True)
class Failed:
    """
    The job did not produce a video.

    Either the render failed (*video* is set, and its ``failure_code`` may be
    ``None``) or HeyGen refused the request (*video* is ``None``; *error* says
    why, e.g. :class:`~heygen_async.InsufficientCreditError`).

    Attributes:
        error: Why, as the exception waiting would have raised.
        video: The failed video, if one was created.
        tag: Whatever the caller passed to ``submit(..., tag=)``.
        request: The request that failed.
    """

    error: Exception
    video: Video | None = None
    tag: Any = None
    request: VideoRequest


@attrs.frozen(kw_only=True)
class TimedOut:
    """
    Our deadline passed first, or we stopped short of an answer; the render
    may still finish.

    Resume with ``client.wait_for_video(video_id)``, or by running the batch
    again on the same journal. *video_id* is ``None`` when the job was not
    submitted before the deadline, or its create never got a definite answer
    (the journal keeps it pending; a resumed batch asks again with the same
    ``Idempotency-Key``, so it is never paid twice).

    Attributes:
        video_id: The video to wait on later, if it was created.
        last_status: The last status seen, if any.
        tag: Whatever the caller passed to ``submit(..., tag=)``.
        request: The request that timed out.
    """

    video_id: str | None
    last_status: VideoStatus | None = None
    tag: Any = None
    request: VideoRequest


Outcome: TypeAlias = Completed | Failed | TimedOut
"""What ``as_completed()`` yields and a ``JobHandle`` resolves to: match on it."""


def of_watch(
    future: asyncio.Future[Video],
    *,
    tag: Any,
    request: VideoRequest,
    video_id: str | None,
    last_status: VideoStatus | None,
) -> Outcome:
    """
    What a finished watch on a created job means for the caller.

    *video_id* and *last_status* are what the batch knew of the job, used
    when the watch stopped for another reason than the video's own end.
    """
    error = future.exception()
    if error is None:
        return Completed(video=future.result(), tag=tag, request=request)
    if isinstance(error, VideoFailedError):
        return Failed(error=error, video=error.video, tag=tag, request=request)
    if isinstance(error, WaitTimeoutError):
        return TimedOut(
            video_id=error.video_id,
            last_status=error.last_status,
            tag=tag,
            request=request,
        )
    if isinstance(error, NotFoundError):
        return Failed(error=error, tag=tag, request=request)
    if not isinstance(error, Exception):  # pragma: no cover
        raise error  # BaseException never reaches a watch
    # The video exists and may well render: we stopped watching it (a revoked
    # key, a closed client), so a later run resumes it.
    log.warning("heygen.watch_stopped tag=%r error=%s", tag, error)
    return TimedOut(
        video_id=video_id, last_status=last_status, tag=tag, request=request
    )
