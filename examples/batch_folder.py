"""
Render every photo in a folder, printing each video's URL as soon as it is done.

With ``HEYGEN_API_KEY`` and ``HEYGEN_VOICE_ID`` set it uses the real API (and
spends credits on one video per photo); without a key, an in-process
:class:`FakeHeyGen` stands in::

    python examples/batch_folder.py [FOLDER] [--journal run.sqlite]

At most ten renders run at once (the pay-as-you-go cap); the rest wait in the
batch's queue. One scheduler loop polls all of them with bulk status calls,
and outcomes arrive in completion order. With ``--journal`` the batch is
resumable: stop it with Ctrl-C, run the same command again, and it picks up
its jobs without paying for any twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import heygen_async as hg


SAMPLES = Path(hg.__file__).resolve().parent / "_demo" / "photos"


@contextlib.asynccontextmanager
async def open_client() -> AsyncIterator[tuple[hg.Client, str]]:
    """The real API when a key is configured, a fake server otherwise."""
    if os.environ.get("HEYGEN_API_KEY"):
        async with hg.Client() as client:
            yield client, os.environ["HEYGEN_VOICE_ID"]
        return
    print("HEYGEN_API_KEY is not set: using an in-process FakeHeyGen")
    async with (
        hg.testing.FakeHeyGen(render_seconds=(0.5, 2.0), failure_rate=0.05) as fake,
        hg.Client(
            api_key=fake.api_key,
            base_url=fake.url,
            poll=hg.PollPolicy(interval_initial=0.2, interval_max=0.6),
        ) as client,
    ):
        voice = await anext(aiter(client.iter_voices(language="English")))
        yield client, voice.id


async def main(photos: list[Path], journal: Path | None) -> None:
    """Submit every photo, then report each outcome as it arrives."""
    store = hg.SQLiteStore(journal) if journal else None
    async with open_client() as (client, voice_id):
        async with client.batch(max_in_flight=10, store=store) as batch:
            for photo in photos:
                request = hg.VideoRequest(
                    image_path=photo,
                    script=f"Hi! I am {photo.stem}, rendered in a batch.",
                    voice_id=voice_id,
                )
                batch.submit(request, tag=photo.name)
            async for outcome in batch.as_completed():
                match outcome:
                    case hg.Completed(video=video, tag=name):
                        print(f"done     {name}: {video.video_url}")
                    case hg.Failed(error=error, tag=name):
                        print(f"failed   {name}: {error}")
                    case hg.TimedOut(video_id=video_id, tag=name):
                        print(f"too slow {name}: still rendering as {video_id}")
            stats = batch.stats()
        print(
            f"{stats.completed} completed, {stats.failed} failed, "
            f"{stats.timed_out} timed out; {sum(stats.requests.values())} requests"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("folder", nargs="?", type=Path, default=SAMPLES)
    parser.add_argument("--journal", type=Path, default=None)
    args = parser.parse_args()
    found = sorted(p for p in args.folder.iterdir() if p.suffix in (".png", ".jpg"))
    asyncio.run(main(found, args.journal))
