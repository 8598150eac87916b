"""Properties: converter round-trips, valid request bodies, backoff bounds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import heygen_async as hg
from heygen_async import _backoff
from heygen_async._converter import make_converter
from heygen_async._models import ASPECT_RATIOS, EXPRESSIVENESS, FITS, RESOLUTIONS
from tests.helpers.wire_schema import problems


STRICT = make_converter(strict=True)
LENIENT = make_converter()

text = st.text(max_size=20)
maybe_text = st.none() | text
maybe_float = st.none() | st.floats(allow_nan=False, allow_infinity=False)
maybe_int = st.none() | st.integers(min_value=0, max_value=2**53)
maybe_bool = st.none() | st.booleans()
# Unix seconds as floats keep microseconds exactly up to about year 2240.
maybe_time = st.none() | st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001 (bounds are naive by API)
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
json_values = st.none() | st.booleans() | st.integers() | text

videos = st.builds(
    hg.Video,
    id=text,
    status=st.sampled_from(hg.VideoStatus),
    title=maybe_text,
    video_url=maybe_text,
    thumbnail_url=maybe_text,
    gif_url=maybe_text,
    captioned_video_url=maybe_text,
    subtitle_url=maybe_text,
    video_page_url=maybe_text,
    duration=maybe_float,
    created_at=maybe_time,
    completed_at=maybe_time,
    folder_id=maybe_text,
    output_language=maybe_text,
    failure_code=maybe_text,
    failure_message=maybe_text,
)
created = st.builds(
    hg.CreatedVideo,
    id=text,
    status=st.sampled_from(hg.VideoStatus),
    output_format=maybe_text,
)
status_items = st.builds(
    hg.StatusItem,
    id=text,
    status=st.sampled_from(hg.VideoStatus),
    error=st.none() | st.builds(hg.StatusError, code=maybe_text, message=maybe_text),
    batch_id=maybe_text,
    item_index=maybe_int,
)
assets = st.builds(
    hg.Asset,
    id=text,
    url=maybe_text,
    mime_type=maybe_text,
    size_bytes=maybe_int,
    name=maybe_text,
    type=maybe_text,
    owner=maybe_text,
    space_id=maybe_text,
    folder_id=maybe_text,
    uploaded_at=maybe_time,
)
voices = st.builds(
    hg.Voice,
    id=text,
    name=maybe_text,
    language=maybe_text,
    gender=maybe_text,
    type=maybe_text,
    preview_audio_url=maybe_text,
    support_pause=maybe_bool,
    support_locale=maybe_bool,
    support_interactive_avatar=maybe_bool,
    status=maybe_text,
    failure_message=maybe_text,
    created_at=maybe_time,
)
groups = st.builds(
    hg.AvatarGroup,
    id=text,
    name=maybe_text,
    status=maybe_text,
    consent_status=maybe_text,
    default_voice_id=maybe_text,
    preview_image_url=maybe_text,
)
looks = st.builds(
    hg.AvatarLook,
    id=text,
    name=maybe_text,
    avatar_type=maybe_text,
    status=maybe_text,
    group_id=maybe_text,
    supported_api_engines=st.lists(text, max_size=3).map(tuple),
    image_width=maybe_int,
    image_height=maybe_int,
    preview_image_url=maybe_text,
    default_voice_id=maybe_text,
)
wallets = st.builds(
    hg.Wallet,
    currency=maybe_text,
    remaining_balance=maybe_float,
    auto_reload=st.none()
    | st.builds(
        hg.AutoReload,
        enabled=st.booleans(),
        amount_usd=maybe_float,
        threshold_usd=maybe_float,
    ),
)
accounts = st.builds(
    hg.Account,
    username=maybe_text,
    email=maybe_text,
    first_name=maybe_text,
    last_name=maybe_text,
    billing_type=maybe_text,
    wallet=st.none() | wallets,
    subscription=st.none() | st.builds(hg.Subscription, plan=maybe_text),
    usage_based=st.none() | st.builds(hg.UsageBased, spending_cap_usd=maybe_float),
)
responses = st.one_of(
    videos,
    created,
    status_items,
    assets,
    voices,
    groups,
    looks,
    st.builds(hg.PhotoAvatar, group=groups, look=looks),
    wallets,
    accounts,
)


@given(responses)
def test_response_models_round_trip(model: Any) -> None:
    """structure(unstructure(x)) == x for every response model, strictly."""
    assert STRICT.structure(STRICT.unstructure(model), type(model)) == model


@given(
    responses,
    st.dictionaries(
        st.text(min_size=1).map(lambda s: "x_" + s), json_values, min_size=1
    ),
)
def test_extra_fields_lenient_vs_strict(model: Any, extra: dict[str, Any]) -> None:
    """Unknown top-level fields survive leniently and are rejected strictly."""
    wire = {**STRICT.unstructure(model), **extra}
    assert LENIENT.structure(wire, type(model)) == model
    with pytest.raises(hg.ResponseValidationError, match="extra fields found"):
        STRICT.structure(wire, type(model))


@given(
    st.text().filter(
        lambda s: s not in {m.value for m in hg.VideoStatus} | {"waiting", "queued"}
    )
)
def test_unknown_statuses_become_unknown(raw: str) -> None:
    """Any status string the SDK does not know structures as UNKNOWN."""
    item = STRICT.structure({"video_id": "v", "status": raw}, hg.StatusItem)
    assert item.status is hg.VideoStatus.UNKNOWN


def _choice(values: tuple[str, ...]) -> st.SearchStrategy[str | None]:
    return st.none() | st.sampled_from(values)


def non_blank(max_size: int) -> st.SearchStrategy[str]:
    """Text a request accepts: not empty, not only whitespace."""
    return st.text(min_size=1, max_size=max_size).filter(str.strip)


request_ids = non_blank(30)
request_urls = st.from_regex(r"\Ahttps?://[a-z0-9]{1,12}\.com(/[a-z0-9._-]{0,20})?\Z")
maybe_words = st.none() | non_blank(20)


@st.composite
def video_requests(draw: st.DrawFn) -> hg.VideoRequest:
    """Any valid VideoRequest without a local path."""
    image = draw(
        st.sampled_from(["image_url", "image_asset_id", "avatar_id"]).map(
            lambda name: {
                name: draw(request_urls if name == "image_url" else request_ids)
            }
        )
    )
    speech_kind = draw(st.sampled_from(["script", "audio_url", "audio_asset_id"]))
    speech: dict[str, Any]
    if speech_kind == "script":
        speech = {
            "script": draw(non_blank(200)),
            "voice_id": draw(request_ids),
            "voice_settings": draw(
                st.none()
                | st.builds(
                    hg.VoiceSettings,
                    speed=st.none() | st.floats(0.5, 1.5),
                    pitch=st.none() | st.floats(-50, 50),
                    volume=st.none() | st.floats(0, 1),
                    locale=st.none() | non_blank(10),
                )
            ),
        }
    else:
        kind = request_urls if speech_kind == "audio_url" else request_ids
        speech = {speech_kind: draw(kind)}
    output_format = draw(_choice(("mp4", "webm")))
    background = None
    if output_format != "webm":
        background = draw(
            st.none()
            | st.builds(hg.Background, color=st.from_regex(r"\A#[0-9a-f]{6}\Z"))
            | st.builds(hg.Background, image_url=request_urls)
            | st.builds(hg.Background, image_asset_id=request_ids)
        )
    return hg.VideoRequest(
        **image,
        **speech,
        title=draw(maybe_words),
        resolution=draw(_choice(RESOLUTIONS)),  # type: ignore[arg-type]
        aspect_ratio=draw(_choice(ASPECT_RATIOS)),  # type: ignore[arg-type]
        remove_background=draw(maybe_bool),
        background=background,
        callback_url=draw(st.none() | request_urls),
        callback_id=draw(maybe_words),
        motion_prompt=draw(maybe_words),
        expressiveness=draw(_choice(EXPRESSIVENESS)),  # type: ignore[arg-type]
        fit=draw(_choice(FITS)),  # type: ignore[arg-type]
        output_format=output_format,  # type: ignore[arg-type]
        caption=draw(
            st.none() | st.builds(hg.Caption, style=st.sampled_from([None, "default"]))
        ),
    )


@given(video_requests())
def test_request_bodies_match_the_wire_schema(request: hg.VideoRequest) -> None:
    """Every valid VideoRequest unstructures into a body the API accepts."""
    body = STRICT.unstructure(request)
    assert problems(body) == []
    set_fields = {
        f.name
        for f in attrs.fields(hg.VideoRequest)
        if getattr(request, f.name) is not None
    }
    flat = set_fields - {"image_url", "image_asset_id", "background"}
    if request.voice_settings == hg.VoiceSettings():
        flat.discard("voice_settings")  # nothing set: nothing sent
    assert flat <= body.keys()


@given(
    st.builds(
        hg.RetryPolicy,
        wait_initial=st.floats(0, 100),
        wait_max=st.floats(0, 100),
        jitter=st.booleans(),
    ),
    st.integers(min_value=1, max_value=40),
)
def test_backoff_waits_stay_within_bounds(policy: hg.RetryPolicy, count: int) -> None:
    """Every computed wait lies in [0, wait_max]."""
    waits = _backoff.waits(policy)
    for _ in range(count):
        assert 0 <= next(waits) <= policy.wait_max


def test_backoff_without_jitter_doubles_to_the_cap() -> None:
    """Without jitter the waits are wait_initial doubling, capped."""
    waits = _backoff.waits(hg.RetryPolicy(wait_initial=0.5, wait_max=3.0, jitter=False))
    assert [next(waits) for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
