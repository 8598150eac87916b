"""GET /v3/voices and GET /v3/voices/{id} on the fake."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from heygen_async.testing import FakeHeyGen
from heygen_async.testing._voices import VOICES
from tests.helpers.fake import get_json, serve


VOICE_KEYS = {
    "voice_id",
    "name",
    "language",
    "gender",
    "type",
    "preview_audio_url",
    "support_pause",
    "support_locale",
}


async def all_voices(
    session: aiohttp.ClientSession, **params: str
) -> list[dict[str, Any]]:
    """Every page of GET /v3/voices with *params*."""
    voices: list[dict[str, Any]] = []
    token = None
    while True:
        query = params | ({"token": token} if token else {})
        status, body = await get_json(session, "/v3/voices", **query)
        assert status == 200, body
        voices += body["data"]
        if not body["has_more"]:
            assert body["next_token"] is None
            return voices
        token = body["next_token"]


async def test_catalogue_is_large_and_varied(
    fake_session: aiohttp.ClientSession,
) -> None:
    """At least 150 public voices over 6+ languages, both genders, unique ids."""
    voices = await all_voices(fake_session, limit="100")
    assert len(voices) >= 150
    assert all(set(v) == VOICE_KEYS for v in voices)
    assert len({v["voice_id"] for v in voices}) == len(voices)
    languages = {v["language"] for v in voices}
    assert {
        "English",
        "Spanish",
        "French",
        "German",
        "Japanese",
        "Portuguese",
        "Hindi",
    } <= languages
    assert {v["gender"] for v in voices} == {"male", "female"}
    assert {v["type"] for v in voices} == {"public"}


async def test_default_page_is_20(fake_session: aiohttp.ClientSession) -> None:
    """Without limit a page holds 20 voices and has a next token."""
    _, body = await get_json(fake_session, "/v3/voices")
    assert len(body["data"]) == 20
    assert body["has_more"] is True


async def test_ids_are_stable_across_servers(fake: FakeHeyGen) -> None:
    """Two fakes with different seeds list the same voice ids."""
    async with serve(seed=99) as (_, other):
        _, theirs = await get_json(other, "/v3/voices", limit="5")
    assert [v["voice_id"] for v in theirs["data"]] == [v.voice_id for v in VOICES[:5]]


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"language": "japanese"}, lambda v: v["language"] == "Japanese"),
        ({"gender": "Female"}, lambda v: v["gender"] == "female"),
        ({"type": "private"}, lambda v: v["type"] == "private"),
        ({"language": "Spanish", "gender": "male"}, lambda v: v["gender"] == "male"),
    ],
)
async def test_filters(
    fake_session: aiohttp.ClientSession, params: dict[str, str], check: Any
) -> None:
    """language, gender and type narrow the list."""
    voices = await all_voices(fake_session, **params)
    assert voices
    assert all(check(v) for v in voices)


async def test_engine_filter(fake_session: aiohttp.ClientSession) -> None:
    """engine keeps only voices that support that engine."""
    every = await all_voices(fake_session, limit="100")
    fish = await all_voices(fake_session, engine="fish", limit="100")
    starfish = await all_voices(fake_session, engine="starfish", limit="100")
    assert 0 < len(fish) < len(every)
    assert len(starfish) == len(every)


async def test_private_voices_are_few_and_not_public(
    fake_session: aiohttp.ClientSession,
) -> None:
    """Private voices exist but only type=private lists them."""
    private = await all_voices(fake_session, type="private")
    public = await all_voices(fake_session, limit="100")
    assert 1 <= len(private) < 10
    assert not {v["voice_id"] for v in private} & {v["voice_id"] for v in public}


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"type": "shared"}, "type"),
        ({"gender": "other"}, "gender"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"token": "%%%"}, "token"),
    ],
)
async def test_bad_queries_are_400(
    fake_session: aiohttp.ClientSession, params: dict[str, str], param: str
) -> None:
    """Unknown type or gender, a limit outside 1-100 or a bad token are 400s."""
    status, body = await get_json(fake_session, "/v3/voices", **params)
    assert status == 400
    assert body["error"]["param"] == param


async def test_get_one_voice(
    fake: FakeHeyGen, fake_session: aiohttp.ClientSession
) -> None:
    """GET one adds support_interactive_avatar; unknown ids are voice_not_found."""
    voice = VOICES[3]
    status, body = await get_json(fake_session, f"/v3/voices/{voice.voice_id}")
    assert status == 200
    assert set(body["data"]) == VOICE_KEYS | {"support_interactive_avatar"}
    assert body["data"]["name"] == voice.name
    assert body["data"]["preview_audio_url"].startswith(f"{fake.url}/_fake/static/")
    status, body = await get_json(fake_session, "/v3/voices/nope")
    assert status == 404
    assert body["error"]["code"] == "voice_not_found"
