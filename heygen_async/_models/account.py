"""The account behind an API key: plan, wallet and credits."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class AutoReload:
    """A wallet's automatic top-up, in USD."""

    enabled: bool
    amount_usd: float | None = None
    threshold_usd: float | None = None


@attrs.frozen(kw_only=True)
class Wallet:
    """
    A prepaid API wallet.

    *currency* is ``"usd"``, or ``"credits"`` for Enterprise; other values
    are passed through as they come.
    """

    currency: str | None = None
    remaining_balance: float | None = None
    auto_reload: AutoReload | None = None


@attrs.frozen(kw_only=True)
class CreditPool:
    """One pool of subscription credits and when it refills."""

    remaining: int | None = None
    resets_at: str | None = None


@attrs.frozen(kw_only=True)
class SubscriptionCredits:
    """A subscription's credit pools."""

    premium_credits: CreditPool | None = None
    add_on_credits: CreditPool | None = None


@attrs.frozen(kw_only=True)
class Subscription:
    """
    Billing for subscription accounts (OAuth apps).

    *plan* is e.g. ``"pro"`` or ``"enterprise"``; new plans pass through.
    """

    plan: str | None = None
    credits: SubscriptionCredits | None = None


@attrs.frozen(kw_only=True)
class UsageBased:
    """Metered billing with an optional spending cap."""

    included_credits: float | None = None
    remaining_credits: float | None = None
    spending_cap_usd: float | None = None
    spending_current_usd: float | None = None


@attrs.frozen(kw_only=True)
class Account:
    """
    The account the API key belongs to (``GET /v3/users/me``).

    *billing_type* (``wallet``, ``subscription`` or ``usage_based``) says
    which one of *wallet*, *subscription* and *usage_based* is set.
    """

    username: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    billing_type: str | None = None
    wallet: Wallet | None = None
    subscription: Subscription | None = None
    usage_based: UsageBased | None = None
