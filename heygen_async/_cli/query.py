"""
``voices``, ``status``, ``account`` and ``download``: look things up, fetch.

They print data to stdout, as a table (rich on a terminal, plain columns when
piped) or, with ``--json``, one JSON object per line. ``status --url`` adds
each completed video's freshly presigned URL; ``download`` saves videos by id
(fresh URLs, ``.part`` files renamed only when complete).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import aiohttp
import attrs

from heygen_async import (
    AuthenticationError,
    Client,
    HeyGenError,
    StatusError,
    StatusItem,
    VideoStatus,
    Voice,
    balance_of,
)

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    error,
    make_client,
)
from .progress import print_table


__all__ = ["account", "download", "status", "voices"]

_BAD = (VideoStatus.FAILED, VideoStatus.NOT_FOUND)


def _run(
    command: str,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    body: Callable[[Client], Awaitable[int]],
) -> int:
    """Build the client, run *body* with it, and map errors to exit codes."""
    try:
        client = make_client(args, environ)
    except HeyGenError as exc:  # ConfigurationError
        error(command, str(exc))
        return EXIT_USAGE

    async def main() -> int:
        async with client:
            return await body(client)

    try:
        return asyncio.run(main())
    except AuthenticationError as exc:
        error(command, f"the API key was rejected ({exc})")
        return EXIT_USAGE
    except (HeyGenError, ValueError) as exc:
        error(command, str(exc))
        return EXIT_FAILED


def _voice_json(voice: Voice) -> dict[str, object]:
    return {
        "id": voice.id,
        "name": voice.name,
        "language": voice.language,
        "gender": voice.gender,
        "type": voice.type,
        "preview_audio_url": voice.preview_audio_url,
    }


def voices(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """List voices matching the filters, up to ``--limit`` (0: all)."""
    limit: int = args.limit

    async def body(client: Client) -> int:
        found: list[Voice] = []
        page = min(limit, 100) if limit else 100
        listing = client.iter_voices(
            type=args.type,
            engine=args.engine,
            language=args.language,
            gender=args.gender,
            page_size=page,
        )
        async with contextlib.aclosing(listing):  # type: ignore[type-var]
            async for voice in listing:
                found.append(voice)
                if limit and len(found) >= limit:
                    break
        if args.json:
            for voice in found:
                print(json.dumps(_voice_json(voice)))
        else:
            rows = [
                (v.id, v.name or "", v.language or "", v.gender or "", v.type or "")
                for v in found
            ]
            print_table(
                ("VOICE ID", "NAME", "LANGUAGE", "GENDER", "TYPE"),
                rows,
                environ=environ,
            )
        more = " (the --limit; --limit 0 lists all)" if len(found) == limit else ""
        error("voices", f"{len(found)} voices{more}")
        return EXIT_OK

    return _run("voices", args, environ, body)


def status(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """
    Where each video is, from the bulk status endpoint (100 ids per request).

    With ``--url``, each completed video's URL too (one GET each, freshly
    presigned). Exits 1 if any video failed or is unknown.
    """

    async def body(client: Client) -> int:
        items: list[StatusItem] = await client.get_statuses(args.video_ids)
        urls = await _urls(client, items) if args.url else {}
        if args.json:
            for item in items:
                row = {"video_id": item.id, "status": item.status.value}
                error = None if item.error is None else attrs.asdict(item.error)
                extra = {"video_url": urls.get(item.id or "")} if args.url else {}
                print(json.dumps({**row, "error": error, **extra}))
        else:
            rows = [
                (
                    i.id or "",
                    i.status.value,
                    _reason(i.error) or urls.get(i.id or "", ""),
                )
                for i in items
            ]
            head = "ERROR / URL" if args.url else "ERROR"
            print_table(("VIDEO ID", "STATUS", head), rows, environ=environ)
        bad = any(item.status in _BAD for item in items)
        return EXIT_FAILED if bad else EXIT_OK

    return _run("status", args, environ, body)


async def _urls(client: Client, items: Sequence[StatusItem]) -> dict[str, str]:
    """Fresh URLs of the completed videos among *items*."""
    done = [i.id for i in items if i.id and i.status is VideoStatus.COMPLETED]
    videos = await asyncio.gather(*(client.get_video(v) for v in done))
    return {v.id: v.video_url for v in videos if v.video_url}


def account(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """The account behind the key: who, billing, balance, plan, currency."""

    async def body(client: Client) -> int:
        me = await client.get_me()
        balance = balance_of(me)
        fields = {
            "username": me.username,
            "email": me.email,
            "billing_type": me.billing_type,
            "balance": balance.amount if balance else None,
            "currency": balance.unit if balance else None,
            "plan": balance.plan if balance else None,
        }
        if args.json:
            print(json.dumps(fields))
        else:
            rows = [(k, "" if v is None else str(v)) for k, v in fields.items()]
            print_table(("FIELD", "VALUE"), rows, environ=environ)
        return EXIT_OK

    return _run("account", args, environ, body)


def download(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """
    Save videos by id into ``--out`` as ``VIDEO_ID.mp4``.

    Each gets a freshly presigned URL; bytes go to a ``.part`` file renamed
    when complete. Exits 1 if any could not be downloaded.
    """
    out = Path(args.out)

    async def one(client: Client, video_id: str) -> bool:
        try:
            path = await client.download_video(video_id, out)
        except AuthenticationError:
            raise
        except (HeyGenError, ValueError, OSError, aiohttp.ClientError) as exc:
            error("download", f"{video_id}: {exc}")
            return False
        print(path, flush=True)
        return True

    async def body(client: Client) -> int:
        await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
        done = await asyncio.gather(*(one(client, v) for v in args.video_ids))
        return EXIT_OK if all(done) else EXIT_FAILED

    return _run("download", args, environ, body)


def _reason(error: StatusError | None) -> str:
    if error is None:
        return ""
    return ": ".join(part for part in (error.code, error.message) if part)
