"""Small asyncio helpers shared by everything that owns background tasks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any] | None]) -> None:
    """
    Cancel *tasks* and wait until each has finished, leaving none behind.

    Their own cancellation is absorbed; a cancellation of the caller is not.
    """
    pending = [task for task in tasks if task is not None]
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
