"""
Uploaded assets and photo avatars: the things an account owns.

Videos may only reference assets and avatar looks that exist here, so a
client that sends a stale or mistyped id meets the same 400 it would on
HeyGen. Photo-avatar training, like rendering, is timestamp arithmetic.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs


OWNER = "fake-user"
SPACE_ID = "space_fake"
LOOK_SIZE = 1024
FAILING_AVATAR_NAME = "fail"

LookStatus = Literal["processing", "completed", "failed"]


@attrs.frozen(kw_only=True, eq=False)
class StoredAsset:
    """One uploaded file."""

    id: str
    name: str
    type: str
    mime_type: str
    data: bytes = attrs.field(repr=False)
    uploaded_mono: float


class AssetStore:
    """Assets by id."""

    def __init__(self) -> None:
        self._assets: dict[str, StoredAsset] = {}

    def add(self, asset: StoredAsset) -> None:
        """Keep *asset*."""
        self._assets[asset.id] = asset

    def get(self, asset_id: str) -> StoredAsset | None:
        """The asset, or ``None``."""
        return self._assets.get(asset_id)


@attrs.frozen(kw_only=True)
class Look:
    """
    One photo-avatar look; its id is a video's ``avatar_id``.

    Training takes until *ready_mono*; a look whose name is ``"fail"`` then
    ends ``failed`` (the knob-free way to exercise a failed training).
    """

    id: str
    name: str
    group_id: str
    created_mono: float
    ready_mono: float

    @property
    def doomed(self) -> bool:
        """Whether training will fail."""
        return self.name == FAILING_AVATAR_NAME

    def status_at(self, now: float) -> LookStatus:
        """``processing`` until trained, then ``completed`` or ``failed``."""
        if now < self.ready_mono:
            return "processing"
        return "failed" if self.doomed else "completed"

    def to_json(self, now: float, base_url: str) -> dict[str, Any]:
        """The ``avatar_item`` / look wire form."""
        status = self.status_at(now)
        ready = status == "completed"
        return {
            "id": self.id,
            "name": self.name,
            "avatar_type": "photo_avatar",
            "status": status,
            "group_id": self.group_id,
            "supported_api_engines": ["avatar_iv", "avatar_v"],
            "image_width": LOOK_SIZE if ready else 0,
            "image_height": LOOK_SIZE if ready else 0,
            "preview_image_url": preview_url(base_url, self.id) if ready else None,
            "default_voice_id": None,
        }


@attrs.frozen(kw_only=True)
class Group:
    """An avatar group: a person, holding one or more looks."""

    id: str
    name: str
    first_look_id: str


def preview_url(base_url: str, look_id: str) -> str:
    """Where a trained look's preview image is served."""
    return f"{base_url}/_fake/static/look_{look_id}.jpg"


class AvatarStore:
    """Avatar groups and looks by id."""

    def __init__(self) -> None:
        self._groups: dict[str, Group] = {}
        self._looks: dict[str, Look] = {}

    def add(self, group: Group, look: Look) -> None:
        """Keep *look* and its *group* (new or existing)."""
        self._groups.setdefault(group.id, group)
        self._looks[look.id] = look

    def group(self, group_id: str) -> Group | None:
        """The group, or ``None``."""
        return self._groups.get(group_id)

    def look(self, look_id: str) -> Look | None:
        """The look, or ``None``."""
        return self._looks.get(look_id)

    def group_json(self, group: Group, now: float, base_url: str) -> dict[str, Any]:
        """The ``avatar_group`` wire form; it follows its first look."""
        first = self._looks[group.first_look_id]
        status = first.status_at(now)
        return {
            "id": group.id,
            "name": group.name,
            "status": status,
            "consent_status": "approved",
            "default_voice_id": None,
            "preview_image_url": preview_url(base_url, first.id)
            if status == "completed"
            else None,
        }
