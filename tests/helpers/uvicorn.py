"""Serve an ASGI app with a real uvicorn server, in the test's own event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


def bind() -> tuple[socket.socket, str]:
    """A loopback socket on a free port and its base URL (known before serving)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def serving(app: Any, sock: socket.socket) -> AsyncIterator[uvicorn.Server]:
    """
    Run *app* on *sock* until the block ends, lifespan included.

    The server is stopped and awaited on exit, so its lifespan shutdown has
    run and none of its tasks remain.
    """
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        ws="none",
        http="h11",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(5):
            while not server.started:
                if task.done():
                    await task  # re-raise a startup failure
                await asyncio.sleep(0.005)
        yield server
    finally:
        server.should_exit = True
        await task
        sock.close()
