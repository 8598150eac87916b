"""
The shortest useful program: upload a photo, create a video, wait, print its URL.

With ``HEYGEN_API_KEY`` set it uses the real API (and spends credits on one
short video); without it, an in-process :class:`FakeHeyGen` stands in::

    python examples/quickstart.py [photo.png]

Waiting goes through the client's shared poll loop: ``wait_for_video`` raises
``VideoFailedError`` if the render fails and ``WaitTimeoutError`` if our
deadline passes first (the render may still finish; wait again with the id).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import heygen_async as hg


PHOTO = Path(__file__).resolve().parent / "sample_photo.png"


@contextlib.asynccontextmanager
async def open_client() -> AsyncIterator[hg.Client]:
    """The real API when a key is configured, a fake server otherwise."""
    if os.environ.get("HEYGEN_API_KEY"):
        async with hg.Client() as client:
            yield client
        return
    print("HEYGEN_API_KEY is not set: using an in-process FakeHeyGen")
    async with (
        hg.testing.FakeHeyGen(render_seconds=2) as fake,
        hg.Client(
            api_key=fake.api_key,
            base_url=fake.url,
            poll=hg.PollPolicy(interval_initial=0.5, interval_max=1),
        ) as client,
    ):
        yield client


async def main(photo: Path) -> None:
    """Upload, create, wait, print."""
    async with open_client() as client:
        voice = await anext(aiter(client.iter_voices(language="English")))
        asset = await client.upload_asset(photo)
        created = await client.create_video(
            hg.VideoRequest(
                image_asset_id=asset.id,
                script="Hello! This whole video was made from one photograph.",
                voice_id=voice.id,
            )
        )
        print(f"created {created.id}, waiting...")
        try:
            video = await client.wait_for_video(created.id)
        except hg.VideoFailedError as error:
            sys.exit(f"render failed: {error.video.failure_message or 'no reason'}")
        print(f"done in {video.duration or 0:.1f} s of video: {video.video_url}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else PHOTO))
