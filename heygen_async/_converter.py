"""
The one cattrs converter: the only module that knows HeyGen's wire names.

Models stay free of JSON knowledge; this module maps them to and from the
wire. The whole Python-to-wire name map is :data:`_RENAMES` plus the two
request encoders (``VideoRequest`` and the photo-avatar body), because the
wire is already snake_case everywhere else.

``make_converter(strict=True)`` rejects unknown response fields. The test
suite always uses it, so the fake server and the models cannot drift apart;
production uses the lenient default, because HeyGen adds fields and a server
deploy must not break an installed SDK.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from . import _log
from ._http import last_request_id
from ._models import (
    Asset,
    AutoReload,
    AvatarError,
    Background,
    CreatedVideo,
    PhotoAvatar,
    StatusError,
    StatusItem,
    VideoRequest,
    VideoStatus,
    Voice,
    WebhookEndpoint,
)
from .exceptions import ResponseValidationError


__all__ = [
    "WireConverter",
    "error_fields",
    "field_kinds",
    "make_converter",
    "make_record_converter",
    "photo_avatar_body",
    "webhook_endpoint_body",
]

T = TypeVar("T")

log = _log.logger

# Python field name -> wire key, per class. Everything not listed is the same
# on both sides.
_RENAMES: Mapping[type, Mapping[str, str]] = {
    CreatedVideo: {"id": "video_id"},
    StatusItem: {"id": "video_id"},
    Voice: {"id": "voice_id"},
    PhotoAvatar: {"group": "avatar_group", "look": "avatar_item"},
    WebhookEndpoint: {"id": "endpoint_id"},
}

# The fields that say which picture a VideoRequest shows.
_PICTURE = ("image_url", "image_asset_id", "image_path", "avatar_id")

# ``POST /v3/assets`` answers with ``asset_id``; ``GET /v3/assets/{id}`` with
# ``id``. Both structure into :class:`Asset`.
_UPLOAD_ASSET_ID = "asset_id"


class WireConverter(cattrs.Converter):
    """
    A :class:`cattrs.Converter` whose :meth:`structure` never leaks cattrs.

    Any structuring failure becomes a
    :class:`~heygen_async.ResponseValidationError` chained to the original.
    """

    def __init__(self, *, strict: bool) -> None:
        super().__init__(forbid_extra_keys=strict)
        self.strict = strict

    def structure(self, obj: Any, cl: type[T], *, route: str | None = None) -> T:
        """
        Structure *obj* into *cl*, raising ResponseValidationError on failure.

        With *route* (the request that answered), *obj* is the ``data``
        member of its body, and the error names the route, the fields that
        did not fit (``$.data.status``) and the response's request id.
        """
        path = "$" if route is None else "$.data"
        return self._structure_at(obj, cl, path=path, route=route)

    def decode(self, body: Any, cl: type[T], *, route: str | None = None) -> T:
        """
        The ``data`` member of a response *body*, structured into *cl*.

        HeyGen always wraps a resource in ``{"data": ...}``; a body without
        it is a :class:`~heygen_async.ResponseValidationError` like any
        other shape the SDK cannot read. Field paths start at ``$.data``;
        without *route* the HTTP layer adds the route and request id.
        """
        if not isinstance(body, Mapping) or "data" not in body:
            raise _invalid("returned no 'data' envelope", route, ["$.data"])
        return self._structure_at(body["data"], cl, path="$.data", route=route)

    def _structure_at(
        self, obj: Any, cl: type[T], *, path: str, route: str | None
    ) -> T:
        name = getattr(cl, "__name__", str(cl))
        if attrs.has(cl) and not isinstance(obj, Mapping):
            msg = f"expected a JSON object for {name}, got {type(obj).__name__}"
            raise _invalid(msg, route, [path])
        try:
            return super().structure(obj, cl)
        except Exception as exc:
            details = "; ".join(
                cattrs.transform_error(exc, path=path, format_exception=_describe)
            )
            msg = f"unexpected {name} in response: {details}"
            raise _invalid(msg, route, error_fields(exc, cl=cl, path=path)) from exc


def _invalid(
    message: str, route: str | None, fields: Sequence[str]
) -> ResponseValidationError:
    if route is None:
        return ResponseValidationError(message, fields=fields)
    request_id = last_request_id()
    message = f"{route}: {message}"
    if request_id is not None:
        message += f" (request_id={request_id})"
    return ResponseValidationError(
        message, route=route, fields=fields, request_id=request_id
    )


def _describe(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, ValueError) and type_ is None:
        return f"invalid value ({exc})"
    return format_exception(exc, type_)


def make_converter(*, strict: bool = False) -> WireConverter:
    """
    Build the converter between models and HeyGen's JSON.

    Args:
        strict: Reject response fields the models do not declare. Off in
            production (forward compatibility), on in tests (drift detection).
    """
    conv = WireConverter(strict=strict)
    _register_scalars(conv)
    conv.register_structure_hook(VideoStatus, _structure_status)
    conv.register_unstructure_hook(VideoStatus, lambda status: status.value)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    if not strict:
        conv.register_structure_hook(datetime | None, _structure_lenient_datetime)
    conv.register_structure_hook(AutoReload, _structure_auto_reload(conv))
    conv.register_structure_hook(StatusError, _error_detail(StatusError))
    conv.register_structure_hook(AvatarError, _error_detail(AvatarError))
    conv.register_unstructure_hook(VideoRequest, _unstructure_video_request(conv))
    conv.register_structure_hook_factory(
        attrs.has, lambda cl: _structure_fn(conv, cl, strict=strict)
    )
    conv.register_unstructure_hook_factory(
        attrs.has, lambda cl: _unstructure_fn(conv, cl)
    )
    return conv


def photo_avatar_body(
    *, name: str, image_url: str | None, image_asset_id: str | None
) -> dict[str, Any]:
    """The ``POST /v3/avatars`` body for a photo avatar from one image source."""
    if image_url is not None:
        image: dict[str, Any] = {"type": "url", "url": image_url}
    elif image_asset_id is not None:
        image = {"type": "asset_id", "asset_id": image_asset_id}
    else:
        msg = "a photo avatar needs image_url or image_asset_id"
        raise ValueError(msg)
    return {"type": "photo", "name": name, "file": image}


def webhook_endpoint_body(
    *,
    url: str | None = None,
    events: Sequence[str] | None = None,
    entity_id: str | None = None,
) -> dict[str, Any]:
    """A ``POST``/``PATCH /v3/webhooks/endpoints`` body: only what was given."""
    body: dict[str, Any] = {}
    if url is not None:
        body["url"] = url
    if events is not None:
        body["events"] = list(events)
    if entity_id is not None:
        body["entity_id"] = entity_id
    return body


def _overrides(cl: type[Any]) -> dict[str, Any]:
    renames = _RENAMES.get(cl, {})
    return cast(
        "dict[str, Any]",
        {name: override(rename=wire) for name, wire in renames.items()},
    )


def _structure_fn(
    conv: WireConverter, cl: type[Any], *, strict: bool
) -> Callable[[Any, Any], Any]:
    fn = make_dict_structure_fn(
        cl, conv, _cattrs_forbid_extra_keys=strict, **_overrides(cl)
    )
    if cl is not Asset:
        return fn

    def structure_asset(value: Any, type_: Any) -> Any:
        if isinstance(value, Mapping) and _UPLOAD_ASSET_ID in value:
            # The upload's documented ``asset_id`` wins over any other ``id``.
            value = {k: v for k, v in value.items() if k != "id"}
            value["id"] = value.pop(_UPLOAD_ASSET_ID)
        return fn(value, type_)

    return structure_asset


def _unstructure_fn(conv: WireConverter, cl: type[Any]) -> Callable[[Any], Any]:
    fn = make_dict_unstructure_fn(cl, conv, **_overrides(cl))

    def without_none(obj: Any) -> dict[str, Any]:
        # Never send (or echo) ``"field": null``: unset means absent.
        return {key: value for key, value in fn(obj).items() if value is not None}

    return without_none


def field_kinds(cls: type) -> dict[str, type]:
    """
    Each field of the attrs class *cls*, in order, and the kind it holds.

    A kind is ``str``, ``bool`` or ``float`` for a plain value (a ``Literal``
    counts as its values' type, a ``Path`` as ``str``; ``None`` is ignored)
    or the attrs class of a nested object. The wire converter and the CLI's
    manifest reader derive their lists of :class:`VideoRequest` fields from
    this, so a new field reaches both without another list to update.

    Raises:
        TypeError: A field's type has no kind yet: teach :func:`_kind` it.
    """
    hints = typing.get_type_hints(cls)
    return {field.name: _kind(hints[field.name]) for field in attrs.fields(cls)}


def _kind(hint: Any) -> type:
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) is Literal:
        kinds = {type(arg) for arg in args}
        if len(kinds) == 1:
            return kinds.pop()
    elif args and len(args) == 1:  # ``X | None``
        return _kind(args[0])
    elif hint is Path:
        return str
    elif hint in (str, bool, float) or attrs.has(hint):
        return cast("type", hint)
    msg = f"no field kind for {hint!r}"
    raise TypeError(msg)


def _unstructure_video_request(
    conv: WireConverter,
) -> Callable[[VideoRequest], dict[str, Any]]:
    # The picture becomes the body's ``type`` (and ``image``); every other
    # field goes on the wire under its own name, plain values first.
    kinds = field_kinds(VideoRequest)
    nested = [name for name, kind in kinds.items() if attrs.has(kind)]
    plain = [name for name in kinds if name not in (*_PICTURE, *nested)]
    encoders: dict[str, Callable[[Any], Any]] = dict.fromkeys(nested, conv.unstructure)
    encoders["background"] = _background

    def unstructure(request: VideoRequest) -> dict[str, Any]:
        if request.image_path is not None:
            # The client uploads local files first (Client._resolve_request);
            # a path reaching the wire is a bug in the caller, not user input.
            msg = (
                f"image_path {str(request.image_path)!r} must be uploaded and "
                "replaced by image_asset_id before the request is sent"
            )
            raise ValueError(msg)
        body: dict[str, Any]
        if request.avatar_id is not None:
            body = {"type": "avatar", "avatar_id": request.avatar_id}
        elif request.image_url is not None:
            body = {"type": "image", "image": {"type": "url", "url": request.image_url}}
        else:
            body = {
                "type": "image",
                "image": {"type": "asset_id", "asset_id": request.image_asset_id},
            }
        for name in plain:
            value = getattr(request, name)
            if value is not None:
                body[name] = value
        for name in nested:
            value = getattr(request, name)
            # An object with nothing set (``VoiceSettings()``) is no object.
            if value is not None and (encoded := encoders[name](value)):
                body[name] = encoded
        return body

    return unstructure


def _background(background: Background) -> dict[str, Any]:
    if background.color is not None:
        return {"type": "color", "value": background.color}
    if background.image_url is not None:
        return {"type": "image", "url": background.image_url}
    return {"type": "image", "asset_id": background.image_asset_id}


def _register_scalars(conv: WireConverter) -> None:
    # cattrs' defaults coerce (``str(None) == "None"``, ``bool("false")``);
    # a response with the wrong JSON type is a validation error instead.
    def structure_str(value: Any, _: Any) -> str:
        if not isinstance(value, str):
            msg = f"expected a string, got {type(value).__name__}"
            raise TypeError(msg)
        return value

    def structure_bool(value: Any, _: Any) -> bool:
        if not isinstance(value, bool):
            msg = f"expected a boolean, got {type(value).__name__}"
            raise TypeError(msg)
        return value

    def structure_int(value: Any, _: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            msg = f"expected an integer, got {type(value).__name__}"
            raise TypeError(msg)
        return value

    def structure_float(value: Any, _: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"expected a number, got {type(value).__name__}"
            raise TypeError(msg)
        return float(value)

    conv.register_structure_hook(str, structure_str)
    conv.register_structure_hook(bool, structure_bool)
    conv.register_structure_hook(int, structure_int)
    conv.register_structure_hook(float, structure_float)


def _structure_datetime(value: Any, _: Any) -> datetime:
    """Unix seconds (HeyGen's timestamps) or ISO 8601 into an aware UTC datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    msg = f"expected unix seconds, got {type(value).__name__}"
    raise TypeError(msg)


def _structure_status(value: Any, _: Any) -> VideoStatus:
    # An unknown string is a new status (in progress); a non-string is drift.
    if not isinstance(value, str):
        msg = f"expected a status string, got {type(value).__name__}"
        raise TypeError(msg)
    return VideoStatus(value)


def _structure_lenient_datetime(value: Any, _: Any) -> datetime | None:
    """
    A timestamp, or ``None`` when HeyGen sends one we cannot read.

    A timestamp is never worth failing a response over (an ISO field may
    carry any string; an integer may be out of range).
    """
    if value is None:
        return None
    try:
        return _structure_datetime(value, datetime)
    except (TypeError, ValueError, OverflowError, OSError):
        log.info("heygen.unreadable_timestamp value=%r", value)
        return None


def _structure_auto_reload(
    conv: WireConverter,
) -> Callable[[Any, Any], AutoReload]:
    """The schema's object, or the bare flag older responses sent."""
    fn = make_dict_structure_fn(AutoReload, conv, _cattrs_forbid_extra_keys=conv.strict)

    def structure(value: Any, type_: Any) -> AutoReload:
        if isinstance(value, bool):
            return AutoReload(enabled=value)
        return fn(value, type_)

    return structure


_E = TypeVar("_E", StatusError, AvatarError)


def _error_detail(cl: type[_E]) -> Callable[[Any, Any], _E]:
    """
    Decode failure details from any shape: HeyGen's schema leaves the object
    open, and older responses sent a bare message string.
    """

    def structure(value: Any, _: Any) -> _E:
        if isinstance(value, str):
            return cl(message=value)
        if not isinstance(value, Mapping):
            msg = f"expected an object, got {type(value).__name__}"
            raise TypeError(msg)
        return cl(code=_text(value.get("code")), message=_text(value.get("message")))

    return structure


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _unstructure_datetime(value: datetime) -> int | float:
    stamp = value.timestamp()
    return int(stamp) if value.microsecond == 0 else stamp


def make_record_converter() -> cattrs.Converter:
    """
    Build the converter for the job journal (Python names, not wire names).

    A journal keeps what the *user* asked for, ``image_path`` included, so a
    resumed run rebuilds the same :class:`VideoRequest`; it must not depend on
    how HeyGen spells the request today.
    """
    conv = cattrs.Converter(omit_if_default=True)
    conv.register_unstructure_hook(Path, str)
    conv.register_structure_hook(Path, lambda value, _: Path(value))
    conv.register_structure_hook(VideoStatus, lambda value, _: VideoStatus(value))
    conv.register_unstructure_hook(VideoStatus, lambda status: status.value)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    return conv


def error_fields(
    error: BaseException, *, cl: type | None = None, path: str = "$"
) -> list[str]:
    """
    The paths of the fields a structuring *error* is about, e.g. ``$.status``.

    *path* says where the value of class *cl* sat in the body (``$.data[]``
    for a list's rows), so a drift report names the field as HeyGen spells it.
    """
    cause: BaseException | None = error
    while isinstance(cause, ResponseValidationError):  # to what cattrs raised
        cause = cause.__cause__
    if cause is None:
        return [path]
    messages = cattrs.transform_error(
        cause, path=path, format_exception=lambda _exc, _type: ""
    )
    renames = _RENAMES.get(cl, {}) if cl is not None else {}
    fields = []
    for message in messages:
        field = message.rpartition(" @ ")[2]
        name, dot, rest = field.removeprefix(path + ".").partition(".")
        if field.startswith(path + ".") and name in renames:
            field = f"{path}.{renames[name]}{dot}{rest}"
        fields.append(field)
    return list(dict.fromkeys(fields)) or [path]
