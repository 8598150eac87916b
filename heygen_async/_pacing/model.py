"""
An online model of render duration, learned from completed videos.

A finished video says ``created_at`` and ``completed_at`` in server time, so
every job the client waits on shows how long its render took. Duration grows
with the length of the video, so the model is a Bayesian linear regression of
``log(duration)`` on what the request says: the speech length (script
characters, or audio seconds when known), the resolution and avatar vs image.

The prior is deliberately weak: a median of 120 s with a log-spread of 0.8
(so 5 to 95 % is roughly 32 to 445 s), the spread worth :data:`PRIOR_WEIGHT`
observation and the coefficients less. Until
:attr:`RenderModel.min_observations` renders are seen, :meth:`RenderModel.predict`
returns the prior (marked ``prior``: the scheduler only uses it to stop
backing off once a render may be done). While durations scatter more than
:attr:`RenderModel.max_sigma` around the fit (they carry no usable signal) it
returns ``None`` and the scheduler keeps its plain
:class:`~heygen_async.PollPolicy` cadence; that verdict waits for
:attr:`RenderModel.verdict_observations` renders (three scatter widely by
chance), and the prior stands until then.
"""

from __future__ import annotations

import math
from datetime import datetime

import attrs

from heygen_async._models import Video, VideoRequest


__all__ = ["Prediction", "RenderFeatures", "RenderModel"]

#: Speaking rate used to turn script characters into seconds of speech.
CHARS_PER_SECOND = 15.0
#: The prior median render duration, seconds.
PRIOR_MEDIAN = 120.0
#: The prior spread of ``log(duration)``.
PRIOR_SIGMA = 0.8
#: How many observations the prior spread is worth.
PRIOR_WEIGHT = 1.0
# Length enters as log(speech + _OVERHEAD): a render's time is roughly a fixed
# overhead plus a multiple of the speech, and this keeps that nearly linear.
_OVERHEAD = 15.0
# The speech length the intercept stands for, seconds.
_CENTER = math.log(30.0 + _OVERHEAD)
# Prior precision of each coefficient, in observations: intercept, length,
# 1080p, 4k, avatar. Weak, so a few renders outweigh it; a column no request
# has used yet stays at its prior of zero.
_PRIOR_PRECISION = (0.2, 0.2, 0.5, 0.5, 0.5)
_DIM = len(_PRIOR_PRECISION)


@attrs.frozen(kw_only=True)
class RenderFeatures:
    """What a request says about how long its render may take."""

    speech_seconds: float | None = None
    resolution: str | None = None
    avatar: bool = False

    @classmethod
    def of(cls, request: VideoRequest) -> RenderFeatures:
        """The features of *request* (script length; audio length is unknown)."""
        speech = None
        if request.script is not None:
            speech = len(request.script) / CHARS_PER_SECOND
        return cls(
            speech_seconds=speech,
            resolution=request.resolution,
            avatar=request.avatar_id is not None,
        )

    def vector(self) -> tuple[float, ...]:
        """The regression inputs: 1, centred log length, 1080p, 4k, avatar."""
        length = 0.0
        if self.speech_seconds is not None:
            length = math.log(self.speech_seconds + _OVERHEAD) - _CENTER
        return (
            1.0,
            length,
            1.0 if self.resolution == "1080p" else 0.0,
            1.0 if self.resolution == "4k" else 0.0,
            1.0 if self.avatar else 0.0,
        )


_PLAIN = RenderFeatures()


@attrs.frozen
class Prediction:
    """A lognormal render duration: ``log(seconds) ~ N(mu, sigma²)``."""

    mu: float
    sigma: float
    prior: bool = False

    @property
    def median(self) -> float:
        """The median duration, seconds."""
        return math.exp(self.mu)


#: What is assumed before any render is seen.
PRIOR = Prediction(math.log(PRIOR_MEDIAN), PRIOR_SIGMA, prior=True)


def render_seconds(video: Video) -> float | None:
    """``completed_at - created_at`` of a completed *video*, if both are known."""
    start, end = video.created_at, video.completed_at
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return None
    seconds = (end - start).total_seconds()
    return seconds if seconds > 0 else None


class RenderModel:
    """
    The per-client duration model; see the module docstring.

    Attributes:
        observations: Durations learned from.
        version: Bumped on every update, so cached predictions can tell.
        min_observations: Renders seen before predictions are made.
        max_sigma: A wider residual spread means "no signal": no prediction.
        verdict_observations: Renders seen before "no signal" is believed;
            before that a wide spread keeps the prior.
    """

    def __init__(
        self,
        *,
        min_observations: int = 3,
        max_sigma: float = 0.75,
        verdict_observations: int = 8,
    ) -> None:
        self.min_observations = min_observations
        self.max_sigma = max_sigma
        self.verdict_observations = verdict_observations
        self.observations = 0
        self.version = 0
        prior = (math.log(PRIOR_MEDIAN), 0.0, 0.0, 0.0, 0.0)
        self._a = [[0.0] * _DIM for _ in range(_DIM)]
        for i, precision in enumerate(_PRIOR_PRECISION):
            self._a[i][i] = precision
        self._b = [p * m for p, m in zip(_PRIOR_PRECISION, prior, strict=True)]
        self._w = list(prior)
        # The data alone (no prior): sums of x x', x y and y², for residuals.
        self._xx = [[0.0] * _DIM for _ in range(_DIM)]
        self._xy = [0.0] * _DIM
        self._yy = 0.0
        self._sigma = PRIOR_SIGMA
        self._cache: dict[RenderFeatures, Prediction] = {}

    @property
    def sigma(self) -> float:
        """The spread of ``log(duration)`` around the fit, prior included."""
        return self._sigma

    @property
    def informative(self) -> bool:
        """Enough renders seen, and they cluster around the fit."""
        return (
            self.observations >= self.min_observations and self._sigma <= self.max_sigma
        )

    def observe(self, seconds: float, features: RenderFeatures | None = None) -> None:
        """Learn from one render that took *seconds* (server time)."""
        if not seconds > 0 or math.isinf(seconds):
            return
        x = (features or _PLAIN).vector()
        y = math.log(seconds)
        for i in range(_DIM):
            self._b[i] += x[i] * y
            self._xy[i] += x[i] * y
            for j in range(_DIM):
                self._a[i][j] += x[i] * x[j]
                self._xx[i][j] += x[i] * x[j]
        self._yy += y * y
        self._w = _solve(self._a, self._b)
        self.observations += 1
        self.version += 1
        self._cache.clear()
        # Residuals of the current fit, from the sums; two degrees of freedom
        # go to the fit, so three renders cannot look perfectly explained.
        w = self._w
        rss = self._yy - 2 * _dot(w, self._xy)
        rss += sum(w[i] * _dot(self._xx[i], tuple(w)) for i in range(_DIM))
        dof = PRIOR_WEIGHT + max(self.observations - 2, 0)
        self._sigma = math.sqrt(max(PRIOR_WEIGHT * PRIOR_SIGMA**2 + rss, 0.0) / dof)

    def predict(self, features: RenderFeatures | None = None) -> Prediction | None:
        """The duration of a render with *features*; ``None``: no signal."""
        if self.observations < self.min_observations:
            return PRIOR
        if self._sigma > self.max_sigma:
            return PRIOR if self.observations < self.verdict_observations else None
        features = features or _PLAIN
        if (known := self._cache.get(features)) is not None:
            return known
        x = features.vector()
        # Parameter uncertainty widens predictions far from what was seen.
        spread = _dot(_solve(self._a, list(x)), x)
        sigma = self._sigma * math.sqrt(1.0 + spread)
        prediction = self._cache[features] = Prediction(_dot(self._w, x), sigma)
        return prediction


def _dot(w: list[float], x: tuple[float, ...] | list[float]) -> float:
    return sum(a * b for a, b in zip(w, x, strict=True))


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve ``a @ w = b`` (symmetric positive definite, tiny) by elimination."""
    n = len(b)
    m = [[*row, rhs] for row, rhs in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        lead = m[col][col]
        for r in range(col + 1, n):
            factor = m[r][col] / lead
            if factor:
                for c in range(col, n + 1):
                    m[r][c] -= factor * m[col][c]
    w = [0.0] * n
    for r in range(n - 1, -1, -1):
        w[r] = (m[r][n] - sum(m[r][c] * w[c] for c in range(r + 1, n))) / m[r][r]
    return w
