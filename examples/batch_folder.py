"""
Render every photo in a folder, printing each video's URL as soon as it is done.

With ``HEYGEN_API_KEY`` set it uses the real API and spends credits on one
video per photo (``HEYGEN_VOICE_ID`` picks the voice, else the first English
one). Without a key, an in-process :class:`FakeHeyGen` stands in::

    python examples/batch_folder.py [FOLDER] [--journal run.sqlite]

At most ten renders run at once (the pay-as-you-go cap); the rest wait in the
batch's queue. One scheduler loop polls all of them with bulk status calls,
and outcomes arrive in completion order.

With ``--journal`` the batch is resumable: stop it with Ctrl-C, run the same
command again, and it picks up its jobs without paying for any twice. That
needs a server that outlives this process, so ``--journal`` is refused in the
no-key mode (an in-process fake forgets its videos when the script exits).
To rehearse a resume for free, run the fake as its own process::

    heygen-async fake-server --port 8000 --api-key test &
    HEYGEN_API_KEY=test HEYGEN_API_BASE=http://127.0.0.1:8000 \\
        python examples/batch_folder.py --journal run.sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import heygen_async as hg


SAMPLES = Path(hg.__file__).resolve().parent / "_cli" / "samples" / "photos"


async def first_english_voice(client: hg.Client) -> str:
    """A voice to speak with when ``HEYGEN_VOICE_ID`` is not set."""
    voice = await anext(aiter(client.iter_voices(language="English")))
    return voice.id


@contextlib.asynccontextmanager
async def open_client() -> AsyncIterator[tuple[hg.Client, str]]:
    """The real API (or HEYGEN_API_BASE) with a key, an in-process fake without."""
    if os.environ.get("HEYGEN_API_KEY"):
        async with hg.Client() as client:
            voice_id = os.environ.get("HEYGEN_VOICE_ID")
            yield client, voice_id or await first_english_voice(client)
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
        yield client, await first_english_voice(client)


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
    if args.journal and not os.environ.get("HEYGEN_API_KEY"):
        parser.error(
            "--journal resumes jobs on a server that outlives this script; the "
            "in-process fake does not. Set HEYGEN_API_KEY (and, for a free "
            "rehearsal, HEYGEN_API_BASE to a 'heygen-async fake-server')."
        )
    found = sorted(p for p in args.folder.iterdir() if p.suffix in (".png", ".jpg"))
    try:
        asyncio.run(main(found, args.journal))
    except KeyboardInterrupt:
        # asyncio.run has cancelled main(): the batch stopped sending jobs.
        if args.journal:
            hint = "the journal keeps every job sent; run the same command to resume"
        else:
            hint = "jobs already sent still render; use --journal to resume them"
        print(f"Interrupted: {hint}.", file=sys.stderr)
        sys.exit(130)
