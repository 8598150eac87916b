"""
Value types: what the user sends and what HeyGen returns.

Frozen attrs classes with no JSON knowledge; ``_converter`` maps them to and
from the wire. One module per family; everything the rest of the package
imports is re-exported here.
"""

from __future__ import annotations

from .account import (
    Account,
    AutoReload,
    CreditPool,
    Subscription,
    SubscriptionCredits,
    UsageBased,
    Wallet,
)
from .library import (
    Asset,
    AvatarError,
    AvatarGroup,
    AvatarLook,
    PhotoAvatar,
    Voice,
)
from .video_request import (
    ASPECT_RATIOS,
    CAPTION_STYLES,
    EXPRESSIVENESS,
    FITS,
    OUTPUT_FORMATS,
    RESOLUTIONS,
    AspectRatio,
    Background,
    Caption,
    Expressiveness,
    Fit,
    OutputFormat,
    Resolution,
    VideoRequest,
    VoiceSettings,
)
from .videos import (
    CreatedVideo,
    StatusError,
    StatusItem,
    Video,
    VideoStatus,
)
from .webhooks import (
    WebhookEndpoint,
    WebhookEventRecord,
    WebhookEventType,
    WebhookSecret,
)


__all__ = [
    "ASPECT_RATIOS",
    "CAPTION_STYLES",
    "EXPRESSIVENESS",
    "FITS",
    "OUTPUT_FORMATS",
    "RESOLUTIONS",
    "Account",
    "AspectRatio",
    "Asset",
    "AutoReload",
    "AvatarError",
    "AvatarGroup",
    "AvatarLook",
    "Background",
    "Caption",
    "CreatedVideo",
    "CreditPool",
    "Expressiveness",
    "Fit",
    "OutputFormat",
    "PhotoAvatar",
    "Resolution",
    "StatusError",
    "StatusItem",
    "Subscription",
    "SubscriptionCredits",
    "UsageBased",
    "Video",
    "VideoRequest",
    "VideoStatus",
    "Voice",
    "VoiceSettings",
    "Wallet",
    "WebhookEndpoint",
    "WebhookEventRecord",
    "WebhookEventType",
    "WebhookSecret",
]
