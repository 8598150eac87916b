"""Models: request validation at construction and small derived properties."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import heygen_async as hg


IMAGE = {"image_url": "https://e.com/a.jpg"}
SPEECH = {"script": "Hello", "voice_id": "v1"}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        (
            {**SPEECH},
            ["image_url", "image_asset_id", "image_path", "avatar_id", "got none"],
        ),
        ({**SPEECH, **IMAGE, "avatar_id": "l1"}, ["got image_url, avatar_id"]),
        (
            {**SPEECH, **IMAGE, "image_asset_id": "a1"},
            ["got image_url, image_asset_id"],
        ),
        ({**SPEECH, **IMAGE, "image_path": "a.png"}, ["got image_url, image_path"]),
        ({**IMAGE}, ["script", "audio_url", "audio_asset_id", "got none"]),
        (
            {**IMAGE, **SPEECH, "audio_url": "https://e.com/a.mp3"},
            ["got script, audio_url"],
        ),
        (
            {**IMAGE, "audio_url": "u", "audio_asset_id": "a"},
            ["got audio_url, audio_asset_id"],
        ),
        ({**IMAGE, "script": "Hi"}, ["script requires voice_id"]),
        ({**IMAGE, "script": "Hi", "voice_id": ""}, ["script requires voice_id"]),
        (
            {**IMAGE, "script": "", "voice_id": "v"},
            ["script must be 1 to 5000 characters; got 0"],
        ),
        ({**IMAGE, "script": "x" * 5001, "voice_id": "v"}, ["got 5001"]),
        ({**IMAGE, "audio_url": "u", "voice_id": "v"}, ["voice_id goes with script"]),
        (
            {**IMAGE, "audio_url": "u", "voice_settings": hg.VoiceSettings(speed=1)},
            ["voice_settings goes with script"],
        ),
        (
            {**IMAGE, **SPEECH, "resolution": "8k"},
            ["resolution must be one of", "'8k'"],
        ),
        ({**IMAGE, **SPEECH, "aspect_ratio": "2:1"}, ["aspect_ratio"]),
        ({**IMAGE, **SPEECH, "fit": "stretch"}, ["fit"]),
        ({**IMAGE, **SPEECH, "output_format": "gif"}, ["output_format"]),
        ({**IMAGE, **SPEECH, "expressiveness": "wild"}, ["expressiveness"]),
        (
            {
                **IMAGE,
                **SPEECH,
                "output_format": "webm",
                "background": hg.Background(color="#000000"),
            },
            ["background", "webm"],
        ),
    ],
)
def test_invalid_requests_name_their_fields(
    fields: dict[str, Any], named: list[str]
) -> None:
    """Each invalid combination raises ValueError naming the fields involved."""
    with pytest.raises(ValueError) as info:  # noqa: PT011 (message checked below)
        hg.VideoRequest(**fields)
    for text in named:
        assert text in str(info.value)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"speed": 0.4}, "voice_settings.speed"),
        ({"speed": 1.6}, "voice_settings.speed"),
        ({"pitch": -51}, "voice_settings.pitch"),
        ({"pitch": 51}, "voice_settings.pitch"),
        ({"volume": -0.1}, "voice_settings.volume"),
        ({"volume": 1.1}, "voice_settings.volume"),
    ],
)
def test_voice_settings_ranges(fields: dict[str, float], named: str) -> None:
    """Voice settings outside their documented ranges are refused."""
    with pytest.raises(ValueError, match=named):
        hg.VoiceSettings(**fields)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({}, "got none"),
        ({"color": "#fff", "image_url": "u"}, "got color, image_url"),
        ({"color": "red"}, "background.color must look like '#rrggbb'"),
    ],
)
def test_background_needs_one_valid_source(fields: dict[str, str], match: str) -> None:
    """A background is exactly one colour or image."""
    with pytest.raises(ValueError, match=match):
        hg.Background(**fields)


def test_valid_request_keeps_its_fields() -> None:
    """A valid request stores a path as a Path and keeps every option."""
    request = hg.VideoRequest(image_path="me.png", **SPEECH, resolution="720p")
    assert request.image_path == Path("me.png")
    assert request.resolution == "720p"


def test_callback_id_alone_is_allowed() -> None:
    """callback_id without callback_url is legal (account webhooks echo it)."""
    assert hg.VideoRequest(**IMAGE, **SPEECH, callback_id="job").callback_id == "job"


@pytest.mark.parametrize(
    ("status", "terminal"),
    [
        (hg.VideoStatus.PENDING, False),
        (hg.VideoStatus.PROCESSING, False),
        (hg.VideoStatus.UNKNOWN, False),
        (hg.VideoStatus.NOT_FOUND, False),
        (hg.VideoStatus.COMPLETED, True),
        (hg.VideoStatus.FAILED, True),
    ],
)
def test_terminal_statuses(status: hg.VideoStatus, terminal: bool) -> None:
    """Only completed and failed end a render."""
    assert status.is_terminal is terminal


@pytest.mark.parametrize(
    ("look", "ready", "failed"),
    [
        (hg.AvatarLook(id="l"), False, False),
        (
            hg.AvatarLook(id="l", preview_image_url="u", image_width=0, image_height=0),
            False,
            False,
        ),
        (
            hg.AvatarLook(id="l", preview_image_url="u", image_width=9, image_height=9),
            True,
            False,
        ),
        (
            hg.AvatarLook(
                id="l",
                status="failed",
                preview_image_url="u",
                image_width=9,
                image_height=9,
            ),
            False,
            True,
        ),
    ],
)
def test_avatar_look_readiness(look: hg.AvatarLook, ready: bool, failed: bool) -> None:
    """Without a status, a look is ready once its preview and size are known."""
    assert (look.is_ready, look.is_failed) == (ready, failed)


@pytest.mark.parametrize(
    ("status", "ready", "failed", "consent"),
    [
        ("processing", False, False, False),
        ("pending_consent", False, False, True),
        ("failed", False, True, False),
        ("completed", True, False, False),
        ("queued_v2", False, False, False),
    ],
)
def test_avatar_look_status_vocabulary(
    status: str, ready: bool, failed: bool, consent: bool
) -> None:
    """The schema's look statuses decide readiness, not the preview fields."""
    look = hg.AvatarLook(
        id="l", status=status, preview_image_url="u", image_width=9, image_height=9
    )
    assert (look.is_ready, look.is_failed, look.needs_consent) == (
        ready,
        failed,
        consent,
    )
    bare = hg.AvatarLook(id="l", status=status)
    assert (bare.is_ready, bare.is_failed) == (ready, failed)


def _clone(error: Exception) -> Any:
    return pickle.loads(pickle.dumps(error))  # noqa: S301 (our own object)


def test_failure_errors_pickle_with_their_details() -> None:
    """Errors cross process boundaries with their attributes intact."""
    look = hg.AvatarLook(
        id="l",
        status="failed",
        group_id="g",
        error=hg.AvatarError(code="NO_FACE", message="none"),
    )
    failed = _clone(hg.AvatarFailedError(look))
    assert ("NO_FACE", look) == (failed.code, failed.look)
    consent = _clone(hg.AvatarConsentRequiredError(look))
    assert (consent.look_id, consent.group_id) == ("l", "g")
    drift = hg.ResponseValidationError(
        "bad", route="GET /v3/x", fields=["$.data.a"], request_id="r"
    )
    again = _clone(drift)
    assert (
        again.route,
        again.fields,
        again.request_id,
    ) == ("GET /v3/x", ("$.data.a",), "r")
    assert str(again) == "bad"
    plain = hg.ResponseValidationError("plain")
    assert (plain.route, plain.fields, plain.request_id) == (None, (), None)


def test_a_failed_look_without_details_still_says_so() -> None:
    """No error object: the message says no reason was given."""
    error = hg.AvatarFailedError(hg.AvatarLook(id="l", status="failed"))
    assert error.code is None
    assert "no reason given" in str(error)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: hg.RetryPolicy(wait_initial=-1), "wait_initial must be >= 0"),
        (lambda: hg.RetryPolicy(give_up_after=0), "give_up_after must be > 0 or None"),
        (lambda: hg.RetryPolicy(attempts=0), "attempts"),
        (lambda: hg.Timeouts(read=-1), "read must be >= 0"),
        (lambda: hg.PollPolicy(jitter=2), "jitter"),
    ],
)
def test_policies_validate(build: Any, match: str) -> None:
    """Policies refuse nonsense values at construction."""
    with pytest.raises(ValueError, match=match):
        build()


def test_unknown_status_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """A new server status is logged the first time only."""
    caplog.set_level("INFO", logger="heygen_async")
    assert hg.VideoStatus("brand_new_status_x") is hg.VideoStatus.UNKNOWN
    assert hg.VideoStatus("brand_new_status_x") is hg.VideoStatus.UNKNOWN
    logged = [r for r in caplog.records if "brand_new_status_x" in r.getMessage()]
    assert len(logged) == 1
