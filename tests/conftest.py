"""Shared fixtures: a fresh fake HeyGen server per test, and an HTTP session on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

import heygen_async as hg
from heygen_async.testing import FakeHeyGen
from heygen_async.testing._voices import VOICES
from tests.helpers import strict_client


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
