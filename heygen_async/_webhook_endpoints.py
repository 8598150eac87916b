"""
What the client's webhook methods need besides a request: checked request
bodies for endpoint management, and :func:`feed`, the seam between a web
framework's webhook route and the client's poll loop (a verified delivery
settles the waiting job at once, an unverified one only makes it poll
sooner), and :func:`deliver`, which also tells the other processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._converter import webhook_endpoint_body
from ._coord.protocol import Coordinator
from ._models import Video, VideoStatus
from ._scheduler import Scheduler
from .webhooks import (
    BatchFinished,
    GenericEvent,
    VideoFailed,
    VideoSucceeded,
    WebhookEvent,
)


__all__ = ["ENDPOINT", "ENDPOINTS", "deliver", "endpoint_body", "feed"]

ENDPOINTS = "/v3/webhooks/endpoints"
ENDPOINT = "/v3/webhooks/endpoints/{endpoint_id}"


def endpoint_body(
    *,
    url: str | None,
    events: Sequence[str] | None,
    entity_id: str | None = None,
) -> dict[str, Any]:
    """The checked JSON body that creates or updates an endpoint."""
    return webhook_endpoint_body(
        url=None if url is None else _check_url(url),
        events=_check_events(events),
        entity_id=entity_id,
    )


def feed(scheduler: Scheduler | None, event: WebhookEvent) -> bool:
    """What :meth:`Client.feed_webhook` does; whether anyone was waiting."""
    if scheduler is None:  # nobody has ever waited on this client
        return False
    return _feed(scheduler, _settled_video(event), event)


def _feed(scheduler: Scheduler, settled: Video | None, event: WebhookEvent) -> bool:
    """Settle with what a verified event proves, else poll what it names."""
    if settled is not None:
        return scheduler.resolve(settled)
    # Poke every video (no short-circuit): each one may be waited on.
    poked = [scheduler.poke(video_id) for video_id in _video_ids(event)]
    return any(poked)


async def deliver(
    scheduler: Scheduler, coordinator: Coordinator, event: WebhookEvent
) -> bool:
    """
    What :meth:`Client.deliver_webhook` does: :func:`feed`, then tell every
    process sharing the account (a verified result is published, anything
    else asks the poller to poll now).
    """
    settled = _settled_video(event)
    waiting = _feed(scheduler, settled, event)
    if settled is not None:
        await coordinator.publish(settled)
    else:
        await coordinator.poke(_video_ids(event))
    return waiting


def _settled_video(event: WebhookEvent) -> Video | None:
    """The finished video a verified render event proves, else ``None``."""
    if not event.verified:
        return None
    if (
        isinstance(event, VideoSucceeded)
        and event.event_type == "avatar_video.success"
        and event.url is not None
    ):
        return Video(
            id=event.video_id,
            status=VideoStatus.COMPLETED,
            video_url=event.url,
            thumbnail_url=event.thumbnail_url,
            gif_url=event.gif_url,
            video_page_url=event.video_page_url,
            duration=event.duration,
        )
    if isinstance(event, VideoFailed) and event.event_type == "avatar_video.fail":
        return Video(
            id=event.video_id,
            status=VideoStatus.FAILED,
            failure_code=event.failure_code,
            failure_message=event.message,
        )
    return None


def _video_ids(event: WebhookEvent) -> tuple[str, ...]:
    """The videos an event may be news about."""
    if isinstance(event, BatchFinished):
        return event.video_ids
    if isinstance(event, GenericEvent):
        value = event.data.get("video_id")
        return (value,) if isinstance(value, str) and value else ()
    return (event.video_id,)


def _check_url(url: str) -> str:
    if not url.startswith(("https://", "http://")):
        msg = f"url must be an http(s) URL; got {url!r}"
        raise ValueError(msg)
    return url


def _check_events(events: Sequence[str] | None) -> Sequence[str] | None:
    if events is None:
        return None
    if isinstance(events, str):
        msg = f"events must be a list of event types, not one string: [{events!r}]"
        raise TypeError(msg)
    if not events:
        msg = "events must name at least one event type (None means all)"
        raise ValueError(msg)
    return events
