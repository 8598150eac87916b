"""What HeyGen keeps for an account: uploaded assets, voices, photo avatars."""

from __future__ import annotations

from datetime import datetime

import attrs


@attrs.frozen(kw_only=True)
class Asset:
    """
    An uploaded file (image, audio or video) usable by id in requests.

    Upload responses fill *mime_type* and *size_bytes*; ``get_asset`` fills
    the rest.
    """

    id: str
    url: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    name: str | None = None
    type: str | None = None
    owner: str | None = None
    space_id: str | None = None
    folder_id: str | None = None
    uploaded_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Voice:
    """A voice that can speak a script."""

    id: str
    name: str | None = None
    language: str | None = None
    gender: str | None = None
    type: str | None = None
    preview_audio_url: str | None = None
    support_pause: bool | None = None
    support_locale: bool | None = None
    support_interactive_avatar: bool | None = None
    status: str | None = None
    failure_message: str | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class AvatarError:
    """Why a photo avatar (group or look) failed training."""

    code: str | None = None
    message: str | None = None


@attrs.frozen(kw_only=True)
class AvatarGroup:
    """
    The group a photo-avatar look belongs to.

    *status* is ``processing``, ``pending_consent``, ``failed`` or
    ``completed`` (``None`` for avatars that are not private).
    """

    id: str
    name: str | None = None
    status: str | None = None
    consent_status: str | None = None
    default_voice_id: str | None = None
    preview_image_url: str | None = None
    preview_video_url: str | None = None
    gender: str | None = None
    created_at: datetime | None = None
    looks_count: int | None = None
    error: AvatarError | None = None


@attrs.frozen(kw_only=True)
class AvatarLook:
    """
    A trained (or training) photo-avatar look; its id is a video ``avatar_id``.

    *status* is ``processing``, ``pending_consent`` (its group needs
    consent: ``POST /v3/avatars/{group_id}/consent``), ``failed`` (see
    *error*) or ``completed``. HeyGen sends no status for looks that are not
    private; those count as ready once their preview image and its size
    are known.
    """

    id: str
    name: str | None = None
    avatar_type: str | None = None
    status: str | None = None
    group_id: str | None = None
    supported_api_engines: tuple[str, ...] = ()
    image_width: int | None = None
    image_height: int | None = None
    preview_image_url: str | None = None
    preview_video_url: str | None = None
    default_voice_id: str | None = None
    gender: str | None = None
    preferred_orientation: str | None = None
    tags: tuple[str, ...] = ()
    error: AvatarError | None = None

    @property
    def is_ready(self) -> bool:
        """Whether the look can be used in a video."""
        if self.status is None:
            # No training status: the prose rule, a preview and its size.
            return bool(
                self.preview_image_url and self.image_width and self.image_height
            )
        return self.status == "completed"

    @property
    def is_failed(self) -> bool:
        """Whether training failed."""
        return self.status == "failed"

    @property
    def needs_consent(self) -> bool:
        """Whether training waits for the person's consent."""
        return self.status == "pending_consent"


@attrs.frozen(kw_only=True)
class PhotoAvatar:
    """
    A photo avatar just created: its group and its first look.

    HeyGen may leave either out (``null``): the avatar exists all the same.
    Without a *look*, find it later with
    ``client.request("GET", "/v3/avatars/looks?group_id=...")``.
    """

    group: AvatarGroup | None = None
    look: AvatarLook | None = None
