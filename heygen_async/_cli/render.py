"""
``heygen-async render``: a folder of photos in, a folder of MP4s out.

Inputs are read and checked first (``inputs``), and every voice id is
looked up; a bad one exits 2 before anything is paid for. Then the jobs run
through one journaled batch (``run``) and the results land in
``OUT/results.jsonl`` (``results``). Running the same command again
resumes; Ctrl-C prints that command and exits 130 (SIGTERM: 143). A second
run on an ``OUT`` in use, or a different command on an ``OUT`` that holds a
journal, exits 2 before anything is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import shlex
import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from heygen_async import (
    Client,
    HeyGenError,
    JournalBusyError,
    NotFoundError,
)

from . import campaign
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    error,
    make_client,
    poll_policy,
    precheck_failed,
)
from .cost import (
    Plan,
    SpendCheck,
    SpendRefused,
    fetch_balance,
    make_plan,
    over_balance,
    pricing,
)
from .inputs import Defaults, InputError, Job, collect, collect_all, fold_problems
from .progress import Reporter, make_reporter
from .results import print_outcome_notes, summary_rows
from .run import JOURNAL_PATH, CommandMismatch, RunConfig, run_jobs


__all__ = ["check_voices", "dry_run", "render", "resume_command", "voice_problems"]


def _defaults(args: argparse.Namespace) -> Defaults:
    script = args.script
    if args.script_file is not None:
        try:
            script = Path(args.script_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"--script-file {args.script_file}: cannot read it ({exc})"
            raise InputError(msg) from None
    return Defaults(
        script=script,
        voice_id=args.voice_id,
        audio_url=args.audio_url,
        title=args.title,
        resolution=args.resolution,
        aspect_ratio=args.aspect_ratio,
    )


async def check_voices(client: Client, jobs: Sequence[Job]) -> None:
    """
    Make sure every voice id exists before paying for anything.

    Raises:
        InputError: Unknown voice ids, with the inputs that use them.
    """
    if problems := await voice_problems(client, jobs):
        raise InputError("\n".join(problems))


async def voice_problems(client: Client, jobs: Sequence[Job]) -> list[str]:
    """One line per voice id that does not exist, naming the inputs using it."""
    users: dict[str, list[str]] = {}
    for job in jobs:
        if job.request.voice_id is not None:
            users.setdefault(job.request.voice_id, []).append(job.where)

    async def known(voice_id: str) -> bool:
        try:
            await client.get_voice(voice_id)
        except NotFoundError:
            return False
        return True

    found = await asyncio.gather(*(known(v) for v in users))
    missing = [v for v, ok in zip(users, found, strict=True) if not ok]
    lines = []
    for voice_id in missing:
        where = users[voice_id]
        more = f" and {len(where) - 3} more" if len(where) > 3 else ""
        lines.append(
            f"{', '.join(where[:3])}{more}: voice {voice_id!r} does not exist "
            "(list voices with 'heygen-async voices')"
        )
    return lines


async def _render(
    client: Client,
    jobs: Sequence[Job],
    config: RunConfig,
    reporter: Reporter,
    resume: str,
    spend: Callable[..., SpendCheck],
) -> int:
    async with client:
        try:
            await check_voices(client, jobs)
            config.check_spend = spend(balance=await fetch_balance(client))
        except (InputError, HeyGenError) as exc:
            return precheck_failed("render", exc)
        try:
            report = await run_jobs(client, jobs, config, reporter)
        except (sqlite3.Error, ValueError) as exc:  # ValueError: a corrupt row
            journal = config.out / JOURNAL_PATH
            error(
                "render",
                f"the journal {journal} is unusable ({exc}); add --fresh to set "
                "it aside and start a new one",
            )
            return EXIT_FAILED
        except JournalBusyError:
            error(
                "render",
                f"--out {config.out} is in use by another run (its journal "
                f"{config.out / JOURNAL_PATH} is locked); wait for it to finish "
                "or choose another --out",
            )
            return EXIT_USAGE
        except CommandMismatch as exc:
            error("render", _mismatch_message(config.out, exc))
            return EXIT_USAGE
        except SpendRefused as exc:
            error("render", str(exc))
            return EXIT_USAGE
    rows = summary_rows(report, out=config.out, download=config.download)
    reporter.summary("Summary", rows)
    print_outcome_notes(report, reporter, resume=resume)
    return report.exit_code


def _mismatch_message(out: Path, exc: CommandMismatch) -> str:
    shown = ", ".join(exc.inputs[:3])
    more = f" and {len(exc.inputs) - 3} more" if len(exc.inputs) > 3 else ""
    return (
        f"--out {out} holds the journal of a different command: {shown}{more} "
        "were sent with another script, voice or options. Run the same "
        "command to resume it, or add --fresh to start a new journal (the old "
        "one is kept aside, nothing is lost), or --retry-failed to re-send the "
        "failed jobs with these settings (paid again; completed jobs are kept)."
    )


def render(
    args: argparse.Namespace, environ: Mapping[str, str], argv: Sequence[str]
) -> int:
    """Run ``heygen-async render``; see the module docstring."""
    if (problem := campaign.check_args(args)) is not None:
        error("render", problem)
        return EXIT_USAGE
    if args.dry_run:
        return dry_run(args, environ)
    try:
        jobs = collect(args.inputs, _defaults(args))
    except InputError as exc:
        error("render", str(exc))
        return EXIT_USAGE
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        error("render", f"--out {out}: cannot use it ({exc.strerror or exc})")
        return EXIT_USAGE
    poll = poll_policy(args.poll_interval)
    try:
        coordinator = campaign.make_coordinator(args)
    except ImportError as exc:  # the redis extra
        error("render", str(exc))
        return EXIT_USAGE
    try:
        client = make_client(args, environ, poll=poll, coordinator=coordinator)
    except HeyGenError as exc:  # ConfigurationError
        error("render", str(exc))
        return EXIT_USAGE
    config = RunConfig(
        out=out,
        max_in_flight=args.max_in_flight,
        deadline=args.deadline,
        poll=poll,
        download=args.download,
        json=args.json,
        emit=args.json or not sys.stdout.isatty(),
        fresh=args.fresh,
        retry_failed=args.retry_failed,
    )
    reporter = make_reporter(environ=environ, plain=args.json)
    spend = functools.partial(
        SpendCheck,
        client=client,
        pricing=pricing(args),
        show=reporter.summary,
        yes=args.yes,
        confirm_over=args.confirm_over,
        interactive=sys.stdin.isatty() and sys.stderr.isatty(),
    )
    if args.redis is not None:  # several machines, one campaign
        return campaign.render(
            client, jobs, config, args, environ, check_voices=check_voices, spend=spend
        )
    resume = resume_command(argv)
    return asyncio.run(_render(client, jobs, config, reporter, resume, spend))


def dry_run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """
    ``render --dry-run``: every check and the plan; no upload, no create.

    Every problem is listed at once: bad files and rows, then unknown voice
    ids of the good rows. Exits 0 if the run would start, 2 if not.
    """
    try:
        jobs, problems = collect_all(args.inputs, _defaults(args))
        client = make_client(args, environ)
    except (InputError, HeyGenError) as exc:  # HeyGenError: ConfigurationError
        error("render", str(exc))
        return EXIT_USAGE

    async def check() -> Plan:
        async with client:
            problems.extend(await voice_problems(client, jobs))
            return await make_plan(client, jobs, pricing(args))

    try:
        plan = asyncio.run(check())
    except HeyGenError as exc:
        return precheck_failed("render", exc)
    if args.json:
        print(json.dumps({**plan.to_json(), "problems": problems}))
    else:
        print("Plan (dry run: nothing was uploaded or created)")
        width = max(len(label) for label, _ in plan.rows())
        for label, value in plan.rows():
            print(f"  {label.ljust(width)}  {value}")
    if problems:
        error("render", f"{len(problems)} problems:\n{fold_problems(problems)}")
        return EXIT_USAGE
    if plan.over_balance and not args.yes:
        error("render", over_balance(plan))
        return EXIT_USAGE
    error("render", "dry run: everything checks out; run without --dry-run to start")
    return EXIT_OK


def resume_command(argv: Sequence[str]) -> str:
    """
    The command that was run, to run again; an API key is never repeated.

    A key given with ``--api-key`` is left out, with a line saying to export
    it: ``"$HEYGEN_API_KEY"`` would be empty in a shell that never set it.
    """
    words: list[str] = []
    skip_next = from_flag = False
    for word in argv:
        if skip_next:
            skip_next = False
        elif word == "--api-key":
            skip_next = from_flag = True
        elif word.startswith("--api-key="):
            from_flag = True
        else:
            words.append(shlex.quote(word))
    command = " ".join(["heygen-async", *words])
    if not from_flag:
        return command
    return (
        "export HEYGEN_API_KEY=...   # the key was given with --api-key: export "
        f"it instead (flags show up in process lists)\n  {command}"
    )
