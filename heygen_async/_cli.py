"""
The ``heygen-async`` command line (also ``python -m heygen_async``).

Subcommands are registered on one argparse parser so each can be added on
its own; ``fake-server`` runs :class:`~heygen_async.testing.FakeHeyGen` in the
foreground, for demos, examples and manual poking with curl. Its first line
on stdout is the URL, so scripts and tests can start it with ``--port 0`` and
read where it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import NoReturn

from heygen_async.testing import FakeHeyGen


Command = Callable[[argparse.Namespace, Mapping[str, str]], int]


def _version() -> str:
    try:
        return metadata.version("heygen-async")
    except metadata.PackageNotFoundError:
        return "unknown"


def _render_seconds(text: str) -> float | tuple[float, float]:
    low, sep, high = text.partition(":")
    try:
        if sep:
            return (float(low), float(high))
        return float(text)
    except ValueError:
        msg = f"expected SECONDS or LOW:HIGH, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _limit(text: str) -> int | None:
    if text.lower() in ("none", "0"):
        return None
    try:
        return int(text)
    except ValueError:
        msg = f"expected a whole number or 'none', got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _add_fake_server(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    parser = commands.add_parser(
        "fake-server",
        help="run a local fake HeyGen v3 API server",
        description="Serve a fake HeyGen v3 API until Ctrl-C or SIGTERM. "
        "The first line on stdout says where it listens.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    add(
        "--port",
        type=int,
        default=8080,
        help="port; 0 picks a free one (default: %(default)s)",
    )
    add(
        "--api-key",
        default="fake-api-key",
        help="key clients must send (default: %(default)s)",
    )
    add(
        "--render-seconds",
        type=_render_seconds,
        default=(5.0, 15.0),
        metavar="SECONDS|LOW:HIGH",
        help="render time per video, fixed or a range (default: 5:15)",
    )
    add("--failure-rate", type=float, default=0.0, help="share of videos that fail")
    add(
        "--silent-failure-rate",
        type=float,
        default=0.25,
        help="share of failures reported without a reason (default: %(default)s)",
    )
    add(
        "--concurrency-limit",
        type=_limit,
        default=10,
        help="unfinished videos at once; 'none' for no cap (default: %(default)s)",
    )
    add(
        "--requests-per-second",
        type=float,
        default=None,
        help="rate limit (default: none)",
    )
    add("--retry-after", type=float, default=1.0, help="Retry-After seconds on 429s")
    add("--url-ttl", type=float, default=3600.0, help="seconds a media URL stays valid")
    add(
        "--avatar-training-seconds",
        type=float,
        default=5.0,
        help="photo avatar training time",
    )
    add(
        "--credits",
        type=int,
        default=None,
        help="credits available (default: unlimited)",
    )
    add(
        "--no-bulk-statuses",
        dest="bulk_statuses",
        action="store_false",
        help="answer GET /v3/videos/statuses with 404",
    )
    add(
        "--in-progress-status",
        default="processing",
        help="status reported while rendering",
    )
    add("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.set_defaults(command=_fake_server)


def build_parser() -> argparse.ArgumentParser:
    """The ``heygen-async`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="heygen-async", description="Tools around HeyGen's v3 image-to-video API."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_fake_server(commands)
    return parser


async def _serve(fake: FakeHeyGen) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
            continue  # Windows, or not the main thread: Ctrl-C still ends asyncio.run
        installed.append(signum)
    try:
        async with fake:
            print(
                f"HeyGen fake server listening on {fake.url} (api key: {fake.api_key})",
                flush=True,
            )
            await stop.wait()
            stats = fake.stats
            print(
                f"stopped after {stats.total_requests} requests, "
                f"{stats.jobs_created} videos",
                file=sys.stderr,
            )
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _fake_server(args: argparse.Namespace, _environ: Mapping[str, str]) -> int:
    try:
        fake = FakeHeyGen(
            api_key=args.api_key,
            host=args.host,
            port=args.port,
            render_seconds=args.render_seconds,
            failure_rate=args.failure_rate,
            silent_failure_rate=args.silent_failure_rate,
            concurrency_limit=args.concurrency_limit,
            requests_per_second=args.requests_per_second,
            retry_after=args.retry_after,
            url_ttl=args.url_ttl,
            avatar_training_seconds=args.avatar_training_seconds,
            credits=args.credits,
            bulk_statuses=args.bulk_statuses,
            in_progress_status=args.in_progress_status,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"heygen-async fake-server: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(fake))
    except OSError as exc:
        where = f"{args.host}:{args.port}"
        print(
            f"heygen-async fake-server: cannot listen on {where}: {exc}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:  # pragma: no cover - only without signal handlers
        pass
    return 0


def main(
    argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> int:
    """Run the command line with *argv*; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    command: Command | None = getattr(args, "command", None)
    if command is None:
        parser.print_help(sys.stderr)
        return 2
    return command(args, os.environ if environ is None else environ)


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
