"""
Issue 14's comparison: the SDK against the bulk-aware loops, on two workloads.

Usage (from the repository root)::

    python benchmarks/pacing.py [--seeds 6] [--big-seeds 1] [--small-seeds 120]
                                [--jobs 2] [--out FILE]

For cap 10 and cap 100, N in {cap/2, 10 cap, 100 cap}, plus N = 1; on the
lognormal workload (render time independent of the request) and the
length-correlated one (render time grows with the script); seeds 0..seeds-1
(``--big-seeds`` for N = 10,000, the slow one). N = 1 and 5 also run over
``--small-seeds`` seeds: their p95 is one or five delays per seed, so six
seeds are a coin toss and the many-seed rows say what to expect.
Strategies: the SDK's batch with its default PollPolicy, and one shared loop
asking ``GET /v3/videos/statuses`` about every job in flight every 5 s and
every 2 s (``benchmarks/bulk.py``). Then webhook mode, with and without 10 % of
deliveries lost. Every run is virtual time (``benchmarks/vtime.py``), so the
numbers are the scheduler's decisions, not this machine's speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import WORKLOADS, RunConfig  # noqa: E402


CAPS = (10, 100)
SMALL = 5  # N up to this also runs over --small-seeds
POLLING = ("batch", "bulk5", "bulk2")
KEYS = ("requests_per_job_total", "utilisation", "delay_p50", "delay_p95")
# What each run keeps in the JSON (the harness returns much more).
_KEPT = (*KEYS, "jobs", "seen", "outcomes", "requests_per_job", "delay_max", "webhooks")
_CONFIG = ("strategy", "n", "cap", "seed", "workload", "webhook_drop_rate")


def sizes(cap: int) -> list[int]:
    """N = cap/2, 10 cap and 100 cap."""
    return [cap // 2, 10 * cap, 100 * cap]


def configs(seeds: int, big_seeds: int, small_seeds: int = 0) -> list[RunConfig]:
    """Every polling run of the matrix, then the webhook runs."""
    runs = []
    for workload in WORKLOADS:
        for cap, n in [(10, 1), *[(c, n) for c in CAPS for n in sizes(c)]]:
            count = big_seeds if n >= 10_000 else seeds
            if n <= SMALL:
                count = max(count, small_seeds)
            for seed in range(count):
                for strategy in POLLING:
                    runs.append(
                        RunConfig(
                            strategy=strategy,
                            n=n,
                            cap=cap,
                            seed=seed,
                            workload=workload,
                            cpu_split=False,
                        )
                    )
    for cap in CAPS:
        for drop in (0.0, 0.1):
            for seed in range(seeds):
                runs.append(
                    RunConfig(
                        strategy="webhook",
                        n=10 * cap,
                        cap=cap,
                        seed=seed,
                        cpu_split=False,
                        webhook_drop_rate=drop,
                    )
                )
    return runs


def _run(raw: dict[str, Any]) -> dict[str, Any]:
    from harness import run_one

    result = run_one(RunConfig(**raw))
    kept = {k: result[k] for k in _KEPT}
    kept["config"] = {k: result["config"][k] for k in _CONFIG}
    return kept


def summarise(results: list[dict[str, Any]], seeds: int) -> list[dict[str, Any]]:
    """
    Mean over seeds per (workload, N, cap, strategy, drop): over the first
    *seeds* seeds, and for small N also over every seed run.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in results:
        c = r["config"]
        key = (c["workload"], c["n"], c["cap"], c["strategy"], c["webhook_drop_rate"])
        if c["seed"] < seeds:
            groups.setdefault((*key, False), []).append(r)
        if c["n"] <= SMALL:
            groups.setdefault((*key, True), []).append(r)
    rows = []
    for (workload, n, cap, strategy, drop, many), rs in sorted(groups.items()):
        if many and len(rs) <= seeds:
            continue  # no more seeds than the main row
        row: dict[str, Any] = {
            "workload": workload,
            "n": n,
            "cap": cap,
            "strategy": strategy,
            "drop": drop,
            "seeds": len(rs),
            "many": many,
            "all_seen": all(r["seen"] == r["jobs"] for r in rs),
        }
        for key in KEYS:
            row[key] = statistics.mean(r[key] for r in rs)
        if strategy == "webhook" and drop:
            lost = [r["webhooks"]["delay_by_path"]["dropped"] for r in rs]
            row["lost_p95"] = statistics.mean(x["p95"] for x in lost if x["p95"])
            row["lost_max"] = max(x["max"] for x in lost if x["max"])
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: the SDK next to both loops, per config."""
    head = (
        "| workload | N | cap | seeds | SDK req/job | 5 s loop | 2 s loop "
        "| SDK util | 5 s util | SDK p50 / p95 s | 5 s p50 / p95 s | 2 s p95 s |"
    )
    out = [
        head,
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["workload"], r["n"], r["cap"], r["strategy"], r["many"]): r for r in rows}
    for r in rows:
        if r["strategy"] != "batch":
            continue
        w, n, cap, many = r["workload"], r["n"], r["cap"], r["many"]
        b5, b2 = by[(w, n, cap, "bulk5", many)], by[(w, n, cap, "bulk2", many)]
        out.append(
            f"| {r['workload']} | {r['n']} | {r['cap']} | {r['seeds']} "
            f"| {r['requests_per_job_total']:.3f} | {b5['requests_per_job_total']:.3f} "
            f"| {b2['requests_per_job_total']:.3f} | {r['utilisation']:.3f} "
            f"| {b5['utilisation']:.3f} | {r['delay_p50']:.2f} / {r['delay_p95']:.2f} "
            f"| {b5['delay_p50']:.2f} / {b5['delay_p95']:.2f} | {b2['delay_p95']:.2f} |"
        )
    out += [
        "",
        (
            "| webhooks, N | cap | lost | seeds | req/job | util | p95 s "
            "| lost p95 / max s |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["strategy"] == "webhook":
            lost = f"{r['lost_p95']:.1f} / {r['lost_max']:.1f}" if r["drop"] else "-"
            out.append(
                f"| {r['n']} | {r['cap']} | {r['drop']:.0%} | {r['seeds']} "
                f"| {r['requests_per_job_total']:.3f} | {r['utilisation']:.3f} "
                f"| {r['delay_p95']:.3f} | {lost} |"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the matrix and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--big-seeds", type=int, default=1)
    parser.add_argument("--small-seeds", type=int, default=120)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "pacing_results.json"))
    args = parser.parse_args(argv)
    runs = configs(args.seeds, args.big_seeds, args.small_seeds)
    started = time.perf_counter()
    # The slow runs first, so the pool is not left waiting on one at the end.
    runs.sort(key=lambda c: -c.n)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(_run, [asdict(c) for c in runs]))
    rows = summarise(results, args.seeds)
    Path(args.out).write_text(
        json.dumps(
            {
                "command": " ".join(["python", "benchmarks/pacing.py", *sys.argv[1:]]),
                "wall_seconds": time.perf_counter() - started,
                "summary": rows,
                "runs": results,
            },
            indent=0,
        )
    )
    sys.stdout.write(table(rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
