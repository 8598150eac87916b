"""
Backoff waits: the only module that imports ``backoff``.

We use backoff as a math library (its wait generators and jitter), not its
decorators: those fix their settings at import time, measure ``max_time`` on
the wall clock and cannot share a client-wide Retry-After. The retry loop
itself is a plain loop in ``_http``. If the archived package ever breaks, only
this file changes.
"""

from __future__ import annotations

from collections.abc import Iterator

import backoff

from ._config import RetryPolicy


__all__ = ["waits"]


def waits(policy: RetryPolicy) -> Iterator[float]:
    """
    Yield the computed wait before each retry, in seconds.

    Exponential from *wait_initial*, doubling, capped at *wait_max*, with full
    jitter (uniform in ``[0, wait]``) when the policy asks for it. Every value
    lies in ``[0, wait_max]``.
    """
    gen = backoff.expo(base=2, factor=policy.wait_initial, max_value=policy.wait_max)
    next(gen)  # backoff's generators yield None first (their .send() protocol)
    while True:
        value = min(float(next(gen)), policy.wait_max)
        yield backoff.full_jitter(value) if policy.jitter else value
