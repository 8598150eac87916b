"""
The :class:`Client`: one async method per endpoint of the image-to-video flow.

Each endpoint is a call on ``ClientBase._fetch`` or ``_pages`` (``_base``),
which hold the one request sequence (route, envelope, converter, errors).
HTTP lives in ``_http``, wire names in ``_converter``, files in ``_uploads``,
the bulk status reader in ``_statuses``, webhook helpers in
``_webhook_endpoints``. This module is the API surface on top of them.
"""

from __future__ import annotations

import asyncio
import functools
import os
import warnings
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Unpack

import attrs

from . import _backoff
from . import _webhook_endpoints as _hooks
from ._base import (
    BatchSubmitter,
    ClientBase,
    check_id,
    check_key,
    check_one_source,
    new_key,
)
from ._batch.batch import Batch
from ._batch.options import BatchOptions
from ._config import DEFAULT, Default, PollPolicy, RetryPolicy
from ._converter import photo_avatar_body
from ._coord.protocol import in_slot
from ._download import download_video as _download_video
from ._estimate import AudioLengths, Estimate, Pricing, estimate
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
    WebhookEndpoint,
    WebhookEventRecord,
    WebhookEventType,
    WebhookSecret,
)
from ._pacing import RenderFeatures
from ._scheduler import Scheduler
from ._statuses import STATUSES, read_statuses
from ._uploads import load
from .exceptions import (
    AvatarConsentRequiredError,
    AvatarFailedError,
    WaitTimeoutError,
)
from .webhooks import WebhookEvent


__all__ = ["Client"]


class Client(ClientBase):
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
        key = check_key(idempotency_key) if idempotency_key is not None else None
        resolved = await self._resolve_request(request)
        return await self._create(resolved, idempotency_key=key or new_key())

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
        ids = [check_id("video_id", video_id) for video_id in video_ids]
        return await read_statuses(ids, self._status_page, self._converter)

    async def _status_page(self, params: Mapping[str, str | int]) -> Any:
        return await self._fetch("GET", STATUSES, params=params)

    async def delete_video(self, video_id: str) -> None:
        """Delete a video (``DELETE /v3/videos/{video_id}``)."""
        await self._fetch(
            "DELETE", "/v3/videos/{video_id}", path={"video_id": video_id}
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
        params = {"limit": page_size, "title": title}
        async for video in self._pages("/v3/videos", Video, params):
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
        params: dict[str, str | int | None] = {"type": type, "engine": engine}
        params |= {"language": language, "gender": gender, "limit": page_size}
        async for voice in self._pages("/v3/voices", Voice, params):
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
        check_one_source(
            "create_photo_avatar",
            image_url=image_url,
            image_asset_id=image_asset_id,
            image_path=image_path,
        )
        if image_path is not None:
            image_asset_id = await self._image_asset_id(image_path)
        body = photo_avatar_body(
            name=name, image_url=image_url, image_asset_id=image_asset_id
        )
        return await self._fetch(
            "POST",
            "/v3/avatars",
            cast_to=PhotoAvatar,
            json=body,
            idempotency_key=new_key(),
        )

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
        return await self._fetch("GET", "/v3/users/me", cast_to=Account)

    # -- webhooks -----------------------------------------------------------

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
        body = _hooks.endpoint_body(url=url, events=events, entity_id=entity_id)
        return await self._fetch(
            "POST",
            _hooks.ENDPOINTS,
            cast_to=WebhookEndpoint,
            json=body,
            idempotency_key=new_key(),
        )

    async def iter_webhook_endpoints(
        self, *, page_size: int | None = None
    ) -> AsyncIterator[WebhookEndpoint]:
        """Every registered endpoint, following pages (secrets are ``None``)."""
        params = {"limit": page_size}
        async for endpoint in self._pages(_hooks.ENDPOINTS, WebhookEndpoint, params):
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
        body = _hooks.endpoint_body(url=url, events=events)
        path = {"endpoint_id": endpoint_id}
        return await self._fetch(
            "PATCH", _hooks.ENDPOINT, cast_to=WebhookEndpoint, path=path, json=body
        )

    async def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        """Stop deliveries to an endpoint and forget it (``DELETE``)."""
        path = {"endpoint_id": endpoint_id}
        await self._fetch("DELETE", _hooks.ENDPOINT, path=path)

    async def rotate_webhook_secret(self, endpoint_id: str) -> WebhookSecret:
        """
        Replace an endpoint's signing secret; the old one stops working now.

        To rotate without refusing deliveries already in flight, verify with
        both secrets for a while: ``verify(body, headers, [new, old])``.
        """
        route, path = _hooks.ENDPOINT + "/rotate-secret", {"endpoint_id": endpoint_id}
        return await self._fetch(
            "POST", route, cast_to=WebhookSecret, path=path, idempotency_key=new_key()
        )

    async def list_webhook_event_types(self) -> list[WebhookEventType]:
        """The event types an endpoint can subscribe to."""
        route = "/v3/webhooks/event-types"
        return [item async for item in self._pages(route, WebhookEventType)]

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
        params = {"event_type": event_type, "entity_id": entity_id, "limit": page_size}
        route = "/v3/webhooks/events"
        async for record in self._pages(route, WebhookEventRecord, params):
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
        return _hooks.feed(self._scheduler, event)

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
        scheduler = self._get_scheduler()  # binds the coordinator in this loop
        return await _hooks.deliver(scheduler, self._coordinator, event)

    # -- waiting ----------------------------------------------------------

    async def _create(
        self,
        request: VideoRequest,
        *,
        idempotency_key: str,
        retry: RetryPolicy | None = None,
    ) -> CreatedVideo:
        """:meth:`ClientBase._create` inside an account-wide slot."""
        self._get_scheduler()  # binds the coordinator in this loop
        create = functools.partial(
            ClientBase._create,
            self,
            request,
            idempotency_key=idempotency_key,
            retry=retry,
        )
        return await in_slot(self._coordinator, check_key(idempotency_key), create)

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
            self._close_callbacks.append(self._scheduler.stop)
            self._closed_callbacks = (self._scheduler.fail_pending,)
            self._coordinator.bind(self._scheduler, self._gate)
            # Closed first: step down as the account's poller while still polling.
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
        video_id = check_id("video_id", video_id)
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

    def batch(self, **options: Unpack[BatchOptions]) -> Batch:
        """
        Render many videos with at most ``max_in_flight`` running at once.

        Use as ``async with client.batch() as batch:``; see :class:`Batch`
        and, for the options, :class:`BatchOptions`.
        """
        return Batch(BatchSubmitter(self), self._get_scheduler(), **options)

    def estimate(
        self,
        requests: Iterable[VideoRequest],
        *,
        pricing: Pricing | None = None,
        audio: AudioLengths | None = None,
    ) -> Estimate:
        """Estimated seconds and credits of *requests*; sends nothing (see Pricing)."""
        return estimate(requests, pricing=pricing, audio=audio)

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
            check_id("video_id", video)
        return await _download_video(self, video, Path(dest), session=self._session)
