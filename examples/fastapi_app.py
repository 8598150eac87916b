"""
A FastAPI service that renders talking videos through one shared client.

Routes:

- ``POST /videos``: start a render and answer 202 with its id at once
  (an ``Idempotency-Key`` request header is passed on to HeyGen);
- ``GET /videos/{video_id}``: where a render is;
- ``POST /videos:wait``: start a render and answer when it is done, with its
  URL. A hundred of these waiting together share one poll loop;
- ``POST /heygen/webhook``: HeyGen's signed deliveries, which finish the
  waiting requests at once (polling becomes a rare safety net).

Configuration comes from the environment: ``HEYGEN_API_KEY``,
``HEYGEN_API_BASE`` (optional), ``HEYGEN_WEBHOOK_SECRET`` (the ``whsec_...``
secret of the endpoint you registered for ``/heygen/webhook``; without it
there is no webhook route and waits rely on polling) and
``HEYGEN_WAIT_SECONDS`` (how long ``/videos:wait`` waits, default 600)::

    pip install 'heygen-async[fastapi]' uvicorn
    HEYGEN_API_KEY=... HEYGEN_WEBHOOK_SECRET=whsec_... python examples/fastapi_app.py

Several workers share the account through Redis when ``HEYGEN_REDIS_URL`` is
set (``HEYGEN_REDIS_NAMESPACE``, default ``heygen``; ``HEYGEN_CONCURRENCY``,
the account's cap, default 10): creates wait for an account-wide slot, and a
webhook landing on one worker finishes the wait in another::

    pip install 'heygen-async[fastapi,redis]' uvicorn
    HEYGEN_REDIS_URL=redis://localhost:6379/0 HEYGEN_API_KEY=... \
    HEYGEN_WEBHOOK_SECRET=whsec_... \
        uvicorn fastapi_app:app --app-dir examples --workers 2

Without ``HEYGEN_API_KEY`` the script runs a demo against an in-process
``FakeHeyGen``: it serves the app on loopback, registers the app's webhook
URL with the fake, renders three videos through the app's own HTTP API,
prints their URLs and exits.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping
from typing import Annotated, Any

import aiohttp
import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import heygen_async as hg
from heygen_async.fastapi import ClientDep, heygen_lifespan, webhook_router


WEBHOOK_PATH = "/heygen/webhook"


class VideoIn(BaseModel):
    """What a caller may ask for (a subset of :class:`heygen_async.VideoRequest`)."""

    image_url: str | None = None
    image_asset_id: str | None = None
    avatar_id: str | None = None
    script: str | None = None
    voice_id: str | None = None
    audio_url: str | None = None
    audio_asset_id: str | None = None
    title: str | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    callback_id: str | None = None

    def to_request(self) -> hg.VideoRequest:
        """The SDK request; raises ValueError for a bad combination."""
        return hg.VideoRequest(**self.model_dump(exclude_none=True))


def video_json(video: hg.Video) -> dict[str, Any]:
    """What the API answers about a video."""
    return {
        "id": video.id,
        "status": video.status.value,
        "video_url": video.video_url,
        "failure_code": video.failure_code,
        "failure_message": video.failure_message,
    }


def create_app(
    environ: Mapping[str, str] | None = None, **client_options: Any
) -> FastAPI:
    """
    Build the app from *environ* (``os.environ`` by default).

    *client_options* go to :class:`heygen_async.Client` (tests pass a fast
    poll policy and ``strict=True``).
    """
    env = dict(os.environ if environ is None else environ)
    if (
        redis_url := env.get("HEYGEN_REDIS_URL")
    ) and "coordinator" not in client_options:
        # One per worker process; they meet in Redis.
        client_options["coordinator"] = hg.RedisCoordinator(
            redis_url,
            namespace=env.get("HEYGEN_REDIS_NAMESPACE", "heygen"),
            account_concurrency=int(env.get("HEYGEN_CONCURRENCY", "10")),
        )
    app = FastAPI(
        title="heygen_async example",
        lifespan=heygen_lifespan(environ=env, **client_options),
    )
    if secret := env.get("HEYGEN_WEBHOOK_SECRET"):
        app.include_router(webhook_router(secret=secret, path=WEBHOOK_PATH))
    wait_seconds = float(env.get("HEYGEN_WAIT_SECONDS", "600"))

    @app.exception_handler(ValueError)
    async def bad_input(_request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(hg.APIError)
    async def heygen_error(_request: Request, exc: hg.APIError) -> JSONResponse:
        # HeyGen's 4xx are the caller's problem; anything else is ours.
        status = exc.status if 400 <= exc.status < 500 else 502
        return JSONResponse({"error": exc.code, "message": exc.message}, status)

    @app.exception_handler(hg.VideoFailedError)
    async def failed(_request: Request, exc: hg.VideoFailedError) -> JSONResponse:
        return JSONResponse(video_json(exc.video), status_code=502)

    @app.exception_handler(hg.WaitTimeoutError)
    async def timed_out(_request: Request, exc: hg.WaitTimeoutError) -> JSONResponse:
        status = exc.last_status.value if exc.last_status else None
        return JSONResponse({"id": exc.video_id, "status": status}, status_code=504)

    @app.post("/videos", status_code=202)
    async def start(
        body: VideoIn,
        client: ClientDep,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> dict[str, str]:
        created = await client.create_video(
            body.to_request(), idempotency_key=idempotency_key
        )
        return {"id": created.id, "status": created.status.value}

    @app.get("/videos/{video_id}")
    async def status(video_id: str, client: ClientDep) -> dict[str, Any]:
        return video_json(await client.get_video(video_id))

    @app.post("/videos:wait")
    async def render(body: VideoIn, client: ClientDep) -> dict[str, Any]:
        video = await client.render(body.to_request(), deadline=wait_seconds)
        return video_json(video)

    return app


app = create_app()
"""For ``uvicorn examples.fastapi_app:app`` (reads the environment)."""


async def demo() -> None:
    """Serve the app against an in-process FakeHeyGen and render three videos."""
    async with hg.testing.FakeHeyGen(render_seconds=(0.2, 0.6)) as fake:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        async with hg.Client(api_key=fake.api_key, base_url=fake.url) as admin:
            endpoint = await admin.create_webhook_endpoint(url + WEBHOOK_PATH)
            voice = await anext(aiter(admin.iter_voices(language="English")))
        env = {
            "HEYGEN_API_KEY": fake.api_key,
            "HEYGEN_API_BASE": fake.url,
            "HEYGEN_WEBHOOK_SECRET": endpoint.secret or "",
        }
        server = uvicorn.Server(
            uvicorn.Config(create_app(env), log_level="warning", ws="none")
        )
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:  # noqa: ASYNC110 - uvicorn offers only a flag
            await asyncio.sleep(0.01)
        print(f"serving on {url}; webhooks from {fake.url}")
        try:
            async with aiohttp.ClientSession(url) as http:

                async def wait(n: int) -> dict[str, Any]:
                    body = {
                        "image_url": f"https://example.com/person-{n}.jpg",
                        "script": f"Hello from video {n}!",
                        "voice_id": voice.id,
                    }
                    async with http.post("/videos:wait", json=body) as response:
                        return dict(await response.json())

                for video in await asyncio.gather(*(wait(n) for n in range(3))):
                    print(f"{video['id']}: {video['status']} {video['video_url']}")
        finally:
            server.should_exit = True
            await serving
        stats = fake.stats
        print(
            f"webhooks delivered: {stats.webhooks_delivered}; "
            f"detail GETs: {stats.requests.get('GET /v3/videos/{video_id}', 0)}"
        )


def main() -> None:
    """Serve for real with HEYGEN_API_KEY; otherwise run the fake-backed demo."""
    if os.environ.get("HEYGEN_API_KEY"):
        port = int(os.environ.get("PORT", "8000"))
        uvicorn.run(app, host="127.0.0.1", port=port)
    else:
        print("HEYGEN_API_KEY is not set: running a demo against FakeHeyGen")
        asyncio.run(demo())


if __name__ == "__main__":
    main()
