"""Helpers shared by the fake server's tests (plain aiohttp, no SDK client)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp

from heygen_async.testing import FakeHeyGen
from heygen_async.testing._voices import VOICES
from tests.helpers import png


VOICE_ID = VOICES[0].voice_id
IMAGE_URL = "https://example.com/person.jpg"


def png_bytes() -> bytes:
    """A valid 1x1 PNG."""
    return png()


def video_body(**fields: Any) -> dict[str, Any]:
    """A valid flat (seed-style) create body, with *fields* overriding or added."""
    body: dict[str, Any] = {
        "image_url": IMAGE_URL,
        "script": "Hello!",
        "voice_id": VOICE_ID,
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


@asynccontextmanager
async def serve(
    **config: Any,
) -> AsyncIterator[tuple[FakeHeyGen, aiohttp.ClientSession]]:
    """A started fake with *config* and an authenticated session on it."""
    config.setdefault("render_seconds", 0.05)
    config.setdefault("seed", 1)
    async with FakeHeyGen(**config) as fake:
        headers = {"x-api-key": fake.api_key}
        async with aiohttp.ClientSession(fake.url, headers=headers) as session:
            yield fake, session


@contextmanager
def fake_server_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """
    Run ``python -m heygen_async fake-server --port 0 *args*``; yield it and its URL.

    The URL comes from the first stdout line. The process is always terminated
    (killed if it does not stop within 10 seconds).
    """
    command = [
        sys.executable,
        "-m",
        "heygen_async",
        "fake-server",
        "--port",
        "0",
        *args,
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        watchdog = threading.Timer(30, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            watchdog.cancel()
            match = re.search(r"listening on (http://\S+)", first)
            assert match, f"no URL in {first!r}; stderr: {process.stderr.read()}"  # type: ignore[union-attr]
            yield process, match.group(1)
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


async def create(session: aiohttp.ClientSession, **fields: Any) -> str:
    """Create a video and return its id (asserting a 200)."""
    async with session.post("/v3/videos", json=video_body(**fields)) as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["data"]["video_id"])


async def get_json(
    session: aiohttp.ClientSession, path: str, **params: str
) -> tuple[int, dict[str, Any]]:
    """GET *path* and return the status and JSON body."""
    async with session.get(path, params=params or None) as resp:
        return resp.status, await resp.json()


async def upload(
    session: aiohttp.ClientSession, data: bytes, filename: str = "photo.png"
) -> tuple[int, dict[str, Any]]:
    """POST *data* as the multipart ``file`` field of ``/v3/assets``."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename)
    async with session.post("/v3/assets", data=form) as resp:
        return resp.status, await resp.json()
