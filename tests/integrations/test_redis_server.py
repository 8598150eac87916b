"""The real ``redis-server`` the distributed tests stand on."""

from __future__ import annotations

import redis.asyncio as redis_asyncio

from tests.helpers.redis import RedisServer


async def test_a_started_server_answers_and_loses_state_on_restart(
    redis_server: RedisServer,
) -> None:
    client = redis_asyncio.Redis.from_url(redis_server.url)
    try:
        await client.set("k", "v")
        assert await client.get("k") == b"v"
        assert await client.config_get("maxmemory-policy") == {
            "maxmemory-policy": "noeviction"
        }
    finally:
        await client.aclose()
    redis_server.restart()
    client = redis_asyncio.Redis.from_url(redis_server.url)
    try:
        assert await client.get("k") is None
    finally:
        await client.aclose()
