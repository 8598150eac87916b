"""
Campaigns: the same ``render`` command on every machine covers the inputs once.

``render INPUTS --redis URL --campaign NAME --shards K`` splits the inputs into
K shards by a CRC32 of each input's tag (every machine computes the same
split) and renders, one at a time, the shards this process can lease
(:func:`~heygen_async.claim_shards`), each through its own journal in Redis.
It returns when every shard of the campaign is done, waiting meanwhile for
the shards other machines hold: when one of them dies, its shard's lease
lapses and a survivor resumes it with the same Idempotency-Keys, so nothing
is paid twice. Each shard's results go to ``OUT/.heygen/``; ``results --redis
URL --campaign NAME`` writes ``OUT/results.jsonl`` for the whole campaign.

Every process of a campaign shares one :class:`~heygen_async.RedisCoordinator`
on the same Redis: one account-wide cap (``--account-concurrency``), one
``Retry-After`` gate, one poller. ``--max-in-flight`` stays per process: how
many of its jobs run or queue for an account slot at once.

Nothing here imports redis until a campaign runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import sys
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from heygen_async import (
    Client,
    Coordinator,
    HeyGenError,
    JobRecord,
    JobStore,
    JournalBusyError,
)

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    error,
    positive_float,
    positive_int,
    precheck_failed,
)
from .cost import SpendCheck, SpendRefused, fetch_balance
from .inputs import InputError, Job
from .progress import make_reporter
from .results import RESULTS_FILE, Result, write_results
from .run import CommandMismatch, RunConfig, run_jobs


__all__ = [
    "add_options",
    "add_results_command",
    "check_args",
    "make_coordinator",
    "record_result",
    "render",
    "shard_of",
]

_SHARD_RESULTS = ".heygen"
# The journals' and the coordinator's: every campaign on one Redis, and any
# RedisCoordinator left at its default namespace, share the account's cap.
_NAMESPACE = "heygen"
# The poller's lock never outlives a dead machine longer than this.
_LEADER_TTL = 10.0

VoiceCheck = Callable[[Client, Sequence[Job]], Awaitable[None]]


def add_options(parser: argparse.ArgumentParser) -> None:
    """``render``'s campaign options."""
    group = parser.add_argument_group(
        "campaign: the same command on several machines (needs the redis extra)"
    )
    add = group.add_argument
    add("--redis", metavar="URL", help="the Redis that holds the campaign's journals")
    add("--campaign", metavar="NAME", help="the campaign's name, the same everywhere")
    add(
        "--shards",
        type=positive_int,
        metavar="K",
        help="split the inputs into K shards, one journal each; never change "
        "it for a campaign (e.g. 4 per machine)",
    )
    add(
        "--lease",
        type=positive_float,
        default=30.0,
        metavar="SECONDS",
        help="how long a dead machine's shard and its reserved account slots "
        "stay claimed (default: %(default)g)",
    )
    add(
        "--account-concurrency",
        type=positive_int,
        default=10,
        metavar="N",
        help="the account's cap on unfinished videos, shared by every machine "
        "of the campaign (default: %(default)s, pay-as-you-go)",
    )


def add_results_command(commands: Any) -> None:
    """The ``results`` subcommand."""
    parser = commands.add_parser(
        "results",
        help="write results.jsonl for a whole campaign",
        description="Read every shard's journal of a campaign from Redis and "
        "write OUT/results.jsonl, one line per job (see render). Exits 0 if "
        "every job completed, else 1.",
    )
    parser.add_argument("--redis", required=True, metavar="URL")
    parser.add_argument("--campaign", required=True, metavar="NAME")
    parser.add_argument("--out", default="heygen-out", metavar="DIR")
    parser.set_defaults(command=results)


def check_args(args: argparse.Namespace) -> str | None:
    """What is wrong with ``render``'s campaign options, if anything."""
    if args.redis is None:
        if args.campaign is not None or args.shards is not None:
            return "--campaign and --shards need --redis URL"
        return None
    if args.campaign is None or args.shards is None:
        return "--redis needs --campaign NAME and --shards K"
    if args.fresh or args.retry_failed:
        return "--fresh and --retry-failed do not apply to a campaign"
    return None


def make_coordinator(args: argparse.Namespace) -> Coordinator | None:
    """
    The coordinator a campaign's client shares the account through, if any.

    Raises:
        ImportError: The redis extra is missing (the message names it).
    """
    if args.redis is None:
        return None
    from heygen_async import RedisCoordinator

    return RedisCoordinator(
        args.redis,
        namespace=_NAMESPACE,
        account_concurrency=args.account_concurrency,
        reservation_lease=args.lease,
        leader_ttl=min(_LEADER_TTL, args.lease),
    )


def fingerprint(jobs: Sequence[Job]) -> str:
    """
    A digest of every input's tag: the same inputs on every machine.

    A manifest given by another path, or with other rows, has other tags; its
    jobs would get other Idempotency-Keys and be paid for again.
    """
    digest = hashlib.sha256()
    for tag in sorted(job.tag for job in jobs):
        digest.update(tag.encode() + b"\n")
    return f"{len(jobs)}:{digest.hexdigest()[:16]}"


def shard_of(tag: str, shards: int) -> int:
    """The shard an input belongs to: the same on every machine."""
    return zlib.crc32(tag.encode()) % shards


def render(
    client: Client,
    jobs: Sequence[Job],
    config: RunConfig,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    *,
    check_voices: VoiceCheck,
    spend: Callable[..., SpendCheck],
) -> int:
    """
    Run this machine's part of a campaign; see the module docstring.

    *check_voices* raises :class:`InputError` for unknown voice ids; *spend*
    makes the spend check, given the balance.
    """
    return asyncio.run(
        _render(client, jobs, config, args, environ, check_voices, spend)
    )


async def _render(
    client: Client,
    jobs: Sequence[Job],
    config: RunConfig,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    check_voices: VoiceCheck,
    spend: Callable[..., SpendCheck],
) -> int:
    from redis.exceptions import RedisError

    from heygen_async import claim_shards  # the coordinator checked the extra

    await asyncio.to_thread((config.out / _SHARD_RESULTS).mkdir, exist_ok=True)
    async with client:
        try:
            await check_voices(client, jobs)
            check = spend(balance=await fetch_balance(client))
        except (InputError, HeyGenError) as exc:
            return precheck_failed("render", exc)
        shards = claim_shards(
            args.redis,
            args.campaign,
            args.shards,
            namespace=_NAMESPACE,
            lease=args.lease,
            poll=min(1.0, args.lease / 5),
            fingerprint=fingerprint(jobs),
        )
        try:
            await _check_spend(args, jobs, check)
            async with contextlib.aclosing(shards):
                return await _run_shards(client, jobs, config, args, environ, shards)
        except (ValueError, SpendRefused) as exc:  # another split, other inputs
            error("render", str(exc))
            return EXIT_USAGE
        except CommandMismatch as exc:
            shown = ", ".join(exc.inputs[:3])
            error(
                "render",
                f"campaign {args.campaign!r} holds {len(exc.inputs)} inputs "
                f"({shown}) sent with another script, voice or options: run "
                "the campaign's own command, or start a new campaign",
            )
            return EXIT_USAGE
        except RedisError as exc:
            error("render", f"Redis at --redis failed: {exc}")
            return EXIT_FAILED


async def _check_spend(
    args: argparse.Namespace, jobs: Sequence[Job], check: SpendCheck
) -> None:
    """
    Estimate what the whole campaign has left to send, before any shard.

    Jobs any machine already sent are not counted: the balance paid for them.
    Every machine checks at its start, so one whose estimate is over the
    balance refuses (unless ``--yes``) while the others go on.

    Raises:
        SpendRefused: Over the balance, or not confirmed.
    """
    from heygen_async import campaign_records

    try:
        shards = await campaign_records(args.redis, args.campaign, namespace=_NAMESPACE)
    except ValueError:  # a new campaign: nothing sent yet
        shards = {}
    sent = {
        str(record.tag)
        for records in shards.values()
        for record in records
        if record.video_id is not None or record.outcome is not None
    }
    unsent = [job.request for job in jobs if job.tag not in sent]
    if unsent:  # nothing left to pay for: nothing to check
        check(unsent, len(jobs))


async def _run_shards(
    client: Client,
    jobs: Sequence[Job],
    config: RunConfig,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    shards: AsyncIterator[tuple[int, JobStore]],
) -> int:
    """Render each shard this process leases, until the campaign is done."""
    by_shard: dict[int, list[Job]] = {}
    for job in jobs:
        by_shard.setdefault(shard_of(job.tag, args.shards), []).append(job)
    worst = EXIT_OK
    async for shard, store in shards:
        mine = by_shard.get(shard, [])
        print(f"Shard {shard}: {len(mine)} jobs", file=sys.stderr)
        shard_config = attrs.evolve(
            config,
            store=store,
            results_file=f"{_SHARD_RESULTS}/{args.campaign}-{shard}.jsonl",
        )
        reporter = make_reporter(environ=environ, plain=args.json)
        try:
            report = await run_jobs(client, mine, shard_config, reporter)
        except JournalBusyError:
            # This process stalled past --lease and another took the shard
            # over: it finishes there, with the same keys. Not a failure.
            print(f"Shard {shard}: taken over by another process", file=sys.stderr)
            continue
        if report.interrupted:  # the shard is not done: leave it to a rerun
            return report.exit_code
        worst = max(worst, report.exit_code)
    return worst


def record_result(record: JobRecord) -> Result | None:
    """A journaled job as a ``results.jsonl`` line (``None``: superseded)."""
    if record.outcome == "retired":
        return None
    detail = record.detail or {}
    video = detail.get("video") or {}
    video_id = record.video_id or video.get("id")
    if record.outcome == "completed":
        return Result(
            input=str(record.tag),
            video_id=video_id,
            status="completed",
            video_url=video.get("video_url"),
        )
    if record.outcome == "failed":
        reason = video.get("failure_message") or video.get("failure_code")
        reason = reason or (detail.get("error") or {}).get("message")
        return Result(
            input=str(record.tag),
            video_id=video_id,
            status="failed",
            error=reason or "the render failed and HeyGen gave no reason",
        )
    if record.outcome == "timed_out":
        return Result(
            input=str(record.tag),
            video_id=video_id,
            status="timed_out",
            error="stopped waiting; run the campaign again to resume",
        )
    return Result(input=str(record.tag), video_id=video_id, status="pending")


def results(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Run ``heygen-async results``; see the module docstring."""
    del environ
    return asyncio.run(_results(args.redis, args.campaign, Path(args.out)))


async def _results(url: str, campaign: str, out: Path) -> int:
    try:
        from heygen_async import campaign_records  # its error names the extra
    except ImportError as exc:
        error("results", str(exc))
        return EXIT_USAGE
    from redis.exceptions import RedisError

    try:
        shards = await campaign_records(url, campaign)
    except ValueError as exc:
        error("results", str(exc))
        return EXIT_USAGE
    except RedisError as exc:
        error("results", f"Redis at --redis failed: {exc}")
        return EXIT_FAILED
    rows = [
        result
        for shard in sorted(shards)
        for record in shards[shard]
        if (result := record_result(record)) is not None
    ]
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(write_results, out / RESULTS_FILE, rows)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(
        f"{len(rows)} jobs in {len(shards)} shards ({summary or 'none'}): "
        f"{out / RESULTS_FILE}",
        file=sys.stderr,
    )
    return EXIT_OK if counts.get("completed", 0) == len(rows) else EXIT_FAILED
