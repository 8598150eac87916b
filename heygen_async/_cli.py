"""
The ``heygen-async`` command line (also ``python -m heygen_async``).

Commands:

- ``demo``: render the bundled sample portraits on an embedded fake server;
  no API key, no network, no cost.
- ``render``: photos, folders, globs or a CSV/JSONL manifest in, MP4s out,
  resumable (``_cli_render``, ``_cli_inputs``).
- ``voices`` and ``status``: look up voices and video statuses (``_cli_query``).
- ``fake-server``: run :class:`~heygen_async.testing.FakeHeyGen` in the
  foreground; its first line on stdout is the URL, so scripts and tests can
  start it with ``--port 0``. ``--base-url`` points any command at it.
  ``--fault`` and ``--create-delay`` make it misbehave on purpose, to rehearse
  outages, truncated answers and crashes from the shell.

Configuration comes from flags, then ``HEYGEN_API_KEY`` / ``HEYGEN_API_BASE``.
Data goes to stdout, progress and messages to stderr.

Exit codes:

=====  ==============================================================
 0     success: every video completed (and was downloaded)
 1     some job failed or timed out, a video failed or is unknown
       (``status``), or the API could not be used
 2     usage error or bad input (nothing was submitted), --out in use
       by another run, or --out holding another command's journal
 130   interrupted by Ctrl-C (the journal keeps unfinished jobs)
 143   stopped by SIGTERM, as by Ctrl-C (Docker, systemd, Kubernetes)
=====  ==============================================================
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import NoReturn, TypeAlias

from heygen_async import _cli_demo, _cli_query, _cli_render
from heygen_async._cli_common import (
    EXIT_USAGE,
    add_api_options,
    non_negative_int,
    positive_float,
    positive_int,
)
from heygen_async._models import ASPECT_RATIOS, RESOLUTIONS
from heygen_async.testing import FakeHeyGen, Fault
from heygen_async.testing._faults import FAULT_KINDS, FAULT_SPEC


Command = Callable[[argparse.Namespace, Mapping[str, str]], int]
_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


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


def _fault(text: str) -> Fault:
    try:
        return Fault.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _create_delay(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        msg = f"expected SECONDS >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


_FAULT_EPILOG = f"""\
faults (--fault {FAULT_SPEC}, repeatable):
  KIND         {", ".join(FAULT_KINDS)}
  ROUTE        '*' (every /v3 route), POST:/v3/videos, or quoted "POST /v3/videos";
               GET:/v3/videos/statuses, GET:/v3/videos/{{video_id}}, POST:/v3/assets ...
  PROBABILITY  chance of striking each matching request (seeded by --seed)
  PHASE        before (default: the request is never handled) or after (it is
               handled, e.g. the video is created, then the answer is replaced)
  OPTIONS      nth=3,4,5 (strike those matching requests; PROBABILITY may be 0),
               status=502, code=..., delay=SECONDS (slow), retry_after=SECONDS
  The first armed fault that strikes a request wins.

examples:
  heygen-async fake-server --port 0 --fault error:POST:/v3/videos:0.1:status=500
  heygen-async fake-server --fault html:*:0.05:status=502 \\
      --fault malformed:POST:/v3/videos:0.05:after \\
      --fault rate_limit:POST:/v3/videos:0:nth=5,6,7:retry_after=0.5 \\
      --fault "drop:GET /v3/videos/statuses:0.1" --create-delay 2
"""


def _add_fake_server(commands: _Commands) -> None:
    parser = commands.add_parser(
        "fake-server",
        help="run a local fake HeyGen v3 API server",
        description="Serve a fake HeyGen v3 API until Ctrl-C or SIGTERM. "
        "The first line on stdout says where it listens.",
        epilog=_FAULT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    add(
        "--fault",
        dest="faults",
        type=_fault,
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, KIND:ROUTE:PROBABILITY[:PHASE][:OPTION=VALUE...] "
        "(repeatable; see below)",
    )
    add(
        "--create-delay",
        type=_create_delay,
        default=0.0,
        metavar="SECONDS",
        help="answer POST /v3/videos SECONDS after the video is created (and "
        "paid for); a retry meanwhile gets 409 request_in_progress (default: 0)",
    )
    parser.set_defaults(command=_fake_server)


def _add_demo(commands: _Commands) -> None:
    parser = commands.add_parser(
        "demo",
        help="render sample photos on a built-in fake server (no key, no cost)",
        description="Render the bundled sample portraits on an embedded fake "
        "HeyGen (concurrency cap 10, renders of 30-75 s played --speed times "
        "faster), download them, and compare the HTTP requests used with "
        "per-job polling. Needs no API key and no network.",
    )
    add = parser.add_argument
    add(
        "--out",
        default="heygen-demo",
        metavar="DIR",
        help="folder for the videos (%(default)s)",
    )
    add(
        "--speed",
        type=positive_float,
        default=10.0,
        help="how many times faster than real time renders and polls run "
        "(default: %(default)g; e.g. 1000 for a one-second smoke test)",
    )
    add("--failure-rate", type=float, default=0.0, help="share of renders that fail")
    add("--seed", type=int, default=0, help="the fake server's random seed")
    add("--no-download", dest="download", action="store_false", help="skip downloads")
    add("--json", action="store_true", help="one JSON line per video on stdout")
    parser.set_defaults(command=_cli_demo.demo)


def _add_render(commands: _Commands) -> None:
    parser = commands.add_parser(
        "render",
        help="render a folder of photos (or a manifest) into videos",
        description="Render one video per photo (or manifest row) and download "
        "them into --out. Running the same command again resumes: jobs already "
        "paid for are picked up from the journal in OUT/.heygen, never sent "
        "twice. One run at a time may use an --out; a different script, voice "
        "or options on the same --out is refused (see --fresh and "
        "--retry-failed). Results: OUT/results.jsonl.",
    )
    add = parser.add_argument
    add(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="PNG/JPEG files, folders, globs ('photos/**/*.jpg'), image URLs, or "
        "a .csv / .jsonl manifest with one row per video",
    )
    speech = parser.add_mutually_exclusive_group()
    say = speech.add_argument
    say(
        "--script",
        metavar="TEXT",
        help="what every video says (unless its row has one)",
    )
    say("--script-file", metavar="FILE", help="read the script from this UTF-8 file")
    say("--audio-url", metavar="URL", help="an audio file to lip-sync instead")
    add(
        "--voice-id",
        metavar="ID",
        help="voice for the script (see 'heygen-async voices')",
    )
    add("--resolution", choices=RESOLUTIONS)
    add("--aspect-ratio", choices=ASPECT_RATIOS)
    add(
        "--title",
        metavar="TEXT",
        help="video title; {name} is the input's name (default: {name})",
    )
    add(
        "--max-in-flight",
        type=positive_int,
        metavar="N",
        default=10,
        help="renders running at once, your plan's cap (default: %(default)s)",
    )
    add(
        "--deadline",
        type=positive_float,
        metavar="SECONDS",
        help="stop waiting after SECONDS; unfinished jobs resume on the next run",
    )
    add(
        "--poll-interval",
        type=positive_float,
        metavar="SECONDS",
        help="first status poll after SECONDS, later ones up to 3x that "
        "(default: 5, growing to 15)",
    )
    add(
        "--out",
        default="heygen-out",
        metavar="DIR",
        help="output folder (default: %(default)s)",
    )
    add(
        "--no-download",
        dest="download",
        action="store_false",
        help="do not download; results.jsonl still has the URLs",
    )
    add("--json", action="store_true", help="one JSON line per video on stdout")
    journal = parser.add_mutually_exclusive_group()
    journal.add_argument(
        "--fresh",
        action="store_true",
        help="start a new journal in OUT/.heygen (the old one is kept aside "
        "under a dated name): every input is sent and paid again",
    )
    journal.add_argument(
        "--retry-failed",
        action="store_true",
        help="re-send the jobs that failed in earlier runs, with this "
        "command's settings, under NEW Idempotency-Keys: they are paid "
        "again, on purpose; completed and running jobs are kept",
    )
    add_api_options(parser)
    parser.set_defaults(command=_render)


def _render(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    return _cli_render.render(args, environ, args.argv)


def _add_voices(commands: _Commands) -> None:
    parser = commands.add_parser(
        "voices",
        help="list voices for --voice-id",
        description="List voices (a table, or --json lines on stdout).",
    )
    add = parser.add_argument
    add("--language", help="e.g. English")
    add("--gender", choices=("male", "female"))
    add("--type", choices=("public", "private"), help="default: public")
    add("--engine", help="a TTS engine, e.g. starfish")
    add(
        "--limit",
        type=non_negative_int,
        default=50,
        help="at most this many; 0 for all (default: %(default)s)",
    )
    add("--json", action="store_true", help="one JSON object per line")
    add_api_options(parser)
    parser.set_defaults(command=_cli_query.voices)


def _add_status(commands: _Commands) -> None:
    parser = commands.add_parser(
        "status",
        help="show where videos are (bulk status)",
        description="Show the status of videos, 100 per request. Exits 1 if "
        "any failed or is unknown.",
    )
    parser.add_argument("video_ids", nargs="+", metavar="VIDEO_ID")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    add_api_options(parser)
    parser.set_defaults(command=_cli_query.status)


def build_parser() -> argparse.ArgumentParser:
    """The ``heygen-async`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="heygen-async",
        description="Tools around HeyGen's v3 image-to-video API. "
        "New here? Run 'heygen-async demo'.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_demo(commands)
    _add_render(commands)
    _add_voices(commands)
    _add_status(commands)
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


def _fake_server_faults(args: argparse.Namespace) -> list[Fault]:
    """The --fault flags, then --create-delay as a create that answers late."""
    faults: list[Fault] = list(args.faults)
    if args.create_delay > 0:
        faults.append(
            Fault(
                kind="slow",
                route="POST /v3/videos",
                probability=1.0,
                phase="after",
                delay=args.create_delay,
            )
        )
    return faults


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
            faults=_fake_server_faults(args),
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
        return EXIT_USAGE
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return command(args, os.environ if environ is None else environ)


def run() -> NoReturn:
    """Console-script entry point."""
    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C outside a run's own signal handling
        code = 128 + signal.SIGINT
    sys.exit(code)
