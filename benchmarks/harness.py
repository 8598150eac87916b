"""
The jobs, the four strategies and the metrics of the scheduler benchmark.

One *run* is one strategy rendering N jobs under a concurrency cap against a
fresh :class:`~heygen_async.testing.FakeHeyGen`. The jobs are drawn once from a
seeded RNG and looked up by the job number carried in the request's ``title``,
so every strategy faces the same render durations and the same failures, in
whatever order its creates happen to reach the fake.

Strategy "webhook" is the batch again, plus a webhook receiver (aiohttp, on
loopback, in the same loop) that verifies each signed delivery from the fake
and feeds it to the client; its polling is only a slow safety net.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import random
import resource
import time
import tracemalloc
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from vtime import CpuSplit, VirtualTimeLoop, virtual_loop_factory

import heygen_async as hg
from heygen_async import webhooks
from heygen_async.testing import FakeHeyGen, Fault, JobPlan


STRATEGIES = ("batch", "webhook", "seed", "cli")
# The per-job polling loops a user would otherwise write.
BASELINES = ("seed", "cli")
# The bulk-aware loops a user writes once they notice the bulk endpoint
# (benchmarks/bulk.py): one shared loop asking about every job in flight.
BULK_BASELINES = ("bulk5", "bulk2")
STRATEGY_LABELS = {
    "batch": "heygen_async batch",
    "webhook": "batch + webhooks",
    "seed": "seed loop (GET/10 s)",
    "cli": "CLI cadence (2 s x2 to 30 s)",
    "bulk5": "bulk loop, 5 s",
    "bulk2": "bulk loop, 2 s",
}
# Workloads: "lognormal" render times that do not depend on the request, and
# "length" ones that grow with the script (see make_jobs).
WORKLOADS = ("lognormal", "length")
IMAGE_URL = "https://example.com/person.jpg"
TERMINAL = frozenset({"completed", "failed"})
ROUTE_KINDS = {
    "POST /v3/videos": "create",
    "GET /v3/videos/statuses": "status_bulk",
    "GET /v3/videos/{video_id}": "detail",
}


@dataclass(frozen=True)
class RunConfig:
    """
    One benchmark run.

    ``scale`` multiplies every duration (render times, poll cadences,
    latency, deadlines) so a real-time run can replay a virtual one quickly.
    """

    strategy: str
    n: int
    cap: int
    seed: int = 0
    scale: float = 1.0
    clock: str = "virtual"  # "virtual" or "real"
    render_median: float = 120.0
    render_sigma: float = 0.45
    render_min: float = 30.0
    render_max: float = 600.0
    failure_rate: float = 0.02
    latency: float = 0.1
    trace_memory: bool = False
    cpu_split: bool = True
    guard: float = 0.0  # VirtualTimeLoop.guard: real seconds to poll before a jump
    # Strategy "webhook" only: one-way delivery latency (the fake's
    # webhook_delay) and the share of deliveries the fake loses on purpose.
    webhook_delay: float = 0.05
    webhook_drop_rate: float = 0.0
    workload: str = "lognormal"


@dataclass(frozen=True)
class Job:
    """What the fake will do with job *index*."""

    index: int
    render_seconds: float
    fail: bool
    chars: int = 0  # script length; 0 keeps the seed's script


def make_jobs(cfg: RunConfig) -> list[Job]:
    """
    Draw the jobs: lognormal render times, ``failure_rate`` of them failing.

    Job *i* is the same for every strategy and every N (a prefix property).
    """
    if cfg.workload == "length":
        return _length_jobs(cfg)
    rng = random.Random(f"heygen-bench-jobs:{cfg.seed}")
    jobs = []
    for i in range(cfg.n):
        seconds = cfg.render_median * math.exp(rng.gauss(0.0, cfg.render_sigma))
        seconds = min(max(seconds, cfg.render_min), cfg.render_max)
        fail = rng.random() < cfg.failure_rate
        jobs.append(Job(i, seconds * cfg.scale, fail))
    return jobs


def _length_jobs(cfg: RunConfig) -> list[Job]:
    """
    Render time grows with the script: 20 s plus 1.5 s per second of speech
    (15 characters a second), times lognormal noise of sigma 0.1. Scripts are
    lognormal, median 900 characters (1 minute of speech), sigma 0.7, within
    [60, 5000]: renders of about 30 s to 520 s, median 110 s.
    """
    rng = random.Random(f"heygen-bench-length-jobs:{cfg.seed}")
    jobs = []
    for i in range(cfg.n):
        chars = int(min(max(900 * math.exp(rng.gauss(0.0, 0.7)), 60), 5000))
        seconds = (20.0 + 1.5 * chars / 15.0) * math.exp(rng.gauss(0.0, 0.1))
        seconds = min(max(seconds, cfg.render_min), cfg.render_max)
        fail = rng.random() < cfg.failure_rate
        jobs.append(Job(i, seconds * cfg.scale, fail, chars))
    return jobs


_SEED_SCRIPT = "Welcome! This entire video was created from a single photograph."


def job_script(chars: int) -> str:
    """A script of *chars* characters (the seed's when 0)."""
    if not chars:
        return _SEED_SCRIPT
    return (_SEED_SCRIPT + " ") * (chars // (len(_SEED_SCRIPT) + 1)) + "x" * (
        chars % (len(_SEED_SCRIPT) + 1)
    )


def job_title(index: int) -> str:
    return f"bench-job-{index}"


def job_index(body: Mapping[str, Any]) -> int:
    title = str(body.get("title") or "")
    return int(title.rsplit("-", 1)[1])


def seed_body(index: int, voice_id: str, chars: int = 0) -> dict[str, Any]:
    """The JSON the seed's example sends."""
    return {
        "image_url": IMAGE_URL,
        "script": job_script(chars),
        "voice_id": voice_id,
        "title": job_title(index),
        "resolution": "1080p",
        "aspect_ratio": "16:9",
    }


def sdk_request(index: int, voice_id: str, chars: int = 0) -> hg.VideoRequest:
    """The same video as :func:`seed_body`, as an SDK request."""
    return hg.VideoRequest(
        image_url=IMAGE_URL,
        script=job_script(chars),
        voice_id=voice_id,
        title=job_title(index),
        resolution="1080p",
        aspect_ratio="16:9",
    )


def default_voice() -> str:
    from heygen_async.testing._voices import VOICES

    return VOICES[0].voice_id


# -- strategies -------------------------------------------------------------


def scale_policy(policy: hg.PollPolicy, scale: float) -> hg.PollPolicy:
    """*policy* with every duration times *scale*."""
    return hg.PollPolicy(
        interval_initial=policy.interval_initial * scale,
        multiplier=policy.multiplier,
        interval_max=policy.interval_max * scale,
        jitter=policy.jitter,
        deadline=None if policy.deadline is None else policy.deadline * scale,
    )


def scaled_poll(scale: float) -> hg.PollPolicy:
    """The SDK's default PollPolicy, every duration times *scale*."""
    return scale_policy(hg.PollPolicy(), scale)


@dataclass
class Observed:
    """What the caller saw: when each job's final answer reached it."""

    chars: list[int] = field(default_factory=list)  # each job's script length
    seen: dict[int, float] = field(default_factory=dict)
    outcome: dict[int, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


async def run_batch(
    cfg: RunConfig, url: str, api_key: str, voice: str, obs: Observed
) -> None:
    """(a) ``client.batch(max_in_flight=cap)`` with the default PollPolicy."""
    loop = asyncio.get_running_loop()
    poll = scaled_poll(cfg.scale)
    async with (
        hg.Client(api_key=api_key, base_url=url, poll=poll) as client,
        client.batch(max_in_flight=cfg.cap, poll=poll) as batch,
    ):
        seed_sdk(client, cfg)
        for i in range(cfg.n):
            batch.submit(sdk_request(i, voice, obs.chars[i]), tag=i)
        async for outcome in batch.as_completed():
            obs.seen[outcome.tag] = loop.time()
            obs.outcome[outcome.tag] = type(outcome).__name__.lower()
        _scheduler_counts(client, obs)


def seed_sdk(client: hg.Client, cfg: RunConfig) -> None:
    """
    Seed the SDK's jitter (its scheduler's draws and the retry backoff) from
    the run's seed, so a rerun of the same command gives the same numbers.
    """
    random.seed(f"heygen-bench-sdk:{cfg.seed}")
    client._get_scheduler()._rng.seed(f"heygen-bench-scheduler:{cfg.seed}")


def _scheduler_counts(client: hg.Client, obs: Observed) -> None:
    scheduler = getattr(client, "_scheduler", None)
    if scheduler is not None:
        obs.extra["job_polls"] = scheduler.job_polls
        obs.extra["status_calls"] = scheduler.status_calls
        obs.extra["detail_calls"] = scheduler.detail_calls


class WebhookReceiver:
    """
    The receiver a user would run: verify the raw body, feed the client, 200.

    Plain aiohttp on 127.0.0.1 (port 0), in the same event loop as the
    client and the fake. A delivery that fails verification gets a 401 (and
    is counted: there should be none).

    ``verify`` checks ``Heygen-Timestamp`` against "now"; the fake stamps
    deliveries from the loop's clock, which runs ahead of the wall clock in
    virtual time, so the receiver's "now" is that same clock in unix seconds
    (``loop.time()`` plus the wall offset taken at start). In real time the
    two agree.
    """

    def __init__(self, client: hg.Client) -> None:
        self.client = client
        self.secret: str | None = None
        self.url = ""
        self.port = 0
        self.received: dict[str, float] = {}  # video id -> loop time fed
        self.settled: set[str] = set()  # video ids whose wait the event settled
        self.rejected = 0
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self._loop = asyncio.get_running_loop()
        self._unix_offset = time.time() - self._loop.time()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/heygen/webhook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{self.port}/heygen/webhook"

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        if self.secret is None:
            return web.Response(status=503)
        try:
            event = webhooks.verify(
                body,
                request.headers,
                self.secret,
                now=self._loop.time() + self._unix_offset,
            )
        except hg.InvalidSignatureError:
            self.rejected += 1
            return web.Response(status=401)
        waited = self.client.feed_webhook(event)
        video_id = getattr(event, "video_id", None)
        if video_id is not None:
            self.received.setdefault(video_id, self._loop.time())
            if waited:
                self.settled.add(video_id)
        return web.Response(status=200)


async def run_webhook(
    cfg: RunConfig,
    url: str,
    api_key: str,
    voice: str,
    obs: Observed,
    split: CpuSplit | None,
) -> WebhookReceiver:
    """
    (a') The batch, with webhooks completing jobs and polling as a safety net.

    The same ``client.batch(max_in_flight=cap)`` as :func:`run_batch`, but
    with ``PollPolicy.for_webhooks()`` (first poll after 60 s, x2, max 300 s)
    and a :class:`WebhookReceiver` registered with
    ``client.create_webhook_endpoint`` before the first submit.
    """
    loop = asyncio.get_running_loop()
    poll = scale_policy(hg.PollPolicy.for_webhooks(), cfg.scale)
    async with hg.Client(api_key=api_key, base_url=url, poll=poll) as client:
        seed_sdk(client, cfg)
        receiver = WebhookReceiver(client)
        await receiver.start()
        if split is not None:
            split.user_ports.add(receiver.port)  # the receiver is user code
        try:
            endpoint = await client.create_webhook_endpoint(receiver.url)
            receiver.secret = endpoint.secret
            async with client.batch(max_in_flight=cfg.cap, poll=poll) as batch:
                for i in range(cfg.n):
                    batch.submit(sdk_request(i, voice, obs.chars[i]), tag=i)
                async for outcome in batch.as_completed():
                    obs.seen[outcome.tag] = loop.time()
                    obs.outcome[outcome.tag] = type(outcome).__name__.lower()
            _scheduler_counts(client, obs)
        finally:
            await receiver.aclose()
    obs.extra["webhook_requests"] = receiver.requests
    obs.extra["webhook_rejected"] = receiver.rejected
    obs.extra["webhook_received"] = len(receiver.received)
    obs.extra["webhook_settled"] = len(receiver.settled)
    return receiver


DelayFn = Callable[[int, random.Random], float]


def seed_delays(scale: float) -> DelayFn:
    """The seed: GET at once after the create, then every 10 s."""

    def delay(k: int, _rng: random.Random) -> float:
        return 0.0 if k == 0 else 10.0 * scale

    return delay


def cli_delays(scale: float) -> DelayFn:
    """The official CLI: 2 s doubling to 30 s, each times U(0.75, 1.25)."""

    def delay(k: int, rng: random.Random) -> float:
        return min(2.0 * 2.0**k, 30.0) * scale * rng.uniform(0.75, 1.25)

    return delay


async def run_polling(
    cfg: RunConfig,
    url: str,
    api_key: str,
    voice: str,
    obs: Observed,
    delays: DelayFn,
) -> None:
    """
    (b)/(c): one coroutine per job, written as a user would.

    A semaphore keeps ``cap`` jobs in flight (a slot is held from the create
    until the job is seen terminal), ``POST /v3/videos``, then
    ``GET /v3/videos/{id}`` on the given cadence until terminal. A 429 on
    create (which the cap should prevent) is retried after ``Retry-After``.
    """
    loop = asyncio.get_running_loop()
    rng = random.Random(f"heygen-bench-baseline:{cfg.seed}")
    headers = {"x-api-key": api_key, "Content-Type": "application/json"}
    slots = asyncio.Semaphore(cfg.cap)
    obs.extra["create_429"] = 0

    async with aiohttp.ClientSession(headers=headers) as session:

        async def one(i: int) -> None:
            async with slots:
                while True:
                    async with session.post(
                        f"{url}/v3/videos", json=seed_body(i, voice, obs.chars[i])
                    ) as resp:
                        body = await resp.json()
                        if resp.status == 429:
                            obs.extra["create_429"] += 1
                            wait = float(resp.headers.get("Retry-After", "1"))
                            await asyncio.sleep(wait)
                            continue
                        resp.raise_for_status()
                    break
                video_id = body["data"]["video_id"]
                k = 0
                while True:
                    wait = delays(k, rng)
                    k += 1
                    if wait:
                        await asyncio.sleep(wait)
                    async with session.get(f"{url}/v3/videos/{video_id}") as resp:
                        if resp.status >= 500 or resp.status == 429:
                            continue
                        resp.raise_for_status()
                        data = (await resp.json())["data"]
                    if data["status"] in TERMINAL:
                        obs.seen[i] = loop.time()
                        obs.outcome[i] = data["status"]
                        return

        await asyncio.gather(*(one(i) for i in range(cfg.n)))


# -- metrics ----------------------------------------------------------------


def ideal_makespan(durations: list[float], cap: int) -> float:
    """Greedy packing in order onto *cap* slots; a job starts when one frees."""
    slots = [0.0] * min(cap, max(len(durations), 1))
    end = 0.0
    for d in durations:
        start = heapq.heappop(slots)
        finish = start + d
        end = max(end, finish)
        heapq.heappush(slots, finish)
    return end


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, *q* in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _run(cfg: RunConfig) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    jobs = make_jobs(cfg)
    voice = default_voice()

    def plan(_index: int, body: Mapping[str, Any]) -> JobPlan:
        job = jobs[job_index(body)]
        return JobPlan(render_seconds=job.render_seconds, fail=job.fail)

    # Network latency: every /v3 request waits cfg.latency seconds in the
    # fake before it is handled (a "slow" fault that always strikes).
    faults = []
    if cfg.latency > 0:
        faults.append(
            Fault(kind="slow", delay=cfg.latency * cfg.scale, probability=1.0)
        )
    # Webhooks (strategy "webhook" only: nobody else registers an endpoint):
    # every delivery leaves webhook_delay after the render ends, one way.
    fake = FakeHeyGen(
        concurrency_limit=cfg.cap,
        job_plan=plan,
        seed=cfg.seed,
        retry_after=max(1.0 * cfg.scale, 0.001),
        faults=faults,
        webhook_delay=cfg.webhook_delay * cfg.scale,
        webhook_drop_rate=cfg.webhook_drop_rate,
        webhook_retry_base=0.5 * cfg.scale,
    )
    obs = Observed(chars=[job.chars for job in jobs])
    receiver: WebhookReceiver | None = None
    async with fake:
        split = CpuSplit() if cfg.cpu_split else None
        coro: Coroutine[Any, Any, WebhookReceiver | None]
        if cfg.strategy == "batch":
            coro = run_batch(cfg, fake.url, fake.api_key, voice, obs)
        elif cfg.strategy == "webhook":
            coro = run_webhook(cfg, fake.url, fake.api_key, voice, obs, split)
        elif cfg.strategy in BULK_BASELINES:
            from bulk import run_bulk_loop

            every = 5.0 if cfg.strategy == "bulk5" else 2.0
            coro = run_bulk_loop(cfg, fake.url, fake.api_key, voice, obs, every)
        else:
            delays = seed_delays if cfg.strategy == "seed" else cli_delays
            coro = run_polling(
                cfg, fake.url, fake.api_key, voice, obs, delays(cfg.scale)
            )
        rss_before = _rss_kb()
        if cfg.trace_memory:
            tracemalloc.start()
        wall0 = time.perf_counter()
        cpu0 = time.process_time()
        t0 = loop.time()
        if split is not None:
            with split:
                ran = await coro
        else:
            ran = await coro
        if isinstance(ran, WebhookReceiver):
            receiver = ran
        t_end = loop.time()
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        traced_peak = None
        if cfg.trace_memory:
            traced_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        stats = fake.stats
        videos = list(fake.videos.values())

    by_job: dict[int, list[Any]] = {}
    for video in videos:
        by_job.setdefault(job_index(video.request), []).append(video)
    delays_seen = []
    # Webhook mode: split the delays by how the outcome arrived.
    by_path: dict[str, list[float]] = {"webhook": [], "poll": [], "dropped": []}
    for job in jobs:
        made = by_job.get(job.index, [])
        if not made:
            continue
        video = made[-1]
        if job.index in obs.seen:
            delay = obs.seen[job.index] - video.finishes_mono
            delays_seen.append(delay)
            if receiver is not None:
                if video.id in receiver.settled:
                    by_path["webhook"].append(delay)
                else:
                    by_path["poll"].append(delay)
                if video.id not in receiver.received:
                    by_path["dropped"].append(delay)
    # The ideal packs the jobs' actual render durations (as the fake ran
    # them) in submission order; a job never created counts its planned one.
    actual_durations = [
        by_job[j.index][-1].finishes_mono - by_job[j.index][-1].created_mono
        if j.index in by_job
        else j.render_seconds
        for j in jobs
    ]
    ideal = ideal_makespan(actual_durations, cfg.cap)
    actual = (max(obs.seen.values()) - t0) if obs.seen else float("nan")

    kinds = {"create": 0, "status_bulk": 0, "detail": 0, "other": 0}
    for route, count in stats.requests.items():
        kinds[ROUTE_KINDS.get(route, "other")] += count
    non_2xx = {
        route: {str(s): c for s, c in by_status.items() if s >= 300}
        for route, by_status in stats.responses.items()
    }
    non_2xx = {route: v for route, v in non_2xx.items() if v}
    outcomes: dict[str, int] = {}
    for kind in obs.outcome.values():
        outcomes[kind] = outcomes.get(kind, 0) + 1

    virtual = isinstance(loop, VirtualTimeLoop)
    server_cpu = split.server if split is not None else None
    webhook_info = None
    if receiver is not None:
        webhook_info = {
            "attempted": stats.webhooks_attempted,
            "delivered": stats.webhooks_delivered,
            "failed": stats.webhooks_failed,
            "dropped": stats.webhooks_dropped,
            "received": len(receiver.received),
            "settled_by_webhook": len(receiver.settled),
            "rejected": receiver.rejected,
            "delay_by_path": {
                path: _delay_summary(values, cfg.scale)
                for path, values in by_path.items()
            },
        }
    return {
        "config": asdict(cfg),
        "jobs": cfg.n,
        "seen": len(obs.seen),
        "outcomes": outcomes,
        "requests": dict(stats.requests),
        "requests_per_job": {k: v / cfg.n for k, v in kinds.items()},
        "requests_per_job_total": sum(kinds.values()) / cfg.n,
        "non_2xx": non_2xx,
        "jobs_created": stats.jobs_created,
        "duplicate_jobs": stats.duplicate_jobs,
        "peak_in_flight": stats.peak_in_flight,
        "ideal_makespan": ideal / cfg.scale,
        "actual_makespan": actual / cfg.scale,
        "utilisation": ideal / actual if actual else float("nan"),
        "delay_p50": percentile(delays_seen, 50) / cfg.scale,
        "delay_p95": percentile(delays_seen, 95) / cfg.scale,
        "delay_max": (max(delays_seen) if delays_seen else float("nan")) / cfg.scale,
        "delay_min": (min(delays_seen) if delays_seen else float("nan")) / cfg.scale,
        "cpu_seconds": cpu,
        "cpu_seconds_fake": server_cpu,
        "cpu_seconds_client_est": None if server_cpu is None else cpu - server_cpu,
        "wall_seconds": wall,
        "loop_seconds": (t_end - t0) / cfg.scale,
        "clock": "virtual" if virtual else "real",
        "virtual_jumps": loop.jumps if virtual else None,
        "virtual_guard_hits": loop.guard_hits if virtual else None,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss_before_kb": rss_before,
        "tracemalloc_peak_bytes": traced_peak,
        "webhooks": webhook_info,
        "extra": obs.extra,
    }


def _delay_summary(values: list[float], scale: float) -> dict[str, Any]:
    """Count, p50, p95 and max of *values* (seconds, unscaled)."""
    if not values:
        return {"count": 0, "p50": None, "p95": None, "max": None}
    return {
        "count": len(values),
        "p50": percentile(values, 50) / scale,
        "p95": percentile(values, 95) / scale,
        "max": max(values) / scale,
    }


def run_one(cfg: RunConfig) -> dict[str, Any]:
    """Run *cfg* in a fresh event loop (virtual or real time)."""
    factory = virtual_loop_factory(cfg.guard) if cfg.clock == "virtual" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_run(cfg))
