"""
What a ``render`` will cost, before it costs anything.

Before sending, ``render`` estimates each job's video seconds and credits
(:func:`heygen_async.Client.estimate`) and compares them with the balance
``GET /v3/users/me`` reports. A run whose estimate is above the balance
stops there unless ``--yes``; on a terminal, a run above ``--confirm-over``
credits asks first. ``--dry-run`` prints the same plan and stops.
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from heygen_async import (
    AuthenticationError,
    Balance,
    Client,
    Estimate,
    HeyGenError,
    Pricing,
    VideoRequest,
    balance_of,
)

from .common import positive_float
from .inputs import Job


__all__ = [
    "Plan",
    "SpendCheck",
    "SpendRefused",
    "add_cost_options",
    "confirm",
    "fetch_balance",
    "make_plan",
    "over_balance",
    "plan_for",
    "pricing",
]


def add_cost_options(parser: argparse.ArgumentParser) -> None:
    """``--dry-run``, ``--yes``, ``--confirm-over`` and the rates."""
    add = parser.add_argument
    add(
        "--dry-run",
        action="store_true",
        help="check everything (files, rows, voice ids, options), print the "
        "plan and its estimated cost, send nothing that is paid; exit 0 if "
        "the run would start, 2 if not",
    )
    add(
        "--yes",
        action="store_true",
        help="start even if the estimate is above the balance, without asking",
    )
    add(
        "--confirm-over",
        type=positive_float,
        metavar="CREDITS",
        help="on a terminal, ask before a run estimated above CREDITS (in the "
        "balance's unit: credits, or USD for a wallet kept in USD)",
    )
    default = Pricing()
    add(
        "--credits-per-second",
        type=positive_float,
        metavar="N",
        default=default.credits_per_second,
        help="your plan's credits per second of video, for estimates "
        "(default: %(default)g, a placeholder)",
    )
    add(
        "--usd-per-second",
        type=positive_float,
        metavar="N",
        default=default.usd_per_second,
        help="USD per second of video, for wallets kept in USD "
        "(default: %(default)g, a placeholder)",
    )


def pricing(args: argparse.Namespace) -> Pricing:
    """The rates the options name."""
    return Pricing(
        credits_per_second=args.credits_per_second, usd_per_second=args.usd_per_second
    )


@attrs.frozen(kw_only=True)
class Plan:
    """What a run would send and what it would cost (estimated)."""

    jobs: int
    uploads: int
    estimate: Estimate
    balance: Balance | None
    sends: int | None = None  # None: a dry run, which does not open the journal

    @property
    def unit(self) -> str:
        """The balance's unit, or credits when it is unknown."""
        return self.balance.unit if self.balance is not None else "credits"

    @property
    def cost(self) -> float:
        """Estimated cost in the balance's unit."""
        return self.estimate.cost(self.unit)

    @property
    def over_balance(self) -> bool:
        """The estimate is above what the account has left."""
        return self.balance is not None and self.cost > self.balance.amount

    def to_json(self) -> dict[str, object]:
        """The plan as one JSON object (``render --dry-run --json``)."""
        balance = self.balance
        return {
            "jobs": self.jobs,
            "uploads": self.uploads,
            "creates": self.jobs if self.sends is None else self.sends,
            "estimated_seconds": round(self.estimate.seconds, 1),
            "unknown_length_jobs": self.estimate.unknown,
            "estimated_cost": round(self.cost, 4),
            "unit": self.unit,
            "balance": balance.amount if balance is not None else None,
            "over_balance": self.over_balance,
        }

    def rows(self) -> list[tuple[str, str]]:
        """The plan as ``label, value`` rows."""
        unknown = self.estimate.unknown
        length = f"{self.estimate.seconds:,.0f} s (estimated)"
        if unknown:
            length += f"; {unknown} audio jobs of unknown length not counted"
        rows = [
            ("jobs", str(self.jobs)),
            ("uploads", f"{self.uploads} distinct images"),
            ("creates", self._creates()),
            ("video", length),
            ("cost", f"~{self.cost:,.2f} {self.unit} (estimated)"),
        ]
        if self.balance is None:
            rows.append(("balance", "unknown (the account did not say)"))
        else:
            plan = f", {self.balance.plan}" if self.balance.plan else ""
            rows.append(("balance", f"{self.balance.amount:,.2f} {self.unit}{plan}"))
        return rows

    def _creates(self) -> str:
        if self.sends is None:
            return f"up to {self.jobs} (jobs the journal already holds are not re-sent)"
        kept = self.jobs - self.sends
        earlier = f"; {kept} sent by an earlier run, not counted" if kept else ""
        return f"{self.sends}{earlier}"


def _distinct_uploads(requests: Sequence[VideoRequest]) -> int:
    """Local images by content: the client uploads each distinct one once."""
    digests = set()
    for request in requests:
        path = request.image_path
        if path is not None:
            digests.add(hashlib.sha256(Path(path).read_bytes()).hexdigest())
    return len(digests)


async def fetch_balance(client: Client) -> Balance | None:
    """
    What the account has left, if it tells (``GET /v3/users/me``).

    Raises:
        AuthenticationError: The key was rejected.
    """
    try:
        return balance_of(await client.get_me())
    except HeyGenError as exc:
        if isinstance(exc, AuthenticationError):
            raise
        return None  # a key that may not read the account: run on


def plan_for(
    client: Client,
    requests: Sequence[VideoRequest],
    rates: Pricing,
    balance: Balance | None,
    *,
    jobs: int | None = None,
) -> Plan:
    """The plan for sending *requests* (of *jobs* in all); reads no network."""
    return Plan(
        jobs=len(requests) if jobs is None else jobs,
        sends=None if jobs is None else len(requests),
        uploads=_distinct_uploads(requests),
        estimate=client.estimate(requests, pricing=rates),
        balance=balance,
    )


async def make_plan(client: Client, jobs: Sequence[Job], rates: Pricing) -> Plan:
    """
    The plan for *jobs*, with the balance if the account tells it.

    Raises:
        AuthenticationError: The key was rejected.
    """
    balance = await fetch_balance(client)
    return plan_for(client, [job.request for job in jobs], rates, balance)


class SpendRefused(Exception):  # noqa: N818 (a CLI outcome, never raised to users)
    """The run stops before sending: over the balance, or not confirmed."""


@attrs.frozen(kw_only=True)
class SpendCheck:
    """
    The check a run makes once it knows which jobs it will send.

    Called with the requests a run would pay for (not those an earlier run
    already sent, whose cost the balance has already paid), before anything
    is sent. Shows the estimate; returns it, or raises :class:`SpendRefused`.
    """

    client: Client
    pricing: Pricing
    balance: Balance | None
    show: Callable[[str, Sequence[tuple[str, str]]], None]
    yes: bool = False
    confirm_over: float | None = None
    interactive: bool = False

    def __call__(self, requests: Sequence[VideoRequest], jobs: int) -> Estimate:
        plan = plan_for(self.client, requests, self.pricing, self.balance, jobs=jobs)
        self.show("Estimate", plan.rows())
        if plan.over_balance and not self.yes:
            raise SpendRefused(over_balance(plan))
        if not confirm(plan, over=self.confirm_over, interactive=self.interactive):
            msg = "not started; nothing was sent"
            raise SpendRefused(msg)
        return plan.estimate


def over_balance(plan: Plan) -> str:
    """Why a run over the balance does not start, and what to do."""
    balance = plan.balance.amount if plan.balance is not None else 0.0
    return (
        f"the estimate (~{plan.cost:,.2f} {plan.unit}) is above the balance "
        f"({balance:,.2f} {plan.unit}); nothing was sent. Top up, render fewer "
        "jobs, or add --yes to start anyway (estimates can be off)"
    )


def confirm(
    plan: Plan,
    *,
    over: float | None,
    interactive: bool,
    ask: Callable[[str], str] = input,
) -> bool:
    """
    On a terminal, ask before a run estimated above *over* credits.

    Off a terminal (or without ``--confirm-over``) nothing is asked.
    """
    if over is None or not interactive or plan.cost <= over:
        return True
    print(
        f"This run is estimated at ~{plan.cost:,.2f} {plan.unit}, above "
        f"--confirm-over {over:g}. Start it? [y/N] ",
        end="",
        file=sys.stderr,  # stdout is for data, and may be a pipe
        flush=True,
    )
    # Ctrl-C at the prompt means no: the run's own handler would only see it
    # once the prompt returned.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main_thread else None
    if main_thread:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        answer = ask("")
    except (EOFError, KeyboardInterrupt):
        return False
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous or signal.SIG_DFL)
    return answer.strip().lower() in ("y", "yes")
