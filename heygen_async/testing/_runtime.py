"""
Everything one running fake holds, shared by its middleware and routes.

Configuration is a frozen :class:`FakeConfig`; everything that changes while
the fake runs (credits left, faults armed, videos, counters) lives here, so
route modules are plain classes over one explicit dependency and never write
to configuration.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

from ._assets import AssetStore, AvatarStore
from ._config import FakeConfig, at_least
from ._conformance import ResponseChecker
from ._faults import Fault, FaultBook
from ._media import UrlSigner
from ._state import (
    IN_PROGRESS,
    IdempotencyStore,
    IdSource,
    StoredResponse,
    TokenBucket,
    VideoStore,
)
from ._stats import FakeStats, StatsRecorder
from ._validate import Lookups
from ._voices import find_voice
from ._webhooks import WebhookHub
from ._wire import ApiError, invalid


IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_:.-]{1,255}$")


@attrs.define
class RequestState:
    """Per-request bookkeeping the middleware shares with handlers."""

    fault: Fault | None = None
    slowed: bool = False


CURRENT: contextvars.ContextVar[RequestState] = contextvars.ContextVar(
    "heygen_fake_request"
)


_check_credits = at_least(0)
_CREDITS = attrs.fields(FakeConfig).credits


class Runtime:
    """The mutable state of one fake, over its frozen :class:`FakeConfig`."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self._credits = config.credits
        self.armed: tuple[Fault, ...] = ()
        self.checker = (
            ResponseChecker(tolerated_statuses=(config.in_progress_status,))
            if config.check_responses
            else None
        )
        self.ids = IdSource(config.seed)
        self.jobs_rng = random.Random(config.seed)
        self.faults = FaultBook(random.Random(f"heygen-fake-faults:{config.seed}"))
        self.recorder = StatsRecorder()
        self.videos = VideoStore()
        self.assets = AssetStore()
        self.avatars = AvatarStore()
        self.idempotency = IdempotencyStore()
        self.signer = UrlSigner(self.ids.secret())
        rps = config.requests_per_second
        self.bucket = TokenBucket(rps) if rps is not None else None
        self.clock: Callable[[], float] = time.monotonic
        self.wall_offset = time.time() - time.monotonic()
        self.base_url = ""
        self.webhooks = WebhookHub(self)
        self.lookups = Lookups(
            voice_exists=lambda voice_id: find_voice(voice_id) is not None,
            asset_type=self._asset_type,
            look_status=self._look_status,
        )

    # -- state that changes while the fake runs ---------------------------------

    @property
    def credits(self) -> int | None:
        """Credits left (``None``: unlimited)."""
        return self._credits

    @credits.setter
    def credits(self, credits: int | None) -> None:
        _check_credits(self, _CREDITS, credits)
        self._credits = credits

    def has_credit(self) -> bool:
        """Whether one more video can be paid for."""
        return self._credits is None or self._credits > 0

    def spend_credit(self) -> None:
        """Pay for one video (nothing when credits are unlimited)."""
        if self._credits is not None:
            self._credits -= 1

    def arm(self, fault: Fault) -> None:
        """Arm *fault* now; its ``nth`` counts requests from this moment."""
        self.faults.add(fault)
        self.armed = (*self.armed, fault)

    def reconfigure(self, **changes: Any) -> None:
        """Replace knobs (validated like the constructor's) for what follows."""
        self.config = attrs.evolve(self.config, **changes)

    @property
    def contract_violations(self) -> tuple[str, ...]:
        """Every schema violation answered as a 500 so far (checking on)."""
        return () if self.checker is None else tuple(self.checker.violations)

    # -- clocks and URLs ---------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop, base_url: str) -> None:
        """Use *loop*'s clock from now on, and serve URLs under *base_url*."""
        self.clock = loop.time
        self.wall_offset = time.time() - loop.time()
        self.base_url = base_url

    def now(self) -> float:
        """Monotonic seconds (the event loop's clock once started)."""
        return self.clock()

    def unix(self, mono: float) -> float:
        """Wall-clock unix seconds for monotonic time *mono*."""
        return mono + self.wall_offset

    def media_url(self, video_id: str, suffix: str) -> str:
        """A presigned URL for one of a video's files, valid for ``url_ttl``."""
        name = f"{video_id}.{suffix}"
        expires = f"{self.unix(self.now()) + self.config.url_ttl:.3f}"
        signature = self.signer.sign(name, expires)
        return f"{self.base_url}/_fake/media/{name}?expires={expires}&sig={signature}"

    def stats(self) -> FakeStats:
        """A snapshot of the counters."""
        return self.recorder.snapshot(
            in_flight=self.videos.in_flight(self.now()),
            faults_injected=self.faults.injected,
            contract_violations=len(self.contract_violations),
        )

    def _asset_type(self, asset_id: str) -> str | None:
        asset = self.assets.get(asset_id)
        return None if asset is None else asset.type

    def _look_status(self, look_id: str) -> str | None:
        look = self.avatars.look(look_id)
        return None if look is None else look.status_at(self.now())

    async def slow_after(self) -> None:
        """Wait out a ``slow`` fault of the ``after`` phase, once per request."""
        state = CURRENT.get(None)
        if state is None or state.slowed or state.fault is None:
            return
        fault = state.fault
        if fault.kind == "slow" and fault.phase == "after":
            state.slowed = True
            await asyncio.sleep(fault.delay)

    async def idempotent(
        self,
        request: web.Request,
        scope: str,
        work: Callable[[str | None], Awaitable[web.Response]],
    ) -> web.Response:
        """
        Run *work* at most once per ``Idempotency-Key``.

        A repeat within 24 hours replays the first 2xx response; a repeat
        while the first is still running gets 409 ``request_in_progress``.
        Error responses are not kept, so a rejected request can be retried
        with the same key.
        """
        key = idempotency_key(request)
        if key is None:
            return await work(None)
        found = self.idempotency.begin(scope, key, self.now())
        if found == IN_PROGRESS:
            msg = "A request with this Idempotency-Key is still being processed."
            raise ApiError(409, "request_in_progress", msg, param=IDEMPOTENCY_HEADER)
        if isinstance(found, StoredResponse):
            self.recorder.idempotent_replays += 1
            return web.Response(
                status=found.status,
                body=found.body,
                content_type=found.content_type,
                headers={"Idempotent-Replayed": "true"},
            )
        stored: StoredResponse | None = None
        try:
            await asyncio.sleep(0)  # let a concurrent retry see the reservation
            try:
                response = await work(key)
            except ApiError as exc:
                response = exc.to_response()
            await self.slow_after()
            if 200 <= response.status < 300 and isinstance(response.body, bytes):
                stored = StoredResponse(
                    status=response.status,
                    body=response.body,
                    content_type=response.content_type,
                )
            return response
        finally:
            self.idempotency.finish(scope, key, stored)


def idempotency_key(request: web.Request) -> str | None:
    """The request's ``Idempotency-Key``, validated; ``None`` when absent."""
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key:
        raise invalid("Idempotency-Key must not be blank.", IDEMPOTENCY_HEADER)
    if not _KEY_PATTERN.match(key):
        msg = "Idempotency-Key must be 1-255 characters from A-Z a-z 0-9 _ : . -"
        raise invalid(msg, IDEMPOTENCY_HEADER)
    return key
