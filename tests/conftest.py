"""
Shared fixtures: a fresh fake HeyGen server per test, and an HTTP session on it.

Every fake in the suite (subprocess fake servers included, through the
environment) checks its answers against HeyGen's official schemas, and a test
during which any fake broke them fails, even if its client retried past the
500.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

import heygen_async as hg
from heygen_async.testing import FakeHeyGen
from heygen_async.testing._conformance import ENV_VAR, violations_seen
from heygen_async.testing._voices import VOICES
from tests.helpers import strict_client
from tests.helpers.redis import RedisServer, redis_server


ALLOW_VIOLATIONS = "contract_violations_expected"


def pytest_configure(config: pytest.Config) -> None:
    """Switch response checking on for every fake, in-process or not."""
    os.environ[ENV_VAR] = "1"
    config.addinivalue_line(
        "markers",
        f"{ALLOW_VIOLATIONS}: the test provokes fake schema violations on purpose",
    )


@pytest.fixture(autouse=True)
def _no_contract_violations(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test during which an in-process fake broke HeyGen's schema."""
    before = violations_seen()
    yield
    if request.node.get_closest_marker(ALLOW_VIOLATIONS) is None:
        found = violations_seen() - before
        assert found == 0, f"{found} fake response(s) violated HeyGen's schema"


@pytest.fixture(name="fake")
async def _fake() -> AsyncIterator[FakeHeyGen]:
    async with FakeHeyGen(render_seconds=0.05, seed=1) as fake:
        yield fake


@pytest.fixture(name="fake_session")
async def _fake_session(fake: FakeHeyGen) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session on the fake, authenticated with its key."""
    headers = {"x-api-key": fake.api_key}
    async with aiohttp.ClientSession(fake.url, headers=headers) as session:
        yield session


@pytest.fixture(name="client")
async def _client(fake: FakeHeyGen) -> AsyncIterator[hg.Client]:
    """A strict SDK client on the fake, with millisecond retries."""
    async with strict_client(fake) as client:
        yield client


@pytest.fixture(name="voice_id")
def _voice_id() -> str:
    """A public voice from the fake's fixed catalogue."""
    return next(voice.voice_id for voice in VOICES if voice.type == "public")


@pytest.fixture(name="redis_server")
def _redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real ``redis-server`` on a free port, for this test only."""
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server
