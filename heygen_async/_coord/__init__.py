"""
Several processes, one account: the coordination seam and the Redis-backed
pieces (the ``redis`` extra).

``protocol`` and ``local`` are core; the Redis modules are never imported by
core at import time: ``heygen_async`` exposes their public names lazily, so a
plain install never needs ``redis``.
"""
