"""
``heygen-async voices`` and ``heygen-async status``: look things up.

Both print data to stdout, as a table (rich on a terminal, plain columns when
piped) or, with ``--json``, one JSON object per line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping

import attrs

from heygen_async import (
    AuthenticationError,
    Client,
    HeyGenError,
    StatusError,
    StatusItem,
    VideoStatus,
    Voice,
)

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    error,
    make_client,
)
from .progress import print_table


__all__ = ["status", "voices"]

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

    Exits 1 if any video failed or is unknown.
    """

    async def body(client: Client) -> int:
        items: list[StatusItem] = await client.get_statuses(args.video_ids)
        if args.json:
            for item in items:
                row = {"video_id": item.id, "status": item.status.value}
                error = None if item.error is None else attrs.asdict(item.error)
                print(json.dumps({**row, "error": error}))
        else:
            rows = [(i.id or "", i.status.value, _reason(i.error)) for i in items]
            print_table(("VIDEO ID", "STATUS", "ERROR"), rows, environ=environ)
        bad = any(item.status in _BAD for item in items)
        return EXIT_FAILED if bad else EXIT_OK

    return _run("status", args, environ, body)


def _reason(error: StatusError | None) -> str:
    if error is None:
        return ""
    return ": ".join(part for part in (error.code, error.message) if part)
