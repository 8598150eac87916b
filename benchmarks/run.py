"""
The scheduler benchmark: heygen_async's batch (polling, and with webhooks)
against the loops users write.

Usage::

    .venv/bin/python benchmarks/run.py [--quick] [--out benchmarks/results.json]

Each run is one strategy rendering N jobs under a concurrency cap against a
fresh FakeHeyGen, in its own subprocess (so peak RSS is per run), on a
virtual-time event loop (so minutes of rendering take seconds). See
BENCHMARKS.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, replace
from importlib import metadata
from pathlib import Path
from typing import Any


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import BASELINES, STRATEGIES, STRATEGY_LABELS, RunConfig  # noqa: E402


SIZES = (100, 1000)
CAPS = (10, 100)
SOUNDNESS_SCALE = 0.01
# Webhook mode: the share of deliveries the fake loses in the safety-net runs.
DROP_RATE = 0.1
TARGETS = {
    "utilisation_min": 0.95,
    "cap10_ratio_max": 0.75,
    "cap100_requests_per_job_max": 2.5,
    "cpu_per_job_poll_us_max": 100.0,
    "bytes_per_tracked_job_max": 20 * 1024,
    # Webhook mode (deliveries carry the URL): the issue asks for a p95 under
    # 100 ms and requests per job "near 1", judged here as <= 1.5.
    "webhook_delay_p95_max": 0.1,
    "webhook_requests_per_job_max": 1.5,
}


# -- running one config in a subprocess ------------------------------------


def worker(spec: str) -> None:
    """Entry point of a child: run configs in turn, print results as JSON."""
    from harness import run_one

    for raw in json.loads(spec):
        result = run_one(RunConfig(**raw))
        sys.stdout.write("RESULT " + json.dumps(result) + "\n")
        sys.stdout.flush()


def spawn_many(cfgs: list[RunConfig], *, timeout: float = 1800.0) -> list[dict]:
    """Run *cfgs* one after another in a fresh interpreter."""
    spec = json.dumps([asdict(cfg) for cfg in cfgs])
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", spec],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    results = [
        json.loads(line[len("RESULT ") :])
        for line in proc.stdout.splitlines()
        if line.startswith("RESULT ")
    ]
    if proc.returncode or len(results) != len(cfgs):
        msg = f"runs failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
        raise RuntimeError(msg)
    return results


def spawn_parallel(cfgs: list[RunConfig]) -> list[dict[str, Any]]:
    """Run each of *cfgs* in its own interpreter, all at once (for real time)."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                json.dumps([asdict(cfg)]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        for cfg in cfgs
    ]
    results = []
    for cfg, proc in zip(cfgs, procs, strict=True):
        out, err = proc.communicate(timeout=1800)
        found = [
            json.loads(line[len("RESULT ") :])
            for line in out.splitlines()
            if line.startswith("RESULT ")
        ]
        if proc.returncode or not found:
            msg = f"run {cfg} failed (exit {proc.returncode}):\n{err[-4000:]}"
            raise RuntimeError(msg)
        results.append(found[0])
    return results


def spawn(cfg: RunConfig) -> dict[str, Any]:
    """Run *cfg* alone in a fresh interpreter (so its peak RSS is its own)."""
    return spawn_many([cfg])[0]


def describe(cfg: RunConfig) -> str:
    drop = f" drop={cfg.webhook_drop_rate:g}" if cfg.webhook_drop_rate else ""
    return (
        f"{cfg.strategy:7} N={cfg.n:<5} cap={cfg.cap:<3} clock={cfg.clock}"
        f" scale={cfg.scale:g}{drop}"
    )


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the parts -----------------------------------------------------------------


def matrix(sizes: tuple[int, ...], *, trace_memory: bool) -> list[dict[str, Any]]:
    """Every strategy at every N and cap, in virtual time."""
    results = []
    for n in sizes:
        for cap in CAPS:
            for strategy in STRATEGIES:
                cfg = RunConfig(strategy=strategy, n=n, cap=cap)
                t = time.perf_counter()
                result = spawn(cfg)
                if trace_memory:
                    traced = spawn(replace(cfg, trace_memory=True, cpu_split=False))
                    result["tracemalloc_peak_bytes"] = traced["tracemalloc_peak_bytes"]
                    result["tracemalloc_run_same"] = (
                        traced["requests"] == result["requests"]
                    )
                progress(f"  {describe(cfg)}  {time.perf_counter() - t:5.1f} s wall")
                results.append(result)
    return results


def drops(sizes: tuple[int, ...], count: int) -> list[dict[str, Any]]:
    """
    Webhook mode with DROP_RATE of the deliveries lost: the polling safety net.

    Every job must still complete; each lost delivery should cost about one
    detail GET, and its job is seen only when a (slow) poll finds it. Seed 0
    is the reported run; seeds 1..count are summarised in its ``"repeats"``.
    """
    results = []
    for n in sizes:
        for cap in CAPS:
            cfg = RunConfig(
                strategy="webhook", n=n, cap=cap, webhook_drop_rate=DROP_RATE
            )
            t = time.perf_counter()
            result = spawn(cfg)
            others = spawn_many(
                [
                    replace(cfg, seed=seed, cpu_split=False)
                    for seed in range(1, count + 1)
                ]
            )
            result["repeats"] = {
                "seeds": list(range(1, count + 1)),
                "all_completed": [
                    r["seen"] == n
                    and sum(r["outcomes"].get(k, 0) for k in ("completed", "failed"))
                    == n
                    for r in others
                ],
                "dropped": [r["webhooks"]["dropped"] for r in others],
                "detail": [
                    r["requests"].get("GET /v3/videos/{video_id}", 0) for r in others
                ],
                "utilisation": [r["utilisation"] for r in others],
                "requests_per_job": [r["requests_per_job_total"] for r in others],
                "dropped_delay_p95": [
                    r["webhooks"]["delay_by_path"]["dropped"]["p95"] for r in others
                ],
            }
            results.append(result)
            progress(
                f"  {describe(cfg)} (+{count} seeds)"
                f"  {time.perf_counter() - t:5.1f} s wall"
            )
    return results


def repeats(sizes: tuple[int, ...], count: int) -> list[dict[str, Any]]:
    """
    Each config again with seeds 1..count: other jobs, other jitter.

    The SDK's scheduler draws its jitter from an unseeded RNG, so even seed 0
    is not bit-for-bit repeatable; this shows the spread.
    """
    out = []
    for n in sizes:
        for cap in CAPS:
            t = time.perf_counter()
            cfgs = [
                RunConfig(strategy=strategy, n=n, cap=cap, seed=seed, cpu_split=False)
                for strategy in STRATEGIES
                for seed in range(1, count + 1)
            ]
            results = spawn_many(cfgs)
            for strategy in STRATEGIES:
                mine = [r for r in results if r["config"]["strategy"] == strategy]
                util = [r["utilisation"] for r in mine]
                rpj = [r["requests_per_job_total"] for r in mine]
                out.append(
                    {
                        "strategy": strategy,
                        "n": n,
                        "cap": cap,
                        "seeds": list(range(1, count + 1)),
                        "utilisation": util,
                        "requests_per_job": rpj,
                        "delay_p50": [r["delay_p50"] for r in mine],
                        "delay_p95": [r["delay_p95"] for r in mine],
                    }
                )
            progress(
                f"  N={n:<5} cap={cap:<3} x{len(cfgs)} runs"
                f"  {time.perf_counter() - t:5.1f} s wall"
            )
    return out


def soundness(n: int = 60, cap: int = 10, seeds: int = 3) -> list[dict[str, Any]]:
    """
    The same small configs in virtual time, in real time scaled down, and in
    virtual time with a 0.5 ms real socket poll before every jump.

    If virtual time is sound, requests per job and utilisation agree within
    the noise that real scheduling adds, and the guard changes nothing. The
    real-time runs are mostly idle, so they run side by side.
    """
    out = []
    for strategy in STRATEGIES:
        t = time.perf_counter()
        base = [
            RunConfig(strategy=strategy, n=n, cap=cap, seed=seed, cpu_split=False)
            for seed in range(seeds)
        ]
        modes = {
            "virtual": spawn_many(base),
            "guarded": spawn_many([replace(c, guard=0.0005) for c in base]),
            "real": spawn_parallel(
                [replace(c, clock="real", scale=SOUNDNESS_SCALE) for c in base]
            ),
        }
        entry: dict[str, Any] = {"strategy": strategy, "n": n, "cap": cap}
        for mode, runs in modes.items():
            entry[mode] = {
                "seeds": [r["config"]["seed"] for r in runs],
                "requests_per_job": [r["requests_per_job_total"] for r in runs],
                "utilisation": [r["utilisation"] for r in runs],
                "delay_p50": [r["delay_p50"] for r in runs],
                "wall_seconds": [r["wall_seconds"] for r in runs],
                "virtual_jumps": [r["virtual_jumps"] for r in runs],
                "virtual_guard_hits": [r["virtual_guard_hits"] for r in runs],
            }
        out.append(entry)
        progress(
            f"  {strategy:7} N={n} cap={cap} x{seeds} seeds x3 modes"
            f"  {time.perf_counter() - t:5.1f} s wall"
        )
    return out


# -- reporting -----------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    packages = {}
    for name in ("heygen-async", "aiohttp", "attrs", "cattrs", "yarl", "multidict"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    import heygen_async

    source = Path(heygen_async.__file__).resolve().parent
    git = shutil.which("git")
    head = ""
    if git:
        head = subprocess.run(
            [git, "-C", str(HERE), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    return {
        # Relative to the repository, so results carry no machine paths.
        "heygen_async_source": os.path.relpath(source, HERE.parent),
        "repo_head": head or None,
        "pythonpath": os.environ.get("PYTHONPATH"),
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages,
    }


def fmt(value: float | None, spec: str = ".2f") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def fmt_delay(seconds: float | None) -> str:
    """Seconds: to the millisecond below 1 s, else to a tenth."""
    if seconds is None:
        return "-"
    return f"{seconds:.3f}" if seconds < 1 else f"{seconds:.1f}"


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| N | cap | strategy | create | bulk | detail | other | **req/job** "
        "| utilisation | delay p50 s | delay p95 s | CPU s (all / fake / SDK+user) "
        "| peak RSS MB | tracemalloc peak MB |"
    )
    rows = [head, "|" + "---|" * 14]
    for r in results:
        cfg = r["config"]
        rpj = r["requests_per_job"]
        cpu = (
            f"{r['cpu_seconds']:.2f} / {fmt(r['cpu_seconds_fake'])} / "
            f"{fmt(r['cpu_seconds_client_est'])}"
        )
        traced = r.get("tracemalloc_peak_bytes")
        rows.append(
            f"| {cfg['n']} | {cfg['cap']} | {STRATEGY_LABELS[cfg['strategy']]} "
            f"| {rpj['create']:.2f} | {rpj['status_bulk']:.2f} "
            f"| {rpj['detail']:.2f} | {rpj['other']:.2f} "
            f"| **{r['requests_per_job_total']:.2f}** | {r['utilisation']:.3f} "
            f"| {fmt_delay(r['delay_p50'])} | {fmt_delay(r['delay_p95'])} | {cpu} "
            f"| {r['maxrss_kb'] / 1024:.0f} "
            f"| {fmt(traced / 2**20 if traced else None, '.1f')} |"
        )
    return "\n".join(rows)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def webhook_table(runs: list[dict[str, Any]]) -> str:
    """Webhook mode: how each job's outcome arrived, and what it cost."""
    head = (
        "| N | cap | drop rate | dropped | delivered / received / settled a wait "
        "| bulk | detail GETs | **req/job** | utilisation "
        "| delay p50 / p95 ms, by webhook | delay p50 / p95 / max s, dropped "
        "| delay p50 / p95 s, all |"
    )
    rows = [head, "|" + "---|" * 12]
    for r in runs:
        cfg, w = r["config"], r["webhooks"]
        paths = w["delay_by_path"]
        hook, lost = paths["webhook"], paths["dropped"]
        hook_ms = (
            f"{hook['p50'] * 1000:.1f} / {hook['p95'] * 1000:.1f}"
            if hook["count"]
            else "-"
        )
        lost_s = (
            f"{lost['p50']:.1f} / {lost['p95']:.1f} / {lost['max']:.1f}"
            if lost["count"]
            else "-"
        )
        rows.append(
            f"| {cfg['n']} | {cfg['cap']} | {cfg['webhook_drop_rate']:.0%} "
            f"| {w['dropped']} "
            f"| {w['delivered']} / {w['received']} / {w['settled_by_webhook']} "
            f"| {r['requests'].get('GET /v3/videos/statuses', 0)} "
            f"| {r['requests'].get('GET /v3/videos/{video_id}', 0)} "
            f"| **{r['requests_per_job_total']:.3f}** | {r['utilisation']:.3f} "
            f"| {hook_ms} | {lost_s} "
            f"| {fmt_delay(r['delay_p50'])} / {fmt_delay(r['delay_p95'])} |"
        )
    return "\n".join(rows)


def soundness_table(entries: list[dict[str, Any]]) -> str:
    head = (
        "| strategy | req/job virtual / guarded / real "
        "| utilisation virtual / guarded / real "
        "| delay p50 s virtual / guarded / real | guard hits "
        "| wall s per run virtual / guarded / real |"
    )
    rows = [head, "|" + "---|" * 6]
    for e in entries:
        v, g, r = e["virtual"], e["guarded"], e["real"]

        def trio(key: str, spec: str, v=v, g=g, r=r) -> str:
            return " / ".join(f"{_mean(m[key]):{spec}}" for m in (v, g, r))

        slow = max(_mean(m["delay_p50"]) for m in (v, g, r)) >= 1
        rows.append(
            f"| {STRATEGY_LABELS[e['strategy']]} | {trio('requests_per_job', '.2f')} "
            f"| {trio('utilisation', '.3f')} "
            f"| {trio('delay_p50', '.1f' if slow else '.3f')} "
            f"| {sum(g['virtual_guard_hits'])} of {sum(g['virtual_jumps'])} jumps "
            f"| {trio('wall_seconds', '.1f')} |"
        )
    return "\n".join(rows)


def drops_table(runs: list[dict[str, Any]]) -> str:
    """The lost-deliveries runs over the other seeds."""
    rows = [
        (
            "| N | cap | seeds | all jobs completed | dropped / detail GETs, each seed "
            "| req/job mean (min-max) | utilisation mean (min-max) "
            "| dropped-job delay p95 s mean (min-max) |"
        ),
        "|" + "---|" * 8,
    ]
    for r in runs:
        rep = r.get("repeats") or {}
        if not rep.get("seeds"):
            continue
        cfg = r["config"]
        pairs = ", ".join(
            f"{d}/{g}" for d, g in zip(rep["dropped"], rep["detail"], strict=True)
        )
        p95 = [v for v in rep["dropped_delay_p95"] if v is not None]
        seeds = f"{rep['seeds'][0]}-{rep['seeds'][-1]}"
        rows.append(
            f"| {cfg['n']} | {cfg['cap']} | {seeds} "
            f"| {sum(rep['all_completed'])}/{len(rep['all_completed'])} | {pairs} "
            f"| {_spread(rep['requests_per_job'], '.2f')} "
            f"| {_spread(rep['utilisation'], '.3f')} "
            f"| {_spread(p95, '.1f') if p95 else '-'} |"
        )
    return "\n".join(rows)


def _spread(values: list[float], spec: str) -> str:
    mean = sum(values) / len(values)
    return f"{mean:{spec}} ({min(values):{spec}}-{max(values):{spec}})"


def repeats_table(reps: list[dict[str, Any]]) -> str:
    rows = [
        (
            "| N | cap | strategy | utilisation mean (min-max) "
            "| req/job mean (min-max) | delay p50 s mean (min-max) "
            "| delay p95 s mean (min-max) |"
        ),
        "|" + "---|" * 7,
    ]
    for rep in reps:
        delay = ".3f" if max(rep["delay_p95"]) < 1 else ".1f"
        rows.append(
            f"| {rep['n']} | {rep['cap']} | {STRATEGY_LABELS[rep['strategy']]} "
            f"| {_spread(rep['utilisation'], '.3f')} "
            f"| {_spread(rep['requests_per_job'], '.2f')} "
            f"| {_spread(rep['delay_p50'], delay)} "
            f"| {_spread(rep['delay_p95'], delay)} |"
        )
    return "\n".join(rows)


def _rep(reps: list[dict[str, Any]], n: int, cap: int, strategy: str) -> dict | None:
    for rep in reps:
        if (rep["n"], rep["cap"], rep["strategy"]) == (n, cap, strategy):
            return rep
    return None


def judge(
    results: list[dict[str, Any]],
    reps: list[dict[str, Any]],
    tracking: dict[str, Any] | None,
    dropped: list[dict[str, Any]] | None = None,
) -> list[dict]:
    """
    Each target of the issue, met or missed, on the seed-0 run.

    ``repeats`` says how often the same target holds over the other seeds.
    """
    verdicts = []
    by_key = {
        (r["config"]["n"], r["config"]["cap"], r["config"]["strategy"]): r
        for r in results
    }
    for (n, cap, strategy), r in sorted(by_key.items()):
        if strategy != "batch":
            continue
        rep = _rep(reps, n, cap, "batch")
        util_ok = TARGETS["utilisation_min"]
        verdict = {
            "target": f"utilisation >= {util_ok} (N={n}, cap={cap})",
            "value": round(r["utilisation"], 4),
            "met": r["utilisation"] >= util_ok,
        }
        if rep:
            held = sum(u >= util_ok for u in rep["utilisation"])
            verdict["repeats"] = f"{held}/{len(rep['utilisation'])} seeds met"
        verdicts.append(verdict)
        ours = r["requests_per_job_total"]
        if cap == 10:
            baselines = [s for s in BASELINES if (n, cap, s) in by_key]
            best = min(by_key[(n, cap, s)]["requests_per_job_total"] for s in baselines)
            limit = TARGETS["cap10_ratio_max"]
            verdict = {
                "target": f"req/job <= {limit} x best baseline (N={n}, cap=10)",
                "value": round(ours / best, 3),
                "detail": f"{ours:.2f} vs best baseline {best:.2f}",
                "met": ours <= limit * best,
            }
            base_reps = [_rep(reps, n, cap, s) for s in baselines]
            if rep and all(base_reps):
                held = sum(
                    rep["requests_per_job"][i]
                    <= limit * min(b["requests_per_job"][i] for b in base_reps)
                    for i in range(len(rep["requests_per_job"]))
                )
                verdict["repeats"] = f"{held}/{len(rep['requests_per_job'])} seeds met"
        else:
            limit = TARGETS["cap100_requests_per_job_max"]
            verdict = {
                "target": f"req/job <= {limit} (N={n}, cap={cap})",
                "value": round(ours, 3),
                "met": ours <= limit,
            }
            if rep:
                held = sum(v <= limit for v in rep["requests_per_job"])
                verdict["repeats"] = f"{held}/{len(rep['requests_per_job'])} seeds met"
        verdicts.append(verdict)
    verdicts += _judge_webhooks(by_key, reps, dropped or [])
    if tracking:
        us = tracking["cpu_per_job_poll_us"]
        verdicts.append(
            {
                "target": "CPU per job-poll < 100 us (10,000 tracked)",
                "value": round(us, 2),
                "met": us < TARGETS["cpu_per_job_poll_us_max"],
            }
        )
        per_job = tracking["bytes_per_tracked_job_gather"]
        verdicts.append(
            {
                "target": "memory per tracked job < 20 KB (10,000 tracked)",
                "value": round(per_job),
                "met": per_job < TARGETS["bytes_per_tracked_job_max"],
            }
        )
    return verdicts


def _judge_webhooks(
    by_key: dict[tuple[int, int, str], dict[str, Any]],
    reps: list[dict[str, Any]],
    dropped: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The webhook-mode targets, and the safety net with lost deliveries."""
    verdicts = []
    p95_max = TARGETS["webhook_delay_p95_max"]
    rpj_max = TARGETS["webhook_requests_per_job_max"]
    for (n, cap, strategy), r in sorted(by_key.items()):
        if strategy != "webhook":
            continue
        rep = _rep(reps, n, cap, "webhook")
        p95 = r["delay_p95"]
        verdict = {
            "target": f"webhooks: delay p95 < {p95_max * 1000:g} ms (N={n}, cap={cap})",
            "value": round(p95, 4),
            "detail": f"p95 {p95 * 1000:.1f} ms, max {r['delay_max'] * 1000:.1f} ms",
            "met": p95 < p95_max,
        }
        if rep:
            held = sum(v < p95_max for v in rep["delay_p95"])
            verdict["repeats"] = f"{held}/{len(rep['delay_p95'])} seeds met"
        verdicts.append(verdict)
        ours = r["requests_per_job_total"]
        verdict = {
            "target": f"webhooks: req/job near 1, <= {rpj_max} (N={n}, cap={cap})",
            "value": round(ours, 3),
            "met": ours <= rpj_max,
        }
        if rep:
            held = sum(v <= rpj_max for v in rep["requests_per_job"])
            verdict["repeats"] = f"{held}/{len(rep['requests_per_job'])} seeds met"
        verdicts.append(verdict)
    for r in dropped:
        cfg, w = r["config"], r["webhooks"]
        done = sum(r["outcomes"].get(k, 0) for k in ("completed", "failed"))
        details = r["requests"].get("GET /v3/videos/{video_id}", 0)
        lost = w["delay_by_path"]["dropped"]
        verdicts.append(
            {
                "target": (
                    f"webhooks, {cfg['webhook_drop_rate']:.0%} of deliveries "
                    f"dropped: every job completes (N={cfg['n']}, cap={cfg['cap']})"
                ),
                "value": f"{done}/{cfg['n']}",
                "detail": (
                    f"{w['dropped']} dropped, {details} detail GETs; "
                    f"dropped jobs seen after p50 {fmt(lost['p50'], '.1f')} s / "
                    f"p95 {fmt(lost['p95'], '.1f')} s"
                ),
                "met": done == cfg["n"] and r["seen"] == cfg["n"],
            }
        )
        if r.get("repeats", {}).get("seeds"):
            ok = r["repeats"]["all_completed"]
            verdicts[-1]["repeats"] = f"{sum(ok)}/{len(ok)} seeds met"
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only N=100")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    parser.add_argument("--no-soundness", action="store_true")
    parser.add_argument("--no-tracking", action="store_true")
    parser.add_argument(
        "--no-tracemalloc",
        action="store_true",
        help="skip the extra traced pass per run",
    )
    parser.add_argument("--tracked-jobs", type=int, default=10_000)
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="extra seeds per config (default: 5, or 3 with --quick; 0 skips)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0

    command = " ".join(
        shlex.quote(a) for a in [os.path.relpath(sys.executable), *sys.argv]
    )
    started = time.perf_counter()
    sizes = (100,) if args.quick else SIZES
    progress("matrix (virtual time):")
    results = matrix(sizes, trace_memory=not args.no_tracemalloc)
    count = args.repeats if args.repeats is not None else (3 if args.quick else 5)
    progress(f"webhook mode, {DROP_RATE:.0%} of deliveries dropped:")
    dropped = drops(sizes, count)
    reps: list[dict[str, Any]] = []
    if count:
        progress(f"repeats (seeds 1-{count}):")
        reps = repeats(sizes, count)
    sound = None
    if not args.no_soundness:
        progress(f"soundness (virtual vs real time x{SOUNDNESS_SCALE:g}):")
        sound = soundness()
    tracking = None
    if not args.no_tracking:
        from tracking import track

        progress(
            f"tracking {args.tracked_jobs} jobs (real time, fake in a subprocess):"
        )
        tracking = track(args.tracked_jobs)
    verdicts = judge(results, reps, tracking, dropped)

    print()
    print(table(results))
    print()
    print(webhook_table([r for r in results if r["webhooks"]] + dropped))
    if count:
        print()
        print(drops_table(dropped))
    if reps:
        print()
        print(repeats_table(reps))
    if sound:
        print()
        print(soundness_table(sound))
    if tracking:
        print()
        print(tracking_summary(tracking))
    print()
    for v in verdicts:
        mark = "MET   " if v["met"] else "MISSED"
        extra = " ".join(x for x in (v.get("detail"), v.get("repeats")) if x)
        print(f"{mark} {v['target']}: {v['value']}  {extra}")

    doc = {
        "command": command,
        "machine": machine_info(),
        "wall_seconds": time.perf_counter() - started,
        "targets": TARGETS,
        "verdicts": verdicts,
        "runs": results,
        "webhook_drop_runs": dropped,
        "repeats": reps,
        "soundness": sound,
        "tracking": tracking,
    }
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nsaved {args.out} ({doc['wall_seconds']:.0f} s)")
    return 0


def tracking_summary(t: dict[str, Any]) -> str:
    steady = t.get("steady") or {}
    lines = [
        f"tracking {t['jobs']} jobs in flight (SDK process only, real time):",
        (
            f"  job polls {t['job_polls']}, bulk calls {t['status_calls']}, "
            f"detail calls {t['detail_calls']}"
        ),
        (
            f"  CPU {t['client_cpu_seconds']:.2f} s over the whole wait -> "
            f"{t['cpu_per_job_poll_us']:.1f} us per job-poll"
        ),
    ]
    if steady:
        lines.append(
            f"  while all were in flight: {steady['cpu_per_job_poll_us']:.1f} us"
            f" per job-poll ({steady['job_polls']} polls)"
        )
    watch_kb = t["bytes_per_tracked_job_watch"] / 1024
    gather_kb = t["bytes_per_tracked_job_gather"] / 1024
    lines.append(
        f"  memory per tracked job: {watch_kb:.2f} KB (scheduler.watch only), "
        f"{gather_kb:.2f} KB (gather of wait_for_video tasks)"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
