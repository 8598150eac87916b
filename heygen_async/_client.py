"""
The :class:`Client`: one async method per endpoint of the image-to-video flow.

HTTP lives in ``_http``, wire names in ``_converter``, file handling in
``_uploads``, and configuration, session ownership and lifecycle in
``_base``. This module is the API surface on top of them.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import aiohttp
import attrs

from . import _backoff
from ._base import ClientBase
from ._batch.batch import Batch
from ._batch.stores import JobStore
from ._config import DEFAULT, MAX_STATUS_IDS, Default, PollPolicy
from ._converter import WireConverter, error_fields, photo_avatar_body
from ._download import download_video as _download_video
from ._estimate import AudioLengths, Estimate, Pricing, estimate
from ._http import last_request_id, page_of
from ._models import (
    Account,
    Asset,
    AvatarLook,
    CreatedVideo,
    PhotoAvatar,
    StatusItem,
    Video,
    VideoRequest,
    Voice,
)
from ._pacing import RenderFeatures
from ._scheduler import Scheduler
from ._uploads import Payload, load
from ._webhook_endpoints import WebhookMethods
from .exceptions import (
    AvatarConsentRequiredError,
    AvatarFailedError,
    RateLimitError,
    ResponseValidationError,
    UndecodableRowsError,
    WaitTimeoutError,
)


__all__ = ["Client"]

_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_:.-]{1,255}")
# An id goes into a URL path, a comma-joined query and, for downloads, a file
# name: none of these may be able to change where it points.
_UNSAFE_ID = re.compile(r"[\s\x00-\x1f\x7f-\x9f/\\,%]")
_MAX_ID = 255
_T = TypeVar("_T")
_STATUSES = "/v3/videos/statuses"
_NOT_A_ROW = object()


class Client(WebhookMethods, ClientBase):
    """
    An asyncio client for HeyGen's v3 image-to-video API.

    A client can be shared between tasks; create one per application (and
    per event loop), not per request. Use it as an async context manager or
    call :meth:`aclose` when done. All times are float seconds.

    Args:
        api_key: Your HeyGen API key; defaults to ``HEYGEN_API_KEY``.
        base_url: Defaults to ``HEYGEN_API_BASE``, then the public API.
        retry: How each HTTP call is retried.
        timeouts: Per-request timeouts (reads, writes, uploads).
        poll: The default cadence for waiting on jobs.
        requests_per_second: Cap the request rate (token bucket); ``None``
            for no cap. 429s are honoured either way.
        user_agent: Appended to ``heygen-async/<version>``.
        session: An aiohttp session to borrow; the client never closes it.
        environ: The environment to read (``os.environ`` if omitted).
        strict: Reject unknown fields in responses (for tests and fakes).
        limits: Caps on response bodies, JSON nesting, pages followed and
            downloaded files (:class:`Limits`).
        coordinator: Share the account with other processes
            (:class:`RedisCoordinator`): creates wait for an account-wide
            slot, results and webhooks reach every process, one of them
            polls. ``None``: this process on its own.
        event_hooks: ``{"request": [...], "response": [...]}``: callables,
            sync or async, shown each HTTP attempt (the key redacted).
        telemetry: ``True`` or an :class:`OpenTelemetry`: spans and metrics.

    Raises:
        ConfigurationError: No API key, or an unusable *base_url*.

    Example::

        async with heygen_async.Client() as client:
            created = await client.create_video(heygen_async.VideoRequest(
                image_url="https://example.com/me.jpg",
                script="Hello!", voice_id="...",
            ))
    """

    # -- videos -----------------------------------------------------------

    async def create_video(
        self, request: VideoRequest, *, idempotency_key: str | None = None
    ) -> CreatedVideo:
        """
        Start rendering a video (``POST /v3/videos``); returns before it is done.

        A local *image_path* is uploaded first (once per distinct content).
        The request always carries an ``Idempotency-Key``, fresh per call
        unless you pass one, so retries never create a second paid job.

        Raises:
            ValueError: A bad *idempotency_key*, or an *image_path* that is
                missing or not a PNG/JPEG, before anything is sent.
        """
        key = _check_key(idempotency_key) if idempotency_key is not None else None
        resolved = await self._resolve_request(request)
        return await self._create(
            resolved, idempotency_key=key or uuid.uuid4().hex, retry_on_rate_limit=True
        )

    async def _resolve_request(self, request: VideoRequest) -> VideoRequest:
        """
        Upload a local *image_path* and return the request with its asset id.

        Deduplicated by content hash; concurrent callers with the same file
        share one upload. A request without *image_path* is returned as is.
        """
        if request.image_path is None:
            return request
        payload = await asyncio.to_thread(load, request.image_path, images_only=True)
        asset_id = await self._uploads.asset_id(payload, self._upload_payload_id)
        return attrs.evolve(request, image_path=None, image_asset_id=asset_id)

    async def _create(
        self,
        request: VideoRequest,
        *,
        idempotency_key: str,
        retry_on_rate_limit: bool,
    ) -> CreatedVideo:
        """
        POST an already-resolved request with a caller-minted key.

        With ``retry_on_rate_limit=False`` a 429 is raised at once (the
        throttle has already been told), so a batch can requeue the job.
        """
        body = self._converter.unstructure(request)
        route = "/v3/videos"
        key = _check_key(idempotency_key)
        self._get_scheduler()  # binds the coordinator in this loop
        async with self._coordinator.slot(key) as slot:  # account-wide cap
            try:
                created: CreatedVideo = await self._call(
                    "POST",
                    route,
                    json=body,
                    idempotency_key=key,
                    retry_on_rate_limit=retry_on_rate_limit,
                    parse=self._parser(route, CreatedVideo),
                )
            except RateLimitError as error:
                await slot.rate_limited(error.retry_after)
                raise
            await slot.created(created.id)
        return created

    async def get_video(self, video_id: str) -> Video:
        """
        One video with its (freshly presigned) URLs or failure details.

        Raises:
            ResponseValidationError: The answer is about another video.
        """
        return await self._get_one("/v3/videos/{video_id}", Video, video_id=video_id)

    async def get_statuses(self, video_ids: Iterable[str]) -> list[StatusItem]:
        """
        Where each video is, from the bulk endpoint.

        Any number of ids; they are sent 100 per request. Rows are read one
        by one, so one odd row cannot hide the others. Rows without a
        ``video_id`` (batch items not created yet) and rows about ids not
        asked for are skipped.

        Raises:
            UndecodableRowsError: Some rows, or a whole response, did not
                decode; ``.items`` still holds every row that did, and
                ``.video_ids`` the videos to ask :meth:`get_video` about.
        """
        ids = [_check_id("video_id", video_id) for video_id in video_ids]
        rows = _StatusRows(self._converter)
        for start in range(0, len(ids), MAX_STATUS_IDS):
            await self._read_statuses(ids[start : start + MAX_STATUS_IDS], rows)
        return rows.result()

    async def _read_statuses(self, ids: list[str], rows: _StatusRows) -> None:
        """Read every page about up to 100 *ids* into *rows*."""
        asked = set(ids)
        params: dict[str, str | int] = {"video_ids": ",".join(ids)}
        tokens: set[str] = set()
        field = "$.next_token"  # endless pages: give up on the rest
        for _ in range(len(ids) + 1):
            body: Any = None
            try:
                body = await self._call("GET", _STATUSES, params=params)
                page, token = page_of(body, f"GET {_STATUSES}")
            except ResponseValidationError:
                # Not JSON, not an object, or no list of rows: nothing to read.
                field = "$.data" if isinstance(body, dict) else "$"
                break
            rows.add_page(page, asked, last_request_id())
            if token is None or asked <= rows.answered:
                return
            if token in tokens:
                break  # a loop: the rest will never come
            tokens.add(token)
            params = {**params, "token": token}
        unread = [i for i in ids if i not in rows.answered]
        rows.problem([field], last_request_id(), unread)

    async def delete_video(self, video_id: str) -> None:
        """Delete a video (``DELETE /v3/videos/{video_id}``)."""
        await self._call(
            "DELETE",
            "/v3/videos/{video_id}",
            path={"video_id": _check_id("video_id", video_id)},
        )

    async def iter_videos(
        self,
        *,
        page_size: int | None = None,
        title: str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Video]:
        """
        Every video on the account, newest first, following pages.

        Args:
            page_size: Videos per request (1 to 100); the server's default
                if omitted. It does not cap how many videos are yielded.
            title: Only videos whose title contains this.
            limit: Deprecated alias of *page_size* (it never capped the
                total either); ignored when *page_size* is given.
        """
        if limit is not None:
            warnings.warn(
                "iter_videos(limit=...) is deprecated: it is the page size; "
                "pass page_size=... instead",
                DeprecationWarning,
                stacklevel=2,
            )
            if page_size is None:
                page_size = limit
        params = _params(limit=page_size, title=title)
        async for video in self._pages("/v3/videos", params, Video):
            yield video

    # -- assets -----------------------------------------------------------

    async def upload_asset(
        self,
        source: str | os.PathLike[str] | bytes | BinaryIO,
        *,
        filename: str | None = None,
    ) -> Asset:
        """
        Upload a file (``POST /v3/assets``) and return the asset.

        *source* is a path, the bytes, or a binary file object. The type is
        detected from the content (png, jpeg, mp3, wav, mp4, webm).

        Raises:
            ValueError: Unsupported type, empty, missing or over 32 MiB;
                raised before anything is sent, naming the file.
        """
        if isinstance(source, str | os.PathLike):
            payload = await asyncio.to_thread(load, source, filename=filename)
        else:
            payload = load(source, filename=filename)
        asset = await self._upload(payload)
        self._uploads.remember(payload.sha256, asset.id)
        return asset

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

        route = "/v3/assets"
        asset: Asset = await self._call(
            "POST",
            route,
            form=form,
            idempotency_key=uuid.uuid4().hex,
            parse=self._parser(route, Asset),
        )
        return asset

    async def _upload_payload_id(self, payload: Payload) -> str:
        return (await self._upload(payload)).id

    async def get_asset(self, asset_id: str) -> Asset:
        """An uploaded asset's details."""
        return await self._get_one("/v3/assets/{asset_id}", Asset, asset_id=asset_id)

    # -- voices -----------------------------------------------------------

    async def iter_voices(
        self,
        *,
        type: str | None = None,
        engine: str | None = None,
        language: str | None = None,
        gender: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Voice]:
        """
        Voices you can use with a script, following pages.

        Args:
            type: ``"public"`` (the server's default) or ``"private"``.
            engine: A TTS engine, e.g. ``"starfish"``.
            language: e.g. ``"English"``.
            gender: ``"male"`` or ``"female"``.
            page_size: Voices per request (1 to 100).
        """
        params = _params(
            type=type, engine=engine, language=language, gender=gender, limit=page_size
        )
        async for voice in self._pages("/v3/voices", params, Voice):
            yield voice

    async def get_voice(self, voice_id: str) -> Voice:
        """One voice's details."""
        return await self._get_one("/v3/voices/{voice_id}", Voice, voice_id=voice_id)

    # -- photo avatars ----------------------------------------------------

    async def create_photo_avatar(
        self,
        *,
        name: str,
        image_url: str | None = None,
        image_asset_id: str | None = None,
        image_path: str | os.PathLike[str] | None = None,
    ) -> PhotoAvatar:
        """
        Train a photo avatar from one image (``POST /v3/avatars``).

        Pass exactly one of *image_url*, *image_asset_id* or *image_path*
        (uploaded first). Training is asynchronous: see
        :meth:`wait_for_avatar`. The look's id is a video ``avatar_id``.

        HeyGen may answer with ``avatar_group`` or ``avatar_item`` set to
        ``null``; the avatar was still created, so this returns what came
        (``.group`` or ``.look`` is ``None``) instead of raising and losing
        the ids that did arrive.
        """
        sources = {
            "image_url": image_url,
            "image_asset_id": image_asset_id,
            "image_path": image_path,
        }
        given = [name for name, value in sources.items() if value is not None]
        if len(given) != 1:
            detail = ", ".join(given) if given else "none"
            msg = (
                "create_photo_avatar: pass exactly one of image_url, "
                f"image_asset_id, image_path (got {detail})"
            )
            raise ValueError(msg)
        if image_path is not None:
            payload = await asyncio.to_thread(load, image_path, images_only=True)
            image_asset_id = await self._uploads.asset_id(
                payload, self._upload_payload_id
            )
        body = photo_avatar_body(
            name=name, image_url=image_url, image_asset_id=image_asset_id
        )
        route = "/v3/avatars"
        avatar: PhotoAvatar = await self._call(
            "POST",
            route,
            json=body,
            idempotency_key=uuid.uuid4().hex,
            parse=self._parser(route, PhotoAvatar),
        )
        return avatar

    async def get_avatar_look(self, look_id: str) -> AvatarLook:
        """One photo-avatar look, trained or still training."""
        return await self._get_one(
            "/v3/avatars/looks/{look_id}", AvatarLook, look_id=look_id
        )

    async def wait_for_avatar(
        self,
        look_id: str,
        *,
        deadline: float | None = 300.0,
        poll: PollPolicy | None = None,
    ) -> AvatarLook:
        """
        Poll a look until its training is done and return it.

        Polls at once, then with *poll*'s cadence (the client's by default).

        Raises:
            AvatarFailedError: Training failed; ``.look.error`` says why.
            AvatarConsentRequiredError: The look waits for consent
                (``POST /v3/avatars/{group_id}/consent``); give it, then
                wait again.
            WaitTimeoutError: *deadline* seconds passed first; the look may
                still finish, so wait again.
        """
        pauses = _backoff.poll_waits(poll or self._poll)
        async for _ in _backoff.attempts(pauses, deadline=deadline):
            look = await self.get_avatar_look(look_id)
            if look.is_ready:
                return look
            if look.is_failed:
                raise AvatarFailedError(look)
            if look.needs_consent:
                raise AvatarConsentRequiredError(look)
        raise WaitTimeoutError(look_id, None, resource="avatar look")

    # -- account and escape hatch -----------------------------------------

    async def get_me(self) -> Account:
        """The account behind the API key; a cheap way to check the key."""
        route = "/v3/users/me"
        account: Account = await self._call(
            "GET", route, parse=self._parser(route, Account)
        )
        return account

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
        key = _check_key(idempotency_key) if idempotency_key is not None else None
        return await self._call(
            method, path, json=json, params=params, idempotency_key=key
        )

    # -- waiting ----------------------------------------------------------

    def _get_scheduler(self) -> Scheduler:
        """The client's one poll loop, created on first use."""
        if self._scheduler is None:
            self._session()  # refuses a closed client, binds the loop
            self._scheduler = Scheduler(
                self,
                poll=self._poll,
                observe=self._observe,
                coordinator=self._coordinator,
            )
            self._close_callbacks.append(self._scheduler.aclose)
            self._coordinator.bind(self._scheduler, self._gate)
            # Closed before the poll loop: step down as the account's poller
            # while this process still polls, so another takes over at once.
            if self._coordinator.aclose in self._close_callbacks:
                self._close_callbacks.remove(self._coordinator.aclose)
                self._close_callbacks.append(self._coordinator.aclose)
        return self._scheduler

    def _gate(self, seconds: float) -> None:
        """Another process saw a Retry-After: hold this one's requests too."""
        self._throttle.defer(seconds, share=False)

    async def wait_for_video(
        self,
        video_id: str,
        *,
        deadline: float | Default | None = DEFAULT,
        poll: PollPolicy | None = None,
    ) -> Video:
        """
        Wait until a video finishes and return it, completed, with its URLs.

        Every waiter shares the client's one poll loop: 200 coroutines
        waiting at once cost one bulk status call per tick, not 200 GETs.

        Args:
            video_id: The id from :meth:`create_video`.
            deadline: Seconds to wait; ``None`` waits forever. Defaults to
                the poll policy's deadline (20 minutes).
            poll: The cadence for this wait; defaults to the client's.

        Raises:
            VideoFailedError: The render failed; ``.video`` says how.
            WaitTimeoutError: *deadline* passed first; the render may still
                finish, so wait again with the same id.
            NotFoundError: HeyGen does not know *video_id*.
        """
        return await self._wait_for(video_id, deadline=deadline, poll=poll)

    async def _wait_for(
        self,
        video_id: str,
        *,
        deadline: float | Default | None,
        poll: PollPolicy | None,
        features: RenderFeatures | None = None,
    ) -> Video:
        scheduler = self._get_scheduler()
        at = None
        policy = poll or self._poll
        seconds = policy.deadline if deadline is DEFAULT else deadline
        if seconds is not None:
            at = asyncio.get_running_loop().time() + seconds
        else:
            policy = attrs.evolve(policy, deadline=None)
        video_id = _check_id("video_id", video_id)
        with self._observe.span("heygen.wait_for_video", video_id=video_id):
            return await scheduler.wait(
                video_id, policy=policy, deadline=at, features=features
            )

    async def render(
        self,
        request: VideoRequest,
        *,
        idempotency_key: str | None = None,
        deadline: float | Default | None = DEFAULT,
        poll: PollPolicy | None = None,
    ) -> Video:
        """
        Create a video and wait for it: :meth:`create_video` then
        :meth:`wait_for_video`, with the same errors.
        """
        with self._observe.span("heygen.render"):
            created = await self.create_video(request, idempotency_key=idempotency_key)
            return await self._wait_for(
                created.id,
                deadline=deadline,
                poll=poll,
                features=RenderFeatures.of(request),
            )

    def batch(
        self,
        *,
        max_in_flight: int = 10,
        deadline: float | None = None,
        poll: PollPolicy | None = None,
        max_uploads: int = 4,
        outcome_buffer: int = 100,
        store: JobStore | None = None,
        max_credits: float | None = None,
        pricing: Pricing | None = None,
    ) -> Batch:
        """
        Render many videos with at most *max_in_flight* running at once.

        Use as ``async with client.batch() as batch:``; see :class:`Batch`.

        Args:
            max_in_flight: The account's concurrency cap (10 on
                pay-as-you-go). A 429 on create lowers it for a while.
            deadline: Seconds for the whole batch; jobs not finished by then
                are reported as ``TimedOut``. ``None`` for no batch limit
                (each job still has the poll policy's deadline).
            poll: The cadence and per-job deadline; the client's by default.
            max_uploads: Local images uploaded at once.
            outcome_buffer: Unread outcomes that pause admission while
                someone iterates :meth:`Batch.as_completed`.
            store: The job journal. A :class:`SQLiteStore` makes the batch
                resumable after a crash: open a batch on the same file and
                it re-attaches to every job without paying twice. Defaults
                to a fresh :class:`MemoryStore`.
            max_credits: Stop admitting once the jobs' estimated credits
                (see :meth:`estimate`) would pass this; the rest are reported
                as ``Failed`` with :class:`CreditLimitError`, never sent.
            pricing: The rates for *max_credits*; :class:`Pricing` defaults.
        """
        return Batch(
            _Submitter(self),
            self._get_scheduler(),
            max_in_flight=max_in_flight,
            deadline=deadline,
            poll=poll,
            max_uploads=max_uploads,
            outcome_buffer=outcome_buffer,
            store=store,
            max_credits=max_credits,
            pricing=pricing,
        )

    def estimate(
        self,
        requests: Iterable[VideoRequest],
        *,
        pricing: Pricing | None = None,
        audio: AudioLengths | None = None,
    ) -> Estimate:
        """Estimated seconds and credits of *requests*; sends nothing (see Pricing)."""
        return estimate(requests, pricing=pricing, audio=audio)

    # -- helpers ----------------------------------------------------------

    async def _get_one(self, route: str, cls: type[_T], **path_id: str) -> _T:
        """
        ``GET`` one resource by its id, checking the answer is about that id.

        *path_id* is the single path parameter (``video_id=...``), checked as
        a safe path segment before any request.
        """
        ((name, value),) = path_id.items()
        resource_id = _check_id(name, value)
        item: _T = await self._call(
            "GET",
            route,
            path={name: resource_id},
            parse=self._parser(route, cls, expect_id=resource_id),
        )
        return item

    def _parser(
        self, route: str, cls: type[_T], *, expect_id: str | None = None
    ) -> Callable[[Any], _T]:
        """
        Structure a single-resource body inside the HTTP retry loop.

        There a keyed POST can replay an answer it could not read, and any
        error names the request id. With *expect_id*, an answer about another
        resource is refused: a server must not swap what we asked for.
        """

        def parse(body: Any) -> _T:
            item = self._converter.decode(body, cls)
            if expect_id is not None and getattr(item, "id", None) != expect_id:
                msg = f"asked for {expect_id!r}, got {getattr(item, 'id', None)!r}"
                raise ResponseValidationError(msg)
            return item

        return parse

    async def _pages(
        self,
        route: str,
        params: dict[str, str | int],
        cls: type[Any],
        *,
        max_pages: int | None = None,
    ) -> AsyncIterator[Any]:
        """
        Follow a listing's pages, refusing one that never ends.

        Stops with :class:`ResponseValidationError` when ``next_token``
        repeats or after *max_pages* (at most ``Limits.max_pages``) pages.
        """
        limit = self._limits.max_pages
        if max_pages is not None:
            limit = min(limit, max_pages)
        token: str | None = None
        seen: set[str] = set()
        for _ in range(limit):
            query = dict(params)
            if token is not None:
                query["token"] = token
            body = await self._call("GET", route, params=query)
            items, token = page_of(body, route)
            rows = self._converter.structure(items, list[cls], route=f"GET {route}")  # type: ignore[valid-type]
            for item in rows:
                yield item
            if token is None:
                return
            if token in seen:
                msg = f"GET {route} returned a next_token it had returned before"
                raise ResponseValidationError(msg, route=f"GET {route}")
            seen.add(token)
        msg = f"GET {route} still had more after {limit} pages"
        raise ResponseValidationError(msg, route=f"GET {route}")

    async def download_video(
        self, video: Video | str, dest: str | os.PathLike[str]
    ) -> Path:
        """
        Save a completed video's file to *dest* and return its path.

        *video* is a :class:`Video` or its id. The presigned URL is fetched
        without your API key; an expired one (403/404) is replaced by a fresh
        one from :meth:`get_video`. Bytes go to ``<dest>.part`` and are renamed
        only once complete and fsynced. An existing directory as *dest* gets
        ``<video_id>.mp4`` inside it.

        Raises:
            ValueError: The video is not completed.
            PermissionDeniedError: The URL is still refused after refreshing.
        """
        if isinstance(video, str):
            _check_id("video_id", video)
        return await _download_video(self, video, Path(dest), session=self._session)


@attrs.frozen
class _Submitter:
    """
    The client's face to a :class:`Batch` (a ``_batch.admission.Submitter``).

    An adapter rather than public methods: a create that skips the key check
    and raises a 429 at once is a contract with the batch, not an API to
    offer users. Strictly private.
    """

    _client: Client

    async def resolve(self, request: VideoRequest) -> VideoRequest:
        """Upload a local ``image_path`` (deduplicated by content)."""
        return await self._client._resolve_request(request)

    async def create(
        self, request: VideoRequest, *, idempotency_key: str
    ) -> CreatedVideo:
        """POST once; a 429 is raised so the batch can requeue the job."""
        return await self._client._create(
            request, idempotency_key=idempotency_key, retry_on_rate_limit=False
        )

    def request_counts(self) -> dict[str, int]:
        """The client's request counts."""
        return self._client.request_counts()


class _StatusRows:
    """What the bulk status pages said, read row by row. Strictly private."""

    def __init__(self, converter: WireConverter) -> None:
        self._converter = converter
        self.items: list[StatusItem] = []
        self.answered: set[str] = set()
        self.bad_ids: list[str] = []
        self.fields: list[str] = []
        self.request_id: str | None = None

    def add_page(
        self, page: list[Any], asked: set[str], request_id: str | None
    ) -> None:
        """
        Decode a page at once; row by row only when that fails or when some
        row is not a fresh answer about an asked id (the common page costs
        one structuring call, not one per row).
        """
        answered = self.answered
        ids = [row.get("video_id") if isinstance(row, dict) else None for row in page]
        fresh = set(ids)
        if len(fresh) == len(ids) and fresh <= asked and not fresh & answered:
            try:
                items = self._converter.structure(page, list[StatusItem])
            except ResponseValidationError:
                pass
            else:
                self.items.extend(items)
                answered.update(fresh)  # type: ignore[arg-type]
                return
        for row in page:
            self.add(row, asked, request_id)

    def add(self, row: Any, asked: set[str], request_id: str | None) -> None:
        """Decode one row; a row we cannot read becomes a problem, not a crash."""
        video_id = row.get("video_id") if isinstance(row, dict) else _NOT_A_ROW
        if video_id is None:
            return  # a batch item whose video does not exist yet
        if not isinstance(video_id, str):
            field = "$.data[]" if video_id is _NOT_A_ROW else "$.data[].video_id"
            self.problem([field], request_id, [])
            return
        if video_id not in asked or video_id in self.answered:
            return  # not ours, or a repeat
        self.answered.add(video_id)
        try:
            item = self._converter.structure(row, StatusItem)
        except ResponseValidationError as exc:
            fields = error_fields(exc, cl=StatusItem, path="$.data[]")
            self.problem(fields, request_id, [video_id])
        else:
            self.items.append(item)

    def problem(
        self, fields: list[str], request_id: str | None, video_ids: list[str]
    ) -> None:
        """Note fields that did not decode and the videos left unread."""
        if not self.fields:
            self.request_id = request_id
        self.fields.extend(f for f in fields if f not in self.fields)
        self.bad_ids.extend(video_ids)
        self.answered.update(video_ids)

    def result(self) -> list[StatusItem]:
        """The decoded rows, or an error carrying them when some were not."""
        if not self.fields:
            return self.items
        raise UndecodableRowsError(
            route=f"GET {_STATUSES}",
            fields=self.fields,
            request_id=self.request_id,
            items=self.items,
            video_ids=self.bad_ids,
        )


def _check_key(key: str) -> str:
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        msg = (
            "idempotency_key must be 1 to 255 characters from [A-Za-z0-9_:.-]; "
            f"got {key!r}"
        )
        raise ValueError(msg)
    return key


def _check_id(name: str, value: object) -> str:
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


def _params(**values: str | int | None) -> dict[str, str | int]:
    return {name: value for name, value in values.items() if value is not None}
