"""
The webhook endpoints: register, list, update, delete, rotate, and history.

Secrets look like ``whsec_<hex>`` and appear only in the create and rotate
answers (``null`` in lists and updates); rotating invalidates the old secret
at once. ``GET /v3/webhooks/events`` lists every event so far, newest first,
whether or not it was delivered, so a client can reconcile missed deliveries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from aiohttp import web

from ._runtime import Runtime
from ._webhooks import Endpoint, event_types_json, parse_events
from ._wire import (
    data_response,
    decode_token,
    encode_token,
    invalid,
    list_response,
    not_found,
    parse_limit,
    read_json_object,
)


_CREATE_FIELDS = frozenset({"url", "events", "entity_id"})
_UPDATE_FIELDS = frozenset({"url", "events"})


def _only(body: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for key in body:
        if key not in allowed:
            raise invalid(f"Unknown field '{key}'.", key)


def _url(value: object) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise invalid("url must be an http(s) URL.", "url")
    return value


class WebhookRoutes:
    """Handlers for ``/v3/webhooks/...``."""

    ROUTES: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("POST", "/v3/webhooks/endpoints", "create"),
        ("GET", "/v3/webhooks/endpoints", "list"),
        ("PATCH", "/v3/webhooks/endpoints/{endpoint_id}", "update"),
        ("DELETE", "/v3/webhooks/endpoints/{endpoint_id}", "delete"),
        ("POST", "/v3/webhooks/endpoints/{endpoint_id}/rotate-secret", "rotate"),
        ("GET", "/v3/webhooks/event-types", "event_types"),
        ("GET", "/v3/webhooks/events", "events"),
    )

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def _find(self, request: web.Request) -> Endpoint:
        endpoint = self.rt.webhooks.endpoints.get(request.match_info["endpoint_id"])
        if endpoint is None:
            raise not_found("not_found", "Webhook endpoint not found.")
        return endpoint

    async def create(self, request: web.Request) -> web.Response:
        """``POST /v3/webhooks/endpoints``: the answer carries the secret."""

        async def work(_key: str | None) -> web.Response:
            body = await read_json_object(request)
            _only(body, _CREATE_FIELDS)
            entity_id = body.get("entity_id")
            if entity_id is not None and not isinstance(entity_id, str):
                raise invalid("entity_id must be a string.", "entity_id")
            endpoint = self.rt.webhooks.create(
                _url(body.get("url")), parse_events(body.get("events")), entity_id
            )
            return data_response(endpoint.to_json(with_secret=True))

        return await self.rt.idempotent(request, "POST /v3/webhooks/endpoints", work)

    async def list(self, request: web.Request) -> web.Response:
        """``GET /v3/webhooks/endpoints``: oldest first, secrets hidden."""
        limit = parse_limit(request.query, default=10)
        after = decode_token(request.query.get("token"))
        endpoints = [
            e
            for e in self.rt.webhooks.endpoints.values()
            if after is None or e.index > after
        ]
        page = endpoints[:limit]
        more = len(endpoints) > limit
        return list_response(
            [e.to_json(with_secret=False) for e in page],
            next_token=encode_token(page[-1].index) if more else None,
        )

    async def update(self, request: web.Request) -> web.Response:
        """``PATCH /v3/webhooks/endpoints/{id}``: ``events`` is replaced whole."""
        endpoint = self._find(request)
        body = await read_json_object(request)
        _only(body, _UPDATE_FIELDS)
        url = _url(body["url"]) if "url" in body else endpoint.url
        events = parse_events(body["events"]) if "events" in body else endpoint.events
        endpoint.url, endpoint.events = url, events
        return data_response(endpoint.to_json(with_secret=False))

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /v3/webhooks/endpoints/{id}``; deliveries to it stop."""
        endpoint = self._find(request)
        del self.rt.webhooks.endpoints[endpoint.id]
        return data_response({"endpoint_id": endpoint.id, "deleted": True})

    async def rotate(self, request: web.Request) -> web.Response:
        """``POST .../rotate-secret``: a new secret; the old one dies now."""

        async def work(_key: str | None) -> web.Response:
            endpoint = self._find(request)
            secret = self.rt.webhooks.rotate(endpoint)
            return data_response({"endpoint_id": endpoint.id, "secret": secret})

        scope = f"POST /v3/webhooks/endpoints/{request.match_info['endpoint_id']}"
        return await self.rt.idempotent(request, scope + "/rotate-secret", work)

    async def event_types(self, _request: web.Request) -> web.Response:
        """``GET /v3/webhooks/event-types``."""
        return list_response([dict(item) for item in event_types_json()])

    async def events(self, request: web.Request) -> web.Response:
        """``GET /v3/webhooks/events?event_type=&entity_id=``: newest first."""
        query = request.query
        limit = parse_limit(query, default=10)
        start = decode_token(query.get("token")) or 0
        event_type = query.get("event_type")
        entity_id = query.get("entity_id")
        matching = [
            event
            for event in self.rt.webhooks.history()
            if (event_type is None or event["event_type"] == event_type)
            and (entity_id is None or event["event_data"]["video_id"] == entity_id)
        ]
        end = start + limit
        return list_response(
            matching[start:end],
            next_token=encode_token(end) if end < len(matching) else None,
        )

    def register(self, app: web.Application) -> None:
        """Add these routes to *app*."""
        for method, path, handler in self.ROUTES:
            app.router.add_route(method, path, getattr(self, handler))
