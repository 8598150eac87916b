"""
:class:`RedisCoordinator`: several processes on one HeyGen account, via Redis.

- **Slots.** A create waits for an account-wide slot (:mod:`.scripts`): a
  leased reservation until HeyGen answers, then the video's own slot until
  anyone sees it end. A dead process's reservations expire within one lease.
- **Back-pressure.** A ``Retry-After`` seen by one process holds them all; a
  429 on create lowers the shared limit (AIMD).
- **Results.** Whoever learns that a video ended writes ``result:{id}``, then
  publishes it; every process subscribes once, and a wait that starts later
  reads the key, so an early result is never missed. Polling is the net.
- **One poller.** The holder of a short-lived lock polls every video anyone
  waits on; the others poll only while nobody holds it, or Redis is away.

Billing safety never depends on Redis: it comes from Idempotency-Keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from heygen_async import _log
from heygen_async._aio import cancel_and_wait
from heygen_async._models import Video
from heygen_async.exceptions import CoordinatorUnavailableError

from . import scripts
from .keys import Keys, check_settings, decode, encode, text
from .protocol import GateListener, ResultSink
from .sink import SchedulerSink


try:
    import redis.asyncio as redis_asyncio
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover (the extra is installed in tests)
    msg = "RedisCoordinator needs the redis extra: pip install 'heygen-async[redis]'"
    raise ImportError(msg) from exc


__all__ = ["RedisCoordinator"]

log = _log.coordinator_logger

_ERRORS = (RedisError, OSError)


class RedisCoordinator:
    """
    Coordinate every process that uses one HeyGen account through Redis.

    Pass one to each process's client: ``hg.Client(coordinator=...)``. It
    connects lazily, on the client's first wait or create, in that loop.

    Args:
        redis: A ``redis://`` / ``rediss://`` URL, or a ``redis.asyncio.Redis``
            you own (it is not closed).
        namespace: One per HeyGen account and environment.
        account_concurrency: The account's cap on unfinished videos.
        reservation_lease: Seconds a slot reserved for a create being sent
            survives its process (renewed while it lives).
        video_lease: Seconds a rendering video's slot survives without
            anyone polling it (renewed by its owner and the poller).
        leader_ttl: Seconds the poller's lock survives its process.
        result_ttl: Seconds a finished video's result is kept for late waits.
        event_ttl: Seconds a webhook event id is remembered (de-duplication).
        unavailable_timeout: Seconds a create waits for an unreachable Redis
            before :class:`~heygen_async.CoordinatorUnavailableError`.
        slot_poll: Longest wait between two tries for a slot.
    """

    def __init__(
        self,
        redis: str | redis_asyncio.Redis,
        *,
        namespace: str = "heygen",
        account_concurrency: int = 10,
        reservation_lease: float = 30.0,
        video_lease: float = 600.0,
        leader_ttl: float = 10.0,
        result_ttl: float = 86_400.0,
        event_ttl: float = 86_400.0,
        unavailable_timeout: float = 60.0,
        slot_poll: float = 1.0,
    ) -> None:
        check_settings(
            namespace=namespace,
            account_concurrency=account_concurrency,
            reservation_lease=reservation_lease,
            video_lease=video_lease,
            leader_ttl=leader_ttl,
            result_ttl=result_ttl,
            event_ttl=event_ttl,
            unavailable_timeout=unavailable_timeout,
            slot_poll=slot_poll,
        )
        self._source = redis
        self._redis: redis_asyncio.Redis | None = None
        self.namespace = namespace
        self.account_concurrency = account_concurrency
        self._keys = Keys(namespace)
        self._ms = {
            "reservation": int(reservation_lease * 1000),
            "video": int(video_lease * 1000),
            "leader": int(leader_ttl * 1000),
            "result": int(result_ttl * 1000),
            "event": int(event_ttl * 1000),
        }
        self._unavailable_timeout = unavailable_timeout
        self._slot_poll = slot_poll
        self._beat_every = min(reservation_lease, leader_ttl, video_lease) / 3
        self._token = f"{os.getpid()}:{uuid.uuid4().hex}"
        self._sink: SchedulerSink | None = None
        self._on_gate: GateListener | None = None
        self._scripts: dict[str, Any] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._freed = asyncio.Event()
        self._held: set[str] = set()  # reservations and tickets of this process
        self._videos: set[str] = set()  # slots this process promoted
        self._waiting: set[str] = set()  # videos waited on here
        self._unsettled: dict[str, Video] = {}  # results Redis has not taken yet
        self._leading = False
        self._leader_alive = True  # until the first heartbeat says otherwise
        self._queue_waiting = False
        self._healthy = True
        self._closed = False

    def __repr__(self) -> str:
        return f"<heygen_async.RedisCoordinator namespace={self.namespace!r}>"

    # -- state a test or dashboard may read -------------------------------

    @property
    def leading(self) -> bool:
        """Whether this process polls for the whole account."""
        return self._leading

    @property
    def healthy(self) -> bool:
        """Whether Redis answered the last heartbeat."""
        return self._healthy

    # -- binding ------------------------------------------------------------

    def bind(self, sink: ResultSink, on_gate: GateListener) -> None:
        """Start the heartbeat and the subscriber in the running loop."""
        if self._sink is not None:
            msg = "a RedisCoordinator serves one client; create one per client"
            raise RuntimeError(msg)
        self._sink = SchedulerSink(
            sink, saturated=lambda: self._queue_waiting, gone=self._gone
        )
        self._on_gate = on_gate
        self._redis = self._client()
        for name in scripts.__all__:
            self._scripts[name] = self._redis.register_script(getattr(scripts, name))
        loop = asyncio.get_running_loop()
        self._loops = [
            loop.create_task(self._listen(), name="heygen_async.coordinator.listen"),
            loop.create_task(self._beat(), name="heygen_async.coordinator.beat"),
        ]

    def _connect(self) -> redis_asyncio.Redis:
        if isinstance(self._source, str):
            return redis_asyncio.Redis.from_url(
                self._source, socket_connect_timeout=2, socket_timeout=5
            )
        return self._source

    def _client(self) -> redis_asyncio.Redis:
        if self._redis is None:
            self._redis = self._connect()  # lazily, in the running loop
        return self._redis

    async def _run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return await self._scripts[name](keys=list(keys), args=list(args))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- slots ----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[_RedisSlot]:
        """Wait for an account-wide slot for the create keyed *key*."""
        member = "r:" + key
        try:
            await self._acquire(member)
        except BaseException:
            await self._give_back(member)
            raise
        held = _RedisSlot(self, member)
        try:
            yield held
        finally:
            if not held.done:
                await self._give_back(member)

    async def _acquire(self, member: str) -> None:
        loop = asyncio.get_running_loop()
        keys = self._keys
        self._held.add(member)
        down_since: float | None = None
        while True:
            wake = self._freed
            try:
                admitted, wait_ms = await self._run(
                    "ACQUIRE",
                    [
                        keys.slots,
                        keys.limit,
                        keys.gate,
                        keys.queue,
                        keys.queue_exp,
                        keys.ticket,
                    ],
                    [member, self._ms["reservation"], self.account_concurrency],
                )
            except _ERRORS as error:
                now = loop.time()
                down_since = now if down_since is None else down_since
                if now - down_since >= self._unavailable_timeout:
                    raise CoordinatorUnavailableError(now - down_since) from error
                log.warning("heygen.coordinator_unreachable error=%s", error)
                await asyncio.sleep(self._slot_poll)
                continue
            if admitted:
                return
            timeout = self._slot_poll if wait_ms < 0 else wait_ms / 1000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(timeout, self._slot_poll)):
                    await wake.wait()

    async def _give_back(self, member: str) -> None:
        """Free a reservation (or ticket) that will not become a video."""
        self._held.discard(member)
        keys = self._keys
        try:
            await asyncio.shield(
                self._run(
                    "CANCEL",
                    [keys.slots, keys.queue, keys.queue_exp],
                    [member, keys.channels["freed"]],
                )
            )
        except _ERRORS as error:  # it expires with its lease anyway
            log.warning("heygen.coordinator_cancel_failed error=%s", error)

    async def _promote(self, member: str, video_id: str) -> None:
        self._held.discard(member)
        self._videos.add(video_id)
        keys = self._keys
        try:
            await self._run(
                "PROMOTE",
                [keys.slots, keys.inflight, keys.result(video_id)],
                [
                    member,
                    video_id,
                    self._ms["video"],
                    self._token,
                    keys.channels["inflight"],
                ],
            )
        except _ERRORS as error:  # never fail a video HeyGen accepted
            log.warning("heygen.coordinator_promote_failed error=%s", error)

    async def _limited(self, member: str, retry_after: float | None) -> None:
        self._held.discard(member)
        keys = self._keys
        ms = int((retry_after or 0) * 1000)
        try:
            limit = await self._run(
                "RATE_LIMITED",
                [keys.slots, keys.limit, keys.gate],
                [member, ms, self.account_concurrency, keys.channels["gate"]],
            )
        except _ERRORS as error:
            log.warning("heygen.coordinator_limit_failed error=%s", error)
            return
        log.info("heygen.account_limited limit=%s", text(limit))

    def rate_limited(self, seconds: float) -> None:
        """A Retry-After seen here holds every process (best effort)."""
        if self._sink is None or seconds <= 0:
            return
        gate = self._keys.gate
        channel = self._keys.channels["gate"]
        self._spawn(
            self._quietly(self._run("GATE", [gate], [int(seconds * 1000), channel]))
        )

    async def _quietly(self, coro: Any) -> None:
        try:
            await coro
        except _ERRORS as error:
            log.warning("heygen.coordinator_write_failed error=%s", error)

    # -- results --------------------------------------------------------------

    def watched(self, video_id: str) -> None:
        """Register the wait account-wide; settle it if the result is known."""
        if self._sink is None:
            return
        self._waiting.add(video_id)
        self._spawn(self._look_up(video_id))

    async def _look_up(self, video_id: str) -> None:
        keys = self._keys
        try:
            async with self._client().pipeline(transaction=False) as pipe:
                pipe.hsetnx(keys.inflight, video_id, self._token)
                pipe.get(keys.result(video_id))
                added, found = await pipe.execute()
            if added:
                await self._client().publish(keys.channels["inflight"], video_id)
        except _ERRORS as error:  # polling carries on without it
            log.warning("heygen.coordinator_lookup_failed error=%s", error)
            return
        if found is not None:
            self._deliver(decode(found))

    def observed(self, video: Video) -> None:
        """HeyGen said *video* ended: store, free its slot, tell everyone."""
        if self._sink is None or not video.status.is_terminal:
            return
        self._unsettled[video.id] = video
        self._spawn(self._settle_quietly(video))

    async def _settle_quietly(self, video: Video) -> None:
        try:
            await self._settle(video)
        except _ERRORS as error:  # the heartbeat tries again
            log.warning("heygen.coordinator_settle_failed error=%s", error)

    async def _settle(self, video: Video) -> None:
        keys = self._keys
        await self._run(
            "SETTLE",
            [keys.slots, keys.limit, keys.inflight, keys.result(video.id)],
            [
                video.id,
                encode(video),
                self._ms["result"],
                self.account_concurrency,
                keys.channels["settled"],
                keys.channels["freed"],
            ],
        )
        self._unsettled.pop(video.id, None)
        self._videos.discard(video.id)

    async def publish(self, video: Video) -> None:
        """Settle *video* for every process; Redis errors propagate."""
        if self._sink is None:
            return
        if video.status.is_terminal:
            await self._settle(video)

    async def poke(self, video_ids: Iterable[str]) -> None:
        """Ask the poller to poll *video_ids* now."""
        ids = list(video_ids)
        if self._sink is None or not ids:
            return
        async with self._client().pipeline(transaction=False) as pipe:
            for video_id in ids:
                pipe.publish(self._keys.channels["poke"], video_id)
            await pipe.execute()

    def _deliver(self, video: Video) -> None:
        self._waiting.discard(video.id)
        self._videos.discard(video.id)
        if self._sink is not None:
            self._sink.resolve(video)

    @property
    def shares_polling(self) -> bool:
        """One process (the poller) polls for every process of the account."""
        return True

    def to_poll(self, video_ids: Sequence[str]) -> Sequence[str]:
        """All of them as the poller, or while nobody polls; else none."""
        if self._leading or not self._healthy or not self._leader_alive:
            return video_ids
        return ()

    # -- webhooks ---------------------------------------------------------------

    async def claim_event(self, event_id: str) -> bool | None:
        """True for the first process to see *event_id*."""
        client = self._client()
        claimed = await client.set(
            self._keys.event(event_id), self._token, nx=True, px=self._ms["event"]
        )
        return bool(claimed)

    async def release_event(self, event_id: str) -> None:
        """Let a retry of *event_id* be processed again."""
        await self._client().delete(self._keys.event(event_id))

    # -- background -------------------------------------------------------------

    async def _listen(self) -> None:
        """The subscriber, with its own reconnect loop (polling is the net)."""
        channels = list(self._keys.channels.values())
        pause = 0.05
        # redis-py's get_message may swallow a cancellation: check the flag too.
        while not self._closed:
            pubsub = self._client().pubsub()
            try:
                await pubsub.subscribe(*channels)
                await self._catch_up()
                pause = 0.05
                while not self._closed:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.2
                    )
                    if message is not None:
                        self._on_message(message)
            except _ERRORS as error:
                self._healthy = False
                log.warning("heygen.coordinator_subscriber_lost error=%s", error)
            finally:
                with contextlib.suppress(*_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            if not self._closed:
                await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    async def _catch_up(self) -> None:
        """Results published while unsubscribed: read the keys of local waits."""
        ids = list(self._waiting)
        if not ids:
            return
        found = await self._client().mget([self._keys.result(i) for i in ids])
        for data in found:
            if data is not None:
                self._deliver(decode(data))

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = self._keys.by_channel.get(text(message["channel"]))
        data = text(message["data"])
        if kind == "settled":
            self._deliver(decode(data))
        elif kind == "freed":
            self._freed.set()
            self._freed = asyncio.Event()
        elif kind == "gate" and self._on_gate is not None:
            self._on_gate(int(data) / 1000)
        elif kind == "poke" and self._sink is not None:
            self._sink.poke(data)
        elif kind == "inflight" and self._leading:
            self._adopt_ids([data])

    def _adopt_ids(self, ids: Iterable[str]) -> None:
        if self._sink is not None:
            self._sink.adopt(ids)

    async def _beat(self) -> None:
        """Renew leases, hold or seek the poller's lock, retry failed writes."""
        # redis-py may turn a cancellation into a connection error: the flag
        # ends the loop even then.
        while not self._closed:
            try:
                await self._renew()
                await self._lead()
                for video in list(self._unsettled.values()):
                    await self._settle(video)
                self._healthy = True
            except _ERRORS as error:
                if self._healthy:
                    log.warning("heygen.coordinator_unreachable error=%s", error)
                self._healthy = False
            except Exception:  # the heartbeat must outlive any one bad beat
                log.exception("heygen.coordinator_beat_failed")
            await asyncio.sleep(self._beat_every)

    async def _renew(self) -> None:
        keys = self._keys
        held = list(self._held)
        videos = ["v:" + i for i in self._videos]
        if self._sink is not None:
            videos += ["v:" + i for i in self._sink.adopted]
        for lease, members in (("reservation", held), ("video", videos)):
            if not members:
                continue
            lost = await self._run(
                "RENEW", [keys.slots, keys.queue_exp], [self._ms[lease], *members]
            )
            if lost and lease == "reservation":
                log.warning("heygen.reservations_lost count=%d", len(lost))

    async def _lead(self) -> None:
        keys = self._keys
        leading = bool(
            await self._run(
                "LEADER_RENEW", [keys.leader], [self._token, self._ms["leader"]]
            )
        )
        if leading:
            ids = [text(i) for i in await self._client().hkeys(keys.inflight)]
            if not self._leading:
                log.info("heygen.poller_elected inflight=%d", len(ids))
            self._leading = True
            self._adopt_ids(ids)
            self._queue_waiting = await self._client().zcard(keys.queue) > 0
        elif self._leading:
            log.info("heygen.poller_lost")
            self._leading = False
            if self._sink is not None:
                self._sink.drop()
        self._leader_alive = not leading

    def _gone(self, video_id: str) -> None:
        """HeyGen does not know *video_id*: stop polling for it account-wide."""
        keys = self._keys
        client = self._client()
        self._spawn(self._quietly(client.hdel(keys.inflight, video_id)))

    async def aclose(self) -> None:
        """Stop, give back what this process holds, step down as poller."""
        if self._closed:
            return
        self._closed = True
        await cancel_and_wait([*self._loops, *self._tasks])
        if self._redis is None:
            return
        keys = self._keys
        with contextlib.suppress(*_ERRORS):
            for member in list(self._held):
                await self._give_back(member)
            if self._sink is not None:
                await self._run("LEADER_RELEASE", [keys.leader], [self._token])
        self._leading = False
        if isinstance(self._source, str):
            with contextlib.suppress(*_ERRORS):
                await self._redis.aclose()


class _RedisSlot:
    """One create's reservation; it becomes the video's slot. Strictly private."""

    def __init__(self, owner: RedisCoordinator, member: str) -> None:
        self._owner = owner
        self._member = member
        self.done = False

    async def created(self, video_id: str) -> None:
        """The reservation becomes *video_id*'s slot until it ends."""
        self.done = True
        await self._owner._promote(self._member, video_id)

    async def rate_limited(self, retry_after: float | None) -> None:
        """Give the slot back, lower the shared limit, hold everyone."""
        self.done = True
        await self._owner._limited(self._member, retry_after)
