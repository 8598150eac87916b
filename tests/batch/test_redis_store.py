"""RedisStore's lease and fencing, and claim_shards, on a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

import heygen_async as hg
from heygen_async._coord.store import _claim_one
from heygen_async.testing import FakeHeyGen
from tests.helpers import req, strict_client
from tests.helpers.redis import RedisServer


JOURNAL = "hg:{heygen}:journal:j"


@pytest.fixture(name="raw")
async def _raw(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A plain Redis client on the test's server."""
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


def record(key: str, seq: int = 0) -> hg.JobRecord:
    return hg.JobRecord(key=key, seq=seq, tag=key, request={"script": "hi"})


HOLDER = """
import asyncio, sys
import heygen_async as hg

async def main() -> None:
    store = hg.RedisStore(sys.argv[1], "j", lease=float(sys.argv[2]))
    await store.open()
    print("locked", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    await store.close()

asyncio.run(main())
"""


@pytest.mark.parametrize("ending", ["exit", "sigkill"])
async def test_lease_holds_across_processes(
    redis_server: RedisServer, tmp_path: Path, ending: str
) -> None:
    """A live holder's journal is refused; a dead one's opens after its lease."""
    lease = 0.6
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        redis_server.url,
        str(lease),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    assert holder.stdout is not None
    assert holder.stdin is not None
    loop = asyncio.get_running_loop()
    try:
        assert (await holder.stdout.readline()).strip() == b"locked"
        await asyncio.sleep(lease * 1.5)  # renewed, so still held
        with pytest.raises(hg.JournalBusyError) as caught:
            await hg.RedisStore(redis_server.url, "j").open()
        assert caught.value.path == JOURNAL
    finally:
        if ending == "sigkill":
            holder.kill()
        holder.stdin.close()
        await asyncio.wait_for(holder.wait(), 30)
    stopped = loop.time()
    store = hg.RedisStore(redis_server.url, "j", wait=True)
    await store.open()
    waited = loop.time() - stopped
    await store.close()
    if ending == "exit":
        assert waited < lease  # released on close, not left to expire
    else:
        assert waited < lease + 1


async def test_a_journal_taken_over_refuses_the_old_holders_writes(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    """A holder whose lease went to another process can no longer write."""
    old = hg.RedisStore(redis_server.url, "j", lease=5)
    run_id = await old.open()
    await old.add(record("a"))
    await raw.delete(f"{JOURNAL}:lease")  # as if it expired during a long pause
    new = hg.RedisStore(redis_server.url, "j", lease=5)
    assert await new.open() == run_id
    with pytest.raises(hg.JournalBusyError):
        await old.add(record("b", 1))
    with pytest.raises(hg.JournalBusyError):
        await old.update("a", outcome="completed")
    await new.update("a", video_id="v1")
    await new.update("missing", video_id="v2")  # unknown key: ignored
    records = await new.load()
    assert [(r.key, r.video_id, r.outcome) for r in records] == [("a", "v1", None)]
    await old.close()  # does not release the new holder's lease
    with pytest.raises(hg.JournalBusyError):
        await hg.RedisStore(redis_server.url, "j").open()
    await new.close()


async def test_an_expired_lease_nobody_took_is_taken_back(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    """A write after the lease lapsed, with no other holder since, succeeds."""
    store = hg.RedisStore(redis_server.url, "j", lease=5)
    await store.open()
    await raw.delete(f"{JOURNAL}:lease")
    await store.add(record("a"))
    assert await raw.pttl(f"{JOURNAL}:lease") > 0
    with pytest.raises(hg.JournalBusyError):
        await hg.RedisStore(redis_server.url, "j").open()
    await store.close()


async def test_run_ids_pinned_minted_and_checked(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    """A pinned run id is kept; another pin, or another schema, is refused."""
    pinned = hg.RedisStore(redis_server.url, "j", run_id="spring/7")
    assert await pinned.open() == "spring/7"
    await pinned.close()
    again = hg.RedisStore(redis_server.url, "j")
    assert await again.open() == "spring/7"
    await again.close()
    other = hg.RedisStore(redis_server.url, "j2")
    minted = await other.open()
    await other.close()
    mine = hg.RedisStore(raw, "j2", lease=1)  # a client the caller owns
    assert minted == await mine.open()
    await mine.close()
    assert await raw.ping()  # not closed by the store
    autumn = hg.RedisStore(redis_server.url, "j3", run_id="autumn")
    await autumn.open()
    await autumn.close()
    with pytest.raises(ValueError, match="started with run_id 'autumn'"):
        await hg.RedisStore(redis_server.url, "j3", run_id="winter").open()
    await raw.hset("hg:{heygen}:journal:j4:meta", "schema", "99")
    with pytest.raises(RuntimeError, match="schema 99"):
        await hg.RedisStore(redis_server.url, "j4").open()
    # A refused open left nothing locked.
    await raw.hset("hg:{heygen}:journal:j4:meta", "schema", "1")
    store = hg.RedisStore(redis_server.url, "j4")
    await store.open()
    await store.close()


async def test_bad_settings_are_refused_before_any_connection() -> None:
    """Every bad argument is named, and no Redis is needed to find out."""
    with pytest.raises(ValueError, match="name") as caught:
        hg.RedisStore("redis://nowhere:1", "", namespace="a}b", lease=0)
    assert "namespace" in str(caught.value)
    assert "lease" in str(caught.value)
    with pytest.raises(ValueError, match="wait_replicas"):
        hg.RedisStore("redis://nowhere:1", "j", wait_replicas=-1)
    with pytest.raises(ValueError, match="run_id"):
        hg.RedisStore("redis://nowhere:1", "j", run_id="")
    store = hg.RedisStore("redis://nowhere:1", "j")
    with pytest.raises(RuntimeError, match="not open"):
        await store.add(record("a"))
    assert "hg:{heygen}:journal:j" in repr(store)
    with pytest.raises(ValueError, match="shards"):
        await anext(aiter(hg.claim_shards("redis://nowhere:1", "c", 0)))


async def test_volatile_redis_and_missing_replicas_are_reported(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis without AOF, or without the replicas asked for, is warned about."""
    caplog.set_level(logging.WARNING, logger="heygen_async")
    store = hg.RedisStore(redis_server.url, "j", wait_replicas=1)
    await store.open()
    await store.add(record("a"))
    await store.close()
    messages = caplog.text
    assert "heygen.journal_not_persistent" in messages
    assert "heygen.journal_write_not_replicated" in messages


async def test_a_batch_on_a_lost_journal_sends_nothing(
    redis_server: RedisServer, raw: aioredis.Redis, voice_id: str
) -> None:
    """Jobs a batch cannot journal (its lease is gone) fail without a create."""
    async with FakeHeyGen(render_seconds=0.02) as fake, strict_client(fake) as client:
        async with client.batch(store=hg.RedisStore(redis_server.url, "j")) as batch:
            await raw.delete(f"{JOURNAL}:lease")
            await raw.hset(f"{JOURNAL}:meta", "holder", "someone-else")
            handle = batch.submit(req(voice_id), tag="x")
        outcome = await handle
    assert isinstance(outcome, hg.Failed)
    assert isinstance(outcome.error, hg.JournalBusyError)
    assert "POST /v3/videos" not in fake.stats.requests


def test_redis_is_imported_only_when_asked_for(tmp_path: Path) -> None:
    """Core never imports redis; without the extra the error says what to install."""
    code = """
import sys
import heygen_async as hg
assert "redis" not in sys.modules, "core imported redis"
assert hg.RedisStore.__name__ == "RedisStore"
for name in [m for m in sys.modules if m == "redis" or m.startswith("redis.")]:
    del sys.modules[name]
del sys.modules["heygen_async._coord.store"]
sys.modules["redis"] = None
try:
    hg.claim_shards
except ImportError as error:
    print(error)
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert "pip install 'heygen-async[redis]'" in done.stdout
    assert "RedisStore" in dir(hg)
    with pytest.raises(AttributeError):
        _ = hg.NoSuchThing


async def test_claim_shards_covers_a_campaign_once(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    """Each shard is yielded once, a failed body leaves it to be claimed again."""
    seen: list[int] = []

    async def second_fails() -> None:
        shards = hg.claim_shards(redis_server.url, "c", 3, lease=5)
        async with contextlib.aclosing(shards):
            async for shard, store in shards:
                run_id = await store.open()
                assert run_id == f"c/{shard}"
                await store.add(record(f"k{shard}"))
                await store.close()
                seen.append(shard)
                if len(seen) == 2:
                    raise KeyError(shard)  # this shard is not done

    with pytest.raises(KeyError):
        await second_fails()
    assert len(await raw.smembers("hg:{heygen}:campaign:c:done")) == 1
    async for shard, _ in hg.claim_shards(raw, "c", 3, lease=5):
        seen.append(shard)
    assert sorted(seen[2:]) == sorted({0, 1, 2} - {seen[0]})
    assert not await raw.keys("*:lease")
    with pytest.raises(ValueError, match="shards=4 does not match"):
        await anext(aiter(hg.claim_shards(redis_server.url, "c", 4)))
    async for _ in hg.claim_shards(redis_server.url, "c", 3):
        pytest.fail("a finished campaign has nothing to claim")


async def test_claim_shards_waits_for_a_dead_holders_shard(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    """A shard leased by a process that died is claimed once its lease lapses."""
    await raw.set("hg:{heygen}:journal:c/0:lease", "dead-process", px=300)
    loop = asyncio.get_running_loop()
    started = loop.time()
    claimed: list[tuple[int, float]] = []
    async for shard, _ in hg.claim_shards(redis_server.url, "c", 2, poll=0.02):
        claimed.append((shard, loop.time() - started))
    assert sorted(s for s, _ in claimed) == [0, 1]
    assert 0.25 < dict(claimed)[0] < 2


async def test_campaign_records_read_every_shard(
    redis_server: RedisServer,
) -> None:
    """The whole campaign's journal, by shard, without taking any lease."""
    with pytest.raises(ValueError, match="no campaign"):
        await hg_campaign_records(redis_server.url, "nope")
    async for shard, store in hg.claim_shards(redis_server.url, "c", 2):
        await store.open()
        await store.add(record(f"k{shard}"))
        await store.close()
    found = await hg_campaign_records(redis_server.url, "c")
    assert {s: [r.key for r in rs] for s, rs in found.items()} == {
        0: ["k0"],
        1: ["k1"],
    }


async def hg_campaign_records(url: str, campaign: str) -> dict[int, list[hg.JobRecord]]:
    return await hg.campaign_records(url, campaign)


async def test_the_lease_is_renewed_and_its_loss_noticed(
    redis_server: RedisServer,
    raw: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Renewal keeps a short lease; a takeover is logged; a dead Redis is too."""
    caplog.set_level(logging.WARNING, logger="heygen_async")
    store = hg.RedisStore(redis_server.url, "j", lease=0.15)
    await store.open()
    await asyncio.sleep(0.5)  # three lease lengths
    assert await raw.get(f"{JOURNAL}:lease") is not None
    await raw.set(f"{JOURNAL}:lease", "other", px=5000)
    await raw.hset(f"{JOURNAL}:meta", "holder", "other")
    await asyncio.sleep(0.2)
    assert "heygen.journal_lease_lost" in caplog.text
    await raw.set(f"{JOURNAL}:job:a", "not a hash")
    with pytest.raises(hg.JournalBusyError):
        await store.update("a", status="x")
    await raw.delete(f"{JOURNAL}:lease")
    await raw.hdel(f"{JOURNAL}:meta", "holder")
    broken = hg.RedisStore(redis_server.url, "j", lease=0.15)
    await broken.open()
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await broken.update("a", status="x")
    await raw.aclose()
    redis_server.stop()
    await asyncio.sleep(0.2)
    await broken.close()  # Redis is gone: the lease will lapse by itself
    await store.close()
    assert "heygen.journal_lease_renew_failed" in caplog.text
    assert "heygen.journal_release_failed" in caplog.text


async def test_eviction_policy_is_warned_about(
    redis_server: RedisServer, raw: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis that may evict keys could drop a journal: said at open."""
    caplog.set_level(logging.WARNING, logger="heygen_async")
    await raw.config_set("maxmemory-policy", "allkeys-lru")
    store = hg.RedisStore(redis_server.url, "j")
    await store.open()
    await store.close()
    assert "heygen.journal_may_be_evicted" in caplog.text


async def test_a_shard_finished_while_looking_is_not_claimed(
    raw: aioredis.Redis,
) -> None:
    """The done set is checked again once the lease is taken."""
    await raw.sadd("hg:{heygen}:campaign:c:done", "0")
    assert await _claim_one(raw, "c", 1, set(), "heygen", 5.0) is None
    assert not await raw.keys("*:lease")


async def test_values_come_back_exactly(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    """Unicode, escapes, big and tiny numbers survive the journal unchanged."""
    tag = {
        "text": 'é ünï \u2028 / "q" \\ \x00',
        "float": 0.1 + 0.2,
        "big": 12345678901234567890,
        "list": [1.5e-300, None, True, -0.0],
    }
    store = hg.RedisStore(redis_server.url, "j")
    await store.open()
    await store.add(hg.JobRecord(key="a", seq=0, tag=tag, request={"script": "✓"}))
    await store.add(hg.JobRecord(key="b", seq=1, tag=None, request={}))
    await store.update("b", detail={"video": {"duration": 12.000000000000002}})
    await raw.zadd(f"{JOURNAL}:seq", {"c": 2})  # an entry without its job: skipped
    records = await store.load()
    await store.close()
    assert [r.key for r in records] == ["a", "b"]
    assert records[0].tag == tag
    assert records[1].detail == {"video": {"duration": 12.000000000000002}}
    assert records[0].request == {"script": "✓"}
