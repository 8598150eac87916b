"""heygen_async.webhooks: signature verification and payload parsing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pickle
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

import heygen_async as hg
from heygen_async import webhooks
from heygen_async.webhooks import (
    BatchFinished,
    GenericEvent,
    VideoFailed,
    VideoSucceeded,
)


SECRET = "whsec_test_secret"
NOW = 1_800_000_000.0
SUCCESS = {
    "event_id": "evt_1",
    "event_type": "avatar_video.success",
    "event_data": {
        "video_id": "v_1",
        "url": "https://files.example/v_1.mp4",
        "gif_download_url": "https://files.example/v_1.gif",
        "thumbnail_url": "https://files.example/v_1.jpg",
        "video_page_url": "https://app.heygen.com/videos/v_1",
        "callback_id": "job-1",
        "duration": 12.5,
    },
}


def body_of(payload: object) -> bytes:
    """*payload* as a delivery body."""
    return json.dumps(payload).encode()


def hexmac(secret: str, message: bytes) -> str:
    """Lowercase hex HMAC-SHA256, computed independently of the SDK."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed(
    body: bytes,
    secret: str = SECRET,
    *,
    timestamp: float = NOW,
    event_id: str | None = "evt_1",
) -> dict[str, str]:
    """Headers of a current-scheme delivery of *body*."""
    headers = {
        "Heygen-Signature": hexmac(secret, body),
        "Heygen-Timestamp": str(int(timestamp)),
    }
    if event_id is not None:
        headers["Heygen-Event-Id"] = event_id
    return headers


# -- verify: signatures ------------------------------------------------------


def test_good_signature_yields_a_verified_typed_event() -> None:
    """A correctly signed success becomes a verified VideoSucceeded with every field."""
    body = body_of(SUCCESS)
    event = webhooks.verify(body, signed(body), SECRET, now=NOW)
    assert (
        VideoSucceeded(
            event_id="evt_1",
            event_type="avatar_video.success",
            video_id="v_1",
            url="https://files.example/v_1.mp4",
            gif_url="https://files.example/v_1.gif",
            thumbnail_url="https://files.example/v_1.jpg",
            video_page_url="https://app.heygen.com/videos/v_1",
            callback_id="job-1",
            duration=12.5,
            verified=True,
            scheme="heygen",
            raw=SUCCESS,
        )
        == event
    )
    assert event.raw == SUCCESS


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_rotation_secret_is_accepted(index: int) -> None:
    """With several secrets, a delivery signed by any one of them verifies."""
    secrets = ["whsec_new", "whsec_old", "whsec_older"]
    body = body_of(SUCCESS)
    event = webhooks.verify(body, signed(body, secrets[index]), secrets, now=NOW)
    assert event.verified


def test_tampered_body_is_refused() -> None:
    """Changing one byte of the body breaks the signature."""
    body = body_of(SUCCESS)
    headers = signed(body)
    tampered = body.replace(b"v_1.mp4", b"v_2.mp4")
    with pytest.raises(hg.InvalidSignatureError, match="does not match") as info:
        webhooks.verify(tampered, headers, SECRET, now=NOW)
    assert info.value.reason == "mismatch"


def test_wrong_secret_is_refused() -> None:
    """A signature made with another secret does not verify."""
    body = body_of(SUCCESS)
    with pytest.raises(hg.InvalidSignatureError) as info:
        webhooks.verify(body, signed(body, "whsec_other"), SECRET, now=NOW)
    assert info.value.reason == "mismatch"


def test_error_is_a_heygen_error_and_a_value_error() -> None:
    """InvalidSignatureError is caught by HeyGenError and ValueError handlers alike."""
    assert issubclass(hg.InvalidSignatureError, hg.HeyGenError)
    assert issubclass(hg.InvalidSignatureError, ValueError)
    assert hg.InvalidSignatureError is hg.exceptions.InvalidSignatureError


def test_error_pickles_with_its_reason() -> None:
    """The error survives pickling (e.g. across processes) with its reason."""
    error = hg.InvalidSignatureError("too old", "stale")
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert str(clone) == "too old"
    assert clone.reason == "stale"


def test_signature_over_timestamp_and_body_is_accepted() -> None:
    """A Standard-Webhooks-style signature of '{timestamp}.{body}' also verifies."""
    body = body_of(SUCCESS)
    headers = signed(body)
    headers["Heygen-Signature"] = hexmac(SECRET, f"{int(NOW)}.".encode() + body)
    assert webhooks.verify(body, headers, SECRET, now=NOW).verified


@pytest.mark.parametrize(
    "transform",
    [str.upper, lambda s: f"sha256={s}", lambda s: f"{'0' * 64}, {s}"],
    ids=["uppercase", "prefixed", "several"],
)
def test_signature_header_variants(transform: Any) -> None:
    """Uppercase hex, a sha256= prefix and a list of signatures are understood."""
    body = body_of(SUCCESS)
    headers = signed(body)
    headers["Heygen-Signature"] = transform(headers["Heygen-Signature"])
    assert webhooks.verify(body, headers, SECRET, now=NOW).verified


@pytest.mark.parametrize("value", ["", "not-hex", "é" * 64, "\udc80"])
def test_garbage_signatures_are_refused(value: str) -> None:
    """Empty, non-hex or non-ASCII signatures are mismatches, not crashes."""
    body = body_of(SUCCESS)
    headers = signed(body)
    headers["Heygen-Signature"] = value
    with pytest.raises(hg.InvalidSignatureError) as info:
        webhooks.verify(body, headers, SECRET, now=NOW)
    assert info.value.reason == "mismatch"


# -- verify: timestamps ------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "reason"), [(-301, "stale"), (301, "future")], ids=["stale", "future"]
)
def test_timestamps_beyond_tolerance_are_refused(offset: int, reason: str) -> None:
    """A timestamp more than 300 s old or ahead is refused, even if signed."""
    body = body_of(SUCCESS)
    headers = signed(body, timestamp=NOW + offset)
    with pytest.raises(hg.InvalidSignatureError, match=reason) as info:
        webhooks.verify(body, headers, SECRET, now=NOW)
    assert reason == info.value.reason


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_at_the_tolerance_are_accepted(offset: int) -> None:
    """Exactly *tolerance* seconds off, either way, still verifies."""
    body = body_of(SUCCESS)
    headers = signed(body, timestamp=NOW + offset)
    assert webhooks.verify(body, headers, SECRET, now=NOW).verified


def test_tolerance_is_configurable() -> None:
    """A tighter tolerance refuses what the default accepts."""
    body = body_of(SUCCESS)
    headers = signed(body, timestamp=NOW - 10)
    assert webhooks.verify(body, headers, SECRET, now=NOW).verified
    with pytest.raises(hg.InvalidSignatureError, match="stale"):
        webhooks.verify(body, headers, SECRET, now=NOW, tolerance=5)


def test_now_defaults_to_the_wall_clock() -> None:
    """Without now=, a delivery stamped with the current time verifies."""
    body = body_of(SUCCESS)
    headers = signed(body, timestamp=datetime.now(UTC).timestamp())
    assert webhooks.verify(body, headers, SECRET).verified


@pytest.mark.parametrize("value", ["soon", "nan", "inf", ""])
def test_malformed_timestamps_are_refused(value: str) -> None:
    """A timestamp that is not finite unix seconds is refused as malformed."""
    body = body_of(SUCCESS)
    headers = signed(body)
    headers["Heygen-Timestamp"] = value
    with pytest.raises(hg.InvalidSignatureError) as info:
        webhooks.verify(body, headers, SECRET, now=NOW)
    assert info.value.reason == "malformed_timestamp"


# -- verify: headers ---------------------------------------------------------


def test_missing_signature_header_is_refused() -> None:
    """No signature header at all is refused before any HMAC is computed."""
    body = body_of(SUCCESS)
    headers = signed(body)
    del headers["Heygen-Signature"]
    with pytest.raises(hg.InvalidSignatureError, match="Heygen-Signature") as info:
        webhooks.verify(body, headers, SECRET, now=NOW)
    assert info.value.reason == "missing_signature"


def test_missing_timestamp_is_refused_for_the_current_scheme() -> None:
    """Heygen-Signature without Heygen-Timestamp is refused (no replay window)."""
    body = body_of(SUCCESS)
    headers = signed(body)
    del headers["Heygen-Timestamp"]
    with pytest.raises(hg.InvalidSignatureError, match="Heygen-Timestamp") as info:
        webhooks.verify(body, headers, SECRET, now=NOW)
    assert info.value.reason == "missing_timestamp"


@pytest.mark.parametrize(
    "name", ["Signature", "X-HeyGen-Signature", "x-heygen-signature"]
)
def test_legacy_headers_verify_the_body_alone(name: str) -> None:
    """The legacy Signature / X-HeyGen-Signature headers need no timestamp."""
    body = body_of(SUCCESS)
    event = webhooks.verify(body, {name: hexmac(SECRET, body)}, SECRET, now=NOW)
    assert event.verified
    assert (event.event_id, event.scheme) == ("evt_1", "heygen")


def test_legacy_headers_check_a_timestamp_when_present() -> None:
    """A legacy delivery that does carry Heygen-Timestamp gets it checked."""
    body = body_of(SUCCESS)
    headers = {"Signature": hexmac(SECRET, body), "Heygen-Timestamp": str(NOW - 3600)}
    with pytest.raises(hg.InvalidSignatureError, match="stale"):
        webhooks.verify(body, headers, SECRET, now=NOW)


def test_legacy_headers_refuse_a_wrong_signature() -> None:
    """A legacy signature made with the wrong secret is refused."""
    body = body_of(SUCCESS)
    with pytest.raises(hg.InvalidSignatureError):
        webhooks.verify(body, {"Signature": hexmac("x", body)}, SECRET, now=NOW)


def test_current_scheme_wins_over_legacy_headers() -> None:
    """With both present, Heygen-Signature is the one checked."""
    body = body_of(SUCCESS)
    headers = {**signed(body), "Signature": "0" * 64}
    assert webhooks.verify(body, headers, SECRET, now=NOW).verified
    headers = {**signed(body, "whsec_wrong"), "Signature": hexmac(SECRET, body)}
    with pytest.raises(hg.InvalidSignatureError):
        webhooks.verify(body, headers, SECRET, now=NOW)


def test_header_names_are_case_insensitive() -> None:
    """Any capitalisation of the header names works with a plain dict."""
    body = body_of(SUCCESS)
    headers = {
        "HEYGEN-SIGNATURE": hexmac(SECRET, body),
        "heygen-timestamp": str(int(NOW)),
    }
    event = webhooks.verify(body, headers, SECRET, now=NOW)
    assert event.event_id == "evt_1"


@pytest.mark.parametrize("secret", [[], "", ["whsec_ok", ""]])
def test_missing_secrets_are_a_configuration_error(secret: Any) -> None:
    """No secret, or an empty one, is a ValueError, not a refused delivery."""
    body = body_of(SUCCESS)
    with pytest.raises(ValueError, match="secret") as info:
        webhooks.verify(body, signed(body), secret, now=NOW)
    assert not isinstance(info.value, hg.InvalidSignatureError)


def test_text_bodies_are_a_type_error() -> None:
    """Passing decoded text instead of the raw bytes is a clear TypeError."""
    with pytest.raises(TypeError, match="raw body bytes"):
        webhooks.verify("{}", {}, SECRET, now=NOW)  # type: ignore[arg-type]


def test_bytearray_bodies_are_accepted() -> None:
    """Any bytes-like raw body verifies."""
    body = body_of(SUCCESS)
    assert webhooks.verify(bytearray(body), signed(body), SECRET, now=NOW).verified


# -- payloads ----------------------------------------------------------------


def test_failure_with_msg() -> None:
    """avatar_video.fail reads its reason from msg (HeyGen's v1 shape)."""
    payload = {
        "event_type": "avatar_video.fail",
        "event_data": {"video_id": "v_2", "msg": "Bad photo", "callback_id": "c"},
    }
    event = webhooks.parse(body_of(payload))
    assert (
        VideoFailed(
            event_id=None,
            event_type="avatar_video.fail",
            video_id="v_2",
            message="Bad photo",
            failure_code=None,
            callback_id="c",
            verified=False,
            scheme="unsigned",
            raw=payload,
        )
        == event
    )


@pytest.mark.parametrize(
    ("data", "message", "code"),
    [
        ({"msg": "m"}, "m", None),
        ({"error": "e"}, "e", None),
        (
            {"failure_message": "f", "failure_code": "rendering_failed"},
            "f",
            "rendering_failed",
        ),
        ({"error": {"code": "c", "message": "from object"}}, "from object", "c"),
        ({"msg": "m", "error": "e", "failure_message": "f"}, "m", None),
        ({}, None, None),
    ],
    ids=["msg", "error", "failure_message", "error-object", "msg-first", "silent"],
)
def test_failure_reason_sources(
    data: dict[str, Any], message: str | None, code: str | None
) -> None:
    """The reason comes from msg, error or failure_message, in that order."""
    payload = {
        "event_type": "avatar_video.fail",
        "event_data": {"video_id": "v", **data},
    }
    event = webhooks.parse(body_of(payload))
    assert isinstance(event, VideoFailed)
    assert (message, code) == (event.message, event.failure_code)


@pytest.mark.parametrize(
    ("data", "url"),
    [
        ({"url": "https://a/u.mp4"}, "https://a/u.mp4"),
        ({"video_url": "https://a/v.mp4"}, "https://a/v.mp4"),
        ({"url": "https://a/u.mp4", "video_url": "https://a/v.mp4"}, "https://a/u.mp4"),
        ({}, None),
        ({"url": 7}, None),
    ],
    ids=["url", "video_url", "url-first", "none", "not-a-string"],
)
def test_success_url_sources(data: dict[str, Any], url: str | None) -> None:
    """The URL comes from url, else video_url; a non-string is ignored."""
    payload = {
        "event_type": "avatar_video.success",
        "event_data": {"video_id": "v", **data},
    }
    event = webhooks.parse(body_of(payload))
    assert isinstance(event, VideoSucceeded)
    assert url == event.url


@pytest.mark.parametrize(
    ("value", "duration"),
    [(3, 3.0), ("4.5", 4.5), ("long", None), (True, None), (None, None), ([1], None)],
)
def test_duration_is_read_leniently(value: object, duration: float | None) -> None:
    """duration accepts numbers and numeric strings; anything else is None."""
    payload = {
        "event_type": "avatar_video.success",
        "event_data": {"video_id": "v", "duration": value},
    }
    event = webhooks.parse(body_of(payload))
    assert isinstance(event, VideoSucceeded)
    assert duration == event.duration


@pytest.mark.parametrize(
    "event_type",
    [
        "avatar_video_gif.success",
        "avatar_video_caption.success",
        "avatar_video_gif.fail",
        "avatar_video_caption.fail",
    ],
)
def test_gif_and_caption_events_are_typed(event_type: str) -> None:
    """The GIF and caption families parse like avatar_video, keeping their type."""
    payload = {
        "event_type": event_type,
        "event_data": {"video_id": "v", "url": "https://a/x.gif", "gif_url": "g"},
    }
    event = webhooks.parse(body_of(payload))
    expected = VideoSucceeded if event_type.endswith("success") else VideoFailed
    assert isinstance(event, expected)
    assert event_type == event.event_type


@pytest.mark.parametrize(
    ("payload", "event_type"),
    [
        (
            {"event_type": "video_translate.success", "event_data": {"video_id": "v"}},
            "video_translate.success",
        ),
        (
            {"event_type": "avatar_video.success", "event_data": {"url": "u"}},
            "avatar_video.success",
        ),
        (
            {"event_type": "avatar_video.fail", "event_data": {"video_id": 5}},
            "avatar_video.fail",
        ),
        (
            {"event": "avatar_video.success", "event_data": {"video_id": "v"}},
            "avatar_video.success",
        ),
        ({"event_data": "not an object"}, None),
        ({}, None),
    ],
    ids=[
        "unknown-type",
        "no-video-id",
        "bad-video-id",
        "n8n-event-key",
        "bad-data",
        "empty",
    ],
)
def test_everything_else_is_a_generic_event(
    payload: dict[str, Any], event_type: str | None
) -> None:
    """Unknown types, missing fields and n8n's `event` key give a GenericEvent."""
    event = webhooks.parse(body_of(payload))
    assert isinstance(event, GenericEvent)
    assert event_type == event.event_type
    assert payload == event.raw
    data = payload.get("event_data")
    assert (data if isinstance(data, dict) else {}) == event.data


def test_verified_bodies_that_are_not_json_are_generic_events() -> None:
    """A correctly signed body that is not JSON is a GenericEvent holding the text."""
    body = b"\xffnot json"
    headers = signed(body)
    headers["Heygen-Signature"] = hexmac(SECRET, f"{int(NOW)}.".encode() + body)
    event = webhooks.verify(body, headers, SECRET, now=NOW)
    assert (
        GenericEvent(
            event_id=None,
            event_type=None,
            data={},
            verified=True,
            scheme="heygen",
            raw="\ufffdnot json",
        )
        == event
    )
    assert event.raw == "\ufffdnot json"


def test_json_that_is_not_an_object_is_a_generic_event() -> None:
    """A JSON list or string body is kept as raw in a GenericEvent."""
    event = webhooks.parse(b"[1, 2]")
    assert isinstance(event, GenericEvent)
    assert event.raw == [1, 2]
    assert event.event_type is None


def test_event_id_never_comes_from_the_unsigned_header() -> None:
    """The body's event_id is the id; Heygen-Event-Id, which nobody signs, is not."""
    body = body_of({**SUCCESS, "event_id": "evt_body"})
    replayed = {**signed(body), "Heygen-Event-Id": "evt_fresh"}
    assert webhooks.verify(body, replayed, SECRET, now=NOW).event_id == "evt_body"
    assert webhooks.parse(body, {"heygen-event-id": "evt_head"}).event_id == "evt_body"
    without = body_of({k: v for k, v in SUCCESS.items() if k != "event_id"})
    assert webhooks.parse(without, {"Heygen-Event-Id": "evt_head"}).event_id is None


def test_parse_accepts_text_and_marks_unverified() -> None:
    """parse() takes bytes or text and never claims the event is verified."""
    event = webhooks.parse(json.dumps(SUCCESS))
    assert isinstance(event, VideoSucceeded)
    assert not event.verified
    assert event.scheme == "unsigned"


def test_events_are_frozen_and_hashable() -> None:
    """Events are immutable values usable in sets (raw excluded from equality)."""
    first = webhooks.parse(body_of(SUCCESS))
    second = webhooks.parse(body_of({**SUCCESS, "extra": 1}))
    assert first == second
    assert len({first, second}) == 1
    with pytest.raises(AttributeError):
        first.video_id = "other"  # type: ignore[misc]


def test_event_from_record_is_verified() -> None:
    """A history record from the authenticated API becomes a verified event."""
    record = hg.WebhookEventRecord(
        event_id="evt_r",
        event_type="avatar_video.success",
        event_data={"video_id": "v_r", "url": "https://a/r.mp4"},
    )
    event = webhooks.event_from_record(record)
    assert isinstance(event, VideoSucceeded)
    assert (
        event.event_id,
        event.video_id,
        event.url,
        event.verified,
        event.scheme,
    ) == ("evt_r", "v_r", "https://a/r.mp4", True, "history")


# -- SeenEvents --------------------------------------------------------------


def test_seen_events_remembers_and_forgets_the_oldest() -> None:
    """SeenEvents reports repeats and drops the least recently seen beyond max_size."""
    seen = webhooks.SeenEvents(max_size=2)
    assert seen.add("a")
    assert seen.add("b")
    assert not seen.add("a")  # a is now the most recent
    assert seen.add("c")  # evicts b
    assert "a" in seen
    assert "b" not in seen
    assert len(seen) == 2
    seen.discard("a")
    seen.discard("missing")
    assert seen.add("a")


def test_seen_events_needs_room() -> None:
    """A SeenEvents that can remember nothing is refused."""
    with pytest.raises(ValueError, match="max_size"):
        webhooks.SeenEvents(max_size=0)


# -- verify: Standard Webhooks -----------------------------------------------

STANDARD_KEY = b"standard-webhooks-key-32-bytes!!"
STANDARD_SECRET = "whsec_" + base64.b64encode(STANDARD_KEY).decode()


def standard(
    body: bytes,
    key: bytes = STANDARD_KEY,
    *,
    message_id: str = "msg_1",
    timestamp: float = NOW,
) -> dict[str, str]:
    """Headers of a Standard Webhooks delivery, computed independently of the SDK."""
    signed_content = f"{message_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(key, signed_content, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def test_standard_webhooks_delivery_verifies() -> None:
    """v1,<base64> over '{id}.{timestamp}.{body}', keyed with the decoded secret."""
    body = body_of(SUCCESS)
    event = webhooks.verify(body, standard(body), STANDARD_SECRET, now=NOW)
    assert isinstance(event, VideoSucceeded)
    assert (event.verified, event.scheme, event.event_id) == (True, "standard", "evt_1")


def test_standard_event_id_falls_back_to_the_signed_webhook_id() -> None:
    """Without an event_id in the body, the signed webhook-id identifies the event."""
    body = body_of({k: v for k, v in SUCCESS.items() if k != "event_id"})
    event = webhooks.verify(body, standard(body), STANDARD_SECRET, now=NOW)
    assert event.event_id == "msg_1"
    nested = b"[" * 100_000
    event = webhooks.verify(nested, standard(nested), STANDARD_SECRET, now=NOW)
    assert isinstance(event, GenericEvent)
    assert event.event_id == "msg_1"


def test_standard_signature_list_and_other_versions() -> None:
    """Space-separated signatures: any v1 match counts; other versions are ignored."""
    body = body_of(SUCCESS)
    headers = standard(body)
    good = headers["webhook-signature"]
    wrong = "v1," + base64.b64encode(b"x" * 32).decode()
    headers["webhook-signature"] = f"v1a,{good[3:]} {wrong} {good}"
    assert webhooks.verify(body, headers, STANDARD_SECRET, now=NOW).verified
    headers["webhook-signature"] = f"v1a,{good[3:]} {wrong} v2,{good[3:]}"
    with pytest.raises(hg.InvalidSignatureError) as info:
        webhooks.verify(body, headers, STANDARD_SECRET, now=NOW)
    assert info.value.reason == "mismatch"


@pytest.mark.parametrize("index", [0, 1])
def test_standard_rotation_secrets(index: int) -> None:
    """Under Standard Webhooks too, any secret of a rotation may match."""
    keys = [b"new-key-bytes", b"old-key-bytes"]
    secrets = ["whsec_" + base64.b64encode(key).decode() for key in keys]
    body = body_of(SUCCESS)
    event = webhooks.verify(body, standard(body, keys[index]), secrets, now=NOW)
    assert event.scheme == "standard"


@pytest.mark.parametrize("secret", [SECRET, "plain-secret", STANDARD_SECRET])
def test_standard_secret_as_utf8_text(secret: str) -> None:
    """Any secret (base64 or not, prefixed or not) also keys the HMAC as UTF-8 text."""
    body = body_of(SUCCESS)
    event = webhooks.verify(body, standard(body, secret.encode()), secret, now=NOW)
    assert event.scheme == "standard"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, headers: (body.replace(b"v_1.mp4", b"v_2.mp4"), headers),
        lambda body, headers: (body, {**headers, "webhook-id": "msg_fresh"}),
        lambda body, headers: (body, {**headers, "webhook-timestamp": str(NOW + 1)}),
    ],
    ids=["body", "id", "timestamp"],
)
def test_standard_signature_covers_body_id_and_timestamp(tamper: Any) -> None:
    """Changing the body, the webhook-id or the timestamp breaks the signature."""
    body = body_of(SUCCESS)
    raw, headers = tamper(body, standard(body))
    with pytest.raises(hg.InvalidSignatureError) as info:
        webhooks.verify(raw, headers, STANDARD_SECRET, now=NOW)
    assert info.value.reason == "mismatch"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook-timestamp": str(int(NOW - 301))}, "stale"),
        ({"webhook-timestamp": str(int(NOW + 301))}, "future"),
        ({"webhook-timestamp": "soon"}, "malformed_timestamp"),
        ({"webhook-timestamp": None}, "missing_timestamp"),
        ({"webhook-id": None}, "missing_id"),
        ({"webhook-id": " "}, "missing_id"),
    ],
    ids=["stale", "future", "malformed", "no-timestamp", "no-id", "blank-id"],
)
def test_standard_headers_are_checked(
    change: dict[str, str | None], reason: str
) -> None:
    """The timestamp is checked both ways; the id and timestamp are required."""
    body = body_of(SUCCESS)
    headers: dict[str, str] = standard(body)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(hg.InvalidSignatureError) as info:
        webhooks.verify(body, headers, STANDARD_SECRET, now=NOW)
    assert info.value.reason == reason


# -- verify: pinning a scheme, replays -----------------------------------------


def test_pinning_a_scheme_refuses_the_other() -> None:
    """scheme='standard' refuses Heygen-Signature deliveries, and vice versa."""
    body = body_of(SUCCESS)
    with pytest.raises(hg.InvalidSignatureError) as info:
        webhooks.verify(body, signed(body), SECRET, now=NOW, scheme="standard")
    assert info.value.reason == "wrong_scheme"
    with pytest.raises(hg.InvalidSignatureError) as info:
        webhooks.verify(body, standard(body), STANDARD_SECRET, now=NOW, scheme="heygen")
    assert info.value.reason == "wrong_scheme"
    pinned = webhooks.verify(
        body, standard(body), STANDARD_SECRET, now=NOW, scheme="standard"
    )
    assert pinned.scheme == "standard"
    assert webhooks.verify(
        body, signed(body), SECRET, now=NOW, scheme="heygen"
    ).verified
    with pytest.raises(hg.InvalidSignatureError) as info:
        webhooks.verify(body, {}, SECRET, now=NOW, scheme="heygen")
    assert info.value.reason == "missing_signature"


def test_pinned_scheme_ignores_the_other_schemes_headers() -> None:
    """Pinned to heygen, a valid Standard signature cannot rescue a bad one."""
    body = body_of(SUCCESS)
    headers = {**signed(body, "whsec_wrong"), **standard(body, SECRET.encode())}
    assert webhooks.verify(body, headers, SECRET, now=NOW).scheme == "standard"
    with pytest.raises(hg.InvalidSignatureError) as info:
        webhooks.verify(body, headers, SECRET, now=NOW, scheme="heygen")
    assert info.value.reason == "mismatch"


def test_unpinned_tries_each_scheme_present() -> None:
    """With both schemes' headers, the one that matches wins; else the first error."""
    body = body_of(SUCCESS)
    bad_standard = standard(body, b"another key")
    headers = {**signed(body), **bad_standard}
    assert webhooks.verify(body, headers, SECRET, now=NOW).scheme == "heygen"
    headers = {**signed(body, "whsec_wrong"), **bad_standard}
    with pytest.raises(hg.InvalidSignatureError, match="does not match"):
        webhooks.verify(body, headers, SECRET, now=NOW)


def test_unknown_scheme_is_a_configuration_error() -> None:
    """A scheme that is not 'heygen' or 'standard' is a ValueError."""
    body = body_of(SUCCESS)
    with pytest.raises(ValueError, match="scheme"):
        webhooks.verify(body, signed(body), SECRET, now=NOW, scheme="svix")  # type: ignore[arg-type]


def test_body_only_signature_needs_the_event_id_in_the_body() -> None:
    """A body-only signature over a body without event_id is refused: replayable."""
    body = body_of({k: v for k, v in SUCCESS.items() if k != "event_id"})
    for headers in (
        signed(body, event_id="evt_h"),
        {"Signature": hexmac(SECRET, body)},
    ):
        with pytest.raises(hg.InvalidSignatureError) as info:
            webhooks.verify(body, headers, SECRET, now=NOW)
        assert info.value.reason == "unsigned_event_id"
    # A signature that covers the timestamp bounds replays to the tolerance.
    stamped = signed(body)
    stamped["Heygen-Signature"] = hexmac(SECRET, f"{int(NOW)}.".encode() + body)
    event = webhooks.verify(body, stamped, SECRET, now=NOW)
    assert (event.verified, event.event_id) == (True, None)


def test_absurdly_nested_json_is_a_generic_event() -> None:
    """JSON nested beyond the decoder's recursion limit is text, not a crash."""
    body = b"[" * 200_000 + b"]" * 200_000
    event = webhooks.parse(body)
    assert isinstance(event, GenericEvent)
    assert isinstance(event.raw, str)
    assert event.event_id is None


# -- payloads: batch.finished ------------------------------------------------

BATCH = {
    "event_id": "evt_b",
    "event_type": "batch.finished",
    "event_data": {
        "batch_id": "b_1",
        "title": "Spring campaign",
        "status": "completed",
        "total_items": 3,
        "counts_by_status": {"completed": 2, "failed": 1, "odd": "x"},
        "items": [
            {"item_index": 0, "video_id": "v_a", "status": "completed"},
            {"item_index": 1, "video_id": "v_b", "status": "failed"},
            {"item_index": 2, "video_id": None, "status": "failed"},
            {"item_index": 3, "video_id": "v_a", "status": "completed"},
            "junk",
        ],
    },
}


def test_batch_finished_is_typed() -> None:
    """batch.finished becomes a BatchFinished with the batch resource's fields."""
    body = body_of(BATCH)
    event = webhooks.verify(body, signed(body), SECRET, now=NOW)
    assert (
        BatchFinished(
            event_id="evt_b",
            batch_id="b_1",
            status="completed",
            total_items=3,
            counts_by_status={"completed": 2, "failed": 1},
            title="Spring campaign",
            video_ids=("v_a", "v_b"),
            verified=True,
            scheme="heygen",
            raw=BATCH,
        )
        == event
    )
    assert event.event_type == "batch.finished"
    other = attrs.evolve(event, counts_by_status={"completed": 3})
    assert other != event
    assert hash(other) == hash(event)  # the counts are compared, never hashed


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"batch_id": "b"}, ("b", None, None, {}, None, ())),
        (
            {
                "batch_id": "b",
                "total_items": True,
                "counts_by_status": [1],
                "items": {},
            },
            ("b", None, None, {}, None, ()),
        ),
        ({"batch_id": 7}, None),
        ({}, None),
    ],
    ids=["minimal", "wrong-types", "bad-id", "no-id"],
)
def test_batch_finished_is_read_leniently(
    data: dict[str, Any], expected: tuple[Any, ...] | None
) -> None:
    """Missing or odd fields are None or empty; without a batch id it is generic."""
    event = webhooks.parse(
        body_of({"event_type": "batch.finished", "event_data": data})
    )
    if expected is None:
        assert isinstance(event, GenericEvent)
        assert event.event_type == "batch.finished"
        return
    assert isinstance(event, BatchFinished)
    assert expected == (
        event.batch_id,
        event.status,
        event.total_items,
        dict(event.counts_by_status),
        event.title,
        event.video_ids,
    )
