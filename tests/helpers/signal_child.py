"""
A run whose shutdown is slow, for the second-signal test (run as a script).

It waits under the CLI's stop-signal handling; the first signal starts a
shutdown that keeps writing journal records, printing ``shutting down`` and
then one line per record written, until a second signal ends the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

from heygen_async._batch.stores import JobRecord, SQLiteStore
from heygen_async._cli.run import _stop_signals


async def main(journal: Path) -> int:
    """Wait for a signal, then write the journal until the second one."""
    store = SQLiteStore(journal)
    await store.open()

    async def work() -> None:
        """Idle until cancelled, then shut down slowly."""
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            print("shutting down", flush=True)
            for seq in range(100_000):
                record = JobRecord(key=f"k{seq}", seq=seq, tag=seq, request={})
                await store.add(record)
                print(f"wrote {seq}", flush=True)
                await asyncio.sleep(0.005)
            raise

    task = asyncio.get_running_loop().create_task(work())
    cleanup = lambda: print("cleaned up", flush=True)  # noqa: E731
    with _stop_signals(task, cleanup=cleanup, note=" Resume later."):
        print("ready", flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]))))
