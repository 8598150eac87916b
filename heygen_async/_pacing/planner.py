"""
When a poll is worth making, from predicted render durations.

A bulk status call costs the same for 1 id or 100, so the question is not
"is this job due?" but "is a call due?". Two things make it so:

* **a latency bound**: once a job's render may be done (past the *miss*
  quantile of its predicted time) it is asked about at least every *gap*, so
  a finish is seen within *gap*. While its render is young it costs nothing.
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


__all__ = [
    "Job",
    "done_by",
    "expected_done",
    "group_due",
    "hazard_gap",
    "latency_due",
    "safety_due",
    "zone_age",
]

_NORMAL = NormalDist()
# How far a prediction is trusted when it says a render must be done: early
# in a run the model has seen only the short renders, so it runs fast.
_TRUST = 0.9
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


def zone_age(prediction: Prediction, miss: float) -> float:
    """The render age from which a poll may find it done (its *miss* quantile)."""
    return _age_at(prediction, miss)


def latency_due(
    prediction: Prediction, started: float, last: float, *, gap: float, miss: float
) -> float:
    """
    When to ask next about a job last asked about at *last*.

    Nothing before its render may be done (the *miss* quantile of its
    predicted time): a poll then is almost surely wasted. From there on, a
    poll every *gap*, so a finish is seen within *gap*. A job still young
    is due at the end of its first gap: any call made for other jobs once
    its zone has begun takes it along for free.
    """
    return max(started + zone_age(prediction, miss), last) + gap


def hazard_gap(prediction: Prediction, age: float, *, risk: float) -> float:
    """
    The wait after which a render still running at *age* has finished with
    probability *risk*: short where renders like it tend to end, long while
    it is young or long overdue.
    """
    z = (math.log(max(age, 1e-9)) - prediction.mu) / prediction.sigma
    survive = 1.0 - _NORMAL.cdf(z)
    if survive < 1e-6:  # far past its prediction: the prediction says nothing
        return math.inf
    return _age_at(prediction, 1.0 - (1.0 - risk) * survive) - age


def safety_due(
    prediction: Prediction, started: float, *, quantile: float, grace: float
) -> float:
    """With webhooks on: when a job's delivery is overdue (its *quantile* finish)."""
    return started + _age_at(prediction, quantile) + grace


def expected_done(jobs: Iterable[Job], at: float, lost_rate: float | None) -> float:
    """
    How many *jobs* are expected to have finished since each was last asked.

    With *lost_rate* (webhooks flowing, a share of deliveries lost): how many
    are expected to have finished with their delivery lost, given that none
    has arrived yet for any of them.
    """
    total = 0.0
    for prediction, started, last in jobs:
        before = done_by(prediction, started, last)
        if at <= last or before >= 1.0 - 1e-9:
            continue
        done = (done_by(prediction, started, at) - before) / (1.0 - before)
        total += done if lost_rate is None else _lost(done, lost_rate)
    return total


def _lost(done: float, rate: float) -> float:
    """P(finished and its delivery lost | no delivery yet), by Bayes."""
    done *= _TRUST  # a render far past its prediction may just be slow
    lost = rate * done
    return lost / (lost + 1.0 - done) if lost else 0.0


def group_due(
    jobs: list[Job],
    now: float,
    until: float,
    *,
    threshold: float,
    lost_rate: float | None = None,
) -> float | None:
    """
    The first time before *until* at which :func:`expected_done` reaches
    *threshold*, or ``None`` when it does not.
    """
    if until <= now or expected_done(jobs, until, lost_rate) < threshold:
        return None
    low, high = now, until
    for _ in range(_STEPS):
        mid = (low + high) / 2
        if expected_done(jobs, mid, lost_rate) >= threshold:
            high = mid
        else:
            low = mid
    return high
