"""
Closing a client with many pending waits: how long ``aclose()`` takes.

Usage (from the repository root)::

    python benchmarks/closing.py [N ...]     # default 10000 100000

Each wait is a ``client.wait_for_video`` task on the client's one scheduler
(no request is made: the first poll would come seconds later). The time is
from ``await client.aclose()`` until every waiting task has finished with the
"client was closed" error, so it includes waking every waiter.
"""

from __future__ import annotations

import asyncio
import sys
import time

import heygen_async as hg


async def close_with(n: int) -> tuple[float, float]:
    """Seconds for ``aclose()`` itself, and until every waiter has finished."""
    client = hg.Client(api_key="k", base_url="http://127.0.0.1:9")
    tasks = [
        asyncio.ensure_future(client.wait_for_video(f"v_{i:08d}")) for i in range(n)
    ]
    await asyncio.sleep(0)
    started = time.perf_counter()
    await client.aclose()
    closed = time.perf_counter() - started
    results = await asyncio.gather(*tasks, return_exceptions=True)
    finished = time.perf_counter() - started
    assert all(isinstance(r, hg.HeyGenError) for r in results)  # noqa: S101
    return closed, finished


def main(argv: list[str]) -> int:
    """Print one line per N."""
    for n in [int(a) for a in argv] or [10_000, 100_000]:
        closed, finished = asyncio.run(close_with(n))
        sys.stdout.write(
            f"N={n}: aclose {closed:.3f} s, all waiters done {finished:.3f} s\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
