"""
Every logger of the package, named in one place.

Modules import their logger from here instead of calling
:func:`logging.getLogger` themselves, so the set of names a user can
configure is this list and nothing else. Each is a child of
``heygen_async``: configuring that one logger configures them all. Messages
are stable event names (``heygen.retry``) followed by ``key=value`` details.
"""

from __future__ import annotations

import logging


__all__ = [
    "LOGGER_NAMES",
    "batch_logger",
    "coordinator_logger",
    "download_logger",
    "fastapi_logger",
    "http_logger",
    "logger",
    "scheduler_logger",
    "testing_logger",
]

#: The package's root: models, conversion, uploads, the client's lifecycle.
logger = logging.getLogger("heygen_async")
#: Requests, retries and throttling.
http_logger = logging.getLogger("heygen_async.http")
#: Downloads of finished videos.
download_logger = logging.getLogger("heygen_async.download")
#: The shared status poller.
scheduler_logger = logging.getLogger("heygen_async.scheduler")
#: Batches: admission, journal, outcomes.
batch_logger = logging.getLogger("heygen_async.batch")
#: Coordination between processes (slots, shared results, the poller).
coordinator_logger = logging.getLogger("heygen_async.coordinator")
#: The FastAPI webhook receiver.
fastapi_logger = logging.getLogger("heygen_async.fastapi")
#: The fake server and its webhook sender (``heygen_async.testing``).
testing_logger = logging.getLogger("heygen_async.testing")

#: Every logger name above, root first.
LOGGER_NAMES: tuple[str, ...] = (
    logger.name,
    http_logger.name,
    download_logger.name,
    scheduler_logger.name,
    batch_logger.name,
    coordinator_logger.name,
    fastapi_logger.name,
    testing_logger.name,
)
