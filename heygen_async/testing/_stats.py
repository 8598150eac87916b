"""
What the fake saw: counters a test or benchmark reads to judge a client.

``FakeStats`` answers the questions the SDK promises about: how many HTTP
requests a job cost, whether a retry created a duplicate paid job, how full
the concurrency cap was kept, how many faults a client survived.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs


if TYPE_CHECKING:
    from ._state import FakeVideo


@attrs.frozen(kw_only=True)
class FakeStats:
    """
    A snapshot of the fake's counters.

    Attributes:
        requests: Requests received by route (``"GET /v3/videos/statuses"``),
            401s and faulted requests included; paths that match no route
            count as ``"<METHOD> <unmatched>"``.
        responses: Route to HTTP status to count of responses sent.
        jobs_created: Videos created (each one is billed).
        duplicate_jobs: Videos whose request body equals an earlier video's:
            what a double submit would have cost.
        idempotent_replays: Creates answered from the idempotency store.
        peak_in_flight: Most unfinished jobs seen right after a create.
        in_flight: Unfinished jobs now.
        faults_injected: Faults that struck.
        uploads: Assets uploaded.
        webhooks_attempted: Webhook POSTs sent, retries and duplicates included.
        webhooks_delivered: Deliveries a receiver acknowledged with a 2xx.
        webhooks_failed: Deliveries given up after the last attempt failed.
        webhooks_dropped: Deliveries lost on purpose (``webhook_drop_rate``).
        contract_violations: Answers that broke HeyGen's schema and were
            replaced by a 500 (only counted with ``check_responses`` on).
    """

    requests: Mapping[str, int] = attrs.field(factory=dict)
    responses: Mapping[str, Mapping[int, int]] = attrs.field(factory=dict)
    jobs_created: int = 0
    duplicate_jobs: int = 0
    idempotent_replays: int = 0
    peak_in_flight: int = 0
    in_flight: int = 0
    faults_injected: int = 0
    uploads: int = 0
    webhooks_attempted: int = 0
    webhooks_delivered: int = 0
    webhooks_failed: int = 0
    webhooks_dropped: int = 0
    contract_violations: int = 0

    @property
    def total_requests(self) -> int:
        """Requests on every route together."""
        return sum(self.requests.values())

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (status codes become string keys)."""
        return {
            "requests": dict(self.requests),
            "responses": {
                route: {str(status): n for status, n in by_status.items()}
                for route, by_status in self.responses.items()
            },
            "jobs_created": self.jobs_created,
            "duplicate_jobs": self.duplicate_jobs,
            "idempotent_replays": self.idempotent_replays,
            "peak_in_flight": self.peak_in_flight,
            "in_flight": self.in_flight,
            "faults_injected": self.faults_injected,
            "uploads": self.uploads,
            "webhooks_attempted": self.webhooks_attempted,
            "webhooks_delivered": self.webhooks_delivered,
            "webhooks_failed": self.webhooks_failed,
            "webhooks_dropped": self.webhooks_dropped,
            "contract_violations": self.contract_violations,
        }


class StatsRecorder:
    """The live, mutable counters behind :class:`FakeStats`."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.responses: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.jobs_created = 0
        self.duplicate_jobs = 0
        self.idempotent_replays = 0
        self.peak_in_flight = 0
        self.uploads = 0
        self.webhooks_attempted = 0
        self.webhooks_delivered = 0
        self.webhooks_failed = 0
        self.webhooks_dropped = 0

    def job_created(self, *, duplicate: bool, in_flight: int) -> None:
        """Count one created video."""
        self.jobs_created += 1
        self.duplicate_jobs += duplicate
        self.peak_in_flight = max(self.peak_in_flight, in_flight)

    def snapshot(
        self, *, in_flight: int, faults_injected: int, contract_violations: int = 0
    ) -> FakeStats:
        """A frozen copy of the counters."""
        return FakeStats(
            requests=dict(self.requests),
            responses={route: dict(c) for route, c in self.responses.items()},
            jobs_created=self.jobs_created,
            duplicate_jobs=self.duplicate_jobs,
            idempotent_replays=self.idempotent_replays,
            peak_in_flight=self.peak_in_flight,
            in_flight=in_flight,
            faults_injected=faults_injected,
            uploads=self.uploads,
            webhooks_attempted=self.webhooks_attempted,
            webhooks_delivered=self.webhooks_delivered,
            webhooks_failed=self.webhooks_failed,
            webhooks_dropped=self.webhooks_dropped,
            contract_violations=contract_violations,
        )


def video_records(videos: Iterable[FakeVideo], now: float) -> list[dict[str, Any]]:
    """
    What the fake billed, one JSON-ready record per video, in creation order.

    A judge outside the process (a chaos run, a shell script) compares a
    client's reported outcomes with these: which videos exist for one logical
    job (``title``, ``request``, ``idempotency_key``) and how each really ended.
    """
    return [
        {
            "id": video.id,
            "index": video.index,
            "title": video.title,
            "idempotency_key": video.idempotency_key,
            "status": video.status_at(now),
            "request": dict(video.request),
        }
        for video in sorted(videos, key=lambda video: video.index)
    ]
