"""
How many jobs a batch lets run at once, and what it sends them through.

HeyGen refuses a create over the account's concurrency cap with 429. A batch
starts at *max_in_flight*; a 429 lowers the limit to the number of jobs HeyGen
has accepted (or halves it), and each job that leaves its slot for good raises
it by ``1/limit`` back towards *max_in_flight*: additive increase,
multiplicative decrease, as TCP does.

An admitted job goes to the client through a :class:`Submitter`, a narrow
protocol the client implements with an adapter: the batch wing never imports
the client, nor calls its private methods.
"""

from __future__ import annotations

import collections
from typing import Protocol

from heygen_async._estimate import Pricing, estimate_job
from heygen_async._models import CreatedVideo, VideoRequest
from heygen_async.exceptions import CreditLimitError

from .handles import JobHandle


__all__ = ["Admission", "CreditBudget", "Submitter"]


class Submitter(Protocol):
    """
    The client as a batch sees it: upload, create once, count requests.

    The client hands a batch an adapter that implements this, so the batch
    never reaches into the client's private methods (and never imports it).
    """

    async def resolve(self, request: VideoRequest) -> VideoRequest:
        """Upload a local ``image_path``; the request with its asset id."""

    async def create(
        self, request: VideoRequest, *, idempotency_key: str
    ) -> CreatedVideo:
        """POST a resolved request with *idempotency_key*; a 429 is raised."""

    def request_counts(self) -> dict[str, int]:
        """HTTP attempts so far by route template, retries included."""


class CreditBudget:
    """
    A batch's ``max_credits``: estimated credits admitted so far, and the cap.

    A job whose estimate would pass the cap, or whose length cannot be
    estimated, is refused before it is sent. A job that may already exist
    (a resumed one) is always sent, and counted: with its key a retry is a
    free replay, and dropping it could lose a paid video.
    """

    __slots__ = ("limit", "pricing", "spent")

    def __init__(self, limit: float, pricing: Pricing | None) -> None:
        if not limit >= 0:
            msg = f"max_credits must be >= 0 or None; got {limit!r}"
            raise ValueError(msg)
        self.limit = limit
        self.pricing = pricing or Pricing()
        self.spent = 0.0

    def charge(self, job: JobHandle) -> CreditLimitError | None:
        """Count *job*'s estimate in, or say why it may not be sent."""
        seconds = estimate_job(job.request, self.pricing).seconds
        cost = None if seconds is None else seconds * self.pricing.credits_per_second
        over = cost is None or self.spent + cost > self.limit + 1e-9
        if over and not job._maybe_sent:
            return CreditLimitError(
                max_credits=self.limit, spent=self.spent, needed=cost
            )
        self.spent += cost or 0.0
        return None


class Admission:
    """The jobs waiting for a slot, the slots taken, the limit. Strictly private."""

    __slots__ = ("budget", "limit", "max_in_flight", "occupied", "queue")

    def __init__(self, max_in_flight: int, budget: CreditBudget | None = None) -> None:
        self.budget = budget
        self.max_in_flight = max_in_flight
        self.limit = float(max_in_flight)
        self.occupied = 0
        self.queue: collections.deque[JobHandle] = collections.deque()

    @property
    def saturated(self) -> bool:
        """Jobs wait for a slot while every slot is taken."""
        return bool(self.queue) and self.occupied >= int(self.limit)

    def has_room(self) -> bool:
        """A job waits and a slot is free."""
        return bool(self.queue) and self.occupied < int(self.limit)

    def take(self) -> JobHandle:
        """The job at the head of the queue, now holding a slot."""
        job = self.queue.popleft()
        self.occupied += 1
        return job

    def occupy(self) -> None:
        """A slot for a job that is already running (a resumed one)."""
        self.occupied += 1

    def release(self) -> None:
        """A slot freed without news about the cap (the limit stays)."""
        self.occupied -= 1

    def limited(self, accepted: int) -> None:
        """A 429: the cap is what HeyGen has *accepted*, or half the limit."""
        self.limit = max(1.0, float(accepted) if accepted else self.limit / 2)

    def finished(self) -> None:
        """A job's render ended: free its slot and raise the limit a little."""
        self.occupied -= 1
        self.limit = min(float(self.max_in_flight), self.limit + 1 / self.limit)
