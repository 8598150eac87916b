"""Small asyncio helpers shared by everything that owns background tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from . import _log


log = _log.logger


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any] | None]) -> None:
    """
    Cancel *tasks* and wait until each has finished, leaving none behind.

    Their own cancellation is absorbed and their failures are logged, so one
    bad task does not stop the cleanup; a cancellation of the caller is not
    absorbed.
    """
    pending = [task for task in tasks if task is not None]
    for task in pending:
        task.cancel()
    if not pending:
        return
    results = await asyncio.gather(*pending, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            log.warning("heygen.cleanup_failed", exc_info=result)
