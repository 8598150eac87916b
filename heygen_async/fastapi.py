"""
FastAPI integration: one client per app, a dependency, and a webhook route.

Needs the ``fastapi`` extra (``pip install 'heygen-async[fastapi]'``)::

    from fastapi import FastAPI
    from heygen_async.fastapi import ClientDep, heygen_lifespan, webhook_router

    app = FastAPI(lifespan=heygen_lifespan())  # reads HEYGEN_API_KEY
    app.include_router(webhook_router(secret=os.environ["HEYGEN_WEBHOOK_SECRET"]))

    @app.post("/videos:wait")
    async def render(body: VideoIn, client: ClientDep) -> dict[str, str | None]:
        video = await client.render(heygen_async.VideoRequest(**body.model_dump()))
        return {"video_url": video.video_url}

Every handler shares the app's one :class:`~heygen_async.Client`, so a
hundred requests waiting on renders cost one poll loop, and a verified
webhook delivery completes the waiting request at once.

What the webhook route (:func:`webhook_router`) answers:

- 200 ``{"received": true, ...}`` for a verified, new delivery;
- 200 ``{"received": true, "duplicate": true, ...}`` for a repeat of an
  event already processed (same event id, which always comes from the
  signed body or ``webhook-id``, never the unsigned ``Heygen-Event-Id``):
  it changes nothing, and a 2xx stops HeyGen retrying it. The last
  *max_seen* ids are remembered per process (and in Redis for every
  worker, with a :class:`~heygen_async.RedisCoordinator`). Deliveries
  without an event id cannot be de-duplicated; feeding them twice is
  harmless anyway;
- 400 when signature, id or timestamp headers are missing or malformed;
- 401 when the signature matches no secret, the timestamp is more than
  *tolerance* seconds old or ahead, the delivery uses another scheme
  than the pinned *scheme*, or a body-only signature covers no event id;
- 413 when the body is larger than *max_body* bytes, before it is read
  further, verified or parsed.

Refused deliveries change nothing. ``OPTIONS path`` answers 200, for
HeyGen's reachability check.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any

from . import _log


try:
    from fastapi import APIRouter, Depends, Request
    from fastapi.responses import JSONResponse, Response
    from starlette.applications import Starlette
except ImportError as exc:
    msg = "heygen_async.fastapi needs FastAPI: pip install 'heygen-async[fastapi]'"
    raise ImportError(msg, name=exc.name) from exc

from . import webhooks
from ._client import Client
from .exceptions import InvalidSignatureError


__all__ = [
    "STATE_ATTRIBUTE",
    "ClientDep",
    "get_client",
    "heygen_lifespan",
    "webhook_router",
]

log = _log.fastapi_logger

STATE_ATTRIBUTE = "heygen_client"
"""The ``app.state`` attribute that holds the app's client."""

Lifespan = Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]
EventHook = Callable[[webhooks.WebhookEvent], Awaitable[None]]

# A refused delivery is answered 400 when it is malformed, 401 when it is
# well-formed but not provably HeyGen's (or no longer fresh).
_MALFORMED = frozenset(
    {"missing_signature", "missing_id", "missing_timestamp", "malformed_timestamp"}
)


def heygen_lifespan(**client_options: Any) -> Lifespan:
    """
    A lifespan that opens one :class:`~heygen_async.Client` for the app.

    Use it as ``FastAPI(lifespan=heygen_lifespan(...))``; *client_options*
    go to :class:`~heygen_async.Client` (``api_key``, ``base_url``, ``poll``,
    ...). The client is created at startup, stored on ``app.state``
    (see :func:`get_client`) and closed at shutdown, which also ends every
    wait still in progress.

    To combine it with your own lifespan, enter it inside yours::

        @contextlib.asynccontextmanager
        async def lifespan(app):
            async with heygen_lifespan()(app):
                yield
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with Client(**client_options) as client:
            setattr(app.state, STATE_ATTRIBUTE, client)
            try:
                yield
            finally:
                delattr(app.state, STATE_ATTRIBUTE)

    return lifespan


def get_client(request: Request) -> Client:
    """
    The app's client, for ``Depends(get_client)`` (or use :data:`ClientDep`).

    Raises:
        RuntimeError: The app was not created with :func:`heygen_lifespan`
            (or it is not running).
    """
    client = getattr(request.app.state, STATE_ATTRIBUTE, None)
    if not isinstance(client, Client):
        msg = (
            "no heygen_async.Client on app.state: create the app with "
            "FastAPI(lifespan=heygen_async.fastapi.heygen_lifespan(...))"
        )
        raise RuntimeError(msg)
    return client


ClientDep = Annotated[Client, Depends(get_client)]
"""A handler parameter annotated ``client: ClientDep`` receives the app's client."""


def webhook_router(
    *,
    secret: str | None = None,
    secrets: Sequence[str] | None = None,
    path: str = "/heygen/webhook",
    tolerance: float = webhooks.DEFAULT_TOLERANCE,
    max_seen: int = 10_000,
    callback_path: str | None = None,
    on_event: EventHook | None = None,
    scheme: webhooks.Scheme | None = None,
    max_body: int = webhooks.DEFAULT_MAX_BODY,
) -> APIRouter:
    """
    An :class:`~fastapi.APIRouter` with HeyGen's webhook route.

    ``POST path`` verifies the raw body against *secret* (or any of
    *secrets*, for a rotation), then feeds the event to the app's client
    (:meth:`~heygen_async.Client.deliver_webhook`), so the request waiting on
    that video returns at once, in any worker. The answers (200, 400, 401,
    413) are listed in this module's documentation.

    Args:
        secret: The endpoint's ``whsec_...`` secret.
        secrets: Several secrets; any one may match (rotation).
        path: Where HeyGen posts.
        tolerance: Seconds of clock skew allowed, either way.
        max_seen: How many event ids to remember for de-duplication.
        callback_path: Also accept per-video ``callback_url`` deliveries here.
            They are unsigned, so they are parsed but never trusted: the
            video is only polled sooner.
        on_event: Awaited with every verified, new event before it is fed to
            the client (to record it, notify someone, ...). If it raises, the
            error is logged (``heygen_async.fastapi`` logger), the delivery
            gets a 500 and its id is forgotten, so HeyGen's retry is
            processed again.
        scheme: ``"standard"`` or ``"heygen"`` to accept only that signature
            scheme (see :func:`heygen_async.webhooks.verify`); ``None``
            accepts either.
        max_body: The largest body accepted, in bytes, on both routes.

    Raises:
        ValueError: Neither or both of *secret* and *secrets*, an empty
            secret, an unknown *scheme* or a *max_body* below 1.
    """
    keys = _keys(secret, secrets)
    _check_options(scheme, max_body)
    receive = _signed_route(
        keys,
        tolerance=tolerance,
        scheme=scheme,
        max_body=max_body,
        seen=webhooks.SeenEvents(max_seen),
        on_event=on_event,
    )
    callback = None if callback_path is None else _callback_route(max_body)
    return _router(path, receive, callback_path, callback)


def _router(
    path: str,
    receive: Callable[..., Awaitable[Response]],
    callback_path: str | None,
    callback: Callable[..., Awaitable[Response]] | None,
) -> APIRouter:
    """The routes: signed deliveries, the reachability check, callbacks."""
    router = APIRouter()
    router.add_api_route(path, receive, methods=["POST"], include_in_schema=False)
    router.add_api_route(path, _reachable, methods=["OPTIONS"], include_in_schema=False)
    if callback_path is not None and callback is not None:
        router.add_api_route(
            callback_path, callback, methods=["POST"], include_in_schema=False
        )
    return router


async def _reachable() -> Response:
    """HeyGen's reachability check: ``OPTIONS`` answers 200."""
    return Response(status_code=200)


def _signed_route(
    keys: list[str],
    *,
    tolerance: float,
    scheme: webhooks.Scheme | None,
    max_body: int,
    seen: webhooks.SeenEvents,
    on_event: EventHook | None,
) -> Callable[[Request], Awaitable[Response]]:
    """The route for signed deliveries: verify the raw body, then process it."""

    async def receive(request: Request) -> Response:
        body = await _read_body(request, max_body)
        if body is None:
            return _too_large(max_body)
        try:
            event = webhooks.verify(
                body, request.headers, keys, tolerance=tolerance, scheme=scheme
            )
        except InvalidSignatureError as exc:
            log.info("heygen.webhook_refused reason=%s", exc.reason)
            status = 400 if exc.reason in _MALFORMED else 401
            return _error(status, "invalid_signature", str(exc), reason=exc.reason)
        return await _process(request, event, seen, on_event)

    return receive


def _check_options(scheme: str | None, max_body: int) -> None:
    if scheme not in (None, "heygen", "standard"):
        msg = f"webhook_router: scheme must be 'heygen', 'standard' or None; {scheme!r}"
        raise ValueError(msg)
    if max_body < 1:
        msg = f"webhook_router: max_body must be >= 1; got {max_body!r}"
        raise ValueError(msg)


def _callback_route(max_body: int) -> Callable[[Request], Awaitable[Response]]:
    """The route for unsigned ``callback_url`` deliveries: hints, never proof."""

    async def receive_callback(request: Request) -> Response:
        body = await _read_body(request, max_body)
        if body is None:
            return _too_large(max_body)
        event = webhooks.parse(body)
        waiting = get_client(request).feed_webhook(event)
        return JSONResponse(
            {"received": True, "event_id": event.event_id, "waiting": waiting}
        )

    return receive_callback


async def _process(
    request: Request,
    event: webhooks.WebhookEvent,
    seen: webhooks.SeenEvents,
    on_event: EventHook | None,
) -> Response:
    """Feed a verified delivery once; a repeat of a processed one is a 2xx."""
    event_id = event.event_id
    client = get_client(request)
    try:
        first = await _first_delivery(client, event_id, seen)
    except Exception:
        log.exception("heygen.webhook_dedup_failed event_id=%s", event_id)
        message = "the delivery could not be de-duplicated; retry it"
        return _error(500, "processing_failed", message, reason="error")
    if not first:
        return JSONResponse(
            {
                "received": True,
                "event_id": event_id,
                "duplicate": True,
                "waiting": False,
            }
        )
    processed = False
    try:
        if on_event is not None:
            await on_event(event)
        waiting = await client.deliver_webhook(event)
        processed = True
    except Exception:
        log.exception("heygen.webhook_failed event_id=%s", event_id)
        message = "the delivery could not be processed; retry it"
        return _error(500, "processing_failed", message, reason="error")
    finally:
        if not processed and event_id is not None:
            seen.discard(event_id)  # failed or cancelled: let the retry in
            await _release(client, event_id)
    return JSONResponse({"received": True, "event_id": event_id, "waiting": waiting})


async def _first_delivery(
    client: Client, event_id: str | None, seen: webhooks.SeenEvents
) -> bool:
    """
    Whether no worker has taken *event_id* yet: in this process, and with a
    coordinator in every process sharing it (one Redis ``SET NX`` per id).
    """
    if event_id is None:
        return True
    if not seen.add(event_id):
        return False
    try:
        shared = await client.coordinator.claim_event(event_id)
    except BaseException:
        seen.discard(event_id)
        raise
    return shared is not False


async def _release(client: Client, event_id: str) -> None:
    """Let HeyGen's retry of a failed delivery be processed by any worker."""
    try:
        await client.coordinator.release_event(event_id)
    except Exception:  # noqa: BLE001 (the claim expires with its TTL)
        log.warning("heygen.webhook_release_failed event_id=%s", event_id)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or ``None`` as soon as it is known to exceed *limit* bytes."""
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        return None  # refused unread
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> JSONResponse:
    log.info("heygen.webhook_too_large limit=%d", limit)
    message = f"the delivery is larger than {limit} bytes"
    response = _error(413, "payload_too_large", message, reason="too_large")
    response.headers["Connection"] = "close"  # the rest of the body is unread
    return response


def _keys(secret: str | None, secrets: Sequence[str] | None) -> list[str]:
    if (secret is None) == (secrets is None):
        msg = "webhook_router: pass exactly one of secret= or secrets="
        raise ValueError(msg)
    keys = [secret] if secret is not None else list(secrets or ())
    if not keys or not all(keys):
        msg = "webhook_router: webhook secrets must be non-empty"
        raise ValueError(msg)
    return keys


def _error(status: int, code: str, message: str, *, reason: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "reason": reason}},
        status_code=status,
    )
