"""
The pieces of a batch a caller holds: job handles and stats snapshots.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Generator, Mapping
from typing import Any

import attrs

from heygen_async._models import VideoRequest, VideoStatus

from .outcomes import Outcome


class Stage(enum.Enum):
    """Where a job is inside its batch."""

    QUEUED = "queued"
    UPLOADING = "uploading"
    SUBMITTING = "submitting"
    IN_FLIGHT = "in_flight"
    DONE = "done"


@attrs.frozen(kw_only=True)
class BatchStats:
    """
    A snapshot of a batch.

    Attributes:
        queued: Waiting for a slot.
        uploading: Uploading a local image before submission.
        submitting: Create request under way.
        in_flight: Created and not yet finished.
        completed: Finished with a video.
        failed: Failed or refused.
        timed_out: Past a deadline.
        limit: The current in-flight limit (lowered by 429s, then regrown).
        requests: HTTP requests the client made since the batch opened, by
            route.
    """

    queued: int
    uploading: int
    submitting: int
    in_flight: int
    completed: int
    failed: int
    timed_out: int
    limit: int
    requests: Mapping[str, int]


class JobHandle:
    """
    One submitted request. ``await handle`` gives its outcome.

    Awaiting never raises for a failed render: the outcome says what happened.
    Cancelling the awaiting task does not cancel the job.

    Attributes:
        request: What was submitted.
        tag: The caller's label for it.
        key: The ``Idempotency-Key`` minted for it, reused on every retry.
        video_id: The HeyGen video id once created, else ``None``.
        last_status: The last status seen, else ``None``.
    """

    __slots__ = (
        "_future",
        "_maybe_sent",
        "_recorded",
        "_resolved",
        "_stage",
        "_unknown",
        "key",
        "last_status",
        "request",
        "tag",
        "video_id",
    )

    def __init__(
        self,
        request: VideoRequest,
        tag: Any,
        future: asyncio.Future[Outcome],
        *,
        key: str,
    ) -> None:
        self.request = request
        self.tag = tag
        self.key = key
        self.video_id: str | None = None
        self.last_status: VideoStatus | None = None
        self._future = future
        # None until the batch first counts it in a stage.
        self._stage: Stage | None = None
        # How many creates in a row ended without a definite answer, and
        # whether a create may have reached HeyGen (then only HeyGen's own
        # answer to the same key, never a local refusal, may end the job).
        self._unknown = 0
        self._maybe_sent = False
        # The request as it will be sent (an uploaded image's asset id in
        # place of its path), and the journal write that must land first.
        self._resolved: VideoRequest | None = None
        self._recorded: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return (
            f"<heygen_async.JobHandle tag={self.tag!r} video_id={self.video_id!r} "
            f"stage={self._stage.value if self._stage else 'new'}>"
        )

    def done(self) -> bool:
        """Whether the outcome is known."""
        return self._future.done()

    @property
    def outcome(self) -> Outcome | None:
        """The outcome if known, else ``None``."""
        if self._future.done() and not self._future.cancelled():
            return self._future.result()
        return None

    def __await__(self) -> Generator[Any, None, Outcome]:
        return asyncio.shield(self._future).__await__()
