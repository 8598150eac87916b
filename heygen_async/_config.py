"""
Policies and defaults.

All times are float seconds. ``None`` means "no limit". Policies are frozen:
use :func:`attrs.evolve` to derive a variation.
"""

from __future__ import annotations

import enum
import warnings
from typing import Any

import attrs


DEFAULT_BASE_URL = "https://api.heygen.com"
API_KEY_ENV = "HEYGEN_API_KEY"
API_BASE_ENV = "HEYGEN_API_BASE"
MAX_SCRIPT_CHARS = 5_000
MAX_UPLOAD_BYTES = 32 * 1024 * 1024
MAX_STATUS_IDS = 100
MiB = 1024 * 1024


class Default(enum.Enum):
    """Marks "use the policy's value", where ``None`` already means "no limit"."""

    TOKEN = enum.auto()


DEFAULT = Default.TOKEN
_DEFAULT_WAIT_DEADLINE: float | None = 1200.0  # 20 min, as the official CLI


def _positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        msg = f"{attribute.name} must be >= 0, got {value!r}"
        raise ValueError(msg)


def _optional_count(
    _inst: object, attribute: attrs.Attribute[Any], value: int | None
) -> None:
    if value is not None and value < 1:
        msg = f"{attribute.name} must be >= 1 or None, got {value!r}"
        raise ValueError(msg)


def _optional_positive(
    _inst: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and value <= 0:
        msg = f"{attribute.name} must be > 0 or None, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True, init=False)
class RetryPolicy:
    """
    How one HTTP call is retried.

    429 is retried on every method; 5xx and transport errors only on GET and
    DELETE, and on POST only when it carries an ``Idempotency-Key``.

    Attributes:
        attempts: Total tries, the first included. ``1`` disables retries.
        wait_initial: First backoff wait, doubled on each retry.
        wait_max: Cap on one computed backoff wait.
        jitter: Apply full jitter to computed waits (never to Retry-After).
        retry_after_max: A ``Retry-After`` longer than this is not waited
            for: the :class:`~heygen_async.RateLimitError` is raised instead.
        give_up_after: Stop retrying once this much time has passed since
            the first try (``None``: only *attempts* limits). Formerly
            ``deadline``, a name that means a wait's timeout elsewhere; that
            keyword and attribute still work for one release, with a
            ``DeprecationWarning``.
        in_progress_patience: How long a keyed POST waits out ``409
            request_in_progress`` (our earlier try is still running on the
            server), with jittered backoff. These waits spend neither
            *attempts* nor the client's retry budget: giving up early would
            leave a paid job unreported. After that a
            :class:`~heygen_async.ConflictError` with ``outcome_unknown`` set
            is raised.
        retry_on_rate_limit: ``False`` raises a 429's
            :class:`~heygen_async.RateLimitError` at once instead of waiting
            and retrying (every request of the client still waits out its
            ``Retry-After``): for callers that requeue the work themselves,
            as a batch does.
    """

    attempts: int = attrs.field(validator=attrs.validators.ge(1))
    wait_initial: float = attrs.field(validator=_positive)
    wait_max: float = attrs.field(validator=_positive)
    jitter: bool
    retry_after_max: float = attrs.field(validator=_positive)
    give_up_after: float | None = attrs.field(validator=_optional_positive)
    in_progress_patience: float = attrs.field(validator=_positive)
    retry_on_rate_limit: bool

    def __init__(
        self,
        *,
        attempts: int = 4,
        wait_initial: float = 0.5,
        wait_max: float = 30.0,
        jitter: bool = True,
        retry_after_max: float = 60.0,
        give_up_after: float | None = None,
        in_progress_patience: float = 120.0,
        retry_on_rate_limit: bool = True,
        deadline: float | Default | None = DEFAULT,
    ) -> None:
        if deadline is not DEFAULT:
            _deprecated_deadline()
            if give_up_after is not None:
                msg = "pass give_up_after only (deadline is its deprecated alias)"
                raise TypeError(msg)
            give_up_after = deadline
        self.__attrs_init__(
            attempts=attempts,
            wait_initial=wait_initial,
            wait_max=wait_max,
            jitter=jitter,
            retry_after_max=retry_after_max,
            give_up_after=give_up_after,
            in_progress_patience=in_progress_patience,
            retry_on_rate_limit=retry_on_rate_limit,
        )

    @property
    def deadline(self) -> float | None:
        """Deprecated alias of :attr:`give_up_after`."""
        _deprecated_deadline(stacklevel=3)
        return self.give_up_after


def _deprecated_deadline(*, stacklevel: int = 4) -> None:
    warnings.warn(
        "RetryPolicy.deadline is deprecated: it is now give_up_after "
        "(deadline means a wait's timeout elsewhere)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


@attrs.frozen(kw_only=True)
class Limits:
    """
    Caps on what a server may make the client read, so a hostile or broken
    answer costs a typed error instead of memory, recursion or time.

    Attributes:
        max_body_bytes: Largest API response body read; a bigger 2xx is a
            :class:`~heygen_async.ResponseValidationError`.
        max_json_depth: Deepest nesting of arrays and objects accepted in an
            API response body.
        max_pages: Most pages one listing follows before it gives up with a
            :class:`~heygen_async.ResponseValidationError`.
        max_download_bytes: Largest video file :meth:`Client.download_video`
            saves; ``None`` for no cap.
    """

    max_body_bytes: int = attrs.field(default=8 * MiB, validator=attrs.validators.ge(1))
    max_json_depth: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    max_pages: int = attrs.field(default=10_000, validator=attrs.validators.ge(1))
    max_download_bytes: int | None = attrs.field(
        default=2048 * MiB, validator=_optional_count
    )


@attrs.frozen(kw_only=True)
class Timeouts:
    """
    Per-request timeouts by kind of call.

    ``POST /v3/videos`` has a p99 near 31 s, hence the long write timeout.

    Attributes:
        read: GET and DELETE.
        write: JSON POST and PATCH.
        upload: Multipart uploads and downloads.
        connect: Establishing a connection.
    """

    read: float = attrs.field(default=30.0, validator=_positive)
    write: float = attrs.field(default=120.0, validator=_positive)
    upload: float = attrs.field(default=600.0, validator=_positive)
    connect: float = attrs.field(default=10.0, validator=_positive)


@attrs.frozen(kw_only=True)
class PollPolicy:
    """
    The cadence at which one job is polled.

    The first poll comes *interval_initial* after submission; each later one
    waits *multiplier* times longer, up to *interval_max*. Every wait is
    multiplied by a random factor in ``[1 - jitter, 1 + jitter]`` so jobs
    submitted together drift apart, and no wait runs past the deadline.

    Attributes:
        interval_initial: Wait before the first poll.
        multiplier: Growth factor between polls.
        interval_max: Cap on one wait.
        jitter: Relative jitter, between 0 and 1.
        deadline: Give up waiting after this long (:class:`WaitTimeoutError`
            or ``TimedOut``); ``None`` waits forever.
        learn: Time polls from render durations learned from finished
            videos (``completed_at - created_at``) and what each request
            says (script length, resolution, avatar). Until a few renders are
            seen, or when durations carry no signal, the cadence above is
            used unchanged; ``False`` always uses it.
        target_delay: With learned timing, a job whose render may be done is
            asked about at least this often, so a finish is seen within it;
            ``None`` is *interval_initial*. Calls saved while renders were
            young (against one every *target_delay*) buy shorter gaps, down to
            a third of it, where renders are likely to end.
        miss: With learned timing, no poll is made before a render is this
            likely to be done (a quantile of its predicted time).
        expected_done: With learned timing, also make a bulk call as soon as
            this many jobs in flight are expected to have finished since they
            were last asked about. ``None`` (the default) leaves it to the
            *target_delay* bound: the harvest trigger buys latency with
            requests.
    """

    interval_initial: float = attrs.field(default=5.0, validator=_positive)
    multiplier: float = attrs.field(default=1.5, validator=attrs.validators.ge(1.0))
    interval_max: float = attrs.field(default=15.0, validator=_positive)
    jitter: float = attrs.field(
        default=0.25, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)]
    )
    deadline: float | None = attrs.field(
        default=_DEFAULT_WAIT_DEADLINE, validator=_optional_positive
    )
    learn: bool = True
    target_delay: float | None = attrs.field(default=None, validator=_optional_positive)
    miss: float = attrs.field(
        default=0.02, validator=[attrs.validators.gt(0.0), attrs.validators.lt(1.0)]
    )
    expected_done: float | None = attrs.field(
        default=None, validator=_optional_positive
    )

    @property
    def delay_target(self) -> float:
        """*target_delay*, or its default from *interval_initial*."""
        if self.target_delay is not None:
            return self.target_delay
        return self.interval_initial

    @classmethod
    def for_webhooks(cls, *, deadline: float | None = 1200.0) -> PollPolicy:
        """
        A slow safety-net cadence for when verified webhooks complete jobs.

        Deliveries settle jobs within milliseconds; polling only catches the
        rare one that never arrives, once a minute. (Backing off further made
        a lost delivery at the end of a batch hold its slot for minutes.)
        """
        return cls(
            interval_initial=60.0,
            multiplier=1.0,
            interval_max=60.0,
            jitter=0.25,
            deadline=deadline,
        )

    @classmethod
    def for_testing(cls, *, deadline: float | None = 10.0) -> PollPolicy:
        """A fast, jitter-free cadence for tests against the fake server."""
        return cls(
            interval_initial=0.005,
            multiplier=1.5,
            interval_max=0.02,
            jitter=0.0,
            deadline=deadline,
            learn=False,
        )
