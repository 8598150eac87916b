"""
:class:`LocalCoordinator`: one process on its own, the default.

Everything is already local: a batch's admission keeps its own cap, the
throttle its own Retry-After, the poll loop its own results. So every method
is a no-op, and a client without a coordinator behaves exactly as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager

from heygen_async._models import Video

from .protocol import GateListener, ResultSink, Slot


__all__ = ["LocalCoordinator"]


class _LocalSlot:
    """A slot nobody else competes for."""

    async def created(self, video_id: str) -> None:
        """Nothing to record."""

    async def rate_limited(self, retry_after: float | None) -> None:
        """The batch's own admission adapts; nothing shared to lower."""


class LocalCoordinator:
    """Coordinates nothing: one process, today's behaviour."""

    @property
    def shares_polling(self) -> bool:
        """This process polls for itself only."""
        return False

    def bind(self, sink: ResultSink, on_gate: GateListener) -> None:
        """Nothing arrives from elsewhere."""

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[Slot]:
        """A slot at once: the batch's admission already caps this process."""
        yield _LocalSlot()

    def rate_limited(self, seconds: float) -> None:
        """The throttle already holds this process."""

    def watched(self, video_id: str) -> None:
        """No shared results to look up."""

    def observed(self, video: Video) -> None:
        """Nobody else to tell."""

    def to_poll(self, video_ids: Sequence[str]) -> Sequence[str]:
        """This process polls everything it waits on."""
        return video_ids

    async def publish(self, video: Video) -> None:
        """Nobody else to tell."""

    async def poke(self, video_ids: Iterable[str]) -> None:
        """Nobody else polls."""

    async def claim_event(self, event_id: str) -> bool | None:
        """No shared memory of events: the caller de-duplicates locally."""
        return None

    async def release_event(self, event_id: str) -> None:
        """Nothing was claimed."""

    async def aclose(self) -> None:
        """Nothing to stop."""
