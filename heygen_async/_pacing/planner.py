"""
When a poll is worth making, from predicted render durations.

A bulk status call costs the same for 1 id or 100, so the question is not
"is this job due?" but "is a call due?". Two things make it so:

* **a latency bound**: a job that may have finished since it was last asked
  about must be seen within *delay* of its finish, except with probability
  *miss*. While its render is young the chance it finished is tiny and the
  poll is far off; near its predicted end the polls come every ~*delay*.
* **the expected harvest**: the expected number of jobs finished since each
  was last asked about, summed over every job in flight, crossing
  *threshold*: then one call is worth making for the whole set.

With webhooks flowing a delivery settles a job within milliseconds, so the
only poll a job needs is a safety net once its delivery is overdue against
its predicted finish (:func:`safety_due`).

Every function here is pure: times are loop seconds, durations lognormal
(:class:`~heygen_async._pacing.model.Prediction`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from statistics import NormalDist

from .model import Prediction


__all__ = ["Job", "done_by", "expected_done", "group_due", "latency_due", "safety_due"]

_NORMAL = NormalDist()
# A job this sure to be done already is overdue: the model no longer speaks
# for it and the caller's plain cadence takes over.
_OVERDUE = 0.999
# Bisection steps for group_due (the horizon / 2**steps resolution).
_STEPS = 12

#: (prediction, started, last asked) for one job in flight.
Job = tuple[Prediction, float, float]


def done_by(prediction: Prediction, started: float, at: float) -> float:
    """Probability that a render started at *started* has finished by *at*."""
    age = at - started
    if age <= 0:
        return 0.0
    return _NORMAL.cdf((math.log(age) - prediction.mu) / prediction.sigma)


def _age_at(prediction: Prediction, probability: float) -> float:
    """The render age by which it has finished with *probability*."""
    z = _NORMAL.inv_cdf(min(max(probability, 1e-9), 1 - 1e-9))
    return math.exp(prediction.mu + prediction.sigma * z)


def latency_due(
    prediction: Prediction,
    started: float,
    last: float,
    *,
    delay: float,
    miss: float,
) -> float | None:
    """
    When to ask next about a job last asked about at *last*.

    The time *t* at which the chance that it finished in ``(last, t - delay]``
    is *miss* of the chance it was still running at *last*: so a finish is
    seen within *delay*, except with probability *miss*. ``None`` once the
    job is overdue against the prediction.
    """
    before = done_by(prediction, started, last)
    if before >= _OVERDUE:
        return None
    age = _age_at(prediction, before + miss * (1.0 - before))
    return max(started + age, last) + delay


def safety_due(
    prediction: Prediction, started: float, *, quantile: float, grace: float
) -> float:
    """With webhooks on: when a job's delivery is overdue (its *quantile* finish)."""
    return started + _age_at(prediction, quantile) + grace


def expected_done(jobs: Iterable[Job], at: float) -> float:
    """How many *jobs* are expected to have finished since each was last asked."""
    total = 0.0
    for prediction, started, last in jobs:
        before = done_by(prediction, started, last)
        if before < 1.0:
            total += (done_by(prediction, started, at) - before) / (1.0 - before)
    return total


def group_due(
    jobs: list[Job], now: float, until: float, *, threshold: float
) -> float | None:
    """
    The first time before *until* at which :func:`expected_done` reaches
    *threshold*, or ``None`` when it does not.
    """
    if until <= now or expected_done(jobs, until) < threshold:
        return None
    low, high = now, until
    for _ in range(_STEPS):
        mid = (low + high) / 2
        if expected_done(jobs, mid) >= threshold:
            high = mid
        else:
            low = mid
    return high
