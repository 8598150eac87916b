"""A webhook receiver on loopback (plain aiohttp) that records what it gets."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import aiohttp
import attrs
from aiohttp import web

from heygen_async.testing import FakeHeyGen, JobPlan
from tests.helpers.fake import serve


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

    def standard_signed_by(self, secret: str) -> bool:
        """
        Whether webhook-signature holds a Standard Webhooks v1 signature by *secret*.

        That is base64 HMAC-SHA256 of ``"{webhook-id}.{webhook-timestamp}.{body}"``,
        keyed with the base64-decoded part of the secret after ``whsec_``.
        """
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            return False
        message_id = self.headers.get("webhook-id", "")
        timestamp = self.headers.get("webhook-timestamp", "")
        signed = f"{message_id}.{timestamp}.".encode() + self.body
        digest = hmac.new(key, signed, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(digest).decode()
        return expected in self.headers.get("webhook-signature", "").split()


class Receiver:
    """
    An aiohttp server that records every POST and answers from a script.

    *statuses* are answered in order, then 200 for ever; *hang* makes every
    request wait until the receiver closes.
    """

    def __init__(self, statuses: Iterable[int] = (), *, hang: bool = False) -> None:
        self._statuses = iter(statuses)
        self._hang = hang
        self._release = asyncio.Event()
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
        self._release.set()  # let hung handlers finish, or cleanup waits for them
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        delivery = Delivery(
            path=request.path, headers=dict(request.headers), body=await request.read()
        )
        self.deliveries.append(delivery)
        self._queue.put_nowait(delivery)
        if self._hang:
            await self._release.wait()
        return web.Response(status=next(self._statuses, 200))

    async def next(self) -> Delivery:
        """The next delivery, waiting at most five seconds for it."""
        async with asyncio.timeout(5):
            return await self._queue.get()

    def pending(self) -> int:
        """Deliveries received but not yet taken with :meth:`next`."""
        return self._queue.qsize()


async def until(predicate: Callable[[], bool]) -> None:
    """Wait (at most five seconds, checking every few ms) until *predicate* holds."""
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0.005)


ENDPOINTS = "/v3/webhooks/endpoints"


def plans(*items: JobPlan) -> Any:
    """A job_plan callback handing out *items* in creation order."""

    def plan(index: int, _body: Mapping[str, Any]) -> JobPlan:
        return items[index]

    return plan


async def call(
    session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """Send one request and return its status and JSON body."""
    async with session.request(method, path, **kwargs) as resp:
        return resp.status, await resp.json()


async def register(
    session: aiohttp.ClientSession, url: str, **fields: Any
) -> dict[str, Any]:
    """Register *url* on the fake and return the endpoint (asserting a 200)."""
    status, body = await call(session, "POST", ENDPOINTS, json={"url": url, **fields})
    assert status == 200, body
    return dict(body["data"])


async def idle(fake: FakeHeyGen) -> None:
    """Wait until every job is announced and every delivery has settled."""
    hub = fake._runtime.webhooks
    await until(lambda: not hub._heap and not hub._deliveries)


@asynccontextmanager
async def listening(
    statuses: tuple[int, ...] = (), **config: Any
) -> AsyncIterator[tuple[FakeHeyGen, aiohttp.ClientSession, Receiver, str]]:
    """A fake with fast retries, a receiver, and the receiver registered."""
    config.setdefault("render_seconds", 0.01)
    config.setdefault("webhook_retry_base", 0.01)
    async with Receiver(statuses) as receiver, serve(**config) as (fake, session):
        endpoint = await register(session, receiver.url + "/hook")
        yield fake, session, receiver, endpoint["secret"]
