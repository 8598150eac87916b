"""
House rules that keep the package coherent as it grows.

One logger module, one list of ``VideoRequest`` fields, one meaning per word.
"""

from __future__ import annotations

import importlib
import logging
import pickle
import pkgutil
import typing
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import attrs
import pytest

import heygen_async as hg
from heygen_async import _log
from heygen_async._converter import field_kinds, make_converter
from heygen_async._models import (
    ASPECT_RATIOS,
    EXPRESSIVENESS,
    FITS,
    OUTPUT_FORMATS,
    RESOLUTIONS,
    AspectRatio,
    Expressiveness,
    Fit,
    OutputFormat,
    Resolution,
)
from heygen_async.testing import FakeHeyGen
from tests.helpers import req, strict_client


PACKAGE = Path(hg.__file__).parent
LOGGERS = {
    value
    for value in vars(_log).values()
    if isinstance(value, logging.Logger)  # a module attribute, not a name
}


def _modules() -> list[ModuleType]:
    names = [
        info.name
        for info in pkgutil.walk_packages([str(PACKAGE)], prefix="heygen_async.")
    ]
    return [
        importlib.import_module(name)
        for name in names
        if not name.endswith("__main__")  # runs the CLI
    ]


# -- loggers ------------------------------------------------------------------


def test_no_module_but_log_names_a_logger() -> None:
    """``getLogger(`` appears in _log.py only: every name is listed there."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "_log.py" and "getLogger(" in path.read_text("utf-8")
    ]
    assert offenders == []


def test_every_logger_is_a_child_of_the_package_and_listed() -> None:
    """Configuring ``heygen_async`` configures every logger the package uses."""
    assert {logger.name for logger in LOGGERS} == set(_log.LOGGER_NAMES)
    for name in _log.LOGGER_NAMES:
        assert name == "heygen_async" or name.startswith("heygen_async.")
    used = [
        (module.__name__, value)
        for module in _modules()
        for value in vars(module).values()
        if isinstance(value, logging.Logger)
    ]
    assert len(used) > 10, "the modules hold no loggers?"
    strays = [(module, log.name) for module, log in used if log not in LOGGERS]
    assert strays == []


# -- VideoRequest's fields ----------------------------------------------------

PICTURE = ("image_url", "image_asset_id", "image_path", "avatar_id")
# Each way to give speech, and the fields that only go with it.
SPEECH = {
    "script": ("script", "voice_id", "voice_settings"),
    "audio_url": ("audio_url",),
    "audio_asset_id": ("audio_asset_id",),
}
NESTED_SAMPLES: dict[type, Any] = {
    hg.Background: hg.Background(color="#123456"),
    hg.VoiceSettings: hg.VoiceSettings(speed=1.2, locale="en-US"),
    hg.Caption: hg.Caption(style="default"),
}


def _sample(name: str, hint: Any) -> Any:
    """A valid value for field *name*; a new kind of field fails here."""
    kind = field_kinds(hg.VideoRequest)[name]
    if attrs.has(kind):
        return NESTED_SAMPLES[kind]  # a new nested class: add a sample
    choices = [
        arg for arg in typing.get_args(hint) if typing.get_origin(arg) is Literal
    ]
    if choices:
        return typing.get_args(choices[0])[0]
    if kind is bool:
        return True
    if name.endswith("_url"):
        return f"https://example.com/{name}"
    assert kind is str, f"no sample for {name}: {kind}"
    return f"{name}-1"


def _requests() -> list[tuple[hg.VideoRequest, list[str]]]:
    """One request per way to speak, with every other field set."""
    hints = typing.get_type_hints(hg.VideoRequest)
    others = [name for name in field_kinds(hg.VideoRequest) if name not in PICTURE]
    built = []
    for speech in SPEECH:
        excluded = {n for way, names in SPEECH.items() if way != speech for n in names}
        names = [name for name in others if name not in excluded]
        values = {name: _sample(name, hints[name]) for name in names}
        built.append((hg.VideoRequest(avatar_id="look-1", **values), names))
    return built


def test_every_video_request_field_reaches_the_wire() -> None:
    """A field the converter does not send fails here, whatever its name."""
    conv = make_converter(strict=True)
    checked: set[str] = set()
    for request, names in _requests():
        body = conv.unstructure(request)
        assert body["type"] == "avatar"
        assert body["avatar_id"] == "look-1"
        for name in names:
            assert name in body, f"{name} is dropped from the wire"
            if not attrs.has(field_kinds(hg.VideoRequest)[name]):
                assert body[name] == getattr(request, name)
        checked.update(names)
    every = {field.name for field in attrs.fields(hg.VideoRequest)}
    assert checked == every - set(PICTURE)
    assert set(PICTURE) <= every


@pytest.mark.parametrize(
    ("picture", "wire"),
    [
        ("image_url", {"type": "url", "url": "https://example.com/p.png"}),
        (
            "image_asset_id",
            {"type": "asset_id", "asset_id": "https://example.com/p.png"},
        ),
    ],
)
def test_pictures_reach_the_wire(picture: str, wire: dict[str, str]) -> None:
    """Each image source becomes the body's ``image`` object."""
    request = hg.VideoRequest(
        **{picture: "https://example.com/p.png"}, audio_asset_id="a-1"
    )
    body = make_converter(strict=True).unstructure(request)
    assert body == {"type": "image", "image": wire, "audio_asset_id": "a-1"}


def test_choice_tuples_come_from_the_literal_aliases() -> None:
    """RESOLUTIONS and friends are the aliases' values, in order."""
    pairs = [
        (RESOLUTIONS, Resolution),
        (ASPECT_RATIOS, AspectRatio),
        (FITS, Fit),
        (OUTPUT_FORMATS, OutputFormat),
        (EXPRESSIVENESS, Expressiveness),
    ]
    for choices, alias in pairs:
        assert choices == typing.get_args(alias)


def test_field_kinds_match_the_manifest_reader() -> None:
    """The CLI's manifest columns are what field_kinds derives."""
    for name in ("heygen_async._cli.inputs", "heygen_async._cli_inputs"):
        try:
            inputs = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(inputs, "_SCALARS"):
            break
    else:  # pragma: no cover - the reader moved again
        pytest.skip("no manifest reader with _SCALARS")
    kinds = field_kinds(hg.VideoRequest)
    nested = {
        name: (kind, field_kinds(kind))
        for name, kind in kinds.items()
        if attrs.has(kind)
    }
    scalars = {name: kind for name, kind in kinds.items() if name not in nested}
    assert dict(inputs._SCALARS) == scalars
    assert {name: (cls, dict(sub)) for name, (cls, sub) in inputs._NESTED.items()} == (
        nested
    )


def test_field_kinds_refuses_a_type_it_does_not_know() -> None:
    """A new field type fails loudly instead of reaching the wire as text."""

    @attrs.frozen
    class Counted:
        count: int | None = None

    @attrs.frozen
    class Mixed:
        choice: Literal["a", 1] = "a"

    for cls in (Counted, Mixed):
        with pytest.raises(TypeError, match="no field kind"):
            field_kinds(cls)


# -- words --------------------------------------------------------------------


async def _listed(client: hg.Client, **options: Any) -> tuple[int, int]:
    """How many videos iter_videos yields, and the GETs it took."""
    before = client.request_counts().get("GET /v3/videos", 0)
    count = len([video async for video in client.iter_videos(**options)])
    return count, client.request_counts()["GET /v3/videos"] - before


async def test_iter_videos_takes_page_size(client: hg.Client, voice_id: str) -> None:
    """page_size is the page size, as in iter_voices; it caps nothing."""
    for n in range(2):
        await client.create_video(req(voice_id, n))
    assert await _listed(client, page_size=1) == (2, 2)
    assert await _listed(client, page_size=2) == (2, 1)


async def test_iter_videos_limit_is_a_deprecated_alias(
    client: hg.Client, voice_id: str
) -> None:
    """limit= still works, as page_size, with a DeprecationWarning."""
    for n in range(2):
        await client.create_video(req(voice_id, n))
    with pytest.warns(DeprecationWarning, match="page_size"):
        assert await _listed(client, limit=1) == (2, 2)
    with pytest.warns(DeprecationWarning, match="limit"):  # page_size wins
        assert await _listed(client, limit=1, page_size=2) == (2, 1)


def test_wait_timeout_names_what_it_waited_for() -> None:
    """resource_id is neutral; video_id keeps its value for old handlers."""
    video = hg.WaitTimeoutError("v-1", hg.VideoStatus.PROCESSING)
    assert (video.resource_id, video.video_id, video.resource) == (
        "v-1",
        "v-1",
        "video",
    )
    look = hg.WaitTimeoutError("l-1", None, resource="avatar look")
    assert (look.resource_id, look.video_id, look.resource) == (
        "l-1",
        "l-1",
        "avatar look",
    )
    for error in (video, look):
        clone = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own object)
        assert type(clone) is hg.WaitTimeoutError
        assert (clone.resource_id, clone.last_status, clone.resource) == (
            error.resource_id,
            error.last_status,
            error.resource,
        )
        assert str(clone) == str(error)


async def test_avatar_wait_timeout_carries_the_look_id() -> None:
    """Waiting for a look that is still training names the look."""
    async with (
        FakeHeyGen(avatar_training_seconds=5.0) as slow,
        strict_client(slow) as client,
    ):
        avatar = await client.create_photo_avatar(
            name="Z", image_url="https://e.com/a.png"
        )
        with pytest.raises(hg.WaitTimeoutError) as info:
            await client.wait_for_avatar(avatar.look.id, deadline=0.05)
    assert info.value.resource_id == avatar.look.id
    assert info.value.resource == "avatar look"
