"""
``heygen-async demo``: the whole pipeline in twenty seconds, free and offline.

It starts an embedded :class:`~heygen_async.testing.FakeHeyGen` (HeyGen's
concurrency cap of 10, renders that take time), renders the two dozen sample
portraits that ship with the package through the same code as ``render``,
downloads the videos, and ends by counting the HTTP requests the scheduler
used against what one polling coroutine per video would have used.

Time is compressed: with ``--speed 10`` (the default) a render simulated to
take 30 to 75 seconds takes 3 to 7.5, and the scheduler's cadence is compressed
by the same factor. The per-job estimate is computed on the same compressed
clock, so both sides are compared fairly; the counts do not depend on the
speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from heygen_async import Client, PollPolicy, VideoRequest, Voice
from heygen_async.testing import FakeHeyGen

from .common import EXIT_USAGE, error
from .inputs import Job
from .progress import Reporter, make_reporter
from .results import (
    RunReport,
    describe_requests,
    print_outcome_notes,
    summary_rows,
)
from .run import RunConfig, run_jobs
from .samples import photos


__all__ = ["demo", "polling_requests"]

SIMULATED_RENDER = (30.0, 75.0)
"""Render time range, in simulated seconds."""
CONCURRENCY = 10
# The official CLI's cadence (heygen-com/heygen-cli): 2 s, doubling, 30 s cap.
_PEER_FIRST, _PEER_FACTOR, _PEER_MAX = 2.0, 2.0, 30.0


def polling_requests(
    render_seconds: float,
    *,
    first: float = _PEER_FIRST,
    factor: float = _PEER_FACTOR,
    cap: float = _PEER_MAX,
) -> int:
    """
    Requests one coroutine polling one job would make, create included.

    It creates the video, then GETs it after *first* seconds, waiting
    *factor* times longer each time up to *cap*, until a GET lands at or
    after *render_seconds* (that last GET sees ``completed`` and the URL).
    No jitter, no retries, no 429s.
    """
    elapsed, interval, gets = 0.0, first, 0
    while True:
        elapsed += interval
        gets += 1
        if elapsed >= render_seconds:
            return 1 + gets
        interval = min(interval * factor, cap)


def demo_poll_policy(speed: float) -> PollPolicy:
    """The client's default cadence, compressed *speed* times."""
    default = PollPolicy()
    deadline = default.deadline / speed if default.deadline is not None else None
    return PollPolicy(
        interval_initial=default.interval_initial / speed,
        multiplier=default.multiplier,
        interval_max=default.interval_max / speed,
        jitter=default.jitter,
        deadline=deadline,
    )


@attrs.frozen(kw_only=True)
class _Comparison:
    ours: int
    theirs: int
    jobs: int

    def rows(self) -> list[tuple[str, str]]:
        saved = 1 - self.ours / self.theirs if self.theirs else 0.0
        per_ours = self.ours / self.jobs
        per_theirs = self.theirs / self.jobs
        return [
            ("heygen-async", f"{self.ours} requests ({per_ours:.1f} per video)"),
            (
                "per-job polling",
                f"~{self.theirs} requests ({per_theirs:.1f} per video, estimated)",
            ),
            ("saved", f"{saved:.0%}"),
        ]


def _compare(
    fake: FakeHeyGen, report: RunReport, video_ids: Sequence[str], speed: float
) -> _Comparison:
    """Our requests against one polling coroutine per video, on the same renders."""
    theirs = report.requests.get("POST /v3/assets", 0)
    for video_id in video_ids:
        video = fake.videos[video_id]
        theirs += polling_requests(
            video.finishes_mono - video.created_mono,
            first=_PEER_FIRST / speed,
            cap=_PEER_MAX / speed,
        )
    return _Comparison(
        ours=sum(report.requests.values()), theirs=theirs, jobs=len(video_ids)
    )


async def _demo(args: argparse.Namespace, reporter: Reporter) -> int:
    speed = args.speed
    low, high = (seconds / speed for seconds in SIMULATED_RENDER)
    fake = FakeHeyGen(
        render_seconds=(low, high),
        concurrency_limit=CONCURRENCY,
        failure_rate=args.failure_rate,
        seed=args.seed,
    )
    poll = demo_poll_policy(speed)
    config = RunConfig(
        out=Path(args.out),
        max_in_flight=CONCURRENCY,
        poll=poll,
        download=args.download,
        json=args.json,
        emit=args.json or not sys.stdout.isatty(),
        journal=False,
        description="Demo",
    )
    async with fake:
        client = Client(api_key=fake.api_key, base_url=fake.url, poll=poll, environ={})
        async with client:
            jobs = _jobs(await _first_voice(client))
            reporter.line(
                f"A fake HeyGen is running at {fake.url} (no API key, no network, "
                f"no cost). Rendering {len(jobs)} sample portraits, at most "
                f"{CONCURRENCY} at a time; each render takes "
                f"{SIMULATED_RENDER[0]:.0f}-{SIMULATED_RENDER[1]:.0f} s of "
                f"simulated time, played {speed:g}x faster."
            )
            report = await run_jobs(client, jobs, config, reporter)
            created = [r.video_id for r in report.results if r.video_id]
            comparison = _compare(fake, report, created, speed)
    _explain(report, comparison, config, reporter)
    return report.exit_code


def _jobs(voice: Voice) -> list[Job]:
    """One job per sample portrait, each introducing itself."""
    return [
        Job(
            tag=f"demo/{photo.name}",
            request=VideoRequest(
                image_path=photo,
                script=f"Hi, I'm {photo.stem.title()}. "
                "heygen-async rendered me in a batch.",
                voice_id=voice.id,
                title=f"demo {photo.stem}",
            ),
            name=f"{photo.stem}.mp4",
            where=str(photo),
        )
        for photo in photos()
    ]


def _explain(
    report: RunReport, comparison: _Comparison, config: RunConfig, reporter: Reporter
) -> None:
    """The summary, the request comparison and what to try next."""
    rows = summary_rows(report, out=config.out, download=config.download)
    reporter.summary("Demo summary", rows)
    print_outcome_notes(report, reporter, resume=None)
    if comparison.jobs:
        reporter.summary("HTTP requests", comparison.rows())
        reporter.line(
            "The estimate assumes one coroutine per video polling "
            "GET /v3/videos/{id} the way the official HeyGen CLI does (first "
            "poll after 2 s, doubling to 30 s, on the same compressed clock), "
            "plus one upload and one create per video; it ignores the 429s "
            "such code would meet at the 10-job cap. heygen-async's count is "
            f"measured: {describe_requests(report.requests)}."
        )
    if config.download:
        reporter.line(
            f"The MP4s in {config.out} are small placeholders the fake server "
            "makes (valid files with the right duration, no picture): real "
            "videos come from HeyGen."
        )
    reporter.line(
        "Next: set HEYGEN_API_KEY and run "
        "'heygen-async render PHOTOS... --script \"Hello!\" --voice-id ID' "
        "(find a voice with 'heygen-async voices --language English')."
    )


async def _first_voice(client: Client) -> Voice:
    voices = client.iter_voices(language="English", page_size=1)
    async with contextlib.aclosing(voices):  # type: ignore[type-var]
        return await anext(voices)


def demo(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Run ``heygen-async demo``; see the module docstring."""
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        error("demo", f"--out {args.out}: cannot use it ({exc.strerror or exc})")
        return EXIT_USAGE
    reporter = make_reporter(environ=environ, plain=args.json)
    return asyncio.run(_demo(args, reporter))
