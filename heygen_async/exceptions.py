"""
Exceptions raised by heygen_async.

Every exception derives from :class:`HeyGenError`, so one ``except`` catches all
of them. Builtins are mixed in where a caller's existing handler should match::

    HeyGenError(Exception)
    ├── APIError                          the server answered with an error envelope
    │   ├── BadRequestError               400 (invalid_parameter, ...)
    │   ├── AuthenticationError           401
    │   ├── InsufficientCreditError       402 (insufficient_credit)
    │   ├── PermissionDeniedError         403
    │   ├── NotFoundError                 404
    │   ├── ConflictError                 409 (request_in_progress, conflict)
    │   ├── PayloadTooLargeError          413
    │   ├── RateLimitError                429 (.retry_after)
    │   └── ServerError                   5xx
    ├── TransportError(ConnectionError)   no usable response arrived
    │   └── RequestTimeoutError(TimeoutError)
    ├── ResponseValidationError(ValueError)   a 2xx body did not fit the model
    │   └── UndecodableRowsError          some bulk status rows did not (.items did)
    ├── ConfigurationError(ValueError)    the client cannot be built as asked
    ├── InvalidSignatureError(ValueError) a webhook delivery failed verification
    ├── JournalBusyError                  another batch or process holds the journal
    ├── VideoFailedError                  a render reached ``failed``
    ├── AvatarFailedError                 a photo-avatar look failed training
    ├── AvatarConsentRequiredError        a look waits for consent before training
    └── WaitTimeoutError(TimeoutError)    *our* waiting deadline passed

No exception text ever contains the API key or request headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from ._models import AvatarLook, StatusItem, Video, VideoStatus

__all__ = [
    "APIError",
    "AuthenticationError",
    "AvatarConsentRequiredError",
    "AvatarFailedError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "CreditLimitError",
    "HeyGenError",
    "InsufficientCreditError",
    "InvalidSignatureError",
    "JournalBusyError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseValidationError",
    "ServerError",
    "TransportError",
    "UndecodableRowsError",
    "VideoFailedError",
    "WaitTimeoutError",
]


class HeyGenError(Exception):
    """
    Root of every exception this SDK raises.

    Attributes:
        outcome_unknown: ``True`` when the request that failed may still have
            taken effect on the server, so a create may have made (and
            billed) a job: never record it as failed, ask again with the same
            ``Idempotency-Key`` instead. Set on errors of requests with side
            effects (POST, PATCH, PUT, DELETE) when no definite answer came:
            a transport error once the request may have been sent, a
            timeout, a 5xx, a malformed 2xx, a 409, or a 429 after an earlier
            try that may have been applied. ``False`` for a definite
            rejection (any other 4xx), for reads, and for errors raised
            before anything was sent.
    """

    outcome_unknown: bool = False


class ConfigurationError(HeyGenError, ValueError):
    """
    The client cannot be built as asked, for example without an API key.

    Raised at construction so the mistake shows before the first request.
    """


class InvalidSignatureError(HeyGenError, ValueError):
    """
    A webhook delivery could not be verified; do not act on it.

    Raised by :func:`heygen_async.webhooks.verify` when the signature is
    missing, malformed or wrong for every secret, the timestamp is missing or
    malformed where one is required, or it lies outside the tolerance (stale
    or future-dated). Answer such a delivery with a 4xx.

    Attributes:
        reason: ``"missing_signature"``, ``"wrong_scheme"``, ``"missing_id"``,
            ``"missing_timestamp"``, ``"malformed_timestamp"``, ``"stale"``,
            ``"future"``, ``"mismatch"`` (no secret produces the signature)
            or ``"unsigned_event_id"`` (a body-only signature over a body
            without its event id).
    """

    def __init__(self, message: str, reason: str = "mismatch") -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.reason))


class JournalBusyError(HeyGenError):
    """
    Another batch or process is using this journal; two at once would mix up
    each other's jobs.

    Raised at once when the journal is opened, never after a wait. The lock is
    released when the holder closes the journal or its process dies.

    Attributes:
        path: The journal (or journal folder) that is in use.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"the journal {path} is in use by another batch or process; "
            "only one may use it at a time"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path,))


class APIError(HeyGenError):
    """
    HeyGen answered with an HTTP error.

    Attributes:
        status: The HTTP status code.
        code: HeyGen's error code (``invalid_parameter``, ...), or a code
            derived from the status when the body was not HeyGen's envelope.
        message: HeyGen's human-readable message.
        param: The request field the error is about, if HeyGen named one.
        request_id: The ``X-Request-Id`` response header; quote it to support.
        doc_url: HeyGen's link to the error's documentation, if any.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        request_id: str | None = None,
        doc_url: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.request_id = request_id
        self.doc_url = doc_url
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {self.message}"
        if self.param:
            text += f" (param={self.param})"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only __init__ would break pickling across processes.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[APIError], state: dict[str, object]) -> APIError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, str(error))
    return error


class BadRequestError(APIError):
    """400: the request was malformed or a parameter was invalid."""


class AuthenticationError(APIError):
    """401: the API key is missing or wrong."""


class InsufficientCreditError(APIError):
    """
    402: the account cannot pay for this job.

    A batch stops admitting new jobs when it sees this, instead of failing
    the rest one by one.
    """


class CreditLimitError(HeyGenError):
    """
    A batch's ``max_credits`` would be passed: the job was not sent.

    Raised before any request, so nothing was paid. The batch stops
    admitting jobs, as it does on a 402, and reports the rest this way.

    Attributes:
        max_credits: The batch's limit.
        spent: Estimated credits of the jobs already admitted.
    """

    def __init__(
        self, *, max_credits: float, spent: float, needed: float | None
    ) -> None:
        self.max_credits = max_credits
        self.spent = spent
        self.needed = needed
        cost = "has no estimable length" if needed is None else f"needs ~{needed:g}"
        super().__init__(
            f"not sent: max_credits={max_credits:g} reached ({spent:g} credits "
            f"admitted; the next job {cost}, estimated)"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_credit_limit, (self.max_credits, self.spent, self.needed))


def _rebuild_credit_limit(
    max_credits: float, spent: float, needed: float | None
) -> CreditLimitError:
    return CreditLimitError(max_credits=max_credits, spent=spent, needed=needed)


class PermissionDeniedError(APIError):
    """403: the key may not use this resource."""


class NotFoundError(APIError):
    """404: the resource does not exist (or the endpoint does not)."""


class ConflictError(APIError):
    """409: ``request_in_progress`` (an idempotent retry raced) or a conflict."""


class PayloadTooLargeError(APIError):
    """413: the upload or request body is too large."""


class RateLimitError(APIError):
    """
    429: too many requests, too many concurrent jobs, or a quota was hit.

    Attributes:
        retry_after: Seconds the server asked us to wait, if it said.
    """

    def __init__(
        self,
        *,
        status: int = 429,
        code: str,
        message: str,
        param: str | None = None,
        request_id: str | None = None,
        doc_url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            status=status,
            code=code,
            message=message,
            param=param,
            request_id=request_id,
            doc_url=doc_url,
        )


class ServerError(APIError):
    """5xx: HeyGen or a gateway in front of it failed."""


class TransportError(HeyGenError, ConnectionError):
    """No usable response arrived: connection refused, reset or dropped."""


class RequestTimeoutError(TransportError, TimeoutError):
    """One HTTP request took longer than its timeout."""


class ResponseValidationError(HeyGenError, ValueError):
    """
    A successful response body did not have the shape the SDK expects.

    That includes bodies that are not JSON, too large, nested too deeply, or
    about another resource than the one asked for. A keyed POST retries such
    an answer (the key makes the retry a replay) before raising it, with
    ``outcome_unknown`` set: the server said yes, we could not read how.

    Attributes:
        route: The request, e.g. ``"GET /v3/videos/{video_id}"``, if known.
        fields: Paths of the fields that did not decode, e.g.
            ``("$.data.status",)``; empty when unknown or not about a field.
        status: The HTTP status of the answer, if known.
        request_id: The ``X-Request-Id`` response header, if any; quote it
            to support.
    """

    route: str | None = None
    fields: tuple[str, ...] = ()
    status: int | None = None
    request_id: str | None = None

    def __init__(
        self,
        message: str,
        *,
        route: str | None = None,
        fields: Sequence[str] = (),
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        # Class defaults stay for subclasses that set these themselves.
        if route is not None:
            self.route = route
        if fields:
            self.fields = tuple(fields)
        if status is not None:
            self.status = status
        if request_id is not None:
            self.request_id = request_id

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_validation, (type(self), self.args, self.__dict__.copy()))


def _rebuild_validation(
    cls: type[ResponseValidationError],
    args: tuple[object, ...],
    state: dict[str, object],
) -> ResponseValidationError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class UndecodableRowsError(ResponseValidationError):
    """
    Some rows of a bulk status response did not decode; the others did.

    One bad row must not hide where every other video is: *items* holds each
    row that decoded, *video_ids* the videos to ask about one by one.

    Attributes:
        route: The request that answered, ``GET /v3/videos/statuses``.
        fields: Paths of the fields that did not decode, e.g.
            ``$.data[].status`` (``$`` for a body that is not JSON at all).
        request_id: The ``X-Request-Id`` of the first response with a bad
            row; quote it to support.
        items: Every row that decoded.
        video_ids: Ids asked about whose rows (or whole response) did not
            decode.
    """

    def __init__(
        self,
        *,
        route: str,
        fields: Sequence[str],
        request_id: str | None,
        items: list[StatusItem],
        video_ids: Sequence[str],
    ) -> None:
        fields, video_ids = tuple(fields), tuple(video_ids)
        text = (
            f"{route} returned data the SDK cannot decode at "
            f"{', '.join(fields) or '$'} (request_id={request_id})"
        )
        if video_ids:
            text += f"; unread video_ids: {', '.join(video_ids[:5])}"
        if len(video_ids) > 5:
            text += f", ... ({len(video_ids)} in all)"
        super().__init__(text, route=route, request_id=request_id)
        self.fields = fields
        self.items = items
        self.video_ids = video_ids

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only __init__ would break pickling across processes.
        return (_rebuild_rows, (self.__dict__.copy(), self.args))


def _rebuild_rows(
    state: dict[str, object], args: tuple[object, ...]
) -> UndecodableRowsError:
    error = UndecodableRowsError.__new__(UndecodableRowsError)
    error.__dict__.update(state)
    error.args = args
    return error


class VideoFailedError(HeyGenError):
    """
    The render finished with status ``failed``.

    Attributes:
        video: The failed :class:`~heygen_async.Video`; its ``failure_code``
            and ``failure_message`` may be ``None`` (HeyGen sometimes omits
            them).
    """

    def __init__(self, video: Video) -> None:
        self.video = video
        reason = video.failure_message or video.failure_code or "no reason given"
        super().__init__(f"video {video.id} failed: {reason}")


class AvatarFailedError(HeyGenError):
    """
    A photo-avatar look finished training with status ``failed``.

    Attributes:
        look: The failed :class:`~heygen_async.AvatarLook`; ``look.error``
            carries HeyGen's ``code`` and ``message`` when it sent them.
        code: HeyGen's error code, if any.
    """

    def __init__(self, look: AvatarLook) -> None:
        self.look = look
        error = look.error
        self.code = error.code if error is not None else None
        reason = ": ".join(
            part for part in (self.code, error.message if error else None) if part
        )
        super().__init__(
            f"avatar look {look.id} failed training: {reason or 'no reason given'}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.look,))


class AvatarConsentRequiredError(HeyGenError):
    """
    A photo-avatar look waits for the person's consent; it will not train
    until consent is given.

    Give consent with ``POST /v3/avatars/{group_id}/consent`` (e.g.
    ``client.request("POST", f"/v3/avatars/{error.group_id}/consent",
    json={})`` returns the consent page URL), then wait again.

    Attributes:
        look: The :class:`~heygen_async.AvatarLook` as last seen.
        look_id: Its id.
        group_id: The avatar group that needs consent, if HeyGen said.
    """

    def __init__(self, look: AvatarLook) -> None:
        self.look = look
        self.look_id = look.id
        self.group_id = look.group_id
        group = look.group_id or "{group_id}"
        super().__init__(
            f"avatar look {look.id} needs consent before it trains: "
            f"POST /v3/avatars/{group}/consent, then wait again"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.look,))


class WaitTimeoutError(HeyGenError, TimeoutError):
    """
    Our waiting deadline passed before the video (or avatar look) finished.

    The render may still complete: wait again with the same id.

    Attributes:
        resource_id: The id of what we were waiting for: a video's id, or
            an avatar look's id when *resource* is ``"avatar look"``.
        resource: What was being waited for: ``"video"`` or ``"avatar look"``.
        last_status: The last video status we saw, or ``None`` if none
            arrived (always ``None`` for an avatar look).
        video_id: The same as *resource_id*; meant for videos. For an avatar
            look it holds the look's id only so that existing handlers keep
            working: read *resource_id* there.
    """

    def __init__(
        self,
        video_id: str,
        last_status: VideoStatus | None,
        *,
        resource: str = "video",
    ) -> None:
        # The first parameter keeps its old name for keyword callers.
        self.resource_id = video_id
        self.video_id = video_id
        self.last_status = last_status
        self.resource = resource
        super().__init__(
            f"gave up waiting for {resource} {video_id} "
            f"(last status: {last_status.value if last_status else 'unknown'})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_wait_timeout,
            (self.resource_id, self.last_status, self.resource),
        )


def _rebuild_wait_timeout(
    resource_id: str, last_status: VideoStatus | None, resource: str
) -> WaitTimeoutError:
    return WaitTimeoutError(resource_id, last_status, resource=resource)
