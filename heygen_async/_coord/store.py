"""
The job journal in Redis, so a batch can be resumed on another host.

A :class:`RedisStore` keeps exactly what a :class:`~heygen_async.SQLiteStore`
keeps (one hash per job, a sorted set for submission order, a meta hash with
the run id), so the Idempotency-Keys a resumed batch derives are the ones the
first host derived, and nothing is paid twice.

One batch at a time holds a journal through a *lease*: a key with the
holder's random token and a time to live, renewed in the background. A process
that dies stops renewing, so its lease expires and another host may take the
journal over. Every write is a Lua script that first checks the lease (and the
``holder`` written into the journal when it was taken): a process that lost
its journal, say after a long pause, can no longer write into it, and a job it
cannot journal is never sent.

:func:`claim_shards` splits a campaign into shards, one journal each: every
process running it leases shards that are not done, one at a time, so the
same command on every machine covers the campaign once, and a dead machine's
shard is resumed elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import Any

import attrs

from heygen_async._batch.stores import JobRecord
from heygen_async._log import batch_logger as log
from heygen_async.exceptions import JournalBusyError

from . import journal_lua as lua


try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError, ResponseError
except ImportError as exc:  # pragma: no cover (the extra is installed in tests)
    msg = (
        "RedisStore and claim_shards need the redis extra: "
        "pip install 'heygen-async[redis]'"
    )
    raise ImportError(msg) from exc


__all__ = ["RedisStore", "campaign_records", "claim_shards"]

SCHEMA_VERSION = 1
_FIELDS = tuple(field.name for field in attrs.fields(JobRecord) if field.name != "key")
_LOAD_CHUNK = 1000
_WAIT_MS = 100  # how long a write waits for its replicas


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _connect(redis: str | aioredis.Redis) -> tuple[aioredis.Redis, bool]:
    """A client for *redis* (a URL or a client), and whether we own it."""
    if isinstance(redis, str):
        return aioredis.Redis.from_url(redis), True
    return redis, False


def _prefix(namespace: str) -> str:
    # One hash tag for every key, so a Redis Cluster keeps them in one slot.
    return f"hg:{{{namespace}}}"


class RedisStore:
    """
    A job journal in Redis, leased by one batch at a time.

    Args:
        redis: A ``redis://`` URL, or a ``redis.asyncio.Redis`` you own.
        name: The journal's name within *namespace*.
        run_id: Pin the run id the Idempotency-Keys derive from, so they stay
            the same even if Redis loses the journal (default: minted once).
        namespace: Keys live under ``hg:{namespace}:journal:{name}:``.
        lease: Seconds a dead holder keeps the journal; renewed every third.
        wait: Wait for a busy journal's lease instead of raising
            :class:`~heygen_async.JournalBusyError`.
        wait_replicas: After each write, wait for this many replicas to have
            it (Redis ``WAIT``), so a failover loses no journaled job.

    Durability is Redis's: run it with AOF (``appendonly yes``) and
    ``maxmemory-policy noeviction``; :meth:`open` warns when it can see
    otherwise.
    """

    durable = True

    def __init__(
        self,
        redis: str | aioredis.Redis,
        name: str,
        *,
        run_id: str | None = None,
        namespace: str = "heygen",
        lease: float = 30.0,
        wait: bool = False,
        wait_replicas: int = 0,
    ) -> None:
        _check(name=name, namespace=namespace, lease=lease, wait_replicas=wait_replicas)
        if run_id == "":
            msg = f"run_id must be a non-empty string or None; got {run_id!r}"
            raise ValueError(msg)
        self._target = redis
        self.name = name
        self.namespace = namespace
        self.lease = lease
        self.wait = wait
        self.wait_replicas = wait_replicas
        self._pinned = run_id
        base = f"{_prefix(namespace)}:journal:{name}"
        self.journal = base
        self._keys = {part: f"{base}:{part}" for part in ("meta", "seq", "lease")}
        self._redis: aioredis.Redis | None = None
        self._owned = False
        self._token: str | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._writes = asyncio.Lock()
        self._open = False
        self._kept = False  # claim_shards holds the lease across the batch

    def __repr__(self) -> str:
        return f"<heygen_async.RedisStore journal={self.journal!r}>"

    @property
    def _ms(self) -> int:
        return max(1, int(self.lease * 1000))

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis, self._owned = _connect(self._target)
        return self._redis

    # -- the lease ---------------------------------------------------------

    async def _take(self) -> bool:
        """Take the lease if it is free (or already ours)."""
        client = self._client()
        token = self._token or secrets.token_hex(16)
        script = client.register_script(lua.ACQUIRE)
        keys = [self._keys["lease"], self._keys["meta"]]
        if not await script(keys=keys, args=[token, self._ms]):
            return False
        self._token = token
        if self._renewer is None:
            self._renewer = asyncio.get_running_loop().create_task(
                self._renew(), name="heygen_async.journal_lease"
            )
        return True

    async def _renew(self) -> None:
        """Keep the lease alive every third of its length."""
        script = self._client().register_script(lua.RENEW)
        keys = [self._keys["lease"], self._keys["meta"]]
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                held = await script(keys=keys, args=[self._token or "", self._ms])
            except Exception as error:  # noqa: BLE001 (Redis away: try again)
                log.warning("heygen.journal_lease_renew_failed error=%s", error)
                continue
            if not held:
                log.error("heygen.journal_lease_lost journal=%s", self.journal)
                return

    async def _release(self, *, done: str = "") -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        if self._token is not None and self._redis is not None:
            script = self._redis.register_script(lua.RELEASE)
            done_key = f"{self._campaign_key()}:done"
            try:
                await script(
                    keys=[self._keys["lease"], done_key], args=[self._token, done]
                )
            except RedisError as error:  # the lease lapses on its own
                log.warning(
                    "heygen.journal_release_failed journal=%s error=%s",
                    self.journal,
                    error,
                )
        self._token = None

    def _campaign_key(self) -> str:
        campaign = self.name.rpartition("/")[0]
        return f"{_prefix(self.namespace)}:campaign:{campaign}"

    # -- the JobStore protocol ---------------------------------------------

    async def open(self) -> str:
        """
        Lease the journal (creating it if needed) and return its run id.

        Raises:
            JournalBusyError: Another live batch holds it (unless ``wait``).
            ValueError: The journal was started with another pinned run id.
        """
        if self._open:
            raise JournalBusyError(self.journal)
        self._open = True
        try:
            while not await self._take():
                if not self.wait:
                    raise JournalBusyError(self.journal)
                await asyncio.sleep(min(0.5, self.lease / 10))
            run_id = await self._meta()
            await self._warn_if_volatile()
        except BaseException:
            await self.close()
            raise
        return run_id

    async def _meta(self) -> str:
        client = self._client()
        meta = self._keys["meta"]
        minted = self._pinned or uuid.uuid4().hex
        async with client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(meta, "run_id", minted)
            pipe.hsetnx(meta, "schema", SCHEMA_VERSION)
            pipe.hsetnx(meta, "created_at", repr(time.time()))
            pipe.hmget(meta, ["run_id", "schema"])
            *_, (run_id, schema) = await pipe.execute()
        if int(schema) != SCHEMA_VERSION:
            msg = (
                f"{self.journal} is a journal of schema {_text(schema)}; this "
                f"version of heygen_async reads schema {SCHEMA_VERSION}"
            )
            raise RuntimeError(msg)
        if self._pinned is not None and _text(run_id) != self._pinned:
            msg = (
                f"run_id {self._pinned!r} does not match the journal "
                f"{self.journal}, started with run_id {_text(run_id)!r}"
            )
            raise ValueError(msg)
        return _text(run_id)

    async def _warn_if_volatile(self) -> None:
        """Say so when Redis may drop the journal (no AOF, or eviction)."""
        try:
            config = await self._client().config_get("appendonly")
            config.update(await self._client().config_get("maxmemory-policy"))
        except ResponseError:  # CONFIG refused (managed Redis): cannot tell
            return
        found = {_text(k): _text(v) for k, v in config.items()}
        if found.get("appendonly") != "yes":
            log.warning(
                "heygen.journal_not_persistent journal=%s appendonly=%s",
                self.journal,
                found.get("appendonly"),
            )
        if found.get("maxmemory-policy", "noeviction") != "noeviction":
            log.warning(
                "heygen.journal_may_be_evicted journal=%s maxmemory-policy=%s",
                self.journal,
                found["maxmemory-policy"],
            )

    async def load(self) -> list[JobRecord]:
        """Every job recorded so far, in submission order."""
        return await _load(self._client(), self.journal)

    async def add(self, record: JobRecord) -> None:
        """Record a new job, before its create request is sent."""
        values = attrs.asdict(record)
        values["updated_at"] = time.time()
        key = values.pop("key")
        keys = [*self._guard_keys(), self._keys["seq"], self._job(key)]
        await self._write(lua.ADD, keys, [key, record.seq, *_encode(values)])

    async def update(self, key: str, **changes: Any) -> None:
        """Change fields of a recorded job."""
        changes["updated_at"] = time.time()
        keys = [*self._guard_keys(), self._job(key)]
        await self._write(lua.UPDATE, keys, _encode(changes))

    def _guard_keys(self) -> list[str]:
        return [self._keys["lease"], self._keys["meta"]]

    def _job(self, key: str) -> str:
        return f"{self.journal}:job:{key}"

    async def _write(self, lua: str, keys: list[str], args: list[Any]) -> None:
        # One write at a time, in the order they were made: a job's update
        # never overtakes its add on another pooled connection.
        if self._token is None:
            msg = "the store is not open"
            raise RuntimeError(msg)
        client = self._client()
        script = client.register_script(lua)
        async with self._writes:
            try:
                await script(keys=keys, args=[self._token, self._ms, *args])
            except ResponseError as error:
                if "LEASE_LOST" in str(error):
                    raise JournalBusyError(self.journal) from None
                raise
            if self.wait_replicas:
                acked = await client.wait(self.wait_replicas, _WAIT_MS)
                if acked < self.wait_replicas:
                    log.warning(
                        "heygen.journal_write_not_replicated journal=%s replicas=%s",
                        self.journal,
                        acked,
                    )

    async def close(self) -> None:
        """Release the lease (unless a campaign keeps it) and disconnect."""
        self._open = False
        if self._kept:
            return
        await self._release()
        await self._disconnect()

    async def _disconnect(self) -> None:
        if self._redis is not None and self._owned:
            await self._redis.aclose()
        self._redis = None


def _check(*, name: str, namespace: str, lease: float, wait_replicas: int) -> None:
    """Refuse settings a journal cannot work with, naming them."""
    bad = []
    if not name:
        bad.append(f"name must be a non-empty string; got {name!r}")
    if not namespace or "}" in namespace:
        bad.append(
            f"namespace must be a non-empty string without '}}'; got {namespace!r}"
        )
    if not lease > 0:
        bad.append(f"lease must be > 0 seconds; got {lease!r}")
    if wait_replicas < 0:
        bad.append(f"wait_replicas must be an int >= 0; got {wait_replicas!r}")
    if bad:
        raise ValueError("; ".join(bad))


def _encode(values: dict[str, Any]) -> list[Any]:
    """``field, json, field, json, ...``: every column as JSON, None included."""
    flat: list[Any] = []
    for name, value in values.items():
        flat += [name, json.dumps(value)]
    return flat


def _decode(key: str, row: Any) -> JobRecord:
    values = {k: json.loads(v) for k, v in json.loads(row).items()}
    return JobRecord(key=key, **{k: v for k, v in values.items() if k in _FIELDS})


async def _load(client: aioredis.Redis, journal: str) -> list[JobRecord]:
    # One JSON object per job from a script, not a pipeline of HGETALLs:
    # parsing 22 reply elements a job, not the network, is what costs.
    keys = [_text(k) for k in await client.zrange(f"{journal}:seq", 0, -1)]
    script = client.register_script(lua.LOAD)
    records: list[JobRecord] = []
    for start in range(0, len(keys), _LOAD_CHUNK):
        chunk = keys[start : start + _LOAD_CHUNK]
        rows = await script(keys=[f"{journal}:job:{key}" for key in chunk])
        records += [_decode(k, row) for k, row in zip(chunk, rows, strict=True) if row]
    return records


# -- campaigns ---------------------------------------------------------------


async def _campaign_shards(
    client: aioredis.Redis, base: str, shards: int | None
) -> int:
    """Record (or check) the campaign's shard count; a split must never change."""
    if shards is not None:
        await client.hsetnx(f"{base}:meta", "shards", shards)
    found = await client.hget(f"{base}:meta", "shards")
    if found is None:
        msg = f"no campaign {base!r} in Redis: start it with render --shards"
        raise ValueError(msg)
    if shards is not None and int(found) != shards:
        msg = (
            f"shards={shards} does not match the campaign, started with "
            f"{int(found)} shards: another split would send jobs again"
        )
        raise ValueError(msg)
    return int(found)


async def _check_fingerprint(
    client: aioredis.Redis, base: str, fingerprint: str | None
) -> None:
    """Refuse inputs other than the ones the campaign started with."""
    if fingerprint is None:
        return
    await client.hsetnx(f"{base}:meta", "fingerprint", fingerprint)
    found = _text(await client.hget(f"{base}:meta", "fingerprint"))
    if found != fingerprint:
        msg = (
            f"fingerprint {fingerprint!r} does not match the campaign, started "
            f"with {found!r}: every process must be given the same inputs, or "
            "the jobs it sees differently would be sent (and paid) again"
        )
        raise ValueError(msg)


async def claim_shards(
    redis: str | aioredis.Redis,
    campaign: str,
    shards: int,
    *,
    namespace: str = "heygen",
    lease: float = 30.0,
    poll: float = 1.0,
    fingerprint: str | None = None,
) -> AsyncGenerator[tuple[int, RedisStore], None]:
    """
    Yield ``(shard, store)`` for each shard of *campaign* this process leases.

    Run the same loop on every machine: each shard's journal is leased by one
    live process at a time, a shard is marked done when the loop body for it
    returns (the batch on *store* finished), and the iterator ends when every
    shard is done. While the shards left are held by others it waits (checking
    every *poll* seconds), so a shard whose holder dies is resumed here once
    its *lease* expires, from its journal, with the same Idempotency-Keys.

    A shard's run id is pinned to ``campaign/shard``: the keys stay the same
    even if Redis loses the journal. Give a *fingerprint* of the campaign's
    inputs (say a hash of every tag) to refuse a process whose inputs differ
    from those the campaign started with.

    Raises:
        ValueError: Bad arguments, or *shards* or *fingerprint* differs from
            the campaign's.
    """
    if shards < 1:
        msg = f"shards must be an int >= 1; got {shards!r}"
        raise ValueError(msg)
    _check(name=campaign, namespace=namespace, lease=lease, wait_replicas=0)
    client, owned = _connect(redis)
    base = f"{_prefix(namespace)}:campaign:{campaign}"
    try:
        await _campaign_shards(client, base, shards)
        await _check_fingerprint(client, base, fingerprint)
        while True:
            done = {int(_text(i)) for i in await client.smembers(f"{base}:done")}
            if len(done) >= shards:
                return
            store = await _claim_one(client, campaign, shards, done, namespace, lease)
            if store is None:
                await asyncio.sleep(poll)
                continue
            async with _holding(store) as finish:
                yield int(store.name.rpartition("/")[2]), store
                finish.append(store.name.rpartition("/")[2])
    finally:
        if owned:
            await client.aclose()


async def _claim_one(
    client: aioredis.Redis,
    campaign: str,
    shards: int,
    done: set[int],
    namespace: str,
    lease: float,
) -> RedisStore | None:
    """Lease the first shard not done and not held by another process."""
    base = f"{_prefix(namespace)}:campaign:{campaign}"
    for shard in _order(shards, done):
        store = RedisStore(
            client,
            f"{campaign}/{shard}",
            run_id=f"{campaign}/{shard}",
            namespace=namespace,
            lease=lease,
        )
        if not await store._take():
            continue
        if await client.sismember(f"{base}:done", str(shard)):
            await store._release()  # finished while we looked
            continue
        store._kept = True
        return store
    return None


def _order(shards: int, done: set[int]) -> Iterable[int]:
    """Shards not done, starting at a random one so processes spread out."""
    start = secrets.randbelow(shards)
    for step in range(shards):
        shard = (start + step) % shards
        if shard not in done:
            yield shard


@contextlib.asynccontextmanager
async def _holding(store: RedisStore) -> AsyncIterator[list[str]]:
    """Hold *store*'s lease; release it, marking the shard done if told."""
    finish: list[str] = []
    try:
        yield finish
    finally:
        store._kept = False
        await store._release(done=finish[0] if finish else "")


async def campaign_records(
    redis: str | aioredis.Redis, campaign: str, *, namespace: str = "heygen"
) -> dict[int, list[JobRecord]]:
    """
    Every journaled job of *campaign*, by shard, read without any lease.

    Raises:
        ValueError: There is no such campaign.
    """
    _check(name=campaign, namespace=namespace, lease=1.0, wait_replicas=0)
    client, owned = _connect(redis)
    base = f"{_prefix(namespace)}:campaign:{campaign}"
    try:
        shards = await _campaign_shards(client, base, None)
        found = {}
        for shard in range(shards):
            journal = f"{_prefix(namespace)}:journal:{campaign}/{shard}"
            found[shard] = await _load(client, journal)
        return found
    finally:
        if owned:
            await client.aclose()
