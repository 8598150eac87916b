"""
Job journals: what a batch has asked HeyGen for, so a crash loses nothing.

A batch writes a job's key and request *before* its create POST and the
``video_id`` right after, so a batch reopened on the same journal re-attaches
to every job: finished ones are reported without a request, created ones are
polled again, and the rest are re-sent with the same ``Idempotency-Key``
(HeyGen replays, so nothing is paid twice). :class:`SQLiteStore` keeps the
journal on disk; :class:`MemoryStore` (the default) only for the process.

A journal serves one batch at a time: two would both resume the same jobs and
overwrite each other's records. Opening one that is in use raises
:class:`~heygen_async.JournalBusyError` at once; a SQLite journal is guarded
by an OS lock on a sidecar ``.lock`` file, which the OS also drops when the
holding process dies, so a crash never leaves a journal locked.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
import os
import sqlite3
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs

from heygen_async.exceptions import JournalBusyError


if sys.platform == "win32":  # pragma: no cover
    import msvcrt

    def _lock_fd(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


__all__ = [
    "JobRecord",
    "JobStore",
    "JournalLock",
    "MemoryStore",
    "SQLiteStore",
    "set_aside",
]

SCHEMA_VERSION = 1


@attrs.frozen(kw_only=True)
class JobRecord:
    """
    One logical job as the journal knows it.

    Attributes:
        key: The ``Idempotency-Key``; also the job's identity.
        seq: Submission order within the journal.
        tag: The caller's JSON-serialisable label.
        request: The request, in the journal's JSON form.
        asset_id: The asset its local image was uploaded as, once uploaded.
        video_id: HeyGen's id, once created.
        status: The last status seen.
        outcome: ``completed``, ``failed`` or ``timed_out`` once known;
            ``retired`` for a failed job re-sent under a new key on purpose.
        detail: The outcome's data (the video, or the error).
        reported: Whether ``as_completed`` has handed the outcome over.
        updated_at: Unix seconds of the last change.
    """

    key: str
    seq: int
    tag: Any = None
    request: Mapping[str, Any]
    asset_id: str | None = None
    video_id: str | None = None
    status: str | None = None
    outcome: str | None = None
    detail: Mapping[str, Any] | None = None
    reported: bool = False
    updated_at: float = 0.0


@runtime_checkable
class JobStore(Protocol):
    """Where a batch keeps its journal. Methods may run off the event loop."""

    @property
    def durable(self) -> bool:
        """Whether the journal outlives the process."""

    async def open(self) -> str:
        """
        Open (creating if needed) and return the journal's run id.

        Raise :class:`~heygen_async.JournalBusyError` at once if another
        batch or process has it open: one journal serves one batch at a time.
        """

    async def load(self) -> list[JobRecord]:
        """Every job recorded so far, in submission order."""

    async def add(self, record: JobRecord) -> None:
        """Record a new job (before its create request is sent)."""

    async def update(self, key: str, **changes: Any) -> None:
        """Change fields of a recorded job."""

    async def close(self) -> None:
        """Flush and release the journal."""


class MemoryStore:
    """
    A journal that lives as long as the object: the default.

    Reusing one instance for a second batch in the same process re-attaches
    to the first batch's jobs, exactly as a :class:`SQLiteStore` would.
    """

    durable = False

    def __init__(self) -> None:
        self._run_id = uuid.uuid4().hex
        self._records: dict[str, JobRecord] = {}
        self._in_use = False

    async def open(self) -> str:
        """
        Return this journal's run id.

        Raises:
            JournalBusyError: Another batch has it open.
        """
        if self._in_use:
            raise JournalBusyError(f"<MemoryStore at {id(self):#x}>")
        self._in_use = True
        return self._run_id

    async def load(self) -> list[JobRecord]:
        """Every job recorded so far, in submission order."""
        return sorted(self._records.values(), key=lambda r: r.seq)

    async def add(self, record: JobRecord) -> None:
        """Record a new job."""
        self._records[record.key] = record

    async def update(self, key: str, **changes: Any) -> None:
        """Change fields of a recorded job."""
        self._records[key] = attrs.evolve(
            self._records[key], updated_at=time.time(), **changes
        )

    async def close(self) -> None:
        """Let another batch open it."""
        self._in_use = False


class JournalLock:
    """
    An exclusive OS lock on *path* (a sidecar file, created if missing).

    Held from :meth:`acquire` to :meth:`release`; the OS drops it when the
    process dies, so no crash leaves it behind. Another process, or another
    :class:`JournalLock` on the same file in this process, cannot take it
    meanwhile.

    Args:
        path: The lock file.
        journal: What to name in :class:`~heygen_async.JournalBusyError`.
    """

    def __init__(self, path: Path, *, journal: str) -> None:
        self.path = path
        self.journal = journal
        self._fd: int | None = None

    def acquire(self) -> None:
        """
        Take the lock now, or fail at once.

        Raises:
            JournalBusyError: Someone else holds it.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock_fd(fd)
        except OSError:
            os.close(fd)
            raise JournalBusyError(self.journal) from None
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (closing the file releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def set_aside(path: Path) -> Path | None:
    """
    Rename the SQLite journal *path* (with its WAL files) to a dated name.

    The old journal is kept, not deleted, so nothing it knew is lost; a new
    one starts at *path* on the next open. Returns the new name, or ``None``
    if there was no journal.

    Raises:
        JournalBusyError: The journal is in use.
    """
    if not path.parent.is_dir():
        return None
    lock = _lock_of(path)
    lock.acquire()
    try:
        if not path.exists():
            return None
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = path.with_name(f"{path.stem}-{stamp}{path.suffix}")
        for extra in ("-wal", "-shm"):
            side = path.with_name(path.name + extra)
            if side.exists():
                side.replace(aside.with_name(aside.name + extra))
        path.replace(aside)
        return aside
    finally:
        lock.release()


def _lock_of(path: Path) -> JournalLock:
    return JournalLock(path.with_name(path.name + ".lock"), journal=str(path))


_COLUMNS = (
    "key",
    "seq",
    "tag",
    "request",
    "asset_id",
    "video_id",
    "status",
    "outcome",
    "detail",
    "reported",
    "updated_at",
)
_JSON_COLUMNS = frozenset({"tag", "request", "detail"})


class SQLiteStore:
    """
    A journal in one SQLite file (WAL mode), safe against a killed process.

    Every write runs on one dedicated thread, so the event loop never waits
    on the disk and writes land in the order they were made.

    Args:
        path: The database file; created with its folder if missing. A
            ``.lock`` file beside it keeps a second batch or process out.
    """

    durable = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        self._lock = _lock_of(self.path)

    def __repr__(self) -> str:
        return f"<heygen_async.SQLiteStore path={str(self.path)!r}>"

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self._executor is None:
            msg = "the store is not open"
            raise RuntimeError(msg)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def open(self) -> str:
        """
        Open or create the journal, lock it, and return its run id.

        Raises:
            JournalBusyError: Another batch or process has it open.
        """
        if self._executor is not None:
            raise JournalBusyError(str(self.path))
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="heygen-journal"
        )
        try:
            result: str = await self._run(self._open_sync)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        return result

    def _open_sync(self) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            return self._connect()
        except BaseException:
            self._close_sync()
            raise

    def _connect(self) -> str:
        if self._db is None:
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                db.executescript(_SCHEMA)
                db.execute(
                    "INSERT INTO meta (name, value) VALUES ('run_id', ?)",
                    (uuid.uuid4().hex,),
                )
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                db.close()
                msg = (
                    f"{self.path} is a journal of schema {version}; this version "
                    f"of heygen_async reads schema {SCHEMA_VERSION}"
                )
                raise RuntimeError(msg)
            self._db = db
        row = self._db.execute("SELECT value FROM meta WHERE name='run_id'").fetchone()
        return str(row[0])

    async def load(self) -> list[JobRecord]:
        """Every job recorded so far, in submission order."""
        result: list[JobRecord] = await self._run(self._load_sync)
        return result

    def _load_sync(self) -> list[JobRecord]:
        assert self._db is not None  # noqa: S101 (open() ran first)
        rows = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM jobs ORDER BY seq"  # noqa: S608
        ).fetchall()
        records = []
        for row in rows:
            values = dict(zip(_COLUMNS, row, strict=True))
            for column in _JSON_COLUMNS:
                if values[column] is not None:
                    values[column] = json.loads(values[column])
            values["reported"] = bool(values["reported"])
            records.append(JobRecord(**values))
        return records

    async def add(self, record: JobRecord) -> None:
        """Record a new job, durably, before its create request is sent."""
        values = attrs.asdict(record)
        values["updated_at"] = time.time()
        await self._run(self._write_sync, "INSERT", values)

    async def update(self, key: str, **changes: Any) -> None:
        """Change fields of a recorded job."""
        changes["updated_at"] = time.time()
        changes["key"] = key
        await self._run(self._write_sync, "UPDATE", changes)

    def _write_sync(self, verb: str, values: dict[str, Any]) -> None:
        assert self._db is not None  # noqa: S101 (open() ran first)
        row = {
            name: json.dumps(value)
            if name in _JSON_COLUMNS and value is not None
            else value
            for name, value in values.items()
        }
        if verb == "INSERT":
            names = ", ".join(row)
            marks = ", ".join(f":{name}" for name in row)
            sql = f"INSERT INTO jobs ({names}) VALUES ({marks})"  # noqa: S608
        else:
            sets = ", ".join(f"{name} = :{name}" for name in row if name != "key")
            sql = f"UPDATE jobs SET {sets} WHERE key = :key"  # noqa: S608
        self._db.execute(sql, row)

    async def close(self) -> None:
        """Close the database and its thread."""
        if self._executor is None:
            return
        await self._run(self._close_sync)
        self._executor.shutdown(wait=True)
        self._executor = None

    def _close_sync(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._lock.release()


_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE jobs (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    tag TEXT,
    request TEXT NOT NULL,
    asset_id TEXT,
    video_id TEXT,
    status TEXT,
    outcome TEXT,
    detail TEXT,
    reported INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX jobs_seq ON jobs (seq);
"""
