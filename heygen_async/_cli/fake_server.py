"""
``heygen-async fake-server``: :class:`~heygen_async.testing.FakeHeyGen` in the
foreground.

Its first line on stdout is the URL, so scripts and tests can start it with
``--port 0``; the next lines are the ``export HEYGEN_API_BASE=...
HEYGEN_API_KEY=...`` to paste into a shell. ``--fault`` and
``--create-delay`` make it misbehave on purpose; ``--webhook-url`` registers
an endpoint (its secret is printed) and ``--webhook-scheme`` picks how
deliveries are signed.

This module imports the fake server (and with it ``aiohttp.web``), so the
parser loads it only when ``fake-server`` is the command being run. An
option that mirrors a ``FakeHeyGen`` field takes that field's name as its
destination and the field's default as its own: the numbers are stated once,
on the class.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import shlex
import signal
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from heygen_async import Client, HeyGenError
from heygen_async.testing import FakeHeyGen, Fault


__all__ = ["add_arguments", "fake_server"]

_FIELDS = inspect.signature(FakeHeyGen).parameters


def _default(name: str) -> Any:
    """``FakeHeyGen``'s default for its field *name*."""
    return _FIELDS[name].default


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
faults (--fault {Fault.SPEC}, repeatable):
  KIND         {", ".join(Fault.KINDS)}
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Give the ``fake-server`` subcommand its options, epilog and command."""
    parser.epilog = _FAULT_EPILOG
    _add_listen_options(parser)
    _add_render_options(parser)
    _add_limit_options(parser)
    _add_fault_options(parser)
    _add_webhook_options(parser)
    parser.set_defaults(command=fake_server)


def _webhook_url(text: str) -> str:
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        msg = f"expected an http(s) URL, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return text


def _add_webhook_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--webhook-url",
        type=_webhook_url,
        dest="webhook_urls",
        action="append",
        default=[],
        metavar="URL",
        help="register URL for signed deliveries when the server starts and "
        "print its secret (repeatable)",
    )
    add(
        "--webhook-scheme",
        choices=("heygen", "standard"),
        default=_default("webhook_scheme"),
        help="how deliveries are signed: HeyGen's Heygen-Signature or the "
        "Standard Webhooks headers (default: %(default)s)",
    )
    add(
        "--webhook-delay",
        type=_create_delay,
        default=_default("webhook_delay"),
        metavar="SECONDS",
        help="deliver every webhook SECONDS late (default: %(default)s)",
    )


def _add_listen_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--host",
        default=_default("host"),
        help="interface to bind (default: %(default)s)",
    )
    # A server in the foreground wants a known port, not FakeHeyGen's 0.
    add(
        "--port",
        type=int,
        default=8080,
        help="port; 0 picks a free one (default: %(default)s)",
    )
    add(
        "--api-key",
        default=_default("api_key"),
        help="key clients must send (default: %(default)s)",
    )


def _add_render_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    # Renders a person can watch, not FakeHeyGen's test-speed default.
    add(
        "--render-seconds",
        type=_render_seconds,
        default=(5.0, 15.0),
        metavar="SECONDS|LOW:HIGH",
        help="render time per video, fixed or a range (default: 5:15)",
    )
    add(
        "--failure-rate",
        type=float,
        default=_default("failure_rate"),
        help="share of videos that fail",
    )
    add(
        "--silent-failure-rate",
        type=float,
        default=_default("silent_failure_rate"),
        help="share of failures reported without a reason (default: %(default)s)",
    )


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--concurrency-limit",
        type=_limit,
        default=_default("concurrency_limit"),
        help="unfinished videos at once; 'none' for no cap (default: %(default)s)",
    )
    add(
        "--requests-per-second",
        type=float,
        default=_default("requests_per_second"),
        help="rate limit (default: none)",
    )
    add(
        "--retry-after",
        type=float,
        default=_default("retry_after"),
        help="Retry-After seconds on 429s",
    )
    add(
        "--url-ttl",
        type=float,
        default=_default("url_ttl"),
        help="seconds a media URL stays valid",
    )
    # Training a person can watch, as for --render-seconds.
    add(
        "--avatar-training-seconds",
        type=float,
        default=5.0,
        help="photo avatar training time",
    )
    add(
        "--credits",
        type=int,
        default=_default("credits"),
        help="credits available (default: unlimited)",
    )
    add(
        "--no-bulk-statuses",
        dest="bulk_statuses",
        action="store_false",
        default=_default("bulk_statuses"),
        help="answer GET /v3/videos/statuses with 404",
    )
    add(
        "--in-progress-status",
        default=_default("in_progress_status"),
        help="status reported while rendering",
    )


def _add_fault_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--seed",
        type=int,
        default=_default("seed"),
        help="random seed (default: %(default)s)",
    )
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


async def _announce(fake: FakeHeyGen, webhook_urls: Sequence[str]) -> None:
    """The lines to paste into a shell, and each webhook endpoint's secret."""
    for url in webhook_urls:
        async with Client(api_key=fake.api_key, base_url=fake.url) as client:
            endpoint = await client.create_webhook_endpoint(url)
        print(f"webhook endpoint {endpoint.id} -> {url} (secret: {endpoint.secret})")
    print(
        "# paste into your shell to point heygen-async and the SDK here:\n"
        f"export HEYGEN_API_BASE={shlex.quote(fake.url)}\n"
        f"export HEYGEN_API_KEY={shlex.quote(fake.api_key)}",
        flush=True,
    )


async def _serve(fake: FakeHeyGen, webhook_urls: Sequence[str] = ()) -> None:
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
            await _announce(fake, webhook_urls)
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


def _fake_heygen(args: argparse.Namespace) -> FakeHeyGen:
    """The server the options describe: each one named after its field."""
    given = {name: value for name, value in vars(args).items() if name in _FIELDS}
    given["faults"] = _fake_server_faults(args)
    return FakeHeyGen(**given)


def fake_server(args: argparse.Namespace, _environ: Mapping[str, str]) -> int:
    """Run ``heygen-async fake-server`` until Ctrl-C or SIGTERM."""
    try:
        fake = _fake_heygen(args)
    except ValueError as exc:
        print(f"heygen-async fake-server: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(fake, args.webhook_urls))
    except OSError as exc:
        where = f"{args.host}:{args.port}"
        print(
            f"heygen-async fake-server: cannot listen on {where}: {exc}",
            file=sys.stderr,
        )
        return 1
    except (HeyGenError, ValueError) as exc:  # a --webhook-url refused
        print(f"heygen-async fake-server: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - only without signal handlers
        pass
    return 0
