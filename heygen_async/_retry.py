"""
Whether, and how long, to wait before trying an HTTP call again.

:func:`decide` is a pure function: given a failed try (:class:`Attempt`) and
the error it raised, it returns a :class:`Decision`. It reads no clock, draws
no random number and changes nothing, so every rule below is tested directly.
:class:`Tries` keeps what one call has been through and turns it into the
next :class:`Attempt`; ``_http`` carries out the decision (sleep, throttle,
budget, logs).

The rules (HeyGen documents 429 + ``Retry-After`` on every endpoint; POST is
only safe to repeat with an ``Idempotency-Key``):

- 429 on any method, waiting ``Retry-After`` (or the backoff) shared through
  the throttle, unless it is longer than ``RetryPolicy.retry_after_max``;
- 5xx and transport errors on idempotent methods, and on POST only when it
  carries an ``Idempotency-Key`` (a retried keyed POST is replayed);
- a 2xx we cannot read on a keyed request: the retry replays the stored
  answer, free of the retry budget;
- 409 ``request_in_progress`` on a keyed request, waited out within
  ``RetryPolicy.in_progress_patience`` without spending attempts or budget.

Every retry also needs an attempt left, time left before the policy's
``give_up_after`` and (unless free) a token in the client's retry budget.
"""

from __future__ import annotations

import time
from typing import Literal

import aiohttp
import attrs

from . import _backoff
from ._config import RetryPolicy
from .exceptions import (
    APIError,
    ConflictError,
    HeyGenError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    TransportError,
)


__all__ = ["Attempt", "Decision", "Tries", "decide"]

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "PUT"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # no side effects

_Draw = Literal["backoff", "patience"] | None


@attrs.frozen(kw_only=True)
class Attempt:
    """
    What the decision knows about a try that failed. Strictly private.

    Attributes:
        method: The upper-case HTTP method.
        keyed: The request carries an ``Idempotency-Key``.
        counted: Earlier tries that counted toward ``RetryPolicy.attempts``.
        elapsed: Seconds since the call's first try.
        backoff: The next computed backoff wait, if one is used.
        patience_elapsed: Seconds since the first ``409
            request_in_progress``; ``None`` before one.
        patience_backoff: The next wait while a request is in progress.
        budget: The retry budget can pay for one more retry.
    """

    method: str
    keyed: bool = False
    counted: int = 0
    elapsed: float = 0.0
    backoff: float = 0.0
    patience_elapsed: float | None = None
    patience_backoff: float = 0.0
    budget: bool = True


@attrs.frozen(kw_only=True)
class Decision:
    """
    What to do after a failed try. Strictly private.

    Attributes:
        wait: Seconds before the next try; ``None`` gives up (raise).
        why: A stable event name: ``retry``, ``in_progress``, or why not.
        defer: Hold every request of the client this long (a 429's wait,
            shared through the throttle instead of slept here).
        draws: Which wait of :class:`Attempt` *wait* used up.
        counts: The try counts toward ``RetryPolicy.attempts``.
        spends: The retry asks the budget (which refuses it when *why* is
            ``retry_budget_exhausted``).
    """

    wait: float | None
    why: str
    defer: float | None = None
    draws: _Draw = None
    counts: bool = True
    spends: bool = False


def decide(error: HeyGenError, attempt: Attempt, policy: RetryPolicy) -> Decision:
    """Whether and how long to wait before retrying after *error*."""
    if attempt.keyed and _in_progress(error):
        return _patience(attempt, policy)
    retryable = _wait(error, attempt)
    if retryable is None:
        return Decision(wait=None, why="not_retryable")
    wait, draws = retryable
    defer = None
    if isinstance(error, RateLimitError):
        defer = min(wait, policy.retry_after_max)
        if not policy.retry_on_rate_limit:
            return Decision(wait=None, why="rate_limited", defer=defer)
        if wait > policy.retry_after_max:
            return Decision(wait=None, why="retry_after_too_long", defer=defer)
    if attempt.counted + 1 >= policy.attempts:
        return Decision(wait=None, why="attempts_exhausted", defer=defer)
    remaining = _remaining(policy, attempt.elapsed)
    if remaining is not None and wait >= remaining:
        return Decision(wait=None, why="give_up_after", defer=defer)
    # A 2xx we could not read is not storm load: the budget does not pay.
    spends = not isinstance(error, ResponseValidationError)
    if spends and not attempt.budget:
        return Decision(
            wait=None, why="retry_budget_exhausted", defer=defer, spends=True
        )
    return Decision(wait=wait, why="retry", defer=defer, draws=draws, spends=spends)


def _in_progress(error: HeyGenError) -> bool:
    """Our own earlier try of this keyed request is still running."""
    return isinstance(error, ConflictError) and error.code == "request_in_progress"


def _patience(attempt: Attempt, policy: RetryPolicy) -> Decision:
    """Wait out a ``409 request_in_progress``, free of attempts and budget."""
    left = policy.in_progress_patience - (attempt.patience_elapsed or 0.0)
    remaining = _remaining(policy, attempt.elapsed)
    if remaining is not None:
        left = min(left, remaining)
    wait = min(attempt.patience_backoff, left)
    if left <= 0 or (remaining is not None and wait >= remaining):
        # Waiting out the last of give_up_after would leave no time to ask.
        return Decision(wait=None, why="in_progress_gave_up", counts=False)
    return Decision(wait=wait, why="in_progress", draws="patience", counts=False)


def _wait(error: HeyGenError, attempt: Attempt) -> tuple[float, _Draw] | None:
    """The wait *error* calls for, and its source; ``None``: never retried."""
    replay_safe = attempt.method in _IDEMPOTENT_METHODS or attempt.keyed
    backoff: tuple[float, _Draw] = (attempt.backoff, "backoff")
    if isinstance(error, ResponseValidationError):
        # With the key, asking again replays the stored answer.
        return backoff if attempt.keyed else None
    if isinstance(error, RateLimitError):
        # The server processed nothing: safe to retry on any method.
        return backoff if error.retry_after is None else (error.retry_after, None)
    if isinstance(error, ServerError) or not isinstance(error, APIError):
        # 5xx, transport errors and timeouts.
        return backoff if replay_safe else None
    return None


def _remaining(policy: RetryPolicy, elapsed: float) -> float | None:
    if policy.give_up_after is None:
        return None
    return max(0.0, policy.give_up_after - elapsed)


class Tries:
    """What one logical call has been through, across its tries."""

    def __init__(self, policy: RetryPolicy, method: str) -> None:
        self.policy = policy
        self.effects = method not in _SAFE_METHODS
        self.started = time.monotonic()
        self.sent = 0  # every try
        self.counted = 0  # tries that count toward policy.attempts
        self.maybe_applied = False
        self._waits = _backoff.waits(policy)
        self._patience_waits = _backoff.waits(policy)
        self._patience_started: float | None = None

    def remaining(self) -> float | None:
        """Seconds left before ``give_up_after``; ``None``: no such limit."""
        return _remaining(self.policy, time.monotonic() - self.started)

    def attempt(self, method: str, *, keyed: bool, budget: bool) -> Attempt:
        """The failed try just made, for :func:`decide`."""
        now = time.monotonic()
        patience = self._patience_started
        return Attempt(
            method=method,
            keyed=keyed,
            counted=self.counted,
            elapsed=now - self.started,
            backoff=self._waits.peek(),
            patience_elapsed=None if patience is None else now - patience,
            patience_backoff=self._patience_waits.peek(),
            budget=budget,
        )

    def record(self, decision: Decision) -> None:
        """Use up what *decision* used: an attempt, a wait, patience."""
        if decision.counts:
            self.counted += 1
        if decision.draws == "backoff":
            self._waits.take()
        elif decision.draws == "patience":
            self._patience_waits.take()
            if self._patience_started is None:
                self._patience_started = time.monotonic()

    def judge(self, error: HeyGenError) -> None:
        """Mark *error* ``outcome_unknown`` if the call may have taken effect."""
        if not self.effects:
            return
        ambiguous = _ambiguous(error)
        error.outcome_unknown = ambiguous or (
            self.maybe_applied and not _definite(error)
        )
        self.maybe_applied = self.maybe_applied or ambiguous


def _definite(error: HeyGenError) -> bool:
    """A 4xx that says the request was refused (not 409 or 429)."""
    return (
        isinstance(error, APIError)
        and 400 <= error.status < 500
        and error.status not in (409, 429)
    )


def _ambiguous(error: HeyGenError) -> bool:
    """Whether the try that raised *error* may have been applied."""
    if isinstance(error, RateLimitError):
        return False  # the server processed nothing
    if isinstance(error, TransportError):
        # A connection never made carried no request.
        return not isinstance(error.__cause__, aiohttp.ClientConnectorError)
    return not _definite(error)
