"""
The poll loop as a coordinator sees it: settle, poke, and adopt others' videos.

The process that holds the poller's lock watches every video anyone on the
account waits on; these watches live in its ordinary scheduler, through this
adapter, so "one poll loop per client" becomes "one per account".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from heygen_async._models import Video
from heygen_async.exceptions import NotFoundError

from .protocol import ResultSink


__all__ = ["SchedulerSink"]


class _Hurry:
    """The owner of adopted watches: brisk polls while anyone waits for a slot."""

    def __init__(self, saturated: Callable[[], bool]) -> None:
        self._saturated = saturated

    @property
    def saturated(self) -> bool:
        return self._saturated()


class SchedulerSink:
    """A poll loop (:class:`~.protocol.ResultSink`) that can adopt. Strictly private."""

    def __init__(
        self,
        scheduler: ResultSink,
        *,
        saturated: Callable[[], bool],
        gone: Callable[[str], None],
    ) -> None:
        self._scheduler = scheduler
        self._owner = _Hurry(saturated)
        self._gone = gone
        self._adopted: dict[str, Any] = {}

    def resolve(self, video: Video) -> bool:
        """Settle local waits on *video*."""
        return self._scheduler.resolve(video)

    def poke(self, video_id: str) -> bool:
        """Poll *video_id* now, if anyone here waits on it."""
        return self._scheduler.poke(video_id)

    def adopt(self, video_ids: Iterable[str]) -> None:
        """Watch videos other processes wait on (this process polls for all)."""
        policy = attrs.evolve(self._scheduler.poll, deadline=None)
        for video_id in video_ids:
            if video_id in self._adopted:
                continue
            try:
                watch = self._scheduler.watch(
                    video_id, policy=policy, deadline=None, owner=self._owner
                )
            except (RuntimeError, ValueError):
                return  # closing
            self._adopted[video_id] = watch
            watch.future.add_done_callback(
                lambda future, video_id=video_id: self._done(video_id, future)
            )

    def drop(self) -> None:
        """Stop polling for others (leadership lost)."""
        adopted, self._adopted = self._adopted, {}
        for watch in adopted.values():
            self._scheduler.forget(watch)

    def _done(self, video_id: str, future: asyncio.Future[Video]) -> None:
        self._adopted.pop(video_id, None)
        if future.cancelled():
            return
        if isinstance(future.exception(), NotFoundError):
            self._gone(video_id)  # HeyGen does not know it: stop polling for it

    @property
    def adopted(self) -> frozenset[str]:
        """The ids this process polls for others."""
        return frozenset(self._adopted)
