"""
Client-wide back-pressure shared by every request and every waiting job.

One :class:`Throttle` per client holds three things peers keep per coroutine
(or not at all): a "not before" time set by any ``Retry-After``, an optional
requests-per-second token bucket, and a retry budget that refuses retries
during an outage so 500 jobs do not turn into a retry storm.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from . import _log


log = _log.http_logger


class RetryBudget:
    """
    A token pool that retries draw from and successes refill.

    Modelled on botocore's "standard" retry quota: a retry costs *retry_cost*
    tokens, a success returns *success_refund*; an empty pool refuses retries
    until successes come back.
    """

    def __init__(
        self, *, capacity: int = 100, retry_cost: int = 5, success_refund: int = 1
    ) -> None:
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.success_refund = success_refund
        self.tokens = capacity
        self.refused = 0

    def try_spend(self) -> bool:
        """Take the cost of one retry, or say no if the pool is too low."""
        if self.tokens < self.retry_cost:
            self.refused += 1
            return False
        self.tokens -= self.retry_cost
        return True

    def refund(self) -> None:
        """A request succeeded: put a little back."""
        self.tokens = min(self.capacity, self.tokens + self.success_refund)


class Throttle:
    """
    Gate every request passes before it is sent.

    Args:
        requests_per_second: Token-bucket rate; ``None`` for no rate limit.
        burst: Bucket size; defaults to one second's worth of requests.
        budget: The retry budget; a fresh default one if omitted.
        clock: Monotonic clock in seconds (tests may inject one).
    """

    def __init__(
        self,
        *,
        requests_per_second: float | None = None,
        burst: float | None = None,
        budget: RetryBudget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if requests_per_second is not None and requests_per_second <= 0:
            msg = f"requests_per_second must be > 0; got {requests_per_second!r}"
            raise ValueError(msg)
        self.rate = requests_per_second
        self.burst = burst if burst is not None else max(1.0, requests_per_second or 1)
        self._tokens = self.burst
        self._clock = clock
        self._stamp = clock()
        self.not_before = 0.0
        self.budget = budget if budget is not None else RetryBudget()
        self.deferrals = 0
        # Told of every Retry-After seen here (a coordinator shares it).
        self.on_defer: Callable[[float], None] | None = None

    def defer(self, seconds: float, *, share: bool = True) -> None:
        """
        Hold every request for *seconds* from now (a shared Retry-After).

        With *share*, :attr:`on_defer` hears of it too; a window that came
        from another process is applied with ``share=False``.
        """
        until = self._clock() + seconds
        if until > self.not_before:
            self.not_before = until
            self.deferrals += 1
            log.info("heygen.throttle_deferred seconds=%.3f", seconds)
        if share and self.on_defer is not None:
            self.on_defer(seconds)

    def delay(self) -> float:
        """Seconds until the shared Retry-After window has passed."""
        return max(0.0, self.not_before - self._clock())

    async def acquire(self) -> None:
        """Wait out any Retry-After window, then take a token if rate-limited."""
        # Re-check after sleeping: another 429 may have pushed the window out.
        while (wait := self.delay()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)
        if self.rate is None:
            return
        while True:
            now = self._clock()
            self._tokens = min(
                self.burst, self._tokens + (now - self._stamp) * self.rate
            )
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate)
