"""
The ``heygen-async`` command line (also ``python -m heygen_async``).

Commands:

- ``demo``: render the bundled sample portraits on an embedded fake server;
  no API key, no network, no cost (``demo``, ``samples``).
- ``render``: photos, folders, globs or a CSV/JSONL manifest in, MP4s out,
  resumable (``render``, ``inputs``, ``run``, ``results``, ``progress``).
  Before sending it estimates the cost and compares it with the balance;
  ``--dry-run`` checks everything and prints the plan, sending nothing paid
  (``cost``).
- ``voices``, ``status``, ``account`` and ``download``: look up voices,
  video statuses (``--url`` for fresh links) and the balance; save finished
  videos by id (``query``).
- ``render --redis URL --campaign NAME --shards K`` on every machine, and
  ``results`` for the whole campaign's ``results.jsonl`` (``campaign``).
- ``fake-server``: run :class:`~heygen_async.testing.FakeHeyGen` in the
  foreground; its first line on stdout is the URL, so scripts and tests can
  start it with ``--port 0``, and the next ones the ``export`` lines to paste
  (``--base-url`` also points any command at it). ``--webhook-url`` registers
  an endpoint and prints its secret.
  ``--fault`` and ``--create-delay`` make it misbehave on purpose, to rehearse
  outages, truncated answers and crashes from the shell (``fake_server``).

``parser`` builds the argument parser; ``common`` holds what every command
shares. Only ``demo`` and ``fake-server`` load the fake server, and only when
they run.

Configuration comes from flags, then ``HEYGEN_API_KEY`` / ``HEYGEN_API_BASE``.
``-v`` (or ``HEYGEN_LOG=info``) shows the SDK's log, ``-vv`` (``debug``) all
of it, in the CLI's ``heygen-async: LEVEL message`` format.
Data goes to stdout, progress and messages to stderr.

Exit codes:

=====  ==============================================================
 0     success: every video completed (and was downloaded)
 1     some job failed or timed out, a video failed or is unknown
       (``status``), or the API could not be used
 2     usage error or bad input (nothing was submitted), a rejected API
       key, --out in use by another run, --out holding another
       command's journal, an estimate above the balance (without
       --yes) or a run not confirmed; ``render --dry-run``: the run
       would not start
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

from .common import EXIT_USAGE, log_handler, log_level, sdk_logging
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
    env = os.environ if environ is None else environ
    # The SDK's log (retries before a run starts, -v) in the CLI's format.
    with sdk_logging(log_handler(), log_level(getattr(args, "verbose", 0), env)):
        return command(args, env)


def run() -> NoReturn:
    """Console-script entry point."""
    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C outside a run's own signal handling
        code = 128 + signal.SIGINT
    sys.exit(code)
