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
from collections.abc import Iterable


__all__ = [
    "LOGGER_NAMES",
    "SchemaDrift",
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


class SchemaDrift:
    """
    Reports each (route, field) that stopped decoding once, not every tick.

    A field HeyGen reshaped fails every poll until the SDK is updated; one
    warning with the request id is what an operator needs, not thousands.
    """

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._reported: set[tuple[str, str]] = set()

    def report(self, route: str, fields: Iterable[str], request_id: str | None) -> None:
        """Log ``heygen.schema_drift`` for each field not reported yet."""
        for field in fields:
            if (route, field) in self._reported:
                continue
            self._reported.add((route, field))
            self._log.warning(
                "heygen.schema_drift route=%s field=%s request_id=%s",
                route,
                field,
                request_id,
                extra={
                    "heygen.route": route,
                    "heygen.field": field,
                    "heygen.request_id": request_id,
                },
            )
