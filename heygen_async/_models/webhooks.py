"""Webhook endpoints, their secrets, event types and delivery history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class WebhookEndpoint:
    """
    A URL registered to receive signed webhook deliveries.

    Attributes:
        id: The endpoint id (``ep_...``).
        url: Where deliveries are posted.
        events: The event types it receives; ``None`` means all of them.
        status: ``"enabled"`` or ``"disabled"``.
        created_at: When it was registered.
        secret: The ``whsec_...`` signing secret. HeyGen returns it only from
            :meth:`~heygen_async.Client.create_webhook_endpoint`; store it
            then (it is ``None`` everywhere else, and hidden from ``repr``).
        entity_id: The entity the endpoint is scoped to, if any.
    """

    id: str
    url: str
    events: tuple[str, ...] | None = None
    status: str | None = None
    created_at: datetime | None = None
    secret: str | None = attrs.field(default=None, repr=False)
    entity_id: str | None = None


@attrs.frozen(kw_only=True)
class WebhookSecret:
    """
    A freshly rotated signing secret; the previous one stopped working.

    Attributes:
        endpoint_id: The endpoint it signs for.
        secret: The new ``whsec_...`` secret (hidden from ``repr``).
    """

    endpoint_id: str
    secret: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class WebhookEventType:
    """An event type an endpoint can subscribe to."""

    event_type: str
    description: str | None = None


@attrs.frozen(kw_only=True)
class WebhookEventRecord:
    """
    One event from the delivery history (``GET /v3/webhooks/events``).

    Turn it into a typed event with
    :func:`heygen_async.webhooks.event_from_record`.

    Attributes:
        event_id: The id deliveries carry in ``Heygen-Event-Id``.
        event_type: e.g. ``"avatar_video.success"``.
        event_data: The payload, as HeyGen sent it.
        created_at: When the event happened.
    """

    event_id: str
    event_type: str
    event_data: dict[str, Any] = attrs.field(factory=dict, eq=False)
    created_at: datetime | None = None
