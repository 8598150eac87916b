"""
Pieces every ``heygen-async`` subcommand shares: exit codes, options, clients.

Configuration comes from flags first, then the environment the command was
given (``HEYGEN_API_KEY``, ``HEYGEN_API_BASE``), never from a global.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping

from heygen_async import Client, PollPolicy, _log


__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "add_api_options",
    "error",
    "make_client",
    "non_negative_int",
    "poll_policy",
    "positive_float",
    "positive_int",
    "sdk_logging",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_DEFAULT_POLL = PollPolicy()
# How much later polls may stretch, relative to the first (5 s -> 30 s).
_STRETCH = _DEFAULT_POLL.interval_max / _DEFAULT_POLL.interval_initial


def positive_float(text: str) -> float:
    """An argparse type: a number above zero."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        msg = f"expected a number above 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a whole number >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        msg = f"expected a whole number >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_api_options(parser: argparse.ArgumentParser) -> None:
    """``--api-key`` and ``--base-url``, which every API command takes."""
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help="HeyGen API key (default: $HEYGEN_API_KEY; prefer the variable, "
        "flags show up in process lists)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="API root (default: $HEYGEN_API_BASE or https://api.heygen.com); "
        "point it at 'heygen-async fake-server' to try things for free",
    )


def poll_policy(interval: float | None) -> PollPolicy | None:
    """
    The poll cadence for ``--poll-interval``: first poll after *interval*.

    Later polls grow as the default ones do (5 s stretching to 30 s), scaled
    to *interval*; ``None`` keeps the client's default.
    """
    if interval is None:
        return None
    return PollPolicy(
        interval_initial=interval,
        interval_max=max(
            interval, min(_DEFAULT_POLL.interval_max, interval * _STRETCH)
        ),
    )


def make_client(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    *,
    poll: PollPolicy | None = None,
) -> Client:
    """
    A client from ``--api-key`` / ``--base-url``, then *environ*.

    Raises:
        ConfigurationError: No API key anywhere, or an unusable base URL.
    """
    return Client(
        api_key=args.api_key,
        base_url=args.base_url,
        poll=poll,
        environ=environ,
        user_agent="heygen-async-cli",
    )


def error(command: str, message: str) -> None:
    """Print ``heygen-async COMMAND: message`` to stderr."""
    print(f"heygen-async {command}: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def sdk_logging(handler: logging.Handler) -> Iterator[None]:
    """Show the SDK's warnings (retries, ...) through *handler* meanwhile."""
    logger = _log.logger
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
