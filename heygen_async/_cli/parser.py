"""
The ``heygen-async`` argument parser: one small function per subcommand.

Building the parser loads no command's heavy imports: ``demo`` and
``fake-server`` import the fake server (and ``aiohttp.web``) only when they
run, and ``fake-server`` gets its options the first time it is parsed.
"""

from __future__ import annotations

import argparse
import typing
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any, TypeAlias

from heygen_async import VideoRequest

from . import campaign, cost, query, render
from .common import (
    add_api_options,
    add_verbose,
    non_negative_int,
    positive_float,
    positive_int,
)


__all__ = ["Command", "build_parser"]

Command = Callable[[argparse.Namespace, Mapping[str, str]], int]
_Commands: TypeAlias = "argparse._SubParsersAction[_Subparser]"


class _Subparser(argparse.ArgumentParser):
    """
    A subcommand's parser that can be filled in on first use.

    *populate* (if given) adds the arguments the first time the subcommand is
    parsed or its help is shown, so a command whose options need heavy
    imports costs nothing to the others.
    """

    def __init__(
        self,
        *args: Any,
        populate: Callable[[argparse.ArgumentParser], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._populate = populate

    def _populated(self) -> None:
        populate, self._populate = self._populate, None
        if populate is not None:
            populate(self)

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        self._populated()
        return super().parse_known_args(*args, **kwargs)

    def format_usage(self) -> str:
        self._populated()
        return super().format_usage()

    def format_help(self) -> str:
        self._populated()
        return super().format_help()


def _choices(field: str) -> tuple[str, ...]:
    """The values a :class:`VideoRequest` field's ``Literal`` type allows."""
    hint = typing.get_type_hints(VideoRequest)[field]  # Literal[...] | None
    return tuple(v for arg in typing.get_args(hint) for v in typing.get_args(arg))


def _version() -> str:
    try:
        return metadata.version("heygen-async")
    except metadata.PackageNotFoundError:
        return "unknown"


def _add_fake_server(commands: _Commands) -> None:
    commands.add_parser(
        "fake-server",
        help="run a local fake HeyGen v3 API server",
        description="Serve a fake HeyGen v3 API until Ctrl-C or SIGTERM. "
        "The first line on stdout says where it listens; the next ones are "
        "the export lines to paste into a shell.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        populate=_fake_server_arguments,
    )


def _fake_server_arguments(parser: argparse.ArgumentParser) -> None:
    from . import fake_server  # loads aiohttp.web

    fake_server.add_arguments(parser)


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
    parser.set_defaults(command=_demo)


def _demo(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from . import demo  # loads aiohttp.web

    return demo.demo(args, environ)


def _add_render(commands: _Commands) -> None:
    parser = commands.add_parser(
        "render",
        help="render a folder of photos (or a manifest) into videos",
        description="Render one video per photo (or manifest row) and download "
        "them into --out. Running the same command again resumes: jobs already "
        "paid for are picked up from the journal in OUT/.heygen, never sent "
        "twice. One run at a time may use an --out; a different script, voice "
        "or options on the same --out is refused (see --fresh and "
        "--retry-failed). Before anything is sent, the run's cost is "
        "estimated and checked against the balance; --dry-run checks and "
        "plans without sending. Results: OUT/results.jsonl.",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="PNG/JPEG files, folders, globs ('photos/**/*.jpg'), image URLs, or "
        "a .csv / .jsonl manifest with one row per video",
    )
    _add_video_options(parser)
    _add_run_options(parser)
    _add_journal_options(parser)
    campaign.add_options(parser)
    cost.add_cost_options(parser)
    add_api_options(parser)
    parser.set_defaults(command=_render)


def _add_video_options(parser: argparse.ArgumentParser) -> None:
    """What each video says and looks like."""
    speech = parser.add_mutually_exclusive_group()
    say = speech.add_argument
    say(
        "--script",
        metavar="TEXT",
        help="what every video says (unless its row has one)",
    )
    say("--script-file", metavar="FILE", help="read the script from this UTF-8 file")
    say("--audio-url", metavar="URL", help="an audio file to lip-sync instead")
    add = parser.add_argument
    add(
        "--voice-id",
        metavar="ID",
        help="voice for the script (see 'heygen-async voices')",
    )
    add("--resolution", choices=_choices("resolution"))
    add("--aspect-ratio", choices=_choices("aspect_ratio"))
    add(
        "--title",
        metavar="TEXT",
        help="video title; {name} is the input's name (default: {name})",
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """How the batch runs and where its results go."""
    add = parser.add_argument
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
        help="do not download; results.jsonl and stdout's last column hold "
        "the URLs (presigned: they expire; 'heygen-async download' gets fresh ones)",
    )
    add("--json", action="store_true", help="one JSON line per video on stdout")


def _add_journal_options(parser: argparse.ArgumentParser) -> None:
    """What to do with the journal an earlier run left in OUT/.heygen."""
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


def _render(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    return render.render(args, environ, args.argv)


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
    parser.set_defaults(command=query.voices)


def _add_status(commands: _Commands) -> None:
    parser = commands.add_parser(
        "status",
        help="show where videos are (bulk status)",
        description="Show the status of videos, 100 per request. Exits 1 if "
        "any failed or is unknown.",
    )
    parser.add_argument("video_ids", nargs="+", metavar="VIDEO_ID")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--url",
        action="store_true",
        help="also show each completed video's URL (freshly presigned; it expires)",
    )
    add_api_options(parser)
    parser.set_defaults(command=query.status)


def _add_account(commands: _Commands) -> None:
    parser = commands.add_parser(
        "account",
        help="show the account's balance, plan and currency",
        description="Who the API key belongs to and what it can spend "
        "(GET /v3/users/me).",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object")
    add_api_options(parser)
    parser.set_defaults(command=query.account)


def _add_download(commands: _Commands) -> None:
    parser = commands.add_parser(
        "download",
        help="download finished videos by id",
        description="Save each video as OUT/VIDEO_ID.mp4 from a freshly "
        "presigned URL; a file appears only once complete. Exits 1 if any "
        "could not be downloaded.",
    )
    parser.add_argument("video_ids", nargs="+", metavar="VIDEO_ID")
    parser.add_argument(
        "--out", default=".", metavar="DIR", help="folder (default: current)"
    )
    add_api_options(parser)
    parser.set_defaults(command=query.download)


def build_parser() -> argparse.ArgumentParser:
    """The ``heygen-async`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="heygen-async",
        description="Tools around HeyGen's v3 image-to-video API. "
        "New here? Run 'heygen-async demo'.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    add_verbose(parser)
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=_Subparser
    )
    _add_demo(commands)
    _add_render(commands)
    _add_voices(commands)
    _add_status(commands)
    _add_account(commands)
    _add_download(commands)
    campaign.add_results_command(commands)
    _add_fake_server(commands)
    return parser
