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
from heygen_async._models import Video, VideoStatus

from . import planner
from .model import PRIOR, Prediction, RenderFeatures, RenderModel, render_seconds


__all__ = ["Paced", "Pacer"]

# A verified delivery this recent means webhooks are flowing: polls become a
# safety net, due once a job's delivery is overdue (this quantile of its
# predicted render time), and are never hurried for admission.
_WEBHOOKS_FRESH = 600.0
_SAFETY_QUANTILE = 0.99
# The expected-harvest check scans every learned job in flight; past this
# many it is skipped and each job's latency bound alone decides.
_GROUP_MAX = 2_000
# With webhooks flowing, one safety-net call for every job in flight is made
# once this many finished jobs are expected to have lost their delivery.
_LOST_PER_CALL = 0.5
# Calls saved against a plain loop (one every target_delay while any job is
# in flight), by not asking about young renders, buy shorter gaps where
# renders tend to end: each gap is the wait in which the job finishes with
# this probability, never under a third of target_delay nor over it. At most
# _SAVED_MAX calls are banked, so an idle stretch buys nothing later.
_RISK = 0.03
_SHORTEST = 1 / 3
_SAVED_MAX = 10.0


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
        enabled: Whether predictions time polls at all. Off when several
            processes share polling: one poller serves waits it never saw
            requested, and its model would pace other processes' slots.
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self.model = RenderModel()
        self.enabled = enabled
        self._delivered_at = -math.inf
        self._group_at: float | None = None
        self._group_dirty = True
        self._delivered = self._lost = 0  # settled by a delivery / by a poll
        self._watched = 0
        self._harvest = False  # some policy wants the expected-harvest call
        # Calls a plain loop would have made, less ours, as of _saved_at
        # (None while nothing is in flight: the loop would not call then).
        self._saved = 0.0
        self._saved_at: float | None = None
        self._target = PollPolicy().delay_target

    def webhooks_flowing(self, now: float) -> bool:
        """A verified delivery settled a wait recently: polls are a safety net."""
        return now - self._delivered_at < _WEBHOOKS_FRESH

    def delivered(self, video: Video, jobs: Sequence[Paced], now: float) -> bool:
        """
        A verified delivery says *video* ended; *jobs* wait on it.

        Returns whether every job's polls should be planned again: webhooks
        just started flowing (polls become a safety net), or the model moved
        (see :meth:`learn`). A delivery rarely carries server times, so our
        own clock, from the first wait to the delivery, is the observation.
        """
        flowing = self.webhooks_flowing(now)
        self._delivered_at = now
        self._delivered += 1
        return self._learn_from(video, jobs, now) or not flowing

    def polled_terminal(self, video: Video, jobs: Sequence[Paced], now: float) -> bool:
        """
        A poll found *video* ended: a lost delivery if webhooks flow, and a
        render time to learn. Returns whether safety nets should be replanned.
        """
        if any(job.active for job in jobs):
            self.found_lost(now)
        return self._learn_from(video, jobs) and self.webhooks_flowing(now)

    def _learn_from(
        self, video: Video, jobs: Sequence[Paced], now: float | None = None
    ) -> bool:
        """
        Learn a completed *video*'s render time from its server times, else
        (given *now*) from our own clock since the first wait on it.
        """
        if video.status is not VideoStatus.COMPLETED or not jobs:
            return False
        seconds = render_seconds(video)
        if seconds is None:
            if now is None:
                return False
            seconds = now - min(job.started for job in jobs)
        return self.learn(seconds, jobs)

    def learned(self, job: Paced) -> bool:
        """Whether *job*'s polls are timed from a prediction."""
        prediction = self.predict(job) if job.policy.learn else None
        return prediction is not None and not prediction.prior

    def watching(self, job: Paced, now: float) -> None:
        """*job* started being waited on."""
        self._watched += 1
        self._target = job.policy.delay_target
        if self._saved_at is None:
            self._saved_at = now

    def idle(self, now: float) -> None:
        """Nothing is in flight any more: a plain loop would stop calling."""
        self._saved = self._spare(now)
        self._saved_at = None

    def _spare(self, now: float) -> float:
        """Calls a plain loop would have made by *now*, less ours."""
        if self._saved_at is None:
            return self._saved
        return min(self._saved + (now - self._saved_at) / self._target, _SAVED_MAX)

    def predict(self, job: Paced) -> Prediction | None:
        """
        *job*'s predicted render time, cached until the model changes.

        Only the prior while fewer than half the jobs watched have finished:
        the first renders to finish are the short ones, so a model learned
        from them alone runs fast (the rest are still running, unseen).
        """
        if not self.enabled:
            return None
        model = self.model
        censored = self._censored()
        version = 2 * model.version + censored
        if job.version != version:
            job.prediction = PRIOR if censored else model.predict(job.features)
            job.version = version
        return job.prediction

    def learn(self, seconds: float, jobs: Sequence[Paced]) -> bool:
        """
        One render took *seconds*: teach the model (once per video).

        Returns whether predictions moved enough that polls planned far
        ahead (webhook safety nets) should be planned again: the first
        prediction, each doubling of the renders seen, and the end of the
        prior-only phase. Replanning on those alone keeps it O(n log n).
        """
        if not any(job.policy.learn for job in jobs):
            return False
        model = self.model
        censored = self._censored()
        model.observe(seconds, jobs[0].features)
        if censored != self._censored():
            return True
        seen = model.observations
        return seen == model.min_observations or (seen > 4 and seen & (seen - 1) == 0)

    def _censored(self) -> bool:
        """Fewer than half the watched jobs have finished: only the prior."""
        return 2 * self.model.observations < self._watched

    def due(self, job: Paced, now: float) -> float | None:
        """
        The next poll from *job*'s predicted render time, or ``None`` to leave
        the plain cadence in charge (no signal in the durations).

        Once the render may be done, a poll every *target_delay*; before that
        none with a learned prediction, and the plain backoff with only the
        prior (too few renders seen, so it may be far off). With webhooks
        flowing, one safety-net poll when the delivery is overdue
        (:meth:`_safety_due`), then the plain cadence.
        """
        policy = job.policy
        if not policy.learn or (prediction := self.predict(job)) is None:
            return None
        if self.webhooks_flowing(now):
            self._group_dirty = True
            safety = self._safety_due(job, prediction)
            return safety if safety > now else None
        due = planner.latency_due(
            prediction,
            job.started,
            job.polled,
            gap=self._gap(job, prediction, now),
            miss=policy.miss,
        )
        if prediction.prior:
            zone = planner.done_by(prediction, job.started, now) >= policy.miss
            return due if zone else None
        self._group_dirty = True
        self._harvest = self._harvest or policy.expected_done is not None
        return due

    def _safety_due(self, job: Paced, prediction: Prediction) -> float:
        """
        When *job*'s delivery is overdue: its predicted finish, after which
        the plain cadence polls every safety-net interval. With learned
        times that finish is the 99th percentile, never before the plain
        cadence's first poll; with only the prior (its 99th percentile is past
        ten minutes) the prior's median plus one interval.
        """
        first = job.started + job.policy.interval_initial
        if prediction.prior:
            return first + prediction.median
        safety = planner.safety_due(
            prediction, job.started, quantile=_SAFETY_QUANTILE, grace=0.0
        )
        return max(safety, first)

    def _gap(self, job: Paced, prediction: Prediction, now: float) -> float:
        """*target_delay*, or less while a whole call is to spare (see _RISK)."""
        target = job.policy.delay_target
        if self._spare(now) < 1.0:
            return target
        zone = planner.zone_age(prediction, job.policy.miss)
        age = max(zone, job.polled - job.started)
        gap = planner.hazard_gap(prediction, age, risk=_RISK)
        return min(max(gap, target * _SHORTEST), target)

    def group_due(
        self, jobs: Iterable[Paced], now: float, until: float
    ) -> float | None:
        """
        When one call for every job is worth making, before *until*.

        Polling: once the expected harvest (jobs finished since last asked)
        reaches the policy's *expected_done*. With webhooks flowing: once
        the expected number of finished jobs whose delivery was lost
        reaches :data:`_LOST_PER_CALL`, at the loss rate seen so far.
        """
        if not self._group_dirty:
            return self._group_at
        self._group_dirty = False
        self._group_at = None
        lost_rate = None
        if self.webhooks_flowing(now):
            lost_rate = self._lost_rate()
        elif not self._harvest:
            return None  # no policy asked for it: no scan of every job
        found: list[planner.Job] = []
        threshold = math.inf
        for job in jobs:
            prediction = job.prediction
            if prediction is None or not job.policy.learn:
                continue
            if prediction.prior and lost_rate is None:
                continue  # the harvest needs learned times; the safety net not
            wanted = job.policy.expected_done if lost_rate is None else _LOST_PER_CALL
            if wanted is None or not job.active:
                continue
            last = job.polled
            if lost_rate is not None:  # not before the plain cadence's first poll
                last = max(last, job.started + job.policy.interval_initial)
            found.append((prediction, job.started, last))
            threshold = min(threshold, wanted)
            if len(found) >= _GROUP_MAX:
                return None
        if found:
            self._group_at = planner.group_due(
                found, now, until, threshold=threshold, lost_rate=lost_rate
            )
        return self._group_at

    def _lost_rate(self) -> float:
        """The share of deliveries lost, from a prior of 1 in 20."""
        return (self._lost + 0.5) / (self._lost + self._delivered + 10.0)

    def found_lost(self, now: float) -> None:
        """A poll, not a delivery, settled a wait: lost, if webhooks flow."""
        if self.webhooks_flowing(now):
            self._lost += 1

    def called(self, now: float) -> None:
        """A call was made: the expected harvest starts again."""
        self._group_at = None
        self._group_dirty = True
        self._saved = self._spare(now) - 1.0
        if self._saved_at is not None:
            self._saved_at = now

    def answered(self, now: float) -> None:
        """A call was answered: a plain loop sleeps *target_delay* from here."""
        if self._saved_at is not None:
            self._saved_at = now
