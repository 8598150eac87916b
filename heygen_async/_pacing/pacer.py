"""
The scheduler's timing advisor: learned render times in, poll times out.

The scheduler keeps its heap and its plain :class:`~heygen_async.PollPolicy`
cadence; for each job it first asks :meth:`Pacer.due`, which answers from the
job's predicted render time, or ``None`` (no prediction yet, no signal in the
durations, or the job overdue against it) to leave the cadence in charge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol

from heygen_async._config import PollPolicy

from . import planner
from .model import Prediction, RenderFeatures, RenderModel


__all__ = ["Paced", "Pacer"]

# A verified delivery this recent means webhooks are flowing: polls become a
# safety net, due once a job's delivery is overdue (this quantile of its
# predicted render time), and are never hurried for admission.
_WEBHOOKS_FRESH = 600.0
_SAFETY_QUANTILE = 0.99
# The expected-harvest check scans every learned job in flight; past this
# many it is skipped and each job's latency bound alone decides.
_GROUP_MAX = 2_000


class Paced(Protocol):
    """What the pacer reads and caches on one watched job."""

    policy: PollPolicy
    features: RenderFeatures | None
    prediction: Prediction | None
    version: int
    started: float
    polled: float

    @property
    def active(self) -> bool:
        """Still waiting for an answer."""


class Pacer:
    """
    Learned timing for one scheduler.

    Attributes:
        model: The render-duration model, shared by every wait on the client.
    """

    def __init__(self) -> None:
        self.model = RenderModel()
        self._delivered_at = -math.inf
        self._group_at: float | None = None
        self._group_dirty = True

    def webhooks_flowing(self, now: float) -> bool:
        """A verified delivery settled a wait recently: polls are a safety net."""
        return now - self._delivered_at < _WEBHOOKS_FRESH

    def delivered(self, now: float) -> None:
        """A verified delivery settled a wait."""
        self._delivered_at = now

    def learned(self, job: Paced) -> bool:
        """Whether *job*'s polls are timed from a prediction."""
        prediction = self.predict(job) if job.policy.learn else None
        return prediction is not None and not prediction.prior

    def predict(self, job: Paced) -> Prediction | None:
        """*job*'s predicted render time, cached until the model changes."""
        model = self.model
        if job.version != model.version:
            job.prediction = model.predict(job.features)
            job.version = model.version
        return job.prediction

    def learn(self, seconds: float, jobs: Sequence[Paced]) -> None:
        """One render took *seconds*: teach the model (once per video)."""
        if any(job.policy.learn for job in jobs):
            self.model.observe(seconds, jobs[0].features)

    def due(self, job: Paced, now: float) -> float | None:
        """
        The next poll from *job*'s predicted render time, or ``None`` to leave
        the plain cadence in charge (no signal in the durations).

        Once the render may be done, a poll every *target_delay*; before that
        none with a learned prediction, and the plain backoff with only the
        prior (too few renders seen, so it may be far off).
        """
        policy = job.policy
        if not policy.learn or (prediction := self.predict(job)) is None:
            return None
        if self.webhooks_flowing(now):
            if prediction.prior:
                return None
            safety = planner.safety_due(
                prediction, job.started, quantile=_SAFETY_QUANTILE, grace=0.0
            )
            return safety if safety > now else None
        due = planner.latency_due(
            prediction,
            job.started,
            job.polled,
            gap=policy.delay_target,
            miss=policy.miss,
        )
        if prediction.prior:
            zone = planner.done_by(prediction, job.started, now) >= policy.miss
            return due if zone else None
        self._group_dirty = True
        return due

    def group_due(
        self, jobs: Iterable[Paced], now: float, until: float
    ) -> float | None:
        """When one call's expected harvest reaches the threshold, before *until*."""
        if not self._group_dirty:
            return self._group_at
        self._group_dirty = False
        self._group_at = None
        if self.webhooks_flowing(now):
            return None
        found: list[planner.Job] = []
        threshold = math.inf
        for job in jobs:
            prediction = job.prediction
            if prediction is None or prediction.prior:
                continue
            if not job.active or not job.policy.learn:
                continue
            if (wanted := job.policy.expected_done) is None:
                continue
            found.append((prediction, job.started, job.polled))
            threshold = min(threshold, wanted)
            if len(found) >= _GROUP_MAX:
                return None
        if len(found) >= threshold:
            self._group_at = planner.group_due(found, now, until, threshold=threshold)
        return self._group_at

    def called(self) -> None:
        """A call was made: the expected harvest starts again."""
        self._group_at = None
        self._group_dirty = True
