"""Helpers for the command-line tests: a fake server on its own thread, photos."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests

from heygen_async._cli.samples import photos
from heygen_async.testing import FakeHeyGen, FakeStats
from heygen_async.testing._voices import VOICES


T = TypeVar("T")

VOICE_ID = next(voice.voice_id for voice in VOICES if voice.type == "public")
FAST = ("--poll-interval", "0.01")


class ThreadedFake:
    """A FakeHeyGen serving from a background event loop, for sync CLI tests."""

    def __init__(self, fake: FakeHeyGen, loop: asyncio.AbstractEventLoop) -> None:
        """Wrap *fake*, served by *loop*."""
        self.fake = fake
        self._loop = loop

    def call(self, fn: Callable[[], T]) -> T:
        """Run *fn* on the server's loop thread (so reads never race)."""

        async def run() -> T:
            """Call *fn* inside the loop."""
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    @property
    def stats(self) -> FakeStats:
        """The fake's counters, read on its own thread."""
        return self.call(lambda: self.fake.stats)

    @property
    def url(self) -> str:
        """Where it listens."""
        return self.fake.url

    def environ(self, **extra: str) -> dict[str, str]:
        """An environment pointing the CLI at this fake."""
        return {
            "HEYGEN_API_KEY": self.fake.api_key,
            "HEYGEN_API_BASE": self.fake.url,
            **extra,
        }


@contextmanager
def threaded_fake(**config: Any) -> Iterator[ThreadedFake]:
    """Start ``FakeHeyGen(**config)`` on a thread; stop it afterwards."""
    config.setdefault("render_seconds", (0.02, 0.05))
    config.setdefault("retry_after", 0.01)
    config.setdefault("seed", 1)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeHeyGen(**config)
    try:
        asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
        yield ThreadedFake(fake, loop)
    finally:
        asyncio.run_coroutine_threadsafe(fake.aclose(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def copy_photos(folder: Path, count: int) -> list[Path]:
    """Copy *count* sample portraits into *folder*; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for photo in photos()[:count]:
        target = folder / photo.name
        shutil.copyfile(photo, target)
        copied.append(target)
    return copied


def cli_command() -> list[str]:
    """The installed ``heygen-async`` script next to this interpreter."""
    script = Path(sys.executable).parent / "heygen-async"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "heygen_async"]  # pragma: no cover


def cli_env(**extra: str) -> dict[str, str]:
    """A bare environment for the CLI, keeping PYTHONPATH (the code under test)."""
    env = {"PATH": "/usr/bin:/bin", **extra}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def jobs_created(url: str) -> int:
    """How many videos the fake server has created."""
    stats = requests.get(f"{url}/_fake/stats", timeout=5).json()
    return int(stats["jobs_created"])
