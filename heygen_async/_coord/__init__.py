"""
Several processes, one account: the Redis-backed pieces (the ``redis`` extra).

Nothing here is imported by core at import time; ``heygen_async`` exposes the
public names lazily, so a plain install never needs ``redis``.
"""
