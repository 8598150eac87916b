"""
Create one talking video from a photo: browse voices, upload, create.

With ``HEYGEN_API_KEY`` set this talks to the real API (and spends credits on
one short video). Without it, it starts a :class:`FakeHeyGen` in-process, so
the script runs anywhere::

    python examples/create_video.py [photo.png]

It prints the new video's id and its status, and does not wait for the render
(see ``client.wait_for_video`` for that).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import heygen_async as hg


PHOTO = Path(__file__).resolve().parent / "sample_photo.png"


async def create(client: hg.Client, photo: Path) -> None:
    """The part that is the same for the real API and the fake."""
    voice = await anext(aiter(client.iter_voices(language="English")), None)
    if voice is None:
        sys.exit("no English voice found")
    print(f"voice: {voice.name} ({voice.id})")

    asset = await client.upload_asset(photo)
    print(f"uploaded: {asset.id}")

    created = await client.create_video(
        hg.VideoRequest(
            image_asset_id=asset.id,
            script="Hello! This video was made from a single photograph.",
            voice_id=voice.id,
            title="heygen_async example",
            resolution="720p",
            aspect_ratio="16:9",
        )
    )
    video = await client.get_video(created.id)
    print(f"video id: {created.id}")
    print(f"status: {video.status.value}")


async def main(photo: Path) -> None:
    """Use the real API when a key is configured, the fake server otherwise."""
    if os.environ.get("HEYGEN_API_KEY"):
        async with hg.Client() as client:
            await create(client, photo)
        return
    print("HEYGEN_API_KEY is not set: using an in-process FakeHeyGen")
    async with (
        hg.testing.FakeHeyGen() as fake,
        hg.Client(api_key=fake.api_key, base_url=fake.url) as client,
    ):
        await create(client, photo)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else PHOTO))
