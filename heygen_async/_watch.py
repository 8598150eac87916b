"""
One wait on one video: the state the scheduler keeps per job, and the two
protocols around it (the client that answers polls, the batch that owns jobs).

Its cadence (interval, next poll, deadline), its result (a future) and what
the learned timing (``_pacing``) reads and caches: when it started, when it
was last asked about, and its predicted render time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol

from ._config import PollPolicy
from ._models import StatusItem, Video, VideoStatus
from ._pacing.model import Prediction, RenderFeatures


__all__ = ["Backend", "Owner", "Watch"]


class Backend(Protocol):
    """The two reads the scheduler needs; the client provides them."""

    async def get_statuses(self, video_ids: Iterable[str]) -> list[StatusItem]:
        """Bulk status for up to 100 ids; UndecodableRowsError keeps the rest."""

    async def get_video(self, video_id: str) -> Video:
        """One video with URLs and failure details."""


class Owner(Protocol):
    """Whoever submitted a watched job (a batch) and may want it hurried."""

    @property
    def saturated(self) -> bool:
        """True while jobs queue for a slot: poll in-flight jobs briskly."""


class Watch:
    """One wait on one video: its cadence, deadline and result."""

    __slots__ = (
        "deadline",
        "features",
        "future",
        "interval",
        "last_status",
        "missing",
        "next_poll",
        "owner",
        "policy",
        "polled",
        "prediction",
        "resolving",
        "started",
        "version",
        "video_id",
    )

    def __init__(
        self,
        video_id: str,
        *,
        policy: PollPolicy,
        deadline: float | None,
        future: asyncio.Future[Video],
        owner: Owner | None,
        started: float = 0.0,
        features: RenderFeatures | None = None,
    ) -> None:
        self.video_id = video_id
        self.policy = policy
        self.deadline = deadline
        self.future = future
        self.owner = owner
        self.interval = policy.interval_initial
        self.next_poll = 0.0
        self.last_status: VideoStatus | None = None
        self.missing = 0
        self.resolving = False
        self.started = self.polled = started  # loop times: watched, last asked
        self.features = features
        self.prediction: Prediction | None = None
        self.version = -1  # the model version *prediction* came from

    @property
    def active(self) -> bool:
        """Still waiting for an answer."""
        return not self.future.done()
