"""
How a batch names its jobs and writes their outcomes into a journal.

A job's ``Idempotency-Key`` is derived from the journal's run id, the request,
the tag and how many identical submissions came before it in this run. The
same command run again on the same journal therefore mints the same keys, so
even a job whose journal write was lost in a crash is replayed by HeyGen, not
paid for twice. A fresh journal has a fresh run id, so a new run renders anew.

A create whose answer never arrived or could not be read may have made (and
billed) a job, so it is never written down as failed: the job stays pending
and is asked for again with the same key, which HeyGen answers with the job
it made, or makes it then.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from heygen_async import exceptions
from heygen_async._converter import error_fields, make_record_converter
from heygen_async._models import Video, VideoRequest, VideoStatus

from .outcomes import Completed, Failed, Outcome, TimedOut
from .stores import JobRecord


_RECORDS = make_record_converter()

# Errors after which a create may have happened: names as journaled, for
# journals written before such jobs were kept pending.
_UNKNOWN_TYPES = frozenset(
    {"ResponseValidationError", "TransportError", "RequestTimeoutError", "ServerError"}
)
_IN_PROGRESS = "request_in_progress"


def outcome_unknown(error: BaseException) -> bool:
    """
    Whether a create that raised *error* may still have made the job.

    True when the error says so, and for every error that gives no definite
    answer (no response, a 5xx, an unreadable 2xx, a 409 for a request still
    in progress), whatever the error says.
    """
    if getattr(error, "outcome_unknown", False):
        return True
    if isinstance(
        error,
        exceptions.TransportError
        | exceptions.ServerError
        | exceptions.ResponseValidationError,
    ):
        return True
    return isinstance(error, exceptions.ConflictError) and error.code == _IN_PROGRESS


def request_record(request: VideoRequest) -> dict[str, Any]:
    """The request in the journal's JSON form (Python names, paths as text)."""
    record: dict[str, Any] = _RECORDS.unstructure(request)
    return record


def structure_request(record: Any) -> VideoRequest:
    """
    Rebuild a journaled request (validating it again).

    Raises:
        ValueError: The journal holds a request this version cannot read.
    """
    try:
        return _RECORDS.structure(record, VideoRequest)
    except Exception as exc:  # cattrs raises many kinds
        fields = ", ".join(error_fields(exc, path="request"))
        msg = f"the journal holds a request this version cannot read ({fields})"
        raise ValueError(msg) from exc


def identity(record: dict[str, Any], tag: Any, *, durable: bool) -> str:
    """
    A canonical text for "this request (in journal form) with this tag".

    Raises:
        ValueError: A durable journal was given a tag JSON cannot hold.
    """
    try:
        return json.dumps(
            [record, tag],
            sort_keys=True,
            default=None if durable else repr,
        )
    except TypeError:
        msg = (
            f"tag {tag!r} cannot be journaled: with a durable store, tags must "
            "be JSON values (str, int, float, bool, None, lists, dicts)"
        )
        raise ValueError(msg) from None


def job_key(run_id: str, ident: str, occurrence: int) -> str:
    """The job's Idempotency-Key: stable across runs of the same journal."""
    digest = hashlib.sha256(f"{run_id}\n{occurrence}\n{ident}".encode()).hexdigest()
    return f"hg-{digest[:40]}"


def retry_key(key: str) -> str:
    """The key a retired (failed, re-sent on purpose) job's successor uses."""
    digest = hashlib.sha256(f"retry\n{key}".encode()).hexdigest()
    return f"hg-{digest[:40]}"


def outcome_changes(outcome: Outcome) -> dict[str, Any]:
    """The journal fields that record *outcome*."""
    if isinstance(outcome, Completed):
        video = _RECORDS.unstructure(outcome.video)
        return {
            "outcome": "completed",
            "status": "completed",
            "detail": {"video": video},
        }
    if isinstance(outcome, TimedOut):
        status = outcome.last_status.value if outcome.last_status else None
        return {"outcome": "timed_out", "status": status, "detail": None}
    if outcome.video is not None:
        video = _RECORDS.unstructure(outcome.video)
        return {"outcome": "failed", "status": "failed", "detail": {"video": video}}
    error = outcome.error
    detail: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, exceptions.APIError):
        detail.update(
            status=error.status,
            code=error.code,
            message=error.message,
            request_id=error.request_id,
        )
    return {"outcome": "failed", "detail": {"error": detail}}


def recorded_outcome(record: JobRecord, request: VideoRequest) -> Outcome | None:
    """
    The final outcome the journal holds, or ``None`` if the job must go on.

    A timed-out job is not final: its render may have finished since, so a
    resumed batch polls it (or sends it, if it never was) again. Nor is a
    refusal whose create may have happened after all (an older journal wrote
    those as failed): it is sent again with the same key.
    """
    detail = record.detail or {}
    if record.outcome == "completed":
        video = _RECORDS.structure(detail["video"], Video)
        return Completed(video=video, tag=record.tag, request=request)
    if record.outcome != "failed":
        return None
    if "video" in detail:
        video = _RECORDS.structure(detail["video"], Video)
        error: Exception = exceptions.VideoFailedError(video)
        return Failed(error=error, video=video, tag=record.tag, request=request)
    if record.video_id is None and _unknown_detail(detail["error"]):
        return None
    return Failed(error=_error(detail["error"]), tag=record.tag, request=request)


def _unknown_detail(detail: dict[str, Any]) -> bool:
    """Whether a journaled refusal left the create's outcome unknown."""
    kind = detail.get("type")
    return kind in _UNKNOWN_TYPES or (
        kind == "ConflictError" and detail.get("code") == _IN_PROGRESS
    )


def recorded_status(record: JobRecord) -> VideoStatus | None:
    """The last status the journal saw, if any."""
    return VideoStatus(record.status) if record.status else None


def _error(detail: dict[str, Any]) -> Exception:
    """Rebuild a refusal well enough to report it again."""
    cls = getattr(exceptions, detail.get("type", ""), None)
    if isinstance(cls, type) and issubclass(cls, exceptions.APIError):
        if issubclass(cls, exceptions.RateLimitError):
            return cls(code=detail["code"], message=detail["message"])
        return cls(
            status=detail["status"],
            code=detail["code"],
            message=detail["message"],
            request_id=detail.get("request_id"),
        )
    return exceptions.HeyGenError(detail.get("message", "the job was refused"))
