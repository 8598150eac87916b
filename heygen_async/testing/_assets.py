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
CONSENT_AVATAR_NAME = "needs-consent"
TRAINING_ERROR = {
    "code": "avatar_training_failed",
    "message": "Training failed on the server: no usable face in the photo.",
}

LookStatus = Literal["processing", "pending_consent", "completed", "failed"]


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
    ends ``failed`` (the knob-free way to exercise a failed training). One
    named ``"needs-consent"`` waits in ``pending_consent`` until its group's
    consent is given, and trains from then on.
    """

    id: str
    name: str
    group_id: str
    created_mono: float
    ready_mono: float
    consented: bool = True

    @property
    def doomed(self) -> bool:
        """Whether training will fail."""
        return self.name == FAILING_AVATAR_NAME

    def status_at(self, now: float) -> LookStatus:
        """``pending_consent``, ``processing`` until trained, then the outcome."""
        if not self.consented:
            return "pending_consent"
        if now < self.ready_mono:
            return "processing"
        return "failed" if self.doomed else "completed"

    def to_json(self, now: float, base_url: str) -> dict[str, Any]:
        """The ``avatar_item`` / look wire form."""
        status = self.status_at(now)
        ready = status == "completed"
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "avatar_type": "photo_avatar",
            "status": status,
            "group_id": self.group_id,
            "supported_api_engines": ["avatar_iv", "avatar_v"],
            "image_width": LOOK_SIZE if ready else None,
            "image_height": LOOK_SIZE if ready else None,
            "preview_image_url": preview_url(base_url, self.id) if ready else None,
            "default_voice_id": None,
        }
        if status == "failed":
            data["error"] = dict(TRAINING_ERROR)
        return data


@attrs.frozen(kw_only=True)
class Group:
    """An avatar group: a person, holding one or more looks."""

    id: str
    name: str
    first_look_id: str
    created_unix: float


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

    def looks_of(self, group: Group) -> list[Look]:
        """The group's looks, oldest first."""
        return [look for look in self._looks.values() if look.group_id == group.id]

    def consent(self, group: Group, now: float, training: float) -> None:
        """Give *group*'s consent: its waiting looks start training now."""
        for look in self.looks_of(group):
            if not look.consented:
                self._looks[look.id] = attrs.evolve(
                    look, consented=True, ready_mono=now + training
                )

    def group_json(self, group: Group, now: float, base_url: str) -> dict[str, Any]:
        """The ``avatar_group`` wire form; its status follows its first look."""
        looks = self.looks_of(group)
        first = self._looks[group.first_look_id]
        status = first.status_at(now)
        waiting = any(not look.consented for look in looks)
        data: dict[str, Any] = {
            "id": group.id,
            "name": group.name,
            "created_at": int(group.created_unix),
            "looks_count": len(looks),
            "status": status,
            "consent_status": "pending" if waiting else "approved",
            "default_voice_id": None,
            "preview_image_url": preview_url(base_url, first.id)
            if status == "completed"
            else None,
        }
        if status == "failed":
            data["error"] = dict(TRAINING_ERROR)
        return data
