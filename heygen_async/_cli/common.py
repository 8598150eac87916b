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

from heygen_async import (
    AuthenticationError,
    Client,
    ConfigurationError,
    Coordinator,
    HeyGenError,
    PollPolicy,
    _log,
)

from .inputs import InputError


__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "LOG_FORMAT",
    "add_api_options",
    "add_verbose",
    "error",
    "log_handler",
    "log_level",
    "make_client",
    "non_negative_int",
    "poll_policy",
    "positive_float",
    "positive_int",
    "precheck_failed",
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
    add_verbose(parser, default=argparse.SUPPRESS)


def add_verbose(parser: argparse.ArgumentParser, *, default: object = 0) -> None:
    """``-v`` / ``--verbose``: the SDK's info log, ``-vv`` its debug log."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="show the SDK's log: -v info, -vv debug (also HEYGEN_LOG=info|debug)",
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
    coordinator: Coordinator | None = None,
) -> Client:
    """
    A client from ``--api-key`` / ``--base-url``, then *environ*.

    *coordinator* shares the account's cap with other processes (campaigns).

    Raises:
        ConfigurationError: No API key anywhere, or an unusable base URL.
    """
    if not (args.api_key or environ.get("HEYGEN_API_KEY", "")).strip():
        msg = (
            "no API key: pass --api-key KEY or set HEYGEN_API_KEY (to try "
            "things for free, run 'heygen-async fake-server' and paste its "
            "export lines)"
        )
        raise ConfigurationError(msg)
    return Client(
        api_key=args.api_key,
        base_url=args.base_url,
        poll=poll,
        environ=environ,
        user_agent="heygen-async-cli",
        coordinator=coordinator,
    )


def error(command: str, message: str) -> None:
    """Print ``heygen-async COMMAND: message`` to stderr."""
    print(f"heygen-async {command}: {message}", file=sys.stderr, flush=True)


def precheck_failed(command: str, exc: InputError | HeyGenError) -> int:
    """
    Print why a check before sending failed; the exit code.

    Bad input and a rejected key are usage errors (nothing was sent);
    anything else means HeyGen could not be asked.
    """
    if isinstance(exc, InputError):
        error(command, str(exc))
        return EXIT_USAGE
    if isinstance(exc, AuthenticationError):
        error(command, f"the API key was rejected ({exc})")
        return EXIT_USAGE
    error(command, f"cannot reach HeyGen: {exc}")
    return EXIT_FAILED


LOG_FORMAT = "heygen-async: %(levelname)s %(message)s"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
# The handlers showing the SDK's logs, innermost last: one shows at a time.
_shown: list[logging.Handler] = []


def log_level(verbose: int, environ: Mapping[str, str]) -> int:
    """
    How much of the SDK's log to show: ``-v`` info, ``-vv`` debug.

    ``HEYGEN_LOG=debug|info|warning`` sets it too; the more verbose wins.
    Warnings (retries, ...) are always shown.
    """
    by_flag = (logging.WARNING, logging.INFO)[verbose] if verbose < 2 else logging.DEBUG
    by_env = _LEVELS.get(environ.get("HEYGEN_LOG", "").strip().lower(), logging.WARNING)
    return min(by_flag, by_env)


def log_handler() -> logging.Handler:
    """A stderr handler in the CLI's format (``heygen-async: WARNING ...``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler


@contextlib.contextmanager
def sdk_logging(handler: logging.Handler, level: int | None = None) -> Iterator[None]:
    """
    Show the SDK's log through *handler* meanwhile, instead of the outer one.

    *level* defaults to the enclosing one's (warnings when there is none),
    so a progress display inherits the command's ``-v`` / ``HEYGEN_LOG``.
    """
    logger = _log.logger
    outer = _shown[-1] if _shown else None
    if level is None:
        level = outer.level if outer is not None else logging.WARNING
    handler.setLevel(level)
    saved = logger.level
    logger.setLevel(min(level, logging.WARNING))
    if outer is not None:
        logger.removeHandler(outer)
    logger.addHandler(handler)
    _shown.append(handler)
    try:
        yield
    finally:
        _shown.remove(handler)
        logger.removeHandler(handler)
        logger.setLevel(saved)
        if outer is not None:
            logger.addHandler(outer)
