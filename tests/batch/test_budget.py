"""batch(max_credits=...): admission stops before the cap; the rest is never sent."""

from __future__ import annotations

import pytest

import heygen_async as hg
from heygen_async.testing import FakeHeyGen
from tests.helpers import strict_client


IMAGE = "https://example.com/me.jpg"
# 15 words at 150 a minute: 6 s, 0.6 credits at the default 0.1 per second.
SCRIPT = " ".join(["word"] * 15)


def _request(voice_id: str, n: int) -> hg.VideoRequest:
    return hg.VideoRequest(image_url=f"{IMAGE}?{n}", script=SCRIPT, voice_id=voice_id)


async def test_jobs_past_max_credits_are_reported_and_never_sent(
    voice_id: str,
) -> None:
    """2 credits buy three 0.6-credit jobs; the other five fail unsent."""
    async with FakeHeyGen(render_seconds=0.01) as fake:
        async with strict_client(fake) as client:
            async with client.batch(max_in_flight=2, max_credits=2.0) as batch:
                for n in range(8):
                    batch.submit(_request(voice_id, n), tag=n)
                outcomes = [o async for o in batch.as_completed()]
        assert fake.stats.jobs_created == 3
    completed = [o for o in outcomes if isinstance(o, hg.Completed)]
    refused = [o for o in outcomes if isinstance(o, hg.Failed)]
    assert len(completed) == 3
    assert len(refused) == 5
    assert all(isinstance(o.error, hg.CreditLimitError) for o in refused)
    error = refused[0].error
    assert isinstance(error, hg.CreditLimitError)
    assert error.max_credits == 2.0
    assert error.spent == pytest.approx(1.8)
    assert "not sent" in str(error)


async def test_a_job_of_unknown_length_is_not_sent_under_a_cap(voice_id: str) -> None:
    """An audio URL could cost anything: with max_credits it is refused."""
    audio = hg.VideoRequest(image_url=IMAGE, audio_url="https://example.com/a.mp3")
    async with FakeHeyGen(render_seconds=0.01) as fake:
        async with strict_client(fake) as client:
            async with client.batch(max_credits=100) as batch:
                batch.submit(audio)
                [outcome] = [o async for o in batch.as_completed()]
        assert fake.stats.jobs_created == 0
    assert isinstance(outcome, hg.Failed)
    assert isinstance(outcome.error, hg.CreditLimitError)
    assert outcome.error.needed is None


async def test_pricing_sets_the_rate_and_a_negative_cap_is_refused(
    voice_id: str,
) -> None:
    """At 1 credit a second, 6 credits buy exactly one 6-second job."""
    pricing = hg.Pricing(credits_per_second=1.0)
    async with FakeHeyGen(render_seconds=0.01) as fake:
        async with strict_client(fake) as client:
            with pytest.raises(ValueError, match="max_credits"):
                client.batch(max_credits=-1)
            async with client.batch(max_credits=6, pricing=pricing) as batch:
                for n in range(2):
                    batch.submit(_request(voice_id, n))
                kinds = sorted([type(o).__name__ async for o in batch.as_completed()])
        assert fake.stats.jobs_created == 1
    assert kinds == ["Completed", "Failed"]
