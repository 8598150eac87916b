"""
A batch's options, stated once for :meth:`Client.batch` and :class:`Batch`
(as stamina states ``RetryKWs`` once), and checked once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import attrs

from heygen_async._config import PollPolicy
from heygen_async._estimate import Pricing


if TYPE_CHECKING:
    from .stores import JobStore

__all__ = ["BatchOptions", "Settings"]


class BatchOptions(TypedDict, total=False):
    """
    The options of :meth:`Client.batch <heygen_async.Client.batch>`, stated
    once: :class:`Batch` takes the same keywords, and a wrapper can forward
    them typed (``**options: Unpack[BatchOptions]``).

    Attributes:
        max_in_flight: The account's concurrency cap (10 on pay-as-you-go;
            the default). A 429 on create lowers it for a while.
        deadline: Seconds for the whole batch; jobs not finished by then are
            reported as ``TimedOut``. ``None`` (the default) for no batch
            limit (each job still has the poll policy's deadline).
        poll: The cadence and per-job deadline; the client's by default.
        max_uploads: Local images uploaded at once (default 4).
        outcome_buffer: Unread outcomes that pause admission while someone
            iterates :meth:`Batch.as_completed` (default 100).
        store: The job journal. A :class:`SQLiteStore` makes the batch
            resumable after a crash: open a batch on the same file and it
            re-attaches to every job without paying twice. Defaults to a
            fresh :class:`MemoryStore`.
        max_credits: Stop admitting once the jobs' estimated credits (see
            :meth:`Client.estimate`) would pass this; the rest are reported
            as ``Failed`` with :class:`CreditLimitError`, never sent.
        pricing: The rates for *max_credits*; :class:`Pricing` defaults.
    """

    max_in_flight: int
    deadline: float | None
    poll: PollPolicy | None
    max_uploads: int
    outcome_buffer: int
    store: JobStore | None
    max_credits: float | None
    pricing: Pricing | None


@attrs.frozen(kw_only=True)
class Settings:
    """:class:`BatchOptions` with the defaults filled in, checked. Strictly private."""

    max_in_flight: int = 10
    deadline: float | None = None
    poll: PollPolicy | None = None
    max_uploads: int = 4
    outcome_buffer: int = 100
    store: JobStore | None = None
    max_credits: float | None = None
    pricing: Pricing | None = None

    @classmethod
    def of(cls, options: BatchOptions) -> Settings:
        """Refuse unknown options and values a batch cannot run with."""
        unknown = sorted(options.keys() - BatchOptions.__optional_keys__)
        if unknown:
            msg = f"unexpected batch option(s): {', '.join(unknown)}"
            raise TypeError(msg)
        settings = cls(**options)
        for name in ("max_in_flight", "max_uploads", "outcome_buffer"):
            value = getattr(settings, name)
            if value < 1:
                msg = f"{name} must be >= 1; got {value!r}"
                raise ValueError(msg)
        deadline = settings.deadline
        if deadline is not None and deadline <= 0:
            msg = f"deadline must be > 0 or None; got {deadline!r}"
            raise ValueError(msg)
        return settings
