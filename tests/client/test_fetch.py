"""The one endpoint sequence (``_fetch``) and the options stated once."""

from __future__ import annotations

from typing import Any

import pytest

import heygen_async as hg
from heygen_async.testing import FakeHeyGen, Fault
from tests.helpers import FAST_RETRY, req, strict_client


ENDPOINTS = "POST /v3/webhooks/endpoints"


@pytest.mark.parametrize("endpoint_id", ["a/b", "..", "a,b", "%2F", "a b"])
async def test_every_path_id_is_checked_before_sending(
    fake: FakeHeyGen, client: hg.Client, endpoint_id: str
) -> None:
    """An id that could change where a URL points never leaves the client."""
    with pytest.raises(ValueError, match="endpoint_id must be one id"):
        await client.delete_webhook_endpoint(endpoint_id)
    with pytest.raises(ValueError, match="endpoint_id must be one id"):
        await client.rotate_webhook_secret(endpoint_id)
    assert fake.stats.total_requests == 0


async def test_an_unreadable_answer_to_a_keyed_post_is_replayed(
    fake: FakeHeyGen, client: hg.Client
) -> None:
    """Every endpoint decodes inside the retry loop: a keyed POST asks again."""
    fake.add_fault(Fault(kind="malformed", route=ENDPOINTS, nth=(1,)))
    endpoint = await client.create_webhook_endpoint("https://example.com/hook")
    assert endpoint.secret
    assert fake.stats.requests[ENDPOINTS] == 2
    listed = [e async for e in client.iter_webhook_endpoints()]
    assert [e.id for e in listed] == [endpoint.id]  # one endpoint, not two


async def test_a_policy_can_leave_429s_to_the_caller(
    fake: FakeHeyGen, voice_id: str
) -> None:
    """retry_on_rate_limit=False is data the decision reads, for any call."""
    fake.add_fault(
        Fault(kind="rate_limit", route="POST /v3/videos", nth=(1,), retry_after=0.01)
    )
    policy = hg.RetryPolicy(wait_initial=0.001, retry_on_rate_limit=False)
    async with strict_client(fake, retry=policy) as client:
        with pytest.raises(hg.RateLimitError) as info:
            await client.create_video(req(voice_id))
        assert info.value.outcome_unknown is False
        assert client._throttle.delay() > 0  # the client still holds back
    assert fake.stats.requests["POST /v3/videos"] == 1
    assert fake.stats.jobs_created == 0


async def test_the_default_policy_waits_a_429_out(
    fake: FakeHeyGen, voice_id: str
) -> None:
    """The same fault with the default policy: retried, one job."""
    fake.add_fault(
        Fault(kind="rate_limit", route="POST /v3/videos", nth=(1,), retry_after=0.01)
    )
    async with strict_client(fake, retry=FAST_RETRY) as client:
        await client.create_video(req(voice_id))
    assert fake.stats.requests["POST /v3/videos"] == 2
    assert fake.stats.jobs_created == 1


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"max_inflight": 3}, TypeError, "unexpected batch option.*max_inflight"),
        ({"max_in_flight": 0}, ValueError, "max_in_flight must be >= 1"),
        ({"outcome_buffer": 0}, ValueError, "outcome_buffer must be >= 1"),
        ({"deadline": 0}, ValueError, "deadline must be > 0 or None"),
    ],
)
async def test_batch_options_are_checked_once(
    fake: FakeHeyGen,
    client: hg.Client,
    options: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    """A misspelt or bad option fails at once, from Client.batch and Batch alike."""
    with pytest.raises(error, match=match):
        client.batch(**options)
    assert fake.stats.total_requests == 0


def test_batch_options_name_what_batch_accepts() -> None:
    """The TypedDict is the one list: Client.batch forwards it whole."""
    assert hg.BatchOptions.__optional_keys__ == {
        "max_in_flight",
        "deadline",
        "poll",
        "max_uploads",
        "outcome_buffer",
        "store",
        "max_credits",
        "pricing",
    }
