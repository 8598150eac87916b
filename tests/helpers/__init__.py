"""Shared test helpers: strict clients bound to a fake, sample files."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

import heygen_async as hg
from heygen_async.testing import FakeHeyGen


FAST_RETRY = hg.RetryPolicy(wait_initial=0.001, wait_max=0.01)
"""Retries that cost milliseconds, not seconds."""


def strict_client(fake: FakeHeyGen, **overrides: Any) -> hg.Client:
    """A strict client bound to *fake* with fast retries and polls."""
    options: dict[str, Any] = {
        "api_key": fake.api_key,
        "base_url": fake.url,
        "strict": True,
        "retry": FAST_RETRY,
        "poll": hg.PollPolicy.for_testing(),
    }
    options.update(overrides)
    return hg.Client(**options)


def req(voice_id: str, n: int = 0) -> hg.VideoRequest:
    """A valid request whose body differs for each *n* (so no duplicates)."""
    return hg.VideoRequest(
        image_url=f"https://example.com/person-{n}.jpg",
        script=f"Hello number {n}!",
        voice_id=voice_id,
    )


def png(seed: int = 0) -> bytes:
    """A tiny valid 1x1 PNG; different *seed* values give different content."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixel = b"\x00" + bytes([seed % 256, (seed >> 8) % 256, 7])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(pixel))
        + chunk(b"IEND", b"")
    )


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 64
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 16
WEBM = b"\x1a\x45\xdf\xa3" + b"\x00" * 32


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def loopback_server(handler: Handler) -> AsyncIterator[str]:
    """A throwaway loopback server answering every path with *handler*."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
