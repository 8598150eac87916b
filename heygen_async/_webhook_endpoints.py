"""
Webhook endpoint management and webhook feeding, mixed into :class:`Client`.

The endpoint methods are plain REST calls through the client's HTTP layer.
:meth:`WebhookMethods.feed_webhook` is the seam between a web framework's
webhook route and the client's poll loop: a verified delivery settles the
waiting job at once, an unverified one only makes it poll sooner.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from ._base import ClientBase
from ._converter import webhook_endpoint_body
from ._models import (
    Video,
    VideoStatus,
    WebhookEndpoint,
    WebhookEventRecord,
    WebhookEventType,
    WebhookSecret,
)
from .webhooks import (
    BatchFinished,
    GenericEvent,
    VideoFailed,
    VideoSucceeded,
    WebhookEvent,
)


__all__ = ["WebhookMethods"]

_ENDPOINTS = "/v3/webhooks/endpoints"
_ENDPOINT = "/v3/webhooks/endpoints/{endpoint_id}"


class WebhookMethods(ClientBase):
    """
    The webhook half of :class:`~heygen_async.Client`. Strictly private.

    Documented on the client; split out only to keep modules small.
    """

    if TYPE_CHECKING:

        def _pages(
            self, route: str, params: dict[str, str | int], cls: type[Any]
        ) -> AsyncIterator[Any]: ...

        def _get_scheduler(self) -> Any: ...

    # -- endpoints -----------------------------------------------------------

    async def create_webhook_endpoint(
        self,
        url: str,
        *,
        events: Sequence[str] | None = None,
        entity_id: str | None = None,
    ) -> WebhookEndpoint:
        """
        Register *url* for signed deliveries (``POST /v3/webhooks/endpoints``).

        Store the returned ``secret``: HeyGen shows it only here (and on
        :meth:`rotate_webhook_secret`), and :func:`heygen_async.webhooks.verify`
        needs it.

        Args:
            url: An ``https://`` URL HeyGen can reach (``http://`` for a
                fake or a tunnel).
            events: Event types to receive (see
                :meth:`list_webhook_event_types`); ``None`` for all.
            entity_id: Scope the endpoint to one entity, if HeyGen supports
                it for the events you want.
        """
        body = webhook_endpoint_body(
            url=_check_url(url), events=_check_events(events), entity_id=entity_id
        )
        data = await self._call(
            "POST", _ENDPOINTS, json=body, idempotency_key=uuid.uuid4().hex
        )
        return self._converter.decode(data, WebhookEndpoint, route=f"POST {_ENDPOINTS}")

    async def iter_webhook_endpoints(
        self, *, page_size: int | None = None
    ) -> AsyncIterator[WebhookEndpoint]:
        """Every registered endpoint, following pages (secrets are ``None``)."""
        params: dict[str, str | int] = {}
        if page_size is not None:
            params["limit"] = page_size
        async for endpoint in self._pages(_ENDPOINTS, params, WebhookEndpoint):
            yield endpoint

    async def update_webhook_endpoint(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
    ) -> WebhookEndpoint:
        """
        Change an endpoint's URL and/or events (``PATCH``).

        *events* replaces the whole subscription list; ``None`` leaves it
        (and *url*) unchanged.

        Raises:
            ValueError: Neither *url* nor *events* was given.
        """
        if url is None and events is None:
            msg = "update_webhook_endpoint: pass url and/or events"
            raise ValueError(msg)
        body = webhook_endpoint_body(
            url=None if url is None else _check_url(url),
            events=_check_events(events),
        )
        data = await self._call(
            "PATCH", _ENDPOINT, path=_endpoint_path(endpoint_id), json=body
        )
        return self._converter.decode(data, WebhookEndpoint, route=f"PATCH {_ENDPOINT}")

    async def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        """Stop deliveries to an endpoint and forget it (``DELETE``)."""
        await self._call("DELETE", _ENDPOINT, path=_endpoint_path(endpoint_id))

    async def rotate_webhook_secret(self, endpoint_id: str) -> WebhookSecret:
        """
        Replace an endpoint's signing secret; the old one stops working now.

        To rotate without refusing deliveries already in flight, verify with
        both secrets for a while: ``verify(body, headers, [new, old])``.
        """
        route = _ENDPOINT + "/rotate-secret"
        data = await self._call(
            "POST",
            route,
            path=_endpoint_path(endpoint_id),
            idempotency_key=uuid.uuid4().hex,
        )
        return self._converter.decode(data, WebhookSecret, route=f"POST {route}")

    async def list_webhook_event_types(self) -> list[WebhookEventType]:
        """The event types an endpoint can subscribe to."""
        route = "/v3/webhooks/event-types"
        return [item async for item in self._pages(route, {}, WebhookEventType)]

    async def iter_webhook_events(
        self,
        *,
        event_type: str | None = None,
        entity_id: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[WebhookEventRecord]:
        """
        The delivery history, newest first: reconcile missed deliveries.

        Example::

            async for record in client.iter_webhook_events(
                event_type="avatar_video.success"
            ):
                client.feed_webhook(webhooks.event_from_record(record))

        Args:
            event_type: Only events of this type.
            entity_id: Only events about this entity (a video id).
            page_size: Events per request (1 to 100).
        """
        params: dict[str, str | int] = {}
        for name, value in (
            ("event_type", event_type),
            ("entity_id", entity_id),
            ("limit", page_size),
        ):
            if value is not None:
                params[name] = value
        route = "/v3/webhooks/events"
        async for record in self._pages(route, params, WebhookEventRecord):
            yield record

    # -- feeding the poll loop ---------------------------------------------------

    def feed_webhook(self, event: WebhookEvent) -> bool:
        """
        Tell the client's poll loop what a webhook delivery said.

        - A *verified* ``avatar_video.success`` with a URL completes every
          wait on that video at once, with no further request: the
          :class:`Video` carries what the event carried (URL, thumbnail, GIF,
          page, duration); call :meth:`get_video` for the rest.
        - A *verified* ``avatar_video.fail`` fails those waits with
          :class:`~heygen_async.VideoFailedError`.
        - Anything else about a video (an unverified ``callback_url``
          delivery, a success without URL, the GIF and caption events, an
          unmodelled event with a ``video_id``) only polls it now: a hint,
          never proof. A ``batch.finished`` event polls every video it
          lists.

        Repeated deliveries are harmless. Call it from the event loop the
        client runs on.

        Returns:
            Whether anyone was waiting on the video.
        """
        scheduler = self._scheduler
        if scheduler is None:  # nobody has ever waited on this client
            return False
        settled = _settled_video(event)
        if settled is not None:
            return scheduler.resolve(settled)
        # Poke every video (no short-circuit): each one may be waited on.
        poked = [scheduler.poke(video_id) for video_id in _video_ids(event)]
        return any(poked)

    async def deliver_webhook(self, event: WebhookEvent) -> bool:
        """
        :meth:`feed_webhook`, then tell every process sharing the account.

        With a coordinator, a verified render result is stored and published
        so a wait in any process returns at once (the delivery usually lands
        on another worker than the one waiting); anything else asks the
        process that polls to poll now. Without one it is :meth:`feed_webhook`.

        Raises:
            redis.exceptions.RedisError: The coordinator could not take it;
                answer the delivery with a 5xx so HeyGen sends it again.

        Returns:
            Whether anyone in this process was waiting on the video.
        """
        self._get_scheduler()  # binds the coordinator in this loop
        waiting = self.feed_webhook(event)
        settled = _settled_video(event)
        if settled is not None:
            await self._coordinator.publish(settled)
        else:
            await self._coordinator.poke(_video_ids(event))
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


def _endpoint_path(endpoint_id: str) -> dict[str, str]:
    if not endpoint_id.strip():
        msg = f"endpoint_id must be a non-empty string; got {endpoint_id!r}"
        raise ValueError(msg)
    return {"endpoint_id": endpoint_id}
