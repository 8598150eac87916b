"""
The seam between a client and whatever coordinates it with other processes.

A :class:`Coordinator` decides when a create may be sent (an account-wide
slot), tells every process what one of them learnt about a video, and which
process polls. :class:`~.local.LocalCoordinator` is one process on its own
(the default); the ``redis`` extra adds one that spans processes and hosts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from heygen_async._config import PollPolicy
from heygen_async._models import CreatedVideo, Video
from heygen_async.exceptions import RateLimitError


__all__ = ["Coordinator", "ResultSink", "Slot", "in_slot"]


class ResultSink(Protocol):
    """
    Where news about videos goes: the client's poll loop (its
    :class:`~heygen_async._scheduler.Scheduler` is one, structurally).
    """

    @property
    def poll(self) -> PollPolicy:
        """The default cadence."""

    def watch(
        self,
        video_id: str,
        *,
        policy: PollPolicy | None = None,
        deadline: float | None = None,
        owner: Any = None,
    ) -> Any:
        """Start polling *video_id*; the handle has a ``future``."""

    def forget(self, watch: Any) -> None:
        """Stop a watch."""

    def resolve(self, video: Video) -> bool:
        """Settle every local wait on a terminal *video*."""

    def poke(self, video_id: str) -> bool:
        """Poll *video_id* soon (a hint that it changed)."""


class Slot(Protocol):
    """One create's place under the account's cap, held while it is sent."""

    async def created(self, video_id: str) -> None:
        """The create answered: the slot now belongs to *video_id*."""

    async def rate_limited(self, retry_after: float | None) -> None:
        """HeyGen refused with 429: give the slot back and lower the limit."""


class Coordinator(Protocol):
    """
    What a client asks before it creates, polls or settles a video.

    Every method is cheap for :class:`~.local.LocalCoordinator`; a shared
    coordinator may wait for a slot (and raise
    :class:`~heygen_async.CoordinatorUnavailableError` when it cannot reach
    its store for too long).
    """

    @property
    def shares_polling(self) -> bool:
        """
        Whether one process may poll for others: a poll loop then serves
        waits it never saw requested, so its learned timing must not pace them.
        """

    def bind(self, sink: ResultSink, on_gate: GateListener) -> None:
        """Deliver shared results to *sink* and shared Retry-After to *on_gate*."""

    def slot(self, key: str) -> AbstractAsyncContextManager[Slot]:
        """Wait for a slot for the create keyed *key*; freed on error."""

    def rate_limited(self, seconds: float) -> None:
        """A Retry-After seen here: hold every process's requests."""

    def watched(self, video_id: str) -> None:
        """A wait started: settle it at once if its result is already known."""

    def observed(self, video: Video) -> None:
        """HeyGen said *video* is terminal: free its slot, tell everyone."""

    def to_poll(self, video_ids: Sequence[str]) -> Sequence[str]:
        """Which of the due *video_ids* this process should poll now."""

    async def publish(self, video: Video) -> None:
        """Settle *video* account-wide (a verified webhook said so)."""

    async def poke(self, video_ids: Iterable[str]) -> None:
        """Ask whoever polls *video_ids* to poll them now."""

    async def claim_event(self, event_id: str) -> bool | None:
        """Whether this process is the first to see *event_id*; ``None``: unknown."""

    async def release_event(self, event_id: str) -> None:
        """Forget a claimed *event_id* (its processing failed; let a retry in)."""

    async def aclose(self) -> None:
        """Stop background work and release what this process holds."""


class GateListener(Protocol):
    """Told when another process saw a Retry-After."""

    def __call__(self, seconds: float) -> None:
        """Hold requests for *seconds* from now."""


async def in_slot(
    coordinator: Coordinator,
    key: str,
    create: Callable[[], Awaitable[CreatedVideo]],
) -> CreatedVideo:
    """
    Run one paid create inside an account-wide slot.

    A 429 gives the slot back and tells every process (the shared limit and
    gate); an accepted create hands the slot to its video until it ends.
    """
    async with coordinator.slot(key) as slot:
        try:
            created = await create()
        except RateLimitError as error:
            await slot.rate_limited(error.retry_after)
            raise
        await slot.created(created.id)
    return created
