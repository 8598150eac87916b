"""
The pytest plugin: ``heygen_fake`` and ``heygen_client`` fixtures.

Loaded through the ``pytest11`` entry point, so a user's test file needs no
conftest. Both fixtures are synchronous on the outside and do their async
set-up in the test's own event loop, whichever plugin owns it: pytest-asyncio
(auto or strict mode, any loop scope) or anyio (asyncio backend). A client
is bound to one loop, so running it in a loop of our own would break the
test; a sync test instead gets a fake served from a background thread.

Knobs come from markers (the closest wins) and then from an indirect
parameter::

    @pytest.mark.heygen_fake(failure_rate=1.0)
    @pytest.mark.heygen_client(strict=True)
    async def test_failure(heygen_client): ...
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, TypeVar

import attrs
import pytest

import heygen_async as hg

from ._server import FakeHeyGen


__all__ = ["heygen_client", "heygen_fake"]

_T = TypeVar("_T")

FAKE_MARK = "heygen_fake"
CLIENT_MARK = "heygen_client"
LoopScope = Literal["function", "class", "module", "package", "session"]
LOOP_SCOPES: tuple[LoopScope, ...] = (
    "function",
    "class",
    "module",
    "package",
    "session",
)
FAST_RETRY = hg.RetryPolicy(wait_initial=0.001, wait_max=0.01)
"""Retries that cost milliseconds, as polls do with ``PollPolicy.for_testing``."""

_FAKE_KNOBS = pytest.StashKey[dict[str, Any]]()
_CLIENT_OPTIONS = pytest.StashKey[dict[str, Any]]()


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, so ``--strict-markers`` accepts them."""
    config.addinivalue_line(
        "markers",
        f"{FAKE_MARK}(**knobs): FakeHeyGen keyword arguments for the "
        f"{FAKE_MARK} fixture",
    )
    config.addinivalue_line(
        "markers",
        f"{CLIENT_MARK}(**options): heygen_async.Client keyword arguments for "
        f"the {CLIENT_MARK} fixture",
    )


@attrs.frozen
class _Runner:
    """Who runs the test's coroutine, hence where our async set-up goes."""

    kind: Literal["asyncio", "anyio", "thread"]
    loop_scope: str = "function"
    backend: object = None


def _options(request: pytest.FixtureRequest, mark: str) -> dict[str, Any]:
    """Keyword arguments from *mark* (outermost first) and ``request.param``."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(mark))):
        if marker.args:
            pytest.fail(f"@pytest.mark.{mark} takes keyword arguments only")
        options.update(marker.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, Mapping):
            pytest.fail(f"an indirect {mark} parameter must be a dict; got {param!r}")
        options.update(param)
    return options


def _runner(request: pytest.FixtureRequest) -> _Runner:
    if "anyio_backend" in request.fixturenames:
        backend = request.getfixturevalue("anyio_backend")
        name = backend if isinstance(backend, str) else backend[0]
        if name != "asyncio":
            pytest.skip(f"heygen_async runs on asyncio, not on anyio backend {name!r}")
        return _Runner("anyio", backend=backend)
    marker = request.node.get_closest_marker("asyncio")
    if marker is not None and request.config.pluginmanager.has_plugin("asyncio"):
        scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
        try:
            default = request.config.getini("asyncio_default_test_loop_scope")
        except ValueError:  # pytest-asyncio < 0.26 runs every test per function
            default = None
        return _Runner("asyncio", loop_scope=scope or default or "function")
    if inspect.iscoroutinefunction(getattr(request.node, "obj", None)):
        pytest.fail(
            f"{request.node.nodeid} is async, but neither pytest-asyncio nor "
            "anyio runs it: mark it @pytest.mark.asyncio or @pytest.mark.anyio",
            pytrace=False,
        )
    return _Runner("thread")


def _in_anyio(
    backend: object, make: Callable[[], AbstractAsyncContextManager[_T]]
) -> Iterator[_T]:
    """Enter ``make()`` in anyio's test runner, the loop the test runs in."""
    from anyio.pytest_plugin import extract_backend_and_options, get_runner

    async def fixture() -> AsyncGenerator[_T]:
        async with make() as value:
            yield value

    name, options = extract_backend_and_options(backend)
    with get_runner(name, options) as runner:
        yield from runner.run_asyncgen_fixture(fixture, {})


def _in_thread(knobs: Mapping[str, Any]) -> Iterator[FakeHeyGen]:
    """Serve a fake from a loop on a daemon thread, for sync tests."""
    loop = asyncio.new_event_loop()

    def run() -> None:
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    async def start() -> FakeHeyGen:
        fake = FakeHeyGen(**knobs)
        await fake.start()
        return fake

    thread = threading.Thread(target=run, name="heygen-fake", daemon=True)
    thread.start()
    try:
        fake = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
        try:
            yield fake
        finally:
            asyncio.run_coroutine_threadsafe(fake.aclose(), loop).result(timeout=30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)


@pytest.fixture
def heygen_fake(request: pytest.FixtureRequest) -> Iterator[FakeHeyGen]:
    """
    A running :class:`~heygen_async.testing.FakeHeyGen`, closed after the test.

    Knobs: ``@pytest.mark.heygen_fake(**knobs)`` or an indirect parameter
    (a dict). In a sync test the fake runs on a background thread: read
    its ``url``, ``api_key`` and ``stats``, but set knobs through the marker.
    """
    knobs = _options(request, FAKE_MARK)
    runner = _runner(request)
    if runner.kind == "asyncio":
        request.node.stash[_FAKE_KNOBS] = knobs
        yield request.getfixturevalue(f"_heygen_fake_{runner.loop_scope}_loop")
    elif runner.kind == "anyio":
        yield from _in_anyio(runner.backend, lambda: FakeHeyGen(**knobs))
    else:
        yield from _in_thread(knobs)


@pytest.fixture
def heygen_client(
    request: pytest.FixtureRequest, heygen_fake: FakeHeyGen
) -> Iterator[hg.Client]:
    """
    A :class:`~heygen_async.Client` bound to ``heygen_fake``, closed after.

    It polls and retries in milliseconds (``PollPolicy.for_testing()``).
    Override any ``Client`` argument with ``@pytest.mark.heygen_client(...)``
    or an indirect parameter (a dict). Async tests only.
    """
    options: dict[str, Any] = {
        "api_key": heygen_fake.api_key,
        "base_url": heygen_fake.url,
        "poll": hg.PollPolicy.for_testing(),
        "retry": FAST_RETRY,
    }
    options.update(_options(request, CLIENT_MARK))
    runner = _runner(request)
    if runner.kind == "asyncio":
        request.node.stash[_CLIENT_OPTIONS] = options
        yield request.getfixturevalue(f"_heygen_client_{runner.loop_scope}_loop")
    elif runner.kind == "anyio":
        yield from _in_anyio(runner.backend, lambda: hg.Client(**options))
    else:
        pytest.fail(
            "heygen_client needs an async test (pytest-asyncio or anyio): "
            "a client belongs to the event loop it is used in",
            pytrace=False,
        )


def _asyncio_fixtures() -> dict[str, object]:
    """One fake and one client fixture per pytest-asyncio loop scope."""
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - pytest-asyncio is in the dev extra
        return {}
    made: dict[str, object] = {}
    for scope in LOOP_SCOPES:

        @pytest_asyncio.fixture(loop_scope=scope, name=f"_heygen_fake_{scope}_loop")
        async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeHeyGen]:
            async with FakeHeyGen(**request.node.stash[_FAKE_KNOBS]) as served:
                yield served

        @pytest_asyncio.fixture(loop_scope=scope, name=f"_heygen_client_{scope}_loop")
        async def client(request: pytest.FixtureRequest) -> AsyncIterator[hg.Client]:
            async with hg.Client(**request.node.stash[_CLIENT_OPTIONS]) as opened:
                yield opened

        made[f"_heygen_fake_{scope}_loop"] = fake
        made[f"_heygen_client_{scope}_loop"] = client
    return made


globals().update(_asyncio_fixtures())
