"""
What a client owns, apart from its endpoints: configuration and resources.

:class:`ClientBase` reads the configuration, holds the aiohttp session
(created lazily inside the running loop, or borrowed and never closed), the
shared :class:`~._throttle.Throttle`, the HTTP layer and the upload cache, and
runs the lifecycle: ``UNOPENED -> OPENED -> CLOSED``, one event loop, an
idempotent :meth:`~ClientBase.aclose` and a ``ResourceWarning`` on leaks.

It also holds the one endpoint sequence (as openai-python's
``get(path, cast_to=...)``): :meth:`~ClientBase._fetch` sends a request and
structures the ``data`` of its answer into a model, :meth:`~ClientBase._pages`
follows a listing. Every endpoint of the client is a call on one of them.
"""

from __future__ import annotations

import asyncio
import enum
import os
import re
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, TypedDict, TypeVar, Unpack, overload
from urllib.parse import urlsplit

import aiohttp
import attrs

from . import _log
from ._config import (
    API_BASE_ENV,
    API_KEY_ENV,
    DEFAULT_BASE_URL,
    Limits,
    PollPolicy,
    RetryPolicy,
    Timeouts,
)
from ._converter import make_converter
from ._coord.local import LocalCoordinator
from ._coord.protocol import Coordinator
from ._http import HTTP, Form, page_of
from ._models import Asset, CreatedVideo, VideoRequest
from ._observe.hooks import EventHooks
from ._observe.instrument import Instrumentation
from ._observe.otel import OpenTelemetry
from ._throttle import Throttle
from ._uploads import Payload, UploadCache, load
from .exceptions import ConfigurationError, ResponseValidationError


if TYPE_CHECKING:
    from ._scheduler import Scheduler


__all__ = [
    "BatchSubmitter",
    "ClientBase",
    "CloseCallback",
    "RequestOptions",
    "check_id",
    "check_key",
    "check_one_source",
    "new_key",
]

log = _log.logger

CloseCallback = Callable[[], Awaitable[None]]

_T = TypeVar("_T")
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_:.-]{1,255}")
# An id goes into a URL path, a comma-joined query and, for downloads, a file
# name: none of these may be able to change where it points.
_UNSAFE_ID = re.compile(r"[\s\x00-\x1f\x7f-\x9f/\\,%]")
_MAX_ID = 255


class RequestOptions(TypedDict, total=False):
    """
    What one :meth:`ClientBase._fetch` may carry besides method and route.

    Attributes:
        path: Values for the route's placeholders; each is checked as one
            safe path segment (:func:`check_id`) before anything is sent.
        params: Query parameters.
        json: A JSON body.
        form: A multipart body factory (uploads).
        idempotency_key: Makes a POST safe to retry; reused on every try.
        retry: This call's retry policy (the client's by default), e.g. one
            evolved with ``retry_on_rate_limit=False``.
        expect_id: Refuse an answer whose ``id`` is not this one: a server
            must not swap what we asked for.
    """

    path: Mapping[str, str] | None
    params: Mapping[str, str | int] | None
    json: Any
    form: Form | None
    idempotency_key: str | None
    retry: RetryPolicy | None
    expect_id: str | None


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class ClientBase:
    """
    Configuration, session ownership and lifecycle of a client. Strictly private.

    The public constructor arguments are documented on :class:`~heygen_async.Client`.
    """

    # aclose() calls these last, when nothing it awaits is left: waking
    # 100,000 failed waits then happens after it returns, not inside it.
    _closed_callbacks: tuple[Callable[[], None], ...] = ()

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        poll: PollPolicy | None = None,
        requests_per_second: float | None = None,
        user_agent: str | None = None,
        session: aiohttp.ClientSession | None = None,
        environ: Mapping[str, str] | None = None,
        strict: bool = False,
        limits: Limits | None = None,
        coordinator: Coordinator | None = None,
        event_hooks: EventHooks | None = None,
        telemetry: bool | OpenTelemetry = False,
    ) -> None:
        self._owned_session: aiohttp.ClientSession | None = None
        self._borrowed_session = session
        self._state = _State.UNOPENED
        self._loop: asyncio.AbstractEventLoop | None = None
        env = os.environ if environ is None else environ
        key = api_key if api_key is not None else env.get(API_KEY_ENV)
        if not key or not key.strip():
            msg = f"no API key: pass api_key= or set {API_KEY_ENV}"
            raise ConfigurationError(msg)
        base = (base_url or env.get(API_BASE_ENV) or DEFAULT_BASE_URL).rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            msg = f"base_url must be an http(s) URL; got {base!r}"
            raise ConfigurationError(msg)
        try:
            self._throttle = Throttle(requests_per_second=requests_per_second)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        self._base_url = base
        self._retry = retry or RetryPolicy()
        self._timeouts = timeouts or Timeouts()
        self._poll = poll or PollPolicy()
        self._limits = limits or Limits()
        self._strict = strict
        self._converter = make_converter(strict=strict)
        self._uploads = UploadCache()
        self._observe = Instrumentation.build(hooks=event_hooks, otel=telemetry)
        # aclose() awaits these first, newest first (the scheduler's shutdown).
        self._close_callbacks: list[CloseCallback] = []
        self._scheduler: Scheduler | None = None
        self._coordinator = self._share(coordinator)
        self._http = HTTP(
            api_key=key,
            base_url=base,
            user_agent=user_agent,
            retry=self._retry,
            timeouts=self._timeouts,
            throttle=self._throttle,
            session=self._session,
            limits=self._limits,
            observe=self._observe,
        )

    def __repr__(self) -> str:
        return f"<heygen_async.{type(self).__name__} base_url={self._base_url!r}>"

    def _share(self, coordinator: Coordinator | None) -> Coordinator:
        """The coordinator, told of every Retry-After here and closed with us."""
        if coordinator is None:
            return LocalCoordinator()
        self._throttle.on_defer = coordinator.rate_limited
        self._close_callbacks.append(coordinator.aclose)
        return coordinator

    # -- configuration ----------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._base_url

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy for each HTTP call."""
        return self._retry

    @property
    def timeouts(self) -> Timeouts:
        """Per-request timeouts."""
        return self._timeouts

    @property
    def limits(self) -> Limits:
        """Caps on response bodies, JSON nesting, pages and downloads."""
        return self._limits

    @property
    def poll(self) -> PollPolicy:
        """The default cadence for waiting on jobs."""
        return self._poll

    @property
    def coordinator(self) -> Coordinator:
        """What this client shares the account through (local by default)."""
        return self._coordinator

    @property
    def strict(self) -> bool:
        """Whether unknown response fields are rejected."""
        return self._strict

    def request_counts(self) -> dict[str, int]:
        """
        HTTP attempts so far by route template, retries included.

        For example ``{"POST /v3/videos": 3, "GET /v3/videos/{video_id}": 2}``.
        """
        return dict(self._http.counts)

    # -- lifecycle --------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state is _State.CLOSED:
            msg = "Cannot reopen a client once it has been closed."
            raise RuntimeError(msg)
        self._bind_loop()
        self._state = _State.OPENED
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """
        Stop background work and close the owned session; safe to call twice.

        A borrowed session is left open. Failures while cleaning up are logged
        and do not stop the rest of the cleanup.
        """
        if self._state is _State.CLOSED:
            return
        if self._owned_session is not None:
            self._bind_loop()  # closing another loop's session would hang
        self._state = _State.CLOSED
        try:
            while self._close_callbacks:
                callback = self._close_callbacks.pop()
                try:
                    await callback()
                except Exception:
                    log.warning("heygen.close_callback_failed", exc_info=True)
            await self._uploads.aclose()
            if self._owned_session is not None:
                await self._owned_session.close()
        finally:
            for closed in self._closed_callbacks:
                closed()

    def __del__(self) -> None:
        session = getattr(self, "_owned_session", None)
        if session is not None and not session.closed:
            warnings.warn(
                f"Unclosed {self!r}: use 'async with' or 'await client.aclose()'",
                ResourceWarning,
                stacklevel=1,
                source=self,
            )

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            msg = (
                "this heygen_async.Client is bound to a different event loop; "
                "create one client per event loop"
            )
            raise RuntimeError(msg)

    def _session(self) -> aiohttp.ClientSession:
        """The session for the next request (created lazily, in the loop)."""
        if self._state is _State.CLOSED:
            msg = "Cannot send requests with a closed heygen_async.Client."
            raise RuntimeError(msg)
        self._bind_loop()
        self._state = _State.OPENED
        if self._borrowed_session is not None:
            return self._borrowed_session
        if self._owned_session is None:
            self._owned_session = aiohttp.ClientSession()
        return self._owned_session

    # -- shared by create_video and a batch: uploads, the create --------

    async def _resolve_request(self, request: VideoRequest) -> VideoRequest:
        """
        Upload a local *image_path* and return the request with its asset id.

        Deduplicated by content hash; concurrent callers with the same file
        share one upload. A request without *image_path* is returned as is.
        """
        if request.image_path is None:
            return request
        asset_id = await self._image_asset_id(request.image_path)
        return attrs.evolve(request, image_path=None, image_asset_id=asset_id)

    async def _upload(self, payload: Payload) -> Asset:
        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field(
                "file",
                payload.data,
                filename=payload.filename,
                content_type=payload.mime_type,
            )
            return data

        return await self._fetch(
            "POST", "/v3/assets", cast_to=Asset, form=form, idempotency_key=new_key()
        )

    async def _image_asset_id(self, path: str | os.PathLike[str]) -> str:
        """Upload a local image once per distinct content; its asset id."""
        payload = await asyncio.to_thread(load, path, images_only=True)
        return await self._uploads.asset_id(payload, self._upload_payload_id)

    async def _upload_payload_id(self, payload: Payload) -> str:
        return (await self._upload(payload)).id

    async def _create(
        self,
        request: VideoRequest,
        *,
        idempotency_key: str,
        retry: RetryPolicy | None = None,
    ) -> CreatedVideo:
        """POST an already-resolved request with a caller-minted key."""
        body = self._converter.unstructure(request)
        return await self._fetch(
            "POST",
            "/v3/videos",
            cast_to=CreatedVideo,
            json=body,
            idempotency_key=check_key(idempotency_key),
            retry=retry or self._retry,
        )

    # -- the endpoint sequence ----------------------------------------------

    @overload
    async def _fetch(
        self,
        method: str,
        route: str,
        *,
        cast_to: type[_T],
        **options: Unpack[RequestOptions],
    ) -> _T: ...

    @overload
    async def _fetch(
        self,
        method: str,
        route: str,
        *,
        cast_to: None = None,
        **options: Unpack[RequestOptions],
    ) -> Any: ...

    async def _fetch(
        self,
        method: str,
        route: str,
        *,
        cast_to: type[Any] | None = None,
        **options: Unpack[RequestOptions],
    ) -> Any:
        """
        Send one request and return the ``data`` of its answer as *cast_to*.

        *route* is the path template (``/v3/videos/{video_id}``): it names the
        request in counts, logs and errors. The answer is structured inside
        the HTTP retry loop, so a keyed POST can replay an answer it could not
        read and every error names the route and request id. Without
        *cast_to* the decoded JSON body is returned as is (envelope included).
        """
        self._session()  # fail fast on a closed client or the wrong loop
        path = options.get("path")
        if path is not None:
            path = {name: check_id(name, value) for name, value in path.items()}
        parse = None
        if cast_to is not None:
            parse = self._parser(cast_to, options.get("expect_id"))
        return await self._http.call(
            method,
            route,
            path=path,
            params=options.get("params"),
            json=options.get("json"),
            form=options.get("form"),
            idempotency_key=options.get("idempotency_key"),
            retry=options.get("retry"),
            parse=parse,
        )

    def _parser(self, cls: type[_T], expect_id: str | None) -> Callable[[Any], _T]:
        def parse(body: Any) -> _T:
            item = self._converter.decode(body, cls)
            if expect_id is not None and getattr(item, "id", None) != expect_id:
                msg = f"asked for {expect_id!r}, got {getattr(item, 'id', None)!r}"
                raise ResponseValidationError(msg)
            return item

        return parse

    async def _get_one(self, route: str, cls: type[_T], **path_id: str) -> _T:
        """``GET`` the one resource *path_id* names, checking the answer is it."""
        ((name, value),) = path_id.items()
        return await self._fetch(
            "GET", route, cast_to=cls, path=path_id, expect_id=check_id(name, value)
        )

    async def _pages(
        self,
        route: str,
        cls: type[_T],
        params: Mapping[str, str | int | None] | None = None,
        *,
        max_pages: int | None = None,
    ) -> AsyncIterator[_T]:
        """
        Follow a listing's pages, yielding its rows as *cls*.

        ``None`` values in *params* are left out. Stops with
        :class:`ResponseValidationError` when ``next_token`` repeats or after
        *max_pages* (at most ``Limits.max_pages``) pages.
        """
        query = {k: v for k, v in (params or {}).items() if v is not None}
        limit = self._limits.max_pages
        if max_pages is not None:
            limit = min(limit, max_pages)
        name = f"GET {route}"
        seen: set[str] = set()
        for _ in range(limit):
            body = await self._fetch("GET", route, params=query)
            items, token = page_of(body, route)
            for item in self._converter.structure(items, list[cls], route=name):  # type: ignore[valid-type]
                yield item
            if token is None:
                return
            if token in seen:
                msg = f"{name} returned a next_token it had returned before"
                raise ResponseValidationError(msg, route=name)
            seen.add(token)
            query = {**query, "token": token}
        msg = f"{name} still had more after {limit} pages"
        raise ResponseValidationError(msg, route=name)

    # -- the escape hatch ---------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """
        Call any endpoint and return its decoded JSON body, envelope included.

        For endpoints this SDK does not model. Auth, retries and error
        mapping apply as for every other call: without *idempotency_key* a
        failed POST is never retried on 5xx or transport errors.

        Example::

            body = await client.request("GET", "/v3/webhooks/event-types")
        """
        if not path.startswith("/"):
            msg = f"path must start with '/'; got {path!r}"
            raise ValueError(msg)
        key = check_key(idempotency_key) if idempotency_key is not None else None
        return await self._fetch(
            method, path, json=json, params=params, idempotency_key=key
        )


@attrs.frozen
class BatchSubmitter:
    """
    The client's face to a :class:`Batch` (a ``_batch.admission.Submitter``).

    An adapter rather than public methods: a create whose policy raises a
    429 at once is a contract with the batch, not an API to offer users.
    Private to the package (``Client.batch`` builds one).
    """

    _client: ClientBase

    async def resolve(self, request: VideoRequest) -> VideoRequest:
        """Upload a local ``image_path`` (deduplicated by content)."""
        return await self._client._resolve_request(request)

    async def create(
        self, request: VideoRequest, *, idempotency_key: str
    ) -> CreatedVideo:
        """POST once; a 429 is raised so the batch can requeue the job."""
        retry = attrs.evolve(self._client.retry, retry_on_rate_limit=False)
        return await self._client._create(
            request, idempotency_key=idempotency_key, retry=retry
        )

    def request_counts(self) -> dict[str, int]:
        """The client's request counts."""
        return self._client.request_counts()


def check_one_source(what: str, **sources: object) -> None:
    """``ValueError`` unless exactly one of *sources* is given (not ``None``)."""
    given = [name for name, value in sources.items() if value is not None]
    if len(given) != 1:
        detail = ", ".join(given) if given else "none"
        msg = f"{what}: pass exactly one of {', '.join(sources)} (got {detail})"
        raise ValueError(msg)


def new_key() -> str:
    """A fresh ``Idempotency-Key``: makes a POST safe to retry."""
    return uuid.uuid4().hex


def check_key(key: str) -> str:
    """*key*, if it is a usable ``Idempotency-Key``; ``ValueError`` otherwise."""
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        msg = (
            "idempotency_key must be 1 to 255 characters from [A-Za-z0-9_:.-]; "
            f"got {key!r}"
        )
        raise ValueError(msg)
    return key


def check_id(name: str, value: object) -> str:
    """*value*, if it is one safe path segment; ``ValueError`` before any request."""
    if not isinstance(value, str) or not value.strip():
        msg = f"{name} must be a non-empty string; got {value!r}"
        raise ValueError(msg)
    if len(value) > _MAX_ID or value in (".", "..") or _UNSAFE_ID.search(value):
        msg = (
            f"{name} must be one id of at most {_MAX_ID} characters without "
            f"whitespace, control characters, '/', '\\', ',' or '%'; got {value!r}"
        )
        raise ValueError(msg)
    return value
