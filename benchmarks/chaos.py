"""
The chaos suite: is a paid job ever lost, billed twice or misreported?

Usage::

    python benchmarks/chaos.py [--jobs 1000] [--photos 200] [--kills 20]
                               [--fault-rate 0.2] [--seed 1] [--quick]

Part A pushes ``--jobs`` jobs through ``client.batch()`` against an in-process
``FakeHeyGen`` whose create, bulk status and video GET routes misbehave on
about ``--fault-rate`` of requests: JSON 5xx, HTML 502 pages, connections
dropped before and after the handler ran, slow answers, truncated 200s before
and after the handler ran, and bursts of 429s.

Part B runs ``heygen-async render`` over ``--photos`` photos against a
``heygen-async fake-server`` process armed with the same faults (as
``--fault`` flags) and a ``--create-delay``, SIGKILLs it ``--kills`` times
(every other kill right after the fake billed a create whose answer is still
delayed: the POST -> journal window; the others at random moments), then runs
the same command again until every photo has a final result.

Each part is judged against the fake's own record (``GET /_fake/videos``:
every video it billed, with its title, idempotency key and real status):

- lost: a job the fake created (and billed) that was not reported
  ``completed``/``failed`` with that video at the end;
- billed twice: a logical job (one title) with more than one fake video;
- reported twice: a job with more than one final result;
- wrong: a reported outcome the fake contradicts (``completed`` for a video
  that failed or is still rendering, ``failed`` for one that rendered, a
  video id the fake never issued for that job).

The fault plan and the kill schedule are fixed by ``--seed``; what the faults
hit still depends on timing. Exits 1 unless lost, billed twice, reported
twice and wrong are all 0 in both parts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import heygen_async as hg
from heygen_async.testing import FakeHeyGen, Fault


ROUTES = ("POST:/v3/videos", "GET:/v3/videos/statuses", "GET:/v3/videos/{video_id}")
# (kind, phase, options) of the probabilistic faults, one of each per route.
MIXED = (
    ("error", "before", "status=503"),
    ("html", "before", "status=502"),
    ("drop", "before", ""),
    ("drop", "after", ""),
    ("slow", "before", "delay=0.1"),
    ("malformed", "before", ""),
    ("malformed", "after", ""),
)
BURST_ROUTES = ("POST:/v3/videos", "GET:/v3/videos/statuses")
API_KEY = "fake-api-key"
SCRIPT = "Hello from the chaos suite."
CREATE_DELAY = 3.0  # HeyGen's own p99 for a create is near 31 s
FINAL = frozenset({"completed", "failed"})


# -- the fault plan ---------------------------------------------------------


def fault_specs(rate: float, seed: int, requests: int) -> list[str]:
    """
    ``--fault`` specs striking about *rate* of create, status and GET requests.

    Each route gets one fault of every kind in :data:`MIXED`, so that together
    they strike a *rate* share of its requests, and the create and bulk
    status routes get bursts of three to six 429s at seeded positions among
    their first *requests* requests (about one burst per hundred).
    """
    if rate <= 0:
        return []
    each = 1 - (1 - rate) ** (1 / len(MIXED))
    rng = random.Random(f"chaos-plan:{seed}")
    specs = []
    for route in BURST_ROUTES:
        for _ in range(max(1, requests // 100)):
            start = rng.randint(1, max(1, requests))
            nth = ",".join(str(start + i) for i in range(rng.randint(3, 6)))
            specs.append(f"rate_limit:{route}:0:nth={nth}:retry_after=0.05")
    for route in ROUTES:
        for kind, phase, options in MIXED:
            spec = f"{kind}:{route}:{each:.4f}:{phase}"
            specs.append(f"{spec}:{options}" if options else spec)
    return specs


# -- judging ----------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """One result a client gave for a job: its kind and the video it names."""

    kind: str  # completed, failed, timed_out, pending
    video_id: str | None
    detail: str | None = None  # why it failed or timed out, as the client said


@dataclass
class Tally:
    """What one part of the chaos run found."""

    part: str
    jobs: int = 0
    lost: int = 0
    billed_twice: int = 0
    reported_twice: int = 0
    wrong: int = 0
    completed: int = 0
    failed: int = 0
    refused: int = 0  # failed without a video, and the fake made none: not paid
    unfinished: int = 0  # no final result, and the fake made no video
    fake_videos: int = 0
    faults_injected: int = 0
    kills: int = 0
    runs: int = 0
    elapsed: float = 0.0
    examples: list[str] = field(default_factory=list)
    causes: Counter[str] = field(default_factory=Counter)  # of lost and refused

    @property
    def ok(self) -> bool:
        """The four numbers that must be zero are zero."""
        return not (self.lost or self.billed_twice or self.reported_twice or self.wrong)

    def note(self, what: str) -> None:
        """Keep a few examples of each problem for the printout."""
        if len(self.examples) < 12:
            self.examples.append(what)


def judge(
    tally: Tally,
    reports: Mapping[str, Sequence[Report]],
    videos: Sequence[Mapping[str, Any]],
) -> Tally:
    """
    Fill *tally* by comparing *reports* (job name -> results, last one final)
    with the fake's *videos* (``GET /_fake/videos`` records, titled by job).
    """
    by_title: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for video in videos:
        by_title[str(video["title"])].append(video)
    tally.jobs = len(reports)
    tally.fake_videos = len(videos)
    for name, results in reports.items():
        _judge_job(tally, name, results, by_title.pop(name, []))
    for name, strays in by_title.items():  # billed for a job nobody asked about
        tally.lost += len(strays)
        tally.note(f"{name}: {len(strays)} video(s) billed for an unknown job")
    return tally


def _judge_job(
    tally: Tally,
    name: str,
    results: Sequence[Report],
    videos: Sequence[Mapping[str, Any]],
) -> None:
    statuses = {str(v["id"]): str(v["status"]) for v in videos}
    if len(videos) > 1:
        tally.billed_twice += 1
        tally.note(f"{name}: billed {len(videos)} times ({', '.join(statuses)})")
    if len(results) > 1:
        tally.reported_twice += 1
        tally.note(f"{name}: reported {len(results)} times")
    final = results[-1] if results else Report("pending", None)
    if final.kind in FINAL and final.video_id is not None:
        real = statuses.get(final.video_id)
        if real != final.kind:
            tally.wrong += 1
            said = f"fake says {real}" if real else "fake never made it for this job"
            tally.note(f"{name}: reported {final.kind} {final.video_id}, {said}")
        elif final.kind == "completed":
            tally.completed += 1
        else:
            tally.failed += 1
    elif final.kind == "completed":
        tally.wrong += 1
        tally.note(f"{name}: reported completed without a video id")
    elif videos:
        tally.lost += 1
        tally.causes[f"lost: ended {final.kind}, {_cause(final.detail)}"] += 1
        why = f" ({final.detail})" if final.detail else ""
        tally.note(f"{name}: billed {', '.join(statuses)}, ended {final.kind}{why}")
    elif final.kind == "failed":
        tally.refused += 1
        tally.causes[f"refused: {_cause(final.detail)}"] += 1
    else:
        tally.unfinished += 1


def _cause(detail: str | None) -> str:
    """*detail* without the ids and numbers that make every message unique."""
    text = re.sub(r"\b(v|req)_[0-9a-f]+\b", "<id>", detail or "no reason given")
    return re.sub(r"\b\d+\.\d+\b|\b\d{4,}\b", "N", text)[:100]


# -- part A: client.batch() in process --------------------------------------


def outcome_report(outcome: hg.Outcome) -> Report:
    """The :class:`Report` of one batch outcome."""
    if isinstance(outcome, hg.Completed):
        return Report("completed", outcome.video.id)
    if isinstance(outcome, hg.Failed):
        video_id = outcome.video.id if outcome.video else None
        error = outcome.error
        unknown = " [outcome unknown]" if getattr(error, "outcome_unknown", 0) else ""
        return Report("failed", video_id, f"{type(error).__name__}{unknown}: {error}")
    return Report("timed_out", outcome.video_id, f"last status {outcome.last_status}")


async def _batch_reports(
    fake: FakeHeyGen, voice_id: str, jobs: int, tally: Tally
) -> dict[str, list[Report]]:
    reports: dict[str, list[Report]] = {f"job-{i:05d}": [] for i in range(jobs)}
    client = hg.Client(
        api_key=fake.api_key,
        base_url=fake.url,
        retry=hg.RetryPolicy(wait_initial=0.01, wait_max=0.1, retry_after_max=5),
        timeouts=hg.Timeouts(read=5, write=10),
        poll=hg.PollPolicy.for_testing(deadline=60),
    )
    async with client, client.batch(max_in_flight=50) as batch:
        for name in reports:
            request = hg.VideoRequest(
                image_url=f"https://example.com/chaos/{name}.jpg",
                script=f"{SCRIPT} ({name})",
                voice_id=voice_id,
                title=name,
            )
            batch.submit(request, tag=name)
        try:
            async with asyncio.timeout(60 + jobs * 0.2):
                async for outcome in batch.as_completed():
                    reports[str(outcome.tag)].append(outcome_report(outcome))
        except TimeoutError:
            tally.note("the batch hung: stopped waiting for it")
        except Exception as exc:  # noqa: BLE001 - a crash is a finding, not an abort
            tally.note(f"the batch raised {type(exc).__name__}: {exc}")
    return reports


async def run_batch_part(jobs: int, rate: float, seed: int) -> Tally:
    """Part A: *jobs* jobs through one batch under mixed faults."""
    tally = Tally(part=f"A: client.batch(), {jobs} jobs, {rate:.0%} faults")
    started = time.monotonic()
    faults = [Fault.parse(spec) for spec in fault_specs(rate, seed, jobs)]
    async with FakeHeyGen(
        render_seconds=(0.05, 0.3),
        failure_rate=0.05,
        concurrency_limit=50,
        retry_after=0.02,
        seed=seed,
        faults=faults,
    ) as fake:
        async with hg.Client(api_key=fake.api_key, base_url=fake.url) as client:
            voice_id = (await anext(client.iter_voices())).id
        reports = await _batch_reports(fake, voice_id, jobs, tally)
        tally.faults_injected = fake.stats.faults_injected
        videos = [
            {"id": v.id, "title": v.title, "status": v.status}
            for v in fake.videos.values()
        ]
    tally.runs = 1
    tally.elapsed = time.monotonic() - started
    return judge(tally, reports, videos)


# -- part B: the CLI under SIGKILL ------------------------------------------


def png(index: int) -> bytes:
    """A distinct 4x4 PNG for photo number *index*."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    colour = bytes(((index * 37) % 256, (index * 91) % 256, (index // 7) % 256))
    rows = b"".join(b"\x00" + colour * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _get_json(url: str) -> Any:
    request = urllib.request.Request(url, headers={"x-api-key": API_KEY})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


@contextlib.contextmanager
def fake_server(
    specs: Sequence[str], seed: int, log: Path, create_delay: float
) -> Iterator[str]:
    """A ``heygen-async fake-server`` process with *specs*; yields its URL."""
    command = [
        sys.executable,
        "-m",
        "heygen_async",
        "fake-server",
        "--port",
        "0",
        "--render-seconds",
        "0.3:1.5",
        "--failure-rate",
        "0.05",
        "--concurrency-limit",
        "10",
        "--retry-after",
        "0.05",
        "--create-delay",
        str(create_delay),
        "--seed",
        str(seed),
    ]
    for spec in specs:
        command += ["--fault", spec]
    with (
        log.open("w") as errors,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=errors, text=True
        ) as process,
    ):
        try:
            first = process.stdout.readline() if process.stdout else ""
            match = re.search(r"listening on (http://\S+)", first)
            if match is None:
                msg = f"fake-server did not start; see {log}"
                raise RuntimeError(msg)
            yield match.group(1)
        finally:
            process.terminate()
            process.wait(timeout=30)


@dataclass
class CliRun:
    """How to start one ``heygen-async render`` of the photos folder."""

    url: str
    photos: Path
    out: Path
    logs: Path
    voice_id: str
    started: int = 0

    def start(self) -> subprocess.Popen[bytes]:
        """Start the same command again (a resume after the first time)."""
        self.started += 1
        command = [
            sys.executable,
            "-m",
            "heygen_async",
            "render",
            str(self.photos),
            "--script",
            SCRIPT,
            "--voice-id",
            self.voice_id,
            "--out",
            str(self.out),
            "--poll-interval",
            "0.02",
            "--max-in-flight",
            "10",
            "--base-url",
            self.url,
            "--json",
        ]
        env = {**os.environ, "HEYGEN_API_KEY": API_KEY, "NO_COLOR": "1"}
        log = self.logs / f"run-{self.started:02d}.log"
        with log.open("wb") as sink:
            return subprocess.Popen(command, stdout=sink, stderr=sink, env=env)

    def billed(self) -> int:
        """Videos the fake has created so far."""
        return int(_get_json(f"{self.url}/_fake/stats")["jobs_created"])

    def requests(self) -> int:
        """API requests the fake has seen so far."""
        return sum(_get_json(f"{self.url}/_fake/stats")["requests"].values())


def wait_until(process: subprocess.Popen[bytes], seconds: float, done: Any) -> None:
    """Poll *done* until it is true, *process* exits or *seconds* pass."""
    deadline = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < deadline and not done():
        time.sleep(0.002)


def kill_runs(cli: CliRun, kills: int, seed: int) -> int:
    """
    Start and SIGKILL the CLI *kills* times; return how many kills landed.

    Even kills strike as soon as the fake bills a create whose answer is
    still delayed (``--create-delay``): the POST -> journal window. Odd ones
    strike at a seeded random moment after the run's first request.
    """
    rng = random.Random(f"chaos-kills:{seed}")
    landed = 0
    for number in range(kills):
        seen = cli.requests()
        process = cli.start()
        wait_until(process, 30, lambda seen=seen: cli.requests() > seen)
        if number % 2 == 0:
            billed = cli.billed()
            wait_until(process, 10, lambda billed=billed: cli.billed() > billed)
        else:
            wait_until(process, rng.uniform(0.0, 2.0), lambda: False)
        process.send_signal(signal.SIGKILL)
        landed += process.wait(timeout=30) == -signal.SIGKILL
    return landed


def results_reports(out: Path, names: Sequence[str]) -> dict[str, list[Report]]:
    """Reports per photo from ``OUT/results.jsonl`` (a row per job)."""
    reports: dict[str, list[Report]] = {name: [] for name in names}
    path = out / "results.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        row = json.loads(line)
        name = Path(str(row["input"])).stem
        report = Report(row["status"], row["video_id"], row.get("error"))
        reports.setdefault(name, []).append(report)
    return reports


def _all_final(reports: Mapping[str, Sequence[Report]]) -> bool:
    return all(r and r[-1].kind in FINAL for r in reports.values())


def resume_until_done(cli: CliRun, names: Sequence[str], tally: Tally) -> None:
    """Run the command again, unharmed, until every photo has a final result."""
    for _ in range(8):
        process = cli.start()
        try:
            process.wait(timeout=120 + 2 * len(names))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            tally.note(f"run {cli.started} hung: killed it")
        if _all_final(results_reports(cli.out, names)):
            return
    tally.note(f"still not done after {cli.started} runs")


def run_cli_part(
    photos: int,
    kills: int,
    rate: float,
    seed: int,
    workdir: Path,
    create_delay: float = CREATE_DELAY,
) -> Tally:
    """Part B: the CLI over *photos* photos, SIGKILLed *kills* times, resumed."""
    tally = Tally(part=f"B: CLI render, {photos} photos, {kills} SIGKILLs")
    started = time.monotonic()
    folder = workdir / "photos"
    folder.mkdir(parents=True)
    names = [f"photo-{i:04d}" for i in range(photos)]
    for i, name in enumerate(names):
        (folder / f"{name}.png").write_bytes(png(i))
    logs = workdir / "logs"
    logs.mkdir()
    specs = fault_specs(rate, seed, photos * 3)
    with fake_server(specs, seed, logs / "fake-server.log", create_delay) as url:
        voices = _get_json(f"{url}/v3/voices?limit=1")["data"]
        cli = CliRun(url, folder, workdir / "out", logs, str(voices[0]["voice_id"]))
        tally.kills = kill_runs(cli, kills, seed)
        resume_until_done(cli, names, tally)
        videos = _get_json(f"{url}/_fake/videos")["videos"]
        tally.faults_injected = int(_get_json(f"{url}/_fake/stats")["faults_injected"])
    tally.runs = cli.started
    tally.elapsed = time.monotonic() - started
    return judge(tally, results_reports(cli.out, names), videos)


# -- the command ------------------------------------------------------------


def print_tally(tally: Tally) -> None:
    """The numbers of one part, then a few examples of what went wrong."""
    print(f"\n{tally.part}")
    rows: list[tuple[str, object]] = [
        ("jobs", tally.jobs),
        ("lost", tally.lost),
        ("billed twice", tally.billed_twice),
        ("reported twice", tally.reported_twice),
        ("wrong", tally.wrong),
        ("completed", tally.completed),
        ("failed (render failed)", tally.failed),
        ("refused (failed, never billed)", tally.refused),
        ("unfinished (never billed)", tally.unfinished),
        ("videos billed", tally.fake_videos),
        ("faults injected", tally.faults_injected),
    ]
    if tally.kills or tally.runs > 1:
        rows += [("SIGKILLs landed", tally.kills), ("CLI runs", tally.runs)]
    rows.append(("elapsed", f"{tally.elapsed:.1f} s"))
    for label, value in rows:
        print(f"  {label:<32}{value}")
    for cause, count in tally.causes.most_common():
        print(f"  {count:>5}  {cause}")
    for example in tally.examples:
        print(f"    - {example}")
    print(f"  {'verdict':<32}{'OK' if tally.ok else 'FAIL'}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run both parts; exit 1 unless both are clean."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    add = parser.add_argument
    add("--jobs", type=int, default=1000, help="part A jobs (default: 1000)")
    add("--photos", type=int, default=200, help="part B photos (default: 200)")
    add("--kills", type=int, default=20, help="part B SIGKILLs (default: 20)")
    add("--fault-rate", type=float, default=0.2, help="share of requests faulted")
    add("--seed", type=int, default=1, help="fault plan and kill schedule seed")
    add("--quick", action="store_true", help="200 jobs, 20 photos, 3 kills")
    add("--skip-batch", action="store_true", help="run part B only")
    add("--skip-cli", action="store_true", help="run part A only")
    add(
        "--create-delay",
        type=float,
        default=CREATE_DELAY,
        help=f"part B: seconds a billed create waits for its answer "
        f"(default: {CREATE_DELAY:g})",
    )
    add("--keep", metavar="DIR", help="keep part B's photos, journal and logs here")
    add("--verbose", action="store_true", help="show the SDK's warnings (retries)")
    args = parser.parse_args(argv)
    if not 0 <= args.fault_rate < 1:  # NaN fails this too
        parser.error("--fault-rate must be in [0, 1)")
    sdk_log = logging.getLogger("heygen_async")
    level = sdk_log.level
    if not args.verbose:  # the retries are the point; don't print thousands
        sdk_log.setLevel(logging.ERROR)
    try:
        return _run(args)
    finally:
        sdk_log.setLevel(level)


def _run(args: argparse.Namespace) -> int:
    if args.quick:
        args.jobs, args.photos, args.kills = 200, 20, 3
    tallies = []
    if not args.skip_batch:
        tallies.append(
            asyncio.run(run_batch_part(args.jobs, args.fault_rate, args.seed))
        )
        print_tally(tallies[-1])
    if not args.skip_cli:
        with contextlib.ExitStack() as stack:
            if args.keep:
                workdir = Path(args.keep)
            else:
                tmp = tempfile.TemporaryDirectory(prefix="heygen-chaos-")
                workdir = Path(stack.enter_context(tmp))
            tally = run_cli_part(
                args.photos,
                args.kills,
                args.fault_rate,
                args.seed,
                workdir,
                args.create_delay,
            )
            print_tally(tally)
        tallies.append(tally)
    clean = all(t.ok for t in tallies)
    verdict = "0 lost, 0 billed twice, 0 reported twice, 0 wrong"
    print(f"\nchaos: {verdict if clean else 'FAILED'}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
