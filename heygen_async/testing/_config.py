"""
``FakeConfig``: every knob of one fake, frozen and validated once.

The server and its runtime read the knobs from here; what changes while the
fake runs (credits left, faults armed, videos, counters) lives in the
runtime instead, so a route never writes to configuration.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import attrs

from ._conformance import checking_from_env
from ._faults import Fault
from ._state import JobPlan


BillingType = Literal["wallet", "subscription", "usage_based"]
RenderSeconds = float | tuple[float, float] | Callable[[random.Random], float]
JobPlanner = Callable[[int, Mapping[str, Any]], JobPlan]


def _check_render(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
    if callable(value):
        return
    if isinstance(value, tuple):
        ok = len(value) == 2 and all(isinstance(v, int | float) for v in value)
        if ok and 0 <= value[0] <= value[1]:
            return
    elif isinstance(value, int | float) and value >= 0:
        return
    msg = (
        f"render_seconds must be >= 0, a (low, high) pair or a callable; got {value!r}"
    )
    raise ValueError(msg)


def _fault_tuple(faults: Iterable[Fault]) -> tuple[Fault, ...]:
    return tuple(faults)


def _checking(value: bool | None) -> bool:  # noqa: FBT001 - an attrs converter
    """``None`` reads ``HEYGEN_FAKE_CHECK_RESPONSES`` once, at construction."""
    return checking_from_env() if value is None else value


def at_least(low: int) -> Callable[[object, attrs.Attribute[Any], int | None], None]:
    """A validator: ``None`` or an int of at least *low*."""

    def check(_inst: object, attr: attrs.Attribute[Any], value: int | None) -> None:
        if value is not None and value < low:
            msg = f"{attr.name} must be >= {low} or None; got {value!r}"
            raise ValueError(msg)

    return check


def _above_zero_or_none(
    _inst: object, attr: attrs.Attribute[Any], value: float | None
) -> None:
    if value is not None and value <= 0:
        msg = f"{attr.name} must be > 0 or None; got {value!r}"
        raise ValueError(msg)


_rate = attrs.validators.ge(0.0)
_fraction = [attrs.validators.ge(0.0), attrs.validators.le(1.0)]


@attrs.frozen(kw_only=True)
class FakeConfig:
    """
    The knobs of one :class:`~heygen_async.testing.FakeHeyGen`.

    ``FakeHeyGen`` takes exactly these keyword arguments and documents each.
    *port*, *credits* and *faults* are starting values: the running fake
    keeps the bound port, the credits left and the faults armed since.

    Strictly private.
    """

    api_key: str = attrs.field(
        default="fake-api-key", validator=attrs.validators.min_len(1)
    )
    host: str = "127.0.0.1"
    port: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    render_seconds: RenderSeconds = attrs.field(
        default=(0.05, 0.2), validator=_check_render
    )
    failure_rate: float = attrs.field(default=0.0, validator=_fraction)
    silent_failure_rate: float = attrs.field(default=0.25, validator=_fraction)
    concurrency_limit: int | None = attrs.field(default=10, validator=at_least(1))
    requests_per_second: float | None = attrs.field(
        default=None, validator=_above_zero_or_none
    )
    retry_after: float = attrs.field(default=1.0, validator=_rate)
    url_ttl: float = attrs.field(default=3600.0, validator=attrs.validators.gt(0.0))
    avatar_training_seconds: float = attrs.field(default=0.1, validator=_rate)
    credits: int | None = attrs.field(default=None, validator=at_least(0))
    billing_type: BillingType = attrs.field(
        default="wallet",
        validator=attrs.validators.in_(("wallet", "subscription", "usage_based")),
    )
    wallet_auto_reload: bool = False
    bulk_statuses: bool = True
    in_progress_status: str = attrs.field(
        default="processing", validator=attrs.validators.min_len(1)
    )
    job_plan: JobPlanner | None = None
    faults: tuple[Fault, ...] = attrs.field(default=(), converter=_fault_tuple)
    seed: int = 0
    webhook_attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    webhook_retry_base: float = attrs.field(default=0.5, validator=_rate)
    webhook_timeout: float = attrs.field(
        default=10.0, validator=attrs.validators.gt(0.0)
    )
    webhook_delay: float = attrs.field(default=0.0, validator=_rate)
    webhook_duplicate_rate: float = attrs.field(default=0.0, validator=_fraction)
    webhook_drop_rate: float = attrs.field(default=0.0, validator=_fraction)
    webhook_scheme: str = attrs.field(
        default="heygen", validator=attrs.validators.in_(("heygen", "standard"))
    )
    check_responses: bool = attrs.field(default=None, converter=_checking)
