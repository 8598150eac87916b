"""A webhook receiver on loopback (plain aiohttp) that records what it gets."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web


@attrs.frozen
class Delivery:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body, decoded."""
        return json.loads(self.body)

    def signed_by(self, secret: str) -> bool:
        """Whether Heygen-Signature is the hex HMAC-SHA256 of the body with *secret*."""
        expected = hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("Heygen-Signature", ""))


class Receiver:
    """
    An aiohttp server that records every POST and answers from a script.

    *statuses* are answered in order, then 200 for ever; *hang* makes every
    request wait until the receiver closes.
    """

    def __init__(self, statuses: Iterable[int] = (), *, hang: bool = False) -> None:
        self._statuses = iter(statuses)
        self._hang = hang
        self.deliveries: list[Delivery] = []
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        delivery = Delivery(
            path=request.path, headers=dict(request.headers), body=await request.read()
        )
        self.deliveries.append(delivery)
        self._queue.put_nowait(delivery)
        if self._hang:
            await asyncio.Event().wait()
        return web.Response(status=next(self._statuses, 200))

    async def next(self, timeout: float = 5.0) -> Delivery:
        """The next delivery, waiting at most *timeout* seconds for it."""
        async with asyncio.timeout(timeout):
            return await self._queue.get()

    def pending(self) -> int:
        """Deliveries received but not yet taken with :meth:`next`."""
        return self._queue.qsize()
