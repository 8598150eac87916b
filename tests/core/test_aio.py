"""Cleanup of background tasks."""

from __future__ import annotations

import asyncio
import logging

import pytest

from heygen_async._aio import cancel_and_wait


async def test_cancel_and_wait_logs_failures_and_leaves_no_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A task that failed is logged, a running one is cancelled, none is left."""

    async def boom() -> None:
        raise RuntimeError("boom")

    failed = asyncio.ensure_future(boom())
    await asyncio.sleep(0)
    running = asyncio.ensure_future(asyncio.sleep(60))
    with caplog.at_level(logging.WARNING, logger="heygen_async"):
        await cancel_and_wait([failed, None, running])
    assert running.cancelled()
    assert "heygen.cleanup_failed" in caplog.text
    await cancel_and_wait([])
