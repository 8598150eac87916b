"""
A virtual-time asyncio event loop, and per-callback CPU attribution.

``VirtualTimeLoop`` is a ``SelectorEventLoop`` whose clock is
``time.monotonic() + offset``. Its selector is wrapped: when the loop asks to
wait ``timeout > 0`` seconds for I/O before its next timer, the wrapper first
polls the sockets for real (briefly, see ``guard``); if nothing is ready it adds
``timeout`` to the offset and returns at once, as if the wait had happened.
``timeout is None`` (no timer at all) blocks for real. CPU work still takes
real time, and real time still moves the clock, so everything that runs costs
what it costs; only idle waiting is skipped.

Soundness rests on every party (fake server, SDK, baselines) running in this
one loop over loopback sockets: if no socket is readable or writable after the
guard poll, nothing can happen before the next timer except work in another
thread. Thread-pool work (``run_in_executor``, e.g. DNS) is counted; while any
is pending the loop waits for real instead of jumping.
"""

from __future__ import annotations

import asyncio
import selectors
import time
import weakref
from collections.abc import Callable
from typing import Any


class _JumpingSelector:
    """Wraps a selector so that idle waits become clock jumps."""

    def __init__(self, inner: selectors.BaseSelector, loop: VirtualTimeLoop) -> None:
        self._inner = inner
        self._loop = loop

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self._loop
        if timeout is None or timeout <= 0 or loop.executor_pending:
            return self._inner.select(timeout)
        events = self._inner.select(0)
        if events:
            return events
        if loop.guard:
            # Give the kernel a moment to finish a loopback handshake or
            # deliver a segment that is in flight; the real time spent here
            # also moves the clock, so it is not lost.
            events = self._inner.select(min(loop.guard, timeout))
            if events:
                loop.guard_hits += 1
                return events
            timeout -= loop.guard
            if timeout <= 0:
                return []
        loop.offset += timeout
        loop.jumps += 1
        loop.jumped += timeout
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """
    An event loop that skips idle time.

    Attributes:
        offset: Seconds added to ``time.monotonic()``.
        jumps: How many idle waits were skipped.
        jumped: Total seconds skipped.
        guard: Real seconds to poll sockets before a jump (``0``: plain
            non-blocking check only).
        guard_hits: Jumps the guard poll prevented (I/O arrived during it).
    """

    guard: float = 0.0

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0.0
        self.jumps = 0
        self.jumped = 0.0
        self.guard_hits = 0
        self.executor_pending = 0
        self._selector = _JumpingSelector(self._selector, self)  # type: ignore[has-type, assignment]

    def time(self) -> float:
        return time.monotonic() + self.offset

    def run_in_executor(
        self, executor: Any, func: Callable[..., Any], *args: Any
    ) -> Any:
        fut = super().run_in_executor(executor, func, *args)
        self.executor_pending += 1

        def done(_f: object) -> None:
            self.executor_pending -= 1

        fut.add_done_callback(done)
        return fut


def virtual_loop_factory(guard: float = 0.0) -> Callable[[], VirtualTimeLoop]:
    """A ``loop_factory`` for :class:`asyncio.Runner`."""

    def make() -> VirtualTimeLoop:
        loop = VirtualTimeLoop()
        loop.guard = guard
        return loop

    return make


# -- CPU attribution ------------------------------------------------------

_SERVER_MARKERS = ("aiohttp/web_", "heygen_async/testing/")


def _is_server_code(filename: str) -> bool:
    return any(marker in filename for marker in _SERVER_MARKERS)


def _classify(callback: Any) -> bool:
    """True when a loop callback runs fake-server code."""
    owner = getattr(callback, "__self__", None)
    if owner is None:
        return False
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        code = getattr(coro, "cr_code", None)
        return code is not None and _is_server_code(code.co_filename)
    protocol = getattr(owner, "_protocol", None)
    if protocol is not None:
        return type(protocol).__module__.startswith("aiohttp.web")
    return False


def _port(transport: Any, name: str) -> int | None:
    address = transport.get_extra_info(name)
    if isinstance(address, tuple) and len(address) >= 2:
        return int(address[1])
    return None


class CpuSplit:
    """
    Splits process CPU between fake-server callbacks and everything else.

    Patches ``asyncio.events.Handle._run`` while active: each callback the
    loop runs is timed with ``time.process_time()`` and charged to the server
    when it is a step of a task whose coroutine lives in aiohttp's web server
    or the fake (or a read/write on a server-side transport). The timing
    itself costs about a microsecond per callback, charged to "client".

    ``user_ports`` lists local web servers that are *user* code (a webhook
    receiver): their aiohttp request tasks and transports are charged to the
    client, and the fake's connections *to* them (webhook deliveries) to the
    server. Empty by default, which keeps the plain rule above.
    """

    def __init__(self) -> None:
        self.server = 0.0
        self.callbacks = 0
        self.user_ports: set[int] = set()
        self._seen: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
        self._orig: Any = None

    def is_server(self, callback: Any) -> bool:
        """Whether *callback* runs fake-server code (see the class doc)."""
        if not self.user_ports:
            return _classify(callback)
        owner = getattr(callback, "__self__", None)
        if not isinstance(owner, asyncio.Task | asyncio.BaseTransport):
            return _classify(callback)
        # A task's or a transport's side never changes: decide it once.
        known = self._seen.get(owner)
        if known is None:
            decided = self._classify_with_ports(owner)
            if decided is None:
                return True  # an aiohttp task not yet bound to its transport
            self._seen[owner] = known = decided
        return known

    def _classify_with_ports(self, owner: Any) -> bool | None:
        if isinstance(owner, asyncio.Task):
            coro = owner.get_coro()
            code = getattr(coro, "cr_code", None)
            if code is None or not _is_server_code(code.co_filename):
                return False
            if "aiohttp/web_" not in code.co_filename:
                return True  # the fake itself (heygen_async/testing)
            frame = getattr(coro, "cr_frame", None)
            handler = frame.f_locals.get("self") if frame is not None else None
            transport = getattr(handler, "transport", None)
            if transport is None:
                return None  # not known yet: charge to the server, ask again
            return _port(transport, "sockname") not in self.user_ports
        protocol = getattr(owner, "_protocol", None)
        if protocol is None:
            return False
        if _port(owner, "sockname") in self.user_ports:
            return False  # the receiver's side of a delivery
        if _port(owner, "peername") in self.user_ports:
            return True  # the fake's side of a delivery
        return type(protocol).__module__.startswith("aiohttp.web")

    def __enter__(self) -> CpuSplit:
        handle_cls = asyncio.events.Handle
        self._orig = orig = handle_cls._run
        split = self
        clock = time.process_time

        def _run(handle: asyncio.Handle) -> None:
            server = split.is_server(handle._callback)  # type: ignore[attr-defined]
            if not server:
                orig(handle)
                return
            start = clock()
            orig(handle)
            split.server += clock() - start
            split.callbacks += 1

        handle_cls._run = _run  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._orig  # type: ignore[method-assign]
