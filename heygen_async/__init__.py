"""
An asyncio SDK for HeyGen's v3 image-to-video API.

Example::

    import heygen_async as hg

    async with hg.Client() as client:  # reads HEYGEN_API_KEY
        created = await client.create_video(
            hg.VideoRequest(image_path="me.jpg", script="Hi!", voice_id="...")
        )
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from . import exceptions, webhooks
from ._batch.batch import Batch
from ._batch.handles import BatchStats, JobHandle
from ._batch.options import BatchOptions
from ._batch.outcomes import Completed, Failed, Outcome, TimedOut
from ._batch.stores import JobRecord, JobStore, MemoryStore, SQLiteStore
from ._client import Client
from ._config import Limits, PollPolicy, RetryPolicy, Timeouts
from ._coord.local import LocalCoordinator
from ._coord.protocol import Coordinator
from ._estimate import (
    AudioLengths,
    Balance,
    Estimate,
    JobEstimate,
    Pricing,
    audio_seconds,
    balance_of,
)
from ._models import (
    Account,
    Asset,
    AutoReload,
    AvatarError,
    AvatarGroup,
    AvatarLook,
    Background,
    Caption,
    CreatedVideo,
    CreditPool,
    PhotoAvatar,
    StatusError,
    StatusItem,
    Subscription,
    SubscriptionCredits,
    UsageBased,
    Video,
    VideoRequest,
    VideoStatus,
    Voice,
    VoiceSettings,
    Wallet,
    WebhookEndpoint,
    WebhookEventRecord,
    WebhookEventType,
    WebhookSecret,
)
from ._observe.otel import OpenTelemetry
from ._observe.views import RequestInfo, ResponseInfo
from ._uploads import check_upload
from .exceptions import (
    APIError,
    AuthenticationError,
    AvatarConsentRequiredError,
    AvatarFailedError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    CoordinatorUnavailableError,
    CreditLimitError,
    HeyGenError,
    InsufficientCreditError,
    InvalidSignatureError,
    JournalBusyError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    ServerError,
    TransportError,
    UndecodableRowsError,
    VideoFailedError,
    WaitTimeoutError,
)


if _TYPE_CHECKING:  # pragma: no cover
    from . import testing
    from ._coord.redis import RedisCoordinator
    from ._coord.store import RedisStore, campaign_records, claim_shards

__all__ = [
    "APIError",
    "Account",
    "Asset",
    "AudioLengths",
    "AuthenticationError",
    "AutoReload",
    "AvatarConsentRequiredError",
    "AvatarError",
    "AvatarFailedError",
    "AvatarGroup",
    "AvatarLook",
    "Background",
    "BadRequestError",
    "Balance",
    "Batch",
    "BatchOptions",
    "BatchStats",
    "Caption",
    "Client",
    "Completed",
    "ConfigurationError",
    "ConflictError",
    "Coordinator",
    "CoordinatorUnavailableError",
    "CreatedVideo",
    "CreditLimitError",
    "CreditPool",
    "Estimate",
    "Failed",
    "HeyGenError",
    "InsufficientCreditError",
    "InvalidSignatureError",
    "JobEstimate",
    "JobHandle",
    "JobRecord",
    "JobStore",
    "JournalBusyError",
    "Limits",
    "LocalCoordinator",
    "MemoryStore",
    "NotFoundError",
    "OpenTelemetry",
    "Outcome",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PhotoAvatar",
    "PollPolicy",
    "Pricing",
    "RateLimitError",
    "RedisCoordinator",
    "RedisStore",
    "RequestInfo",
    "RequestTimeoutError",
    "ResponseInfo",
    "ResponseValidationError",
    "RetryPolicy",
    "SQLiteStore",
    "ServerError",
    "StatusError",
    "StatusItem",
    "Subscription",
    "SubscriptionCredits",
    "TimedOut",
    "Timeouts",
    "TransportError",
    "UndecodableRowsError",
    "UsageBased",
    "Video",
    "VideoFailedError",
    "VideoRequest",
    "VideoStatus",
    "Voice",
    "VoiceSettings",
    "WaitTimeoutError",
    "Wallet",
    "WebhookEndpoint",
    "WebhookEventRecord",
    "WebhookEventType",
    "WebhookSecret",
    "audio_seconds",
    "balance_of",
    "campaign_records",
    "check_upload",
    "claim_shards",
    "exceptions",
    "testing",
    "webhooks",
]


# Names from the ``redis`` extra, imported on first use only.
_REDIS_NAMES = {
    "RedisCoordinator": "._coord.redis",
    "RedisStore": "._coord.store",
    "campaign_records": "._coord.store",
    "claim_shards": "._coord.store",
}


def __getattr__(name: str) -> _Any:
    # Both are lazy: the version needs package metadata, and ``testing``
    # imports aiohttp.web, which plain SDK users never need.
    if name == "__version__":
        return _importlib.import_module("importlib.metadata").version("heygen-async")
    if name == "testing":
        return _importlib.import_module(".testing", __name__)
    if name in _REDIS_NAMES:  # the redis extra; its module names the install
        return getattr(_importlib.import_module(_REDIS_NAMES[name], __name__), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), "__version__", "testing", *_REDIS_NAMES})
