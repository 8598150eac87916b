"""
The account's other endpoints: assets, voices, photo avatars and ``/users/me``.

These are what an image-to-video flow touches before and around a render:
upload the photo, pick a voice, optionally train a photo avatar, check the
key. Unauthenticated ``/_fake/*`` routes serve the files those resources
point to, and the stats.
"""

from __future__ import annotations

from typing import Any, ClassVar

from aiohttp import BodyPartReader, web

from ._assets import CONSENT_AVATAR_NAME, OWNER, SPACE_ID, Group, Look, StoredAsset
from ._media import JPEG, MP3, sniff
from ._runtime import Runtime
from ._stats import video_records
from ._validate import validate_avatar, validate_consent
from ._voices import find_voice, select_voices
from ._wire import (
    ApiError,
    data_response,
    decode_token,
    encode_token,
    invalid,
    list_response,
    not_found,
    parse_limit,
    read_json_object,
)


MAX_UPLOAD_BYTES = 32 * 1024 * 1024
_CHUNK = 1 << 16
_FILE_REQUIRED = "File is required. Upload a file using multipart/form-data."
RESETS_AT = "2099-01-01T00:00:00Z"
_STATIC = {"jpg": (JPEG, "image/jpeg"), "mp3": (MP3, "audio/mpeg")}


async def _read_file_part(part: BodyPartReader) -> tuple[bytes, int]:
    # Keep the bytes only while within the limit; drain the rest so the client
    # can finish sending and read our 413.
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size <= MAX_UPLOAD_BYTES:
            chunks.append(chunk)
    return b"".join(chunks), size


def _wallet(balance: float, *, auto_reload: bool) -> dict[str, Any]:
    reload = {"enabled": True, "amount_usd": 50.0, "threshold_usd": 10.0}
    return {
        "currency": "usd",
        "remaining_balance": balance,
        "auto_reload": reload if auto_reload else None,
    }


def _subscription(credits: int) -> dict[str, Any]:
    return {
        "plan": "pro",
        "credits": {
            "premium_credits": {"remaining": credits, "resets_at": RESETS_AT},
            "add_on_credits": None,
        },
    }


def _usage_based(credits: float) -> dict[str, Any]:
    return {
        "included_credits": 1000.0,
        "remaining_credits": credits,
        "spending_cap_usd": None,
        "spending_current_usd": 0.0,
    }


class LibraryRoutes:
    """Handlers for assets, voices, avatars, the account and fake-only files."""

    ROUTES: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("POST", "/v3/assets", "upload_asset"),
        ("GET", "/v3/assets/{asset_id}", "get_asset"),
        ("GET", "/v3/voices", "list_voices"),
        ("GET", "/v3/voices/{voice_id}", "get_voice"),
        ("POST", "/v3/avatars", "create_avatar"),
        ("POST", "/v3/avatars/{group_id}/consent", "consent"),
        ("GET", "/v3/avatars/looks/{look_id}", "get_look"),
        ("GET", "/v3/users/me", "me"),
        ("GET", "/_fake/assets/{asset_id}", "asset_file"),
        ("GET", "/_fake/static/{name}", "static"),
        ("GET", "/_fake/stats", "stats"),
        ("GET", "/_fake/videos", "videos"),
    )

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    # -- assets ------------------------------------------------------------

    async def upload_asset(self, request: web.Request) -> web.Response:
        """``POST /v3/assets``: multipart field ``file``, type by magic bytes."""

        async def work(_key: str | None) -> web.Response:
            return await self._upload(request)

        return await self.rt.idempotent(request, "POST /v3/assets", work)

    async def _upload(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("multipart/"):
            raise invalid(_FILE_REQUIRED, "file")
        reader = await request.multipart()
        found: tuple[str, bytes, int] | None = None
        while (part := await reader.next()) is not None:
            if (
                isinstance(part, BodyPartReader)
                and part.name == "file"
                and found is None
            ):
                data, size = await _read_file_part(part)
                found = (part.filename or "upload", data, size)
            else:
                await part.release()
        if found is None:
            raise invalid(_FILE_REQUIRED, "file")
        filename, data, size = found
        if size > MAX_UPLOAD_BYTES:
            raise ApiError(
                413, "payload_too_large", "File exceeds the 32 MB limit.", param="file"
            )
        kind = sniff(data)
        if kind is None:
            msg = "Unsupported file type; supported: png, jpeg, mp3, wav, mp4, webm."
            raise invalid(msg, "file")
        rt = self.rt
        asset = StoredAsset(
            id=rt.ids.hex(32),
            name=filename,
            type=kind[1],
            mime_type=kind[0],
            data=data,
            uploaded_mono=rt.now(),
        )
        rt.assets.add(asset)
        rt.recorder.uploads += 1
        return data_response(
            {
                "asset_id": asset.id,
                "url": self._asset_url(asset),
                "mime_type": asset.mime_type,
                "size_bytes": size,
            }
        )

    def _asset_url(self, asset: StoredAsset) -> str:
        return f"{self.rt.base_url}/_fake/assets/{asset.id}"

    async def get_asset(self, request: web.Request) -> web.Response:
        """``GET /v3/assets/{asset_id}``."""
        asset = self.rt.assets.get(request.match_info["asset_id"])
        if asset is None:
            raise not_found("not_found", "Asset not found.")
        return data_response(
            {
                "id": asset.id,
                "name": asset.name,
                "type": asset.type,
                "owner": OWNER,
                "space_id": SPACE_ID,
                "folder_id": None,
                "uploaded_at": int(self.rt.unix(asset.uploaded_mono)),
                "url": self._asset_url(asset),
            }
        )

    async def asset_file(self, request: web.Request) -> web.Response:
        """The bytes of an uploaded asset (public, like HeyGen's asset URLs)."""
        asset = self.rt.assets.get(request.match_info["asset_id"])
        if asset is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=asset.data, content_type=asset.mime_type)

    # -- voices ------------------------------------------------------------

    async def list_voices(self, request: web.Request) -> web.Response:
        """``GET /v3/voices`` with ``type``, ``engine``, ``language``, ``gender``."""
        query = request.query
        voice_type = query.get("type", "public")
        if voice_type not in ("public", "private"):
            raise invalid("type must be public or private.", "type")
        gender = query.get("gender")
        if gender is not None and gender.lower() not in ("male", "female"):
            raise invalid("gender must be male or female.", "gender")
        limit = parse_limit(query, default=20)
        start = decode_token(query.get("token")) or 0
        voices = select_voices(
            voice_type=voice_type,
            engine=query.get("engine"),
            language=query.get("language"),
            gender=gender,
        )
        end = start + limit
        base = self.rt.base_url
        return list_response(
            [voice.to_json(base) for voice in voices[start:end]],
            next_token=encode_token(end) if end < len(voices) else None,
        )

    async def get_voice(self, request: web.Request) -> web.Response:
        """``GET /v3/voices/{voice_id}``."""
        voice = find_voice(request.match_info["voice_id"])
        if voice is None:
            raise not_found("voice_not_found", "Voice not found.")
        return data_response(voice.to_json(self.rt.base_url, detail=True))

    # -- photo avatars -----------------------------------------------------

    async def create_avatar(self, request: web.Request) -> web.Response:
        """``POST /v3/avatars`` (``type: photo``): trains for a while, then is ready."""

        async def work(_key: str | None) -> web.Response:
            return await self._create_avatar(request)

        return await self.rt.idempotent(request, "POST /v3/avatars", work)

    async def _create_avatar(self, request: web.Request) -> web.Response:
        rt = self.rt
        body = await read_json_object(request)
        spec = validate_avatar(
            body, rt.lookups, lambda gid: rt.avatars.group(gid) is not None
        )
        now = rt.now()
        look = Look(
            id=rt.ids.hex(32),
            name=spec.name,
            group_id=spec.group_id or rt.ids.hex(32),
            created_mono=now,
            ready_mono=now + rt.config.avatar_training_seconds,
            consented=spec.name != CONSENT_AVATAR_NAME,
        )
        group = rt.avatars.group(look.group_id) or Group(
            id=look.group_id,
            name=spec.name,
            first_look_id=look.id,
            created_unix=rt.unix(now),
        )
        rt.avatars.add(group, look)
        return data_response(
            {
                "avatar_group": rt.avatars.group_json(group, now, rt.base_url),
                "avatar_item": look.to_json(now, rt.base_url),
            }
        )

    async def consent(self, request: web.Request) -> web.Response:
        """``POST /v3/avatars/{group_id}/consent``: waiting looks start training."""
        rt = self.rt
        group = rt.avatars.group(request.match_info["group_id"])
        if group is None:
            raise not_found("avatar_not_found", "Avatar group not found.")
        validate_consent(await read_json_object(request))
        now = rt.now()
        rt.avatars.consent(group, now, rt.config.avatar_training_seconds)
        return data_response(
            {
                "avatar_group": rt.avatars.group_json(group, now, rt.base_url),
                "url": None,
            }
        )

    async def get_look(self, request: web.Request) -> web.Response:
        """``GET /v3/avatars/looks/{look_id}``."""
        look = self.rt.avatars.look(request.match_info["look_id"])
        if look is None:
            raise not_found("avatar_not_found", "Avatar look not found.")
        return data_response(look.to_json(self.rt.now(), self.rt.base_url))

    # -- account and fake-only routes -----------------------------------------

    async def me(self, _request: web.Request) -> web.Response:
        """``GET /v3/users/me``: the account, billed as ``billing_type`` says."""
        rt = self.rt
        balance = float(1_000_000 if rt.credits is None else rt.credits)
        billing = rt.config.billing_type
        return data_response(
            {
                "username": OWNER,
                "email": "fake-user@example.com",
                "first_name": "Fake",
                "last_name": "User",
                "billing_type": billing,
                "wallet": _wallet(balance, auto_reload=rt.config.wallet_auto_reload)
                if billing == "wallet"
                else None,
                "subscription": _subscription(int(balance))
                if billing == "subscription"
                else None,
                "usage_based": _usage_based(balance)
                if billing == "usage_based"
                else None,
            }
        )

    async def static(self, request: web.Request) -> web.Response:
        """Voice previews and avatar preview images."""
        extension = request.match_info["name"].rpartition(".")[2]
        if extension not in _STATIC:
            return web.Response(status=404, text="Not Found")
        body, content_type = _STATIC[extension]
        return web.Response(body=body, content_type=content_type)

    async def stats(self, _request: web.Request) -> web.Response:
        """``GET /_fake/stats``: :class:`FakeStats` as JSON."""
        stats: dict[str, Any] = self.rt.stats().to_json()
        return web.json_response(stats)

    async def videos(self, _request: web.Request) -> web.Response:
        """``GET /_fake/videos``: every video billed, with its key and status."""
        records = video_records(self.rt.videos.view.values(), self.rt.now())
        return web.json_response({"videos": records})

    def register(self, app: web.Application) -> None:
        """Add these routes to *app*."""
        for method, path, handler in self.ROUTES:
            app.router.add_route(method, path, getattr(self, handler))
