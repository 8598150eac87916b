"""
Waits between tries: the only module that imports ``backoff``.

We use backoff as a math library (its wait generators and jitter), not its
decorators: those fix their settings at import time, measure ``max_time`` on
the wall clock and cannot share a client-wide Retry-After. Every loop that
waits between tries takes its waits from here: HTTP retries (``_http``, which
decides *whether* to retry in ``_retry``), video downloads and avatar polls.
If the archived package ever breaks, only this file changes.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator, Iterator

import backoff

from ._config import PollPolicy, RetryPolicy


__all__ = ["Waits", "attempts", "poll_waits", "waits"]


class Waits:
    """
    An endless stream of waits, in seconds, that can be looked at first.

    :meth:`peek` draws the next wait (jitter included) without using it, so a
    pure decision can weigh it; :meth:`take` (or :func:`next`) uses it.
    """

    def __init__(self, source: Iterator[float]) -> None:
        self._source = source
        self._next: float | None = None

    def __iter__(self) -> Iterator[float]:
        return self

    def __next__(self) -> float:
        return self.take()

    def peek(self) -> float:
        """The next wait, drawn once and kept until taken."""
        if self._next is None:
            self._next = next(self._source)
        return self._next

    def take(self) -> float:
        """The next wait, used up."""
        wait = self.peek()
        self._next = None
        return wait


def waits(policy: RetryPolicy) -> Waits:
    """
    The computed waits before each retry of one call.

    Exponential from *wait_initial*, doubling, capped at *wait_max*, with full
    jitter (uniform in ``[0, wait]``) when the policy asks for it. Every value
    lies in ``[0, wait_max]``.
    """
    return Waits(_retry_waits(policy))


def _retry_waits(policy: RetryPolicy) -> Iterator[float]:
    gen = backoff.expo(base=2, factor=policy.wait_initial, max_value=policy.wait_max)
    next(gen)  # backoff's generators yield None first (their .send() protocol)
    while True:
        value = min(float(next(gen)), policy.wait_max)
        yield backoff.full_jitter(value) if policy.jitter else value


def poll_waits(policy: PollPolicy) -> Waits:
    """
    The waits between polls of one job, as :class:`PollPolicy` describes.

    *interval_initial* first, then *multiplier* times longer each time up to
    *interval_max*, each multiplied by a random factor in
    ``[1 - jitter, 1 + jitter]``.
    """
    return Waits(_poll_waits(policy))


def _poll_waits(policy: PollPolicy) -> Iterator[float]:
    gen = backoff.expo(
        base=policy.multiplier,
        factor=policy.interval_initial,
        max_value=policy.interval_max,
    )
    next(gen)  # the .send() protocol's None
    next(gen)  # the first interval is interval_initial itself, never capped
    intervals = itertools.chain([policy.interval_initial], gen)
    for interval in intervals:
        yield float(interval) * random.uniform(1 - policy.jitter, 1 + policy.jitter)


async def attempts(
    pauses: Iterator[float], *, deadline: float | None
) -> AsyncIterator[int]:
    """
    Number the tries of a loop and sleep between them.

    Yields ``1`` at once, then sleeps the next of *pauses* before each later
    try. No sleep runs past *deadline* seconds after the first try; once that
    has passed, the iteration ends instead (the caller raises its timeout).
    """
    started = time.monotonic()
    for number in itertools.count(1):
        yield number
        wait = next(pauses)
        if deadline is not None:
            left = deadline - (time.monotonic() - started)
            if left <= 0:
                return
            wait = min(wait, left)
        await asyncio.sleep(wait)
