"""
The video endpoints: create, get, list, delete, bulk status and media.

This is where the contract's hard parts live: two create wire forms, credits
and the concurrency cap checked in HeyGen's order, three status vocabularies
(``waiting`` on create, ``pending`` on GET, ``queued`` in bulk), failures
that may carry no reason, and presigned media URLs that expire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from aiohttp import web

from ._media import GIF, JPEG, mp4_bytes, srt_text, webm_bytes
from ._runtime import Runtime
from ._state import FakeVideo, JobPlan
from ._validate import VideoSpec, validate_video
from ._wire import (
    DOC_URL,
    ApiError,
    data_response,
    decode_token,
    encode_token,
    invalid,
    list_response,
    not_found,
    parse_limit,
    rate_limited,
    read_json_object,
)


MAX_STATUS_IDS = 100
WORDS_PER_SECOND = 2.5
AUDIO_SECONDS = 10.0
_MEDIA_TYPES = {
    "mp4": "video/mp4",
    "captioned.mp4": "video/mp4",
    "webm": "video/webm",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "srt": "application/x-subrip",
}


def _denied(code: str, message: str) -> web.Response:
    # What an expired or tampered presigned URL gets from an S3-style CDN.
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return web.Response(status=403, text=xml, content_type="application/xml")


def _status_error(video: FakeVideo) -> dict[str, str] | None:
    # HeyGen's bulk rows carry failure details as an object, or null when the
    # render failed without saying why.
    error = {
        key: value
        for key, value in (
            ("code", video.failure_code),
            ("message", video.failure_message),
        )
        if value is not None
    }
    return error or None


class VideoRoutes:
    """Handlers for ``/v3/videos`` and the presigned media they point to."""

    ROUTES: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("POST", "/v3/videos", "create"),
        ("GET", "/v3/videos", "list"),
        ("GET", "/v3/videos/statuses", "statuses"),
        ("GET", "/v3/videos/{video_id}", "get"),
        ("DELETE", "/v3/videos/{video_id}", "delete"),
        ("GET", "/_fake/media/{name}", "media"),
    )

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def create(self, request: web.Request) -> web.Response:
        """``POST /v3/videos``."""

        async def work(key: str | None) -> web.Response:
            return await self._create(request, key)

        return await self.rt.idempotent(request, "POST /v3/videos", work)

    async def _create(self, request: web.Request, key: str | None) -> web.Response:
        rt, config = self.rt, self.rt.config
        body = await read_json_object(request)
        spec = validate_video(body, rt.lookups)
        if not rt.has_credit():
            raise ApiError(
                402,
                "insufficient_credit",
                f"Your account has {rt.credits} credits "
                "but this video requires 1 credits.",
                doc_url=f"{DOC_URL}#insufficient-credit",
            )
        now = rt.now()
        limit = config.concurrency_limit
        if limit is not None and rt.videos.in_flight(now) >= limit:
            msg = f"Concurrent video job limit ({limit}) reached; retry later."
            raise rate_limited(config.retry_after, msg)
        video = self._new_video(body, spec, key, now)
        rt.spend_credit()
        duplicate = rt.videos.add(video)
        rt.recorder.job_created(duplicate=duplicate, in_flight=rt.videos.in_flight(now))
        rt.webhooks.job_created(video)
        return data_response(
            {
                "video_id": video.id,
                "status": "waiting",
                "output_format": spec.output_format,
            }
        )

    def _plan(self, index: int, body: Mapping[str, Any]) -> JobPlan:
        config, rng = self.rt.config, self.rt.jobs_rng
        if config.job_plan is not None:
            return config.job_plan(index, body)
        render = config.render_seconds
        if callable(render):
            seconds = float(render(rng))
        elif isinstance(render, tuple):
            seconds = rng.uniform(*render)
        else:
            seconds = float(render)
        fail = rng.random() < config.failure_rate
        silent = rng.random() < config.silent_failure_rate
        if silent:
            return JobPlan(
                render_seconds=max(0.0, seconds),
                fail=fail,
                failure_code=None,
                failure_message=None,
            )
        return JobPlan(render_seconds=max(0.0, seconds), fail=fail)

    def _new_video(
        self, body: dict[str, Any], spec: VideoSpec, key: str | None, now: float
    ) -> FakeVideo:
        plan = self._plan(self.rt.videos.created, body)
        if spec.script is not None:
            duration = max(1.0, round(len(spec.script.split()) / WORDS_PER_SECOND, 1))
        else:
            duration = AUDIO_SECONDS
        return FakeVideo(
            id=self.rt.ids.video_id(),
            index=self.rt.videos.created,
            created_mono=now,
            finishes_mono=now + plan.render_seconds,
            failed=plan.fail,
            failure_code=plan.failure_code if plan.fail else None,
            failure_message=plan.failure_message if plan.fail else None,
            request=body,
            idempotency_key=key,
            duration=duration,
            in_progress_status=self.rt.config.in_progress_status,
            clock=self.rt.now,
        )

    def _media_url(self, video: FakeVideo, suffix: str) -> str:
        return self.rt.media_url(video.id, suffix)

    def video_json(self, video: FakeVideo, now: float) -> dict[str, Any]:
        """The ``GET /v3/videos/{id}`` form, with freshly minted URLs."""
        rt = self.rt
        status = video.status_at(now)
        data: dict[str, Any] = {
            "id": video.id,
            "title": video.title,
            "status": status,
            "created_at": int(rt.unix(video.created_mono)),
        }
        if status == "failed" and video.silent_failure:
            return data  # the real API sometimes says no more than this
        finished = status in ("completed", "failed")
        completed = status == "completed"
        caption = video.request.get("caption") or {}
        data.update(
            completed_at=int(rt.unix(video.finishes_mono)) if finished else None,
            video_url=self._media_url(video, video.output_format)
            if completed
            else None,
            thumbnail_url=self._media_url(video, "jpg") if completed else None,
            gif_url=self._media_url(video, "gif") if completed else None,
            captioned_video_url=self._media_url(video, "captioned.mp4")
            if completed and caption.get("style")
            else None,
            subtitle_url=self._media_url(video, "srt") if completed else None,
            duration=video.duration if completed else None,
            folder_id=None,
            output_language=None,
            video_page_url=f"https://app.heygen.com/videos/{video.id}",
        )
        if status == "failed":
            if video.failure_code is not None:
                data["failure_code"] = video.failure_code
            if video.failure_message is not None:
                data["failure_message"] = video.failure_message
        return data

    def _find(self, request: web.Request) -> FakeVideo:
        video = self.rt.videos.get(request.match_info["video_id"])
        if video is None:
            raise not_found("not_found", "Video not found.")
        return video

    async def get(self, request: web.Request) -> web.Response:
        """``GET /v3/videos/{video_id}``."""
        return data_response(self.video_json(self._find(request), self.rt.now()))

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /v3/videos/{video_id}``; a repeat is a 404."""
        video = self._find(request)
        self.rt.videos.delete(video.id)
        return data_response({"id": video.id, "deleted": True})

    async def list(self, request: web.Request) -> web.Response:
        """``GET /v3/videos``: newest first, ``title`` substring filter."""
        query = request.query
        limit = parse_limit(query, default=10)
        before = decode_token(query.get("token"))
        title = (query.get("title") or "").lower()
        folder_id = query.get("folder_id")  # the fake files no video in a folder
        page: list[FakeVideo] = []
        next_token = None
        for video in self.rt.videos.newest_first():
            if before is not None and video.index >= before:
                continue
            if title not in video.title.lower() or folder_id is not None:
                continue
            if len(page) == limit:
                next_token = encode_token(page[-1].index)
                break
            page.append(video)
        now = self.rt.now()
        return list_response(
            [self.video_json(v, now) for v in page], next_token=next_token
        )

    async def statuses(self, request: web.Request) -> web.Response:
        """``GET /v3/videos/statuses?video_ids=a,b``: the bulk vocabulary."""
        if not self.rt.config.bulk_statuses:
            raise not_found("not_found", "Not found.")
        query = request.query
        if query.get("batch_ids"):
            raise invalid("FakeHeyGen has no batches; pass video_ids.", "batch_ids")
        raw = query.get("video_ids", "")
        ids = list(
            dict.fromkeys(part.strip() for part in raw.split(",") if part.strip())
        )
        if not ids:
            raise invalid(
                "video_ids is required: comma-separated video ids.", "video_ids"
            )
        if len(ids) > MAX_STATUS_IDS:
            msg = f"video_ids takes at most {MAX_STATUS_IDS} ids (got {len(ids)})."
            raise invalid(msg, "video_ids")
        now = self.rt.now()
        return list_response([self._status_row(video_id, now) for video_id in ids])

    def _status_row(self, video_id: str, now: float) -> dict[str, Any]:
        video = self.rt.videos.get(video_id)
        if video is None:
            return {"video_id": video_id, "status": "not_found"}
        status = video.status_at(now)
        row: dict[str, Any] = {
            "video_id": video_id,
            "status": "queued" if status == "pending" else status,
        }
        if status == "failed":
            row["error"] = _status_error(video)
        return row

    async def media(self, request: web.Request) -> web.Response:
        """A presigned media URL: no auth, 403 once expired or tampered with."""
        rt = self.rt
        name = request.match_info["name"]
        expires = request.query.get("expires", "")
        if not rt.signer.verify(name, expires, request.query.get("sig", "")):
            return _denied("SignatureDoesNotMatch", "The request signature is invalid.")
        if rt.unix(rt.now()) > float(expires):
            return _denied("AccessDenied", "Request has expired")
        video_id, _, suffix = name.partition(".")
        video = rt.videos.get(video_id)
        if video is None or suffix not in _MEDIA_TYPES:
            return web.Response(status=404, text="Not Found")
        if suffix in ("mp4", "captioned.mp4"):
            body = mp4_bytes(video.duration)
        elif suffix == "webm":
            body = webm_bytes(video.duration)
        elif suffix == "srt":
            body = srt_text(video.request.get("script"), video.duration).encode()
        else:
            body = JPEG if suffix == "jpg" else GIF
        return web.Response(body=body, content_type=_MEDIA_TYPES[suffix])

    def register(self, app: web.Application) -> None:
        """Add these routes to *app*."""
        for method, path, handler in self.ROUTES:
            app.router.add_route(method, path, getattr(self, handler))
