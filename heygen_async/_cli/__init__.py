"""
The ``heygen-async`` command line (also ``python -m heygen_async``).

Commands:

- ``demo``: render the bundled sample portraits on an embedded fake server;
  no API key, no network, no cost (``demo``, ``samples``).
- ``render``: photos, folders, globs or a CSV/JSONL manifest in, MP4s out,
  resumable (``render``, ``inputs``, ``run``, ``results``, ``progress``).
- ``voices`` and ``status``: look up voices and video statuses (``query``).
- ``render --redis URL --campaign NAME --shards K`` on every machine, and
  ``results`` for the whole campaign's ``results.jsonl`` (``campaign``).
- ``fake-server``: run :class:`~heygen_async.testing.FakeHeyGen` in the
  foreground; its first line on stdout is the URL, so scripts and tests can
  start it with ``--port 0``. ``--base-url`` points any command at it.
  ``--fault`` and ``--create-delay`` make it misbehave on purpose, to rehearse
  outages, truncated answers and crashes from the shell (``fake_server``).

``parser`` builds the argument parser; ``common`` holds what every command
shares. Only ``demo`` and ``fake-server`` load the fake server, and only when
they run.

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

import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from .common import EXIT_USAGE
from .parser import Command, build_parser


__all__ = ["build_parser", "main", "run"]


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
