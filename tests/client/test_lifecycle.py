"""Client configuration and lifecycle: keys, sessions, loops, closing."""

from __future__ import annotations

import asyncio
import gc
import logging

import aiohttp
import pytest

import heygen_async as hg
from heygen_async.testing import FakeHeyGen, Fault
from tests.helpers import strict_client


SECRET = "sk-live-very-secret-key-0123456789"


# -- configuration -----------------------------------------------------------


def test_missing_key_fails_at_construction() -> None:
    """No api_key and no HEYGEN_API_KEY is a ConfigurationError, not a late 401."""
    with pytest.raises(hg.ConfigurationError, match="HEYGEN_API_KEY"):
        hg.Client(environ={})
    with pytest.raises(hg.ConfigurationError):
        hg.Client(environ={"HEYGEN_API_KEY": "  "})
    with pytest.raises(ValueError, match="no API key"):  # it is also a ValueError
        hg.Client(api_key="", environ={"HEYGEN_API_KEY": SECRET})


def test_environment_supplies_defaults() -> None:
    """The key and base URL come from the given environ mapping."""
    client = hg.Client(
        environ={"HEYGEN_API_KEY": SECRET, "HEYGEN_API_BASE": "http://h:1/"}
    )
    assert client.base_url == "http://h:1"
    assert hg.Client(api_key="k", environ={}).base_url == "https://api.heygen.com"
    explicit = hg.Client(base_url="https://x.test", environ={"HEYGEN_API_KEY": "k"})
    assert explicit.base_url == "https://x.test"


@pytest.mark.parametrize("url", ["api.heygen.com", "ftp://x", "https://"])
def test_bad_base_url_is_a_configuration_error(url: str) -> None:
    """base_url must be an absolute http(s) URL."""
    with pytest.raises(hg.ConfigurationError, match="base_url must be an http"):
        hg.Client(api_key="k", base_url=url)


def test_bad_rate_is_a_configuration_error() -> None:
    """requests_per_second must be positive."""
    with pytest.raises(hg.ConfigurationError, match="requests_per_second"):
        hg.Client(api_key="k", requests_per_second=0)


def test_policies_are_kept() -> None:
    """The client exposes the policies it was given (the scheduler reads poll)."""
    retry = hg.RetryPolicy(attempts=2)
    timeouts = hg.Timeouts(read=5)
    poll = hg.PollPolicy.for_testing()
    client = hg.Client(
        api_key="k", retry=retry, timeouts=timeouts, poll=poll, strict=True
    )
    assert (client.retry, client.timeouts, client.poll, client.strict) == (
        retry,
        timeouts,
        poll,
        True,
    )
    defaults = hg.Client(api_key="k")
    assert defaults.timeouts == hg.Timeouts(read=30, write=120, upload=600)
    assert defaults.strict is False


def test_repr_hides_the_key() -> None:
    """repr shows where the client points, never the key."""
    client = hg.Client(api_key=SECRET, base_url="https://api.heygen.com")
    assert repr(client) == "<heygen_async.Client base_url='https://api.heygen.com'>"
    assert SECRET not in repr(client._http)


# -- sessions ------------------------------------------------------------------


async def test_owned_session_is_created_lazily_and_closed(fake: FakeHeyGen) -> None:
    """The client makes its session on first use and closes it on aclose."""
    client = strict_client(fake)
    assert client._owned_session is None
    await client.get_me()
    session = client._owned_session
    assert session is not None
    assert not session.closed
    await client.aclose()
    assert session.closed


async def test_borrowed_session_is_never_closed(fake: FakeHeyGen) -> None:
    """A session passed in belongs to the caller and stays open."""
    async with aiohttp.ClientSession() as session:
        async with strict_client(fake, session=session) as client:
            await client.get_me()
        assert client._owned_session is None
        assert not session.closed
        leaked = strict_client(fake, session=session)
        await leaked.get_me()
        del leaked
        gc.collect()  # no ResourceWarning: nothing of ours was left open


async def open_and_forget(fake: FakeHeyGen) -> aiohttp.ClientSession:
    """Use a client, drop it unclosed, and return its (still open) session."""
    client = strict_client(fake)
    await client.get_me()
    assert client._owned_session is not None
    return client._owned_session


async def test_leaked_client_warns(fake: FakeHeyGen) -> None:
    """Garbage-collecting a client with its own session open warns."""
    gc.disable()  # collect exactly inside pytest.warns, not whenever
    try:
        session = await open_and_forget(fake)
        with pytest.warns(ResourceWarning, match=r"Unclosed <heygen_async\.Client"):
            gc.collect()
    finally:
        gc.enable()
    await session.close()


async def test_aclose_is_idempotent(fake: FakeHeyGen) -> None:
    """Closing twice is harmless."""
    client = strict_client(fake)
    await client.get_me()
    await client.aclose()
    await client.aclose()


async def test_closed_client_cannot_reopen_or_send(fake: FakeHeyGen) -> None:
    """A closed client refuses to reopen and to send, with clear messages."""
    async with strict_client(fake) as client:
        await client.get_me()
    with pytest.raises(
        RuntimeError, match=r"^Cannot reopen a client once it has been closed\.$"
    ):
        async with client:
            pass  # pragma: no cover
    with pytest.raises(RuntimeError, match=r"closed heygen_async\.Client"):
        await client.get_me()
    assert fake.stats.total_requests == 1


async def test_client_works_without_a_context_manager(fake: FakeHeyGen) -> None:
    """Using a client before entering it opens it implicitly."""
    client = strict_client(fake)
    try:
        assert (await client.get_me()).username is not None
    finally:
        await client.aclose()


def test_wrong_event_loop_is_a_clear_error() -> None:
    """A client opened in one loop refuses to run in another."""
    client = hg.Client(api_key="k", base_url="http://127.0.0.1:9")
    asyncio.run(client.__aenter__())
    with pytest.raises(RuntimeError, match="bound to a different event loop"):
        asyncio.run(client.get_me())
    asyncio.run(client.aclose())


async def test_close_callbacks_run_newest_first_despite_failures(
    fake: FakeHeyGen, caplog: pytest.LogCaptureFixture
) -> None:
    """aclose runs shutdown callbacks newest first; a failure stops none."""
    calls: list[str] = []

    async def first() -> None:
        calls.append("first")

    async def broken() -> None:
        calls.append("broken")
        raise RuntimeError("scheduler exploded")

    client = strict_client(fake)
    client._close_callbacks.extend([first, broken])
    await client.get_me()
    session = client._owned_session
    await client.aclose()
    assert calls == ["broken", "first"]
    assert session is not None
    assert session.closed
    failures = [
        r for r in caplog.records if r.getMessage() == "heygen.close_callback_failed"
    ]
    assert len(failures) == 1
    assert failures[0].levelno == logging.WARNING


# -- secrets -------------------------------------------------------------------


async def test_key_never_reaches_logs_or_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Across retries, errors and successes the key appears in no log or error."""
    caplog.set_level(logging.DEBUG)
    async with FakeHeyGen(api_key=SECRET, render_seconds=0.01) as fake:
        fake.add_fault(
            Fault(kind="error", route="GET /v3/users/me", nth=(1,), status=503)
        )
        fake.add_fault(
            Fault(kind="drop", route="POST /v3/videos", nth=(1,), phase="after")
        )
        errors: list[BaseException] = []
        async with strict_client(fake) as client:
            await client.get_me()
            await client.create_video(
                hg.VideoRequest(
                    image_url="https://e.com/a.jpg", audio_url="https://e.com/a.mp3"
                )
            )
            try:
                await client.get_video("v_missing")
            except hg.NotFoundError as exc:
                errors.append(exc)
        async with strict_client(fake, api_key=SECRET + "x") as wrong:
            try:
                await wrong.get_me()
            except hg.AuthenticationError as exc:
                errors.append(exc)
    assert len(errors) == 2
    for error in errors:
        assert SECRET not in str(error)
        assert SECRET not in repr(error)
    assert caplog.records
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in str(record.__dict__)
