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
import sys
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
    balance_of,
)

from .common import positive_float
from .inputs import Job


__all__ = ["Plan", "add_cost_options", "confirm", "make_plan", "pricing"]


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
        help="on a terminal, ask before a run estimated above CREDITS",
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

    def rows(self) -> list[tuple[str, str]]:
        """The plan as ``label, value`` rows."""
        unknown = self.estimate.unknown
        length = f"{self.estimate.seconds:,.0f} s (estimated)"
        if unknown:
            length += f"; {unknown} audio jobs of unknown length not counted"
        rows = [
            ("jobs", str(self.jobs)),
            ("uploads", f"{self.uploads} distinct images"),
            (
                "creates",
                f"up to {self.jobs} (jobs a journal already holds are not re-sent)",
            ),
            ("video", length),
            ("cost", f"~{self.cost:,.2f} {self.unit} (estimated)"),
        ]
        if self.balance is None:
            rows.append(("balance", "unknown (the account did not say)"))
        else:
            plan = f", {self.balance.plan}" if self.balance.plan else ""
            rows.append(("balance", f"{self.balance.amount:,.2f} {self.unit}{plan}"))
        return rows


def _distinct_uploads(jobs: Sequence[Job]) -> int:
    """Local images by content: the client uploads each distinct one once."""
    digests = set()
    for job in jobs:
        path = job.request.image_path
        if path is not None:
            digests.add(hashlib.sha256(Path(path).read_bytes()).hexdigest())
    return len(digests)


async def make_plan(client: Client, jobs: Sequence[Job], rates: Pricing) -> Plan:
    """
    The plan for *jobs*, with the balance if the account tells it.

    Raises:
        AuthenticationError: The key was rejected.
    """
    try:
        balance = balance_of(await client.get_me())
    except AuthenticationError:
        raise
    except HeyGenError:
        balance = None  # some keys may not read the account: run on
    return Plan(
        jobs=len(jobs),
        uploads=_distinct_uploads(jobs),
        estimate=client.estimate([job.request for job in jobs], pricing=rates),
        balance=balance,
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
        f"--confirm-over {over:g}.",
        file=sys.stderr,
        flush=True,
    )
    try:
        answer = ask("Start it? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
