"""The pure retry decision, and the waits it draws from, without a server."""

from __future__ import annotations

import time

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import heygen_async as hg
from heygen_async import _backoff
from heygen_async._retry import Attempt, Decision, Tries, decide


POLICY = hg.RetryPolicy(
    attempts=4, wait_initial=0.5, wait_max=8.0, jitter=False, retry_after_max=60.0
)


def server_error(status: int = 503) -> hg.ServerError:
    return hg.ServerError(status=status, code="internal_error", message="boom")


def rate_limited(retry_after: float | None = None) -> hg.RateLimitError:
    return hg.RateLimitError(
        code="rate_limit_exceeded", message="slow down", retry_after=retry_after
    )


def in_progress() -> hg.ConflictError:
    return hg.ConflictError(
        status=409, code="request_in_progress", message="still running"
    )


def unreadable() -> hg.ResponseValidationError:
    return hg.ResponseValidationError("POST /v3/videos returned 200 with junk")


def attempt(method: str = "GET", **kwargs: object) -> Attempt:
    fields: dict[str, object] = {"backoff": 1.5, "patience_backoff": 0.25}
    fields.update(kwargs)
    return Attempt(method=method, **fields)  # type: ignore[arg-type]


# -- what is retried --------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS", "PUT"])
@pytest.mark.parametrize(
    "error",
    [server_error(), hg.TransportError("reset"), hg.RequestTimeoutError("slow")],
    ids=["5xx", "transport", "timeout"],
)
def test_idempotent_methods_retry_transient_failures(
    method: str, error: hg.HeyGenError
) -> None:
    """5xx, transport errors and timeouts wait one backoff on idempotent methods."""
    assert decide(error, attempt(method), POLICY) == Decision(
        wait=1.5, why="retry", draws="backoff", spends=True
    )


@pytest.mark.parametrize(
    "error",
    [server_error(), hg.TransportError("reset"), hg.RequestTimeoutError("slow")],
    ids=["5xx", "transport", "timeout"],
)
def test_post_retries_only_with_an_idempotency_key(error: hg.HeyGenError) -> None:
    """A POST without a key may have created a paid job: never sent twice."""
    assert decide(error, attempt("POST"), POLICY).why == "not_retryable"
    keyed = decide(error, attempt("POST", keyed=True), POLICY)
    assert keyed.wait == 1.5
    assert keyed.why == "retry"


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 413, 422])
@pytest.mark.parametrize("keyed", [False, True])
def test_client_errors_are_never_retried(status: int, keyed: bool) -> None:
    """A 4xx other than 429 (and a keyed 409 in progress) is final."""
    error = hg.APIError(status=status, code="nope", message="no")
    decision = decide(error, attempt("GET", keyed=keyed), POLICY)
    assert decision == Decision(wait=None, why="not_retryable")


def test_unreadable_success_is_replayed_only_with_a_key() -> None:
    """A 2xx we cannot read is asked again only when the key makes it a replay."""
    assert decide(unreadable(), attempt("GET"), POLICY).why == "not_retryable"
    decision = decide(unreadable(), attempt("POST", keyed=True), POLICY)
    assert decision == Decision(wait=1.5, why="retry", draws="backoff")
    assert not decision.spends


def test_unreadable_success_is_free_of_the_budget() -> None:
    """An empty budget does not stop the replay of an unreadable answer."""
    decision = decide(unreadable(), attempt("POST", keyed=True, budget=False), POLICY)
    assert decision.why == "retry"


# -- 429 ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_rate_limit_waits_retry_after_through_the_throttle(method: str) -> None:
    """A 429 is retried on any method, its wait shared (defer), not slept."""
    decision = decide(rate_limited(7.0), attempt(method), POLICY)
    assert decision == Decision(wait=7.0, why="retry", defer=7.0, spends=True)


def test_rate_limit_without_retry_after_uses_the_backoff() -> None:
    """No Retry-After: the next backoff wait, used up."""
    decision = decide(rate_limited(), attempt("POST"), POLICY)
    assert decision == Decision(
        wait=1.5, why="retry", defer=1.5, draws="backoff", spends=True
    )


def test_rate_limit_too_long_is_raised_but_still_shared() -> None:
    """A Retry-After past retry_after_max gives up; the throttle holds the cap."""
    decision = decide(rate_limited(600.0), attempt("GET"), POLICY)
    assert decision == Decision(wait=None, why="retry_after_too_long", defer=60.0)


def test_rate_limit_can_be_left_to_the_caller() -> None:
    """A policy with retry_on_rate_limit=False gives up at once, throttle told."""
    decision = decide(
        rate_limited(3.0),
        attempt("POST", keyed=True),
        attrs.evolve(POLICY, retry_on_rate_limit=False),
    )
    assert decision == Decision(wait=None, why="rate_limited", defer=3.0)


def test_rate_limit_on_the_last_attempt_still_defers() -> None:
    """Every 429 tells the throttle, even one that ends the call."""
    decision = decide(rate_limited(2.0), attempt("GET", counted=3), POLICY)
    assert decision == Decision(wait=None, why="attempts_exhausted", defer=2.0)


# -- limits: attempts, deadline, budget -----------------------------------------


def test_attempts_count_the_first_try() -> None:
    """attempts=4 allows three retries: the fourth failure is final."""
    assert decide(server_error(), attempt(counted=2), POLICY).why == "retry"
    assert decide(server_error(), attempt(counted=3), POLICY).why == (
        "attempts_exhausted"
    )


def test_a_single_attempt_disables_retries() -> None:
    policy = hg.RetryPolicy(attempts=1)
    assert decide(server_error(), attempt(), policy).why == "attempts_exhausted"


def test_no_wait_runs_into_the_deadline() -> None:
    """A wait that would end at or past the deadline gives up instead."""
    policy = hg.RetryPolicy(give_up_after=10.0, jitter=False)
    assert decide(server_error(), attempt(elapsed=8.0, backoff=1.9), policy).wait == (
        1.9
    )
    late = decide(server_error(), attempt(elapsed=8.0, backoff=2.0), policy)
    assert late == Decision(wait=None, why="give_up_after")


def test_an_empty_budget_refuses_the_retry() -> None:
    """The decision asks the budget (spends) so the refusal is counted."""
    decision = decide(server_error(), attempt(budget=False), POLICY)
    assert decision == Decision(wait=None, why="retry_budget_exhausted", spends=True)


def test_limits_are_checked_in_order() -> None:
    """Not retryable beats attempts, which beat the deadline, then the budget."""
    spent = attempt("POST", counted=3, elapsed=1e9, budget=False)
    policy = hg.RetryPolicy(attempts=4, give_up_after=1.0)
    assert decide(server_error(), spent, policy).why == "not_retryable"
    spent = attempt("GET", counted=3, elapsed=1e9, budget=False)
    assert decide(server_error(), spent, policy).why == "attempts_exhausted"
    spent = attempt("GET", elapsed=1e9, budget=False)
    assert decide(server_error(), spent, policy).why == "give_up_after"


# -- 409 request_in_progress ---------------------------------------------------


def test_in_progress_is_waited_out_free_of_attempts_and_budget() -> None:
    """A keyed 409 in progress waits the patience stream, not counted, not paid."""
    tried = attempt("POST", keyed=True, counted=3, budget=False)
    decision = decide(in_progress(), tried, POLICY)
    assert decision == Decision(
        wait=0.25, why="in_progress", draws="patience", counts=False
    )


def test_in_progress_gives_up_when_patience_runs_out() -> None:
    policy = hg.RetryPolicy(in_progress_patience=5.0)
    near = attempt("POST", keyed=True, patience_elapsed=4.9, patience_backoff=1.0)
    assert decide(in_progress(), near, policy).wait == pytest.approx(0.1)
    over = attempt("POST", keyed=True, patience_elapsed=5.0)
    assert decide(in_progress(), over, policy) == Decision(
        wait=None, why="in_progress_gave_up", counts=False
    )


def test_in_progress_patience_stops_at_the_deadline() -> None:
    """
    A wait that fits before give_up_after is made; one that would use up
    the rest gives up now (the next try would have no time to be answered).
    """
    policy = hg.RetryPolicy(in_progress_patience=100.0, give_up_after=10.0)
    tried = attempt("POST", keyed=True, elapsed=9.5, patience_backoff=0.2)
    assert decide(in_progress(), tried, policy).wait == pytest.approx(0.2)
    tried = attempt("POST", keyed=True, elapsed=9.5, patience_backoff=3.0)
    assert decide(in_progress(), tried, policy).why == "in_progress_gave_up"
    tried = attempt("POST", keyed=True, elapsed=10.0)
    assert decide(in_progress(), tried, policy).why == "in_progress_gave_up"


def test_in_progress_without_a_key_is_a_plain_conflict() -> None:
    assert decide(in_progress(), attempt("POST"), POLICY).why == "not_retryable"


# -- purity and properties ------------------------------------------------------


def test_decide_is_pure() -> None:
    """The same inputs give the same decision; nothing is changed."""
    error, tried = rate_limited(), attempt("POST", keyed=True)
    first = decide(error, tried, POLICY)
    assert decide(error, tried, POLICY) == first
    assert tried == attempt("POST", keyed=True)
    assert not error.outcome_unknown
    assert error.retry_after is None


ERRORS = st.sampled_from(
    [
        server_error(),
        server_error(502),
        rate_limited(),
        rate_limited(1.0),
        rate_limited(100.0),
        in_progress(),
        unreadable(),
        hg.TransportError("reset"),
        hg.NotFoundError(status=404, code="not_found", message="gone"),
    ]
)


@given(
    error=ERRORS,
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    keyed=st.booleans(),
    counted=st.integers(0, 6),
    elapsed=st.floats(0, 50),
    backoff=st.floats(0, 30),
    patience_elapsed=st.none() | st.floats(0, 200),
    budget=st.booleans(),
    retry_on_rate_limit=st.booleans(),
    attempts=st.integers(1, 6),
    deadline=st.none() | st.floats(0.1, 40),
)
def test_every_retry_respects_the_limits(
    error: hg.HeyGenError,
    method: str,
    keyed: bool,
    counted: int,
    elapsed: float,
    backoff: float,
    patience_elapsed: float | None,
    budget: bool,
    retry_on_rate_limit: bool,
    attempts: int,
    deadline: float | None,
) -> None:
    """No retry past attempts or deadline, none unpaid, no POST replayed unkeyed."""
    policy = hg.RetryPolicy(
        attempts=attempts,
        give_up_after=deadline,
        retry_on_rate_limit=retry_on_rate_limit,
    )
    tried = Attempt(
        method=method,
        keyed=keyed,
        counted=counted,
        elapsed=elapsed,
        backoff=backoff,
        patience_elapsed=patience_elapsed,
        patience_backoff=backoff,
        budget=budget,
    )
    decision = decide(error, tried, policy)
    if decision.wait is None:
        return
    assert decision.wait >= 0
    if deadline is not None:
        assert decision.wait <= max(0.0, deadline - elapsed)
    if method == "POST" and not isinstance(error, hg.RateLimitError):
        assert keyed
    if decision.counts:
        assert counted + 1 < attempts
        assert budget or not decision.spends
        if deadline is not None:
            assert decision.wait < deadline - elapsed
    else:
        assert decision.why == "in_progress"
    if isinstance(error, hg.RateLimitError):
        assert decision.defer == decision.wait
        assert retry_on_rate_limit


# -- Tries: the state the decision is built from -------------------------------


def test_tries_use_up_only_the_waits_a_decision_drew() -> None:
    """A 429 with Retry-After leaves the backoff for the next 5xx."""
    tries = Tries(POLICY, "GET")
    first = tries.attempt("GET", keyed=False, budget=True)
    assert first.backoff == 0.5
    tries.record(decide(rate_limited(3.0), first, POLICY))
    second = tries.attempt("GET", keyed=False, budget=True)
    assert (second.counted, second.backoff) == (1, 0.5)
    tries.record(decide(server_error(), second, POLICY))
    third = tries.attempt("GET", keyed=False, budget=True)
    assert (third.counted, third.backoff) == (2, 1.0)


def test_tries_start_patience_at_the_first_in_progress() -> None:
    tries = Tries(POLICY, "POST")
    first = tries.attempt("POST", keyed=True, budget=True)
    assert first.patience_elapsed is None
    tries.record(decide(in_progress(), first, POLICY))
    second = tries.attempt("POST", keyed=True, budget=True)
    assert second.patience_elapsed is not None
    assert second.patience_elapsed >= 0
    assert (second.counted, second.patience_backoff) == (0, 1.0)


def test_tries_remaining_follows_the_deadline() -> None:
    assert Tries(POLICY, "GET").remaining() is None
    remaining = Tries(hg.RetryPolicy(give_up_after=5.0), "GET").remaining()
    assert remaining is not None
    assert 0 < remaining <= 5.0


# -- the waits ------------------------------------------------------------------


def test_peek_keeps_the_drawn_wait_until_taken() -> None:
    waits = _backoff.waits(hg.RetryPolicy(wait_initial=1.0, wait_max=10.0))
    assert iter(waits) is waits
    peeked = waits.peek()
    assert waits.peek() == peeked
    assert waits.take() == peeked
    assert 0 <= next(waits) <= 2.0


def test_poll_waits_grow_to_the_cap() -> None:
    policy = hg.PollPolicy(
        interval_initial=5.0, multiplier=1.5, interval_max=15.0, jitter=0.0
    )
    waits = _backoff.poll_waits(policy)
    assert [next(waits) for _ in range(5)] == [5.0, 7.5, 11.25, 15.0, 15.0]


def test_poll_waits_start_at_interval_initial_even_above_the_cap() -> None:
    policy = hg.PollPolicy(
        interval_initial=20.0, multiplier=2.0, interval_max=15.0, jitter=0.0
    )
    waits = _backoff.poll_waits(policy)
    assert [next(waits) for _ in range(3)] == [20.0, 15.0, 15.0]


@given(
    initial=st.floats(0.01, 100),
    multiplier=st.floats(1.0, 4.0),
    ceiling=st.floats(0.01, 100),
    jitter=st.floats(0.0, 1.0),
)
def test_poll_waits_stay_within_the_jitter_band(
    initial: float, multiplier: float, ceiling: float, jitter: float
) -> None:
    policy = hg.PollPolicy(
        interval_initial=initial,
        multiplier=multiplier,
        interval_max=ceiling,
        jitter=jitter,
    )
    waits = _backoff.poll_waits(policy)
    assert initial * (1 - jitter) <= next(waits) <= initial * (1 + jitter) + 1e-9
    for _ in range(10):
        assert 0 <= next(waits) <= ceiling * (1 + jitter) + 1e-9


async def test_attempts_stop_at_the_deadline() -> None:
    """Tries come at once, then after each pause; none starts past the deadline."""
    started = time.monotonic()
    numbers = [n async for n in _backoff.attempts(iter([0.01] * 100), deadline=0.05)]
    elapsed = time.monotonic() - started
    assert numbers == list(range(1, len(numbers) + 1))
    assert 2 <= len(numbers) <= 6
    assert elapsed < 1.0


async def test_attempts_without_a_deadline_follow_the_pauses() -> None:
    numbers = []
    async for number in _backoff.attempts(iter([0.0, 0.0]), deadline=None):
        numbers.append(number)
        if number == 3:
            break
    assert numbers == [1, 2, 3]


# -- the give_up_after rename ----------------------------------------------------


def test_give_up_after_is_the_retry_time_limit() -> None:
    """give_up_after is read by the decision; evolve keeps it and warns nothing."""
    policy = hg.RetryPolicy(give_up_after=2.0, jitter=False)
    assert decide(server_error(), attempt(elapsed=1.9), policy).why == "give_up_after"
    evolved = attrs.evolve(policy, attempts=9)
    assert (evolved.give_up_after, evolved.attempts) == (2.0, 9)


def test_deadline_is_a_deprecated_alias() -> None:
    """The old keyword and attribute still work for one release, with a warning."""
    with pytest.warns(DeprecationWarning, match="give_up_after"):
        policy = hg.RetryPolicy(deadline=3.0)
    assert policy == hg.RetryPolicy(give_up_after=3.0)
    with pytest.warns(DeprecationWarning, match="give_up_after"):
        assert policy.deadline == 3.0
    with (
        pytest.warns(DeprecationWarning, match="deprecated"),
        pytest.raises(TypeError, match="only"),
    ):
        hg.RetryPolicy(deadline=3.0, give_up_after=4.0)
