"""
Testing helpers: ``FakeHeyGen``, a local server that speaks HeyGen's v3 API.

Point a client at ``fake.url`` with ``fake.api_key`` and every behaviour that
matters to an SDK is there, deterministic for a ``seed``: renders that take
time and sometimes fail, the concurrency cap, ``Retry-After``, idempotency,
expiring media URLs, signed webhook deliveries and scripted :class:`Fault` s::

    async with FakeHeyGen(render_seconds=0.05, seed=1) as fake:
        ...
        assert fake.stats.duplicate_jobs == 0

In pytest, the ``heygen_fake`` and ``heygen_client`` fixtures (this
package's plugin, loaded when it is installed) hand a test a running fake
and a client bound to it, under pytest-asyncio or anyio.

With ``check_responses=True`` (or ``HEYGEN_FAKE_CHECK_RESPONSES=1``) every
answer is validated against HeyGen's official schemas first, and one that
breaks them becomes a 500 ``fake_contract_violation``.
"""

from __future__ import annotations

from ._faults import Fault
from ._server import FakeHeyGen
from ._state import FakeVideo, JobPlan
from ._stats import FakeStats


__all__ = ["FakeHeyGen", "FakeStats", "FakeVideo", "Fault", "JobPlan"]
