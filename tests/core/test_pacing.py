"""Learned render times and the poll plan built on them (``_pacing``)."""

from __future__ import annotations

import asyncio
import math
import random
from datetime import UTC, datetime, timedelta

import attrs
import pytest

import heygen_async as hg
from heygen_async._pacing import planner
from heygen_async._pacing.model import (
    PRIOR,
    Prediction,
    RenderFeatures,
    RenderModel,
    render_seconds,
)
from heygen_async._pacing.pacer import Pacer
from heygen_async._scheduler import Scheduler
from heygen_async.testing import FakeHeyGen
from tests.helpers import req, strict_client


START = datetime(2026, 1, 1, tzinfo=UTC)


def rendered(video_id: str, seconds: float) -> hg.Video:
    """A completed video whose server times say its render took *seconds*."""
    return hg.Video(
        id=video_id,
        status=hg.VideoStatus.COMPLETED,
        created_at=START,
        completed_at=START + timedelta(seconds=seconds),
    )


def length_render(speech: float) -> float:
    """The benchmark's length workload: 20 s plus 1.5 s per second of speech."""
    return 20.0 + 1.5 * speech


def test_model_converges_after_a_handful_of_renders() -> None:
    """Eight renders whose time grows with the script pin the relation."""
    rng = random.Random(1)
    model = RenderModel()
    for _ in range(8):
        speech = rng.uniform(5, 200)
        noisy = length_render(speech) * math.exp(rng.gauss(0, 0.05))
        model.observe(noisy, RenderFeatures(speech_seconds=speech))
    assert model.informative
    for speech in (20.0, 60.0, 150.0):
        prediction = model.predict(RenderFeatures(speech_seconds=speech))
        assert prediction is not None
        assert not prediction.prior
        assert prediction.median == pytest.approx(length_render(speech), rel=0.2)
    assert model.sigma < 0.35  # from the prior's 0.8
    short = model.predict(RenderFeatures(speech_seconds=10))
    long = model.predict(RenderFeatures(speech_seconds=300))
    assert short is not None
    assert long is not None
    assert long.median > 3 * short.median


def test_model_without_signal_predicts_nothing() -> None:
    """Durations that depend on nothing and scatter widely: no prediction."""
    rng = random.Random(2)
    model = RenderModel()
    for _ in range(40):
        seconds = math.exp(rng.uniform(math.log(5), math.log(2000)))
        model.observe(seconds, RenderFeatures(speech_seconds=rng.uniform(5, 200)))
    assert not model.informative
    assert model.predict(RenderFeatures(speech_seconds=60)) is None


def test_no_signal_needs_evidence_first() -> None:
    """Three renders that scatter widely keep the prior; eight give the verdict."""
    model = RenderModel()
    for seconds in (20.0, 400.0, 60.0):
        model.observe(seconds)
    assert model.sigma > model.max_sigma
    prediction = model.predict()
    assert prediction is not None
    assert prediction.prior
    for seconds in (900.0, 5.0, 300.0, 10.0, 2000.0):
        model.observe(seconds)
    assert model.predict() is None


def test_model_starts_from_the_documented_prior() -> None:
    """Before min_observations renders the prior is returned, marked as such."""
    model = RenderModel(min_observations=3)
    assert model.predict() is PRIOR
    assert PRIOR.prior
    assert PRIOR.median == pytest.approx(120.0)
    model.observe(100.0)
    model.observe(-1.0)  # nonsense is ignored
    model.observe(math.inf)
    assert model.observations == 1
    assert model.predict() is PRIOR


def test_features_of_a_request(voice_id: str) -> None:
    """Script length becomes seconds of speech; resolution and avatar count."""
    request = hg.VideoRequest(
        avatar_id="a1", script="x" * 150, voice_id=voice_id, resolution="4k"
    )
    features = RenderFeatures.of(request)
    assert features == RenderFeatures(speech_seconds=10.0, resolution="4k", avatar=True)
    audio = hg.VideoRequest(
        image_url="https://e.x/p.jpg", audio_url="https://e.x/a.mp3"
    )
    assert RenderFeatures.of(audio).speech_seconds is None
    assert features.vector()[3:] == (1.0, 1.0)


def test_render_seconds_reads_server_times() -> None:
    """completed_at - created_at, or None when either is missing."""
    done = rendered("v", 90.0)
    assert render_seconds(done) == 90.0
    assert render_seconds(attrs.evolve(done, completed_at=None)) is None
    assert render_seconds(attrs.evolve(done, completed_at=START)) is None


def test_latency_due_skips_the_young_render_then_polls_every_gap() -> None:
    """No poll before the render may be done; from then on, every gap."""
    prediction = Prediction(math.log(100.0), 0.1)
    zone = math.exp(prediction.mu + prediction.sigma * -2.0537)  # the 2 % quantile
    young = planner.latency_due(prediction, 0.0, 0.0, gap=5.0, miss=0.02)
    assert young == pytest.approx(zone + 5.0, rel=1e-3)
    assert planner.latency_due(prediction, 0.0, 110.0, gap=5.0, miss=0.02) == 115.0
    assert planner.safety_due(prediction, 0.0, quantile=0.99, grace=1.0) > 120.0


def test_expected_done_and_the_group_call() -> None:
    """The harvest sums every job; the group call comes when it crosses."""
    prediction = Prediction(math.log(100.0), 0.2)
    jobs = [(prediction, 0.0, 50.0)] * 4
    assert planner.expected_done(jobs, 50.0, None) == 0.0
    assert planner.expected_done(jobs, 1e6, None) == pytest.approx(4.0)
    at = planner.group_due(jobs, 50.0, 500.0, threshold=2.0)
    assert at is not None
    assert planner.expected_done(jobs, at, None) == pytest.approx(2.0, abs=0.05)
    assert planner.group_due(jobs, 50.0, 60.0, threshold=2.0) is None
    # With webhooks: a job far past its prediction with no delivery is likely
    # lost, more so the more deliveries are being lost.
    late = planner.expected_done(jobs[:1], 300.0, 0.1)
    assert late > planner.expected_done(jobs[:1], 300.0, 0.01) > 0.0


async def test_learned_timing_skips_polls_while_the_render_is_young(
    voice_id: str,
) -> None:
    """With a model that knows renders take ~0.4 s, none is asked about early."""
    policy = hg.PollPolicy(interval_initial=0.01, interval_max=0.02, jitter=0.0)
    async with (
        FakeHeyGen(render_seconds=0.4) as fake,
        strict_client(fake, poll=policy) as client,
    ):
        scheduler = Scheduler(client, poll=policy)
        for _ in range(10):
            scheduler.pacer.model.observe(0.4)
        created = await client.create_video(req(voice_id))
        waiting = asyncio.create_task(scheduler.wait(created.id))
        await asyncio.sleep(0.1)
        assert scheduler.job_polls == 0  # the plain cadence had made 5
        video = await waiting
        assert video.status is hg.VideoStatus.COMPLETED
        await scheduler.aclose()


async def test_without_signal_the_plain_cadence_decides(voice_id: str) -> None:
    """A model with no signal leaves today's cadence: the first poll at once."""
    policy = hg.PollPolicy(interval_initial=0.01, interval_max=0.02, jitter=0.0)
    async with (
        FakeHeyGen(render_seconds=0.2) as fake,
        strict_client(fake, poll=policy) as client,
    ):
        scheduler = Scheduler(client, poll=policy)
        for seconds in (0.01, 50.0, 0.2, 900.0, 3.0, 0.05, 400.0, 0.1):
            scheduler.pacer.model.observe(seconds)
        assert scheduler.pacer.model.predict() is None
        created = await client.create_video(req(voice_id))
        watch = scheduler.watch(created.id)
        assert watch.next_poll == pytest.approx(watch.started + 0.01)
        await watch.future
        assert scheduler.job_polls >= 3
        await scheduler.aclose()


async def test_webhook_mode_polls_only_for_an_overdue_delivery(voice_id: str) -> None:
    """
    While deliveries arrive, a lost one is found by the safety net after its
    predicted finish, and nobody is polled before that.
    """
    policy = hg.PollPolicy(interval_initial=0.05, interval_max=0.05, jitter=0.0)
    async with (
        FakeHeyGen(render_seconds=0.3) as fake,
        strict_client(fake, poll=policy) as client,
    ):
        scheduler = Scheduler(client, poll=policy)
        for _ in range(10):
            scheduler.pacer.model.observe(0.3)
        delivered, lost = [await client.create_video(req(voice_id, n)) for n in (1, 2)]
        got = asyncio.create_task(scheduler.wait(delivered.id))
        missing = scheduler.watch(lost.id)
        await asyncio.sleep(0.05)
        video = hg.Video(id=delivered.id, status=hg.VideoStatus.COMPLETED)
        assert scheduler.resolve(video)  # verified: webhooks are flowing now
        assert await got == video
        hg_now = asyncio.get_running_loop().time()
        assert scheduler.pacer.webhooks_flowing(hg_now)
        await asyncio.sleep(0.2)
        assert scheduler.job_polls == 0  # the render may not even be done
        found = await asyncio.wait_for(missing.future, timeout=5)
        assert found.status is hg.VideoStatus.COMPLETED
        assert scheduler.job_polls <= 3
        await scheduler.aclose()


async def test_first_renders_of_a_wave_do_not_teach_the_model_alone(
    voice_id: str,
) -> None:
    """While most watched jobs are unseen, their predictions stay the prior."""
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        scheduler = Scheduler(client, poll=hg.PollPolicy())
        ids = [(await client.create_video(req(voice_id, n))).id for n in range(8)]
        watches = [scheduler.watch(video_id) for video_id in ids]
        for _ in range(3):
            scheduler.pacer.model.observe(20.0)  # the three quickest
        assert scheduler.pacer.predict(watches[0]) is PRIOR
        scheduler.pacer.model.observe(20.0)
        learned = scheduler.pacer.predict(watches[0])
        assert learned is not None
        assert not learned.prior
        await scheduler.aclose()


async def test_close_gives_each_wait_its_own_error(voice_id: str) -> None:
    """Waiters re-raise their own error, so closing stays linear in waits."""
    async with FakeHeyGen(render_seconds=30) as fake, strict_client(fake) as client:
        created = await client.create_video(req(voice_id))
        scheduler = Scheduler(client, poll=hg.PollPolicy())
        one, two = scheduler.watch(created.id), scheduler.watch(created.id)
        await scheduler.aclose()
        assert one.future.exception() is not two.future.exception()


def test_policy_learning_fields_validate() -> None:
    """miss is a probability; target_delay defaults to interval_initial."""
    assert hg.PollPolicy().delay_target == 5.0
    assert hg.PollPolicy(target_delay=2.0).delay_target == 2.0
    assert not hg.PollPolicy.for_testing().learn
    with pytest.raises(ValueError, match="miss"):
        hg.PollPolicy(miss=1.0)
    with pytest.raises(ValueError, match="expected_done"):
        hg.PollPolicy(expected_done=0.0)


class Job:
    """A watched job as the pacer sees it."""

    def __init__(self, policy: hg.PollPolicy, started: float = 0.0) -> None:
        self.policy = policy
        self.features: RenderFeatures | None = None
        self.prediction: Prediction | None = None
        self.version = -1
        self.started = self.polled = started
        self.active = True


FAILED = hg.Video(id="ended", status=hg.VideoStatus.FAILED)


def learned_pacer(seconds: float = 100.0) -> Pacer:
    """A pacer whose model has seen ten renders of *seconds*."""
    pacer = Pacer()
    for _ in range(10):
        pacer.model.observe(seconds)
    return pacer


def test_the_harvest_call_only_when_a_policy_asks_for_it() -> None:
    """expected_done=None (the default) never scans; a number does."""
    pacer = learned_pacer()
    plain = [Job(hg.PollPolicy()) for _ in range(4)]
    for job in plain:
        assert pacer.due(job, 0.0) is not None
    assert pacer.group_due(plain, 0.0, 1_000.0) is None
    eager = [Job(hg.PollPolicy(expected_done=2.0)) for _ in range(4)]
    for job in eager:
        pacer.due(job, 0.0)
    at = pacer.group_due(eager, 0.0, 1_000.0)
    assert at is not None
    assert 50.0 < at < 200.0  # about when two of four 100 s renders are done
    assert pacer.group_due(eager, 0.0, 1_000.0) == at  # cached until a call
    pacer.called(0.0)


def test_the_lost_delivery_call_while_webhooks_flow() -> None:
    """With deliveries flowing, the safety call waits for likely-lost jobs."""
    pacer = learned_pacer()
    pacer.delivered(FAILED, [], 0.0)
    jobs = [Job(hg.PollPolicy.for_webhooks()) for _ in range(3)]
    safety = pacer.due(jobs[0], 1.0)
    assert safety is not None
    assert safety > 150.0  # its delivery is overdue only well past 100 s
    quiet = pacer.group_due(jobs, 1.0, 1_000.0)
    for _ in range(5):
        pacer.found_lost(2.0)  # deliveries are being lost
    pacer.called(0.0)
    eager = pacer.group_due(jobs, 1.0, 1_000.0)
    assert eager is not None
    assert quiet is None or eager < quiet


class SharedPolling(hg.LocalCoordinator):
    """A coordinator whose poll loop serves other processes too."""

    @property
    def shares_polling(self) -> bool:
        return True


def test_a_shared_poller_keeps_the_plain_cadence() -> None:
    """With a coordinator that shares polling, predictions time nothing."""
    pacer = learned_pacer()
    job = Job(hg.PollPolicy())
    assert pacer.due(job, 0.0) is not None
    pacer.enabled = False
    other = Job(hg.PollPolicy())
    assert pacer.predict(other) is None
    assert pacer.due(other, 0.0) is None
    assert not pacer.learned(other)
    local = Scheduler(None, poll=hg.PollPolicy())  # type: ignore[arg-type]
    shared = Scheduler(
        None,  # type: ignore[arg-type]
        poll=hg.PollPolicy(),
        coordinator=SharedPolling(),
    )
    assert local.pacer.enabled
    assert not shared.pacer.enabled


def test_hazard_gap_is_short_where_renders_end() -> None:
    """The wait to a 3 % chance of finishing: long while young, short near the end."""
    prediction = Prediction(math.log(100.0), 0.1)
    young = planner.hazard_gap(prediction, 60.0, risk=0.03)
    ending = planner.hazard_gap(prediction, 100.0, risk=0.03)
    assert young > 20.0
    assert ending < 2.0
    assert planner.hazard_gap(prediction, 1e6, risk=0.03) == math.inf


def test_saved_calls_buy_shorter_gaps_until_spent() -> None:
    """
    Calls not made while the render was young (against one every
    target_delay) shorten the gap near its predicted finish, never below a
    third of target_delay; once they are spent the gap is target_delay again.
    """
    pacer = learned_pacer(100.0)
    job = Job(hg.PollPolicy())  # target_delay 5 s
    pacer.watching(job, 0.0)
    job.polled = 98.0
    short = pacer.due(job, 98.0)
    assert short is not None
    assert 98.0 + 5.0 / 3 - 1e-9 <= short < 98.0 + 5.0
    for _ in range(10):  # at most ten calls are banked; spend them all
        pacer.called(98.0)
    assert pacer.due(job, 98.0) == pytest.approx(103.0)


def test_no_calls_are_saved_while_nothing_is_in_flight() -> None:
    """A plain loop idles with nothing in flight, and waits after each answer."""
    pacer = learned_pacer(100.0)
    job = Job(hg.PollPolicy())
    pacer.watching(job, 0.0)
    pacer.called(0.0)
    pacer.answered(2.0)
    pacer.idle(2.0)  # nothing in flight from here: nothing accrues
    late = Job(hg.PollPolicy(), started=405.0)
    pacer.watching(late, 500.0)
    late.polled = 503.0  # 98 s into a render predicted to take 100 s
    assert pacer.due(late, 503.0) == pytest.approx(508.0)  # under one call saved
    late.polled = 510.0
    due = pacer.due(late, 510.0)
    assert due is not None
    assert due < 515.0  # two calls saved since it was watched


def test_the_prior_safety_net_is_its_median_plus_one_interval() -> None:
    """Webhooks flowing, only the prior known: overdue at its median + interval."""
    pacer = Pacer()
    pacer.delivered(FAILED, [], 0.0)
    job = Job(hg.PollPolicy.for_webhooks(), started=10.0)
    assert pacer.due(job, 11.0) == pytest.approx(10.0 + PRIOR.median + 60.0)
    assert pacer.due(job, 10.0 + PRIOR.median + 61.0) is None  # plain cadence now


def test_learning_asks_for_a_replan_at_milestones() -> None:
    """The first prediction, each doubling, and the end of the prior-only phase."""
    pacer = Pacer()
    jobs = [Job(hg.PollPolicy()) for _ in range(40)]
    for job in jobs[:4]:
        pacer.watching(job, 0.0)
    asked = [pacer.learn(100.0, [jobs[0]]) for _ in range(16)]
    # 1, 2: prior, censored. 2 of 4: the censoring ends. 3: first prediction.
    assert [n + 1 for n, yes in enumerate(asked) if yes] == [2, 3, 8, 16]
    assert not pacer.learn(100.0, [Job(hg.PollPolicy(learn=False))])


async def test_a_sharper_prediction_replans_the_safety_nets(voice_id: str) -> None:
    """
    With webhooks flowing and only the prior known, a silent job is not due
    for minutes; once deliveries teach the model, it is planned again from
    the learned times and its lost delivery is found within seconds.
    """
    policy = hg.PollPolicy(interval_initial=1.0, interval_max=1.0, jitter=0.0)
    async with (
        FakeHeyGen(render_seconds=0.2) as fake,
        strict_client(fake, poll=policy) as client,
    ):
        scheduler = Scheduler(client, poll=policy)
        videos = [await client.create_video(req(voice_id, n)) for n in range(8)]
        watches = [scheduler.watch(v.id) for v in videos]
        lost = watches[-1]
        for n, video in enumerate(videos[:-1]):
            scheduler.resolve(rendered(video.id, 0.2))
            if n == 0:
                assert lost.next_poll > lost.started + 100.0  # the prior's median
        found = await asyncio.wait_for(lost.future, timeout=5)
        assert found.status is hg.VideoStatus.COMPLETED
        await scheduler.aclose()


def test_a_poll_that_finds_a_silent_video_counts_a_lost_delivery() -> None:
    """With webhooks flowing, a video found by polling lost its delivery."""
    pacer = Pacer()
    pacer.delivered(FAILED, [], 0.0)
    video = rendered("v", 90.0)
    replans = [
        pacer.polled_terminal(video, [Job(hg.PollPolicy())], 1.0) for _ in range(3)
    ]
    assert replans == [False, False, True]  # the third render: the first prediction
    assert pacer.model.observations == 3
    calm = Pacer()
    calm.delivered(FAILED, [], 0.0)
    for _ in range(3):
        calm.model.observe(90.0)
    silent, quiet = Job(hg.PollPolicy.for_webhooks()), Job(hg.PollPolicy.for_webhooks())
    pacer.due(silent, 1.0)
    calm.due(quiet, 1.0)
    assert pacer.group_due([silent], 1.0, 1_000.0) is not None  # 3 of 4 were lost
    assert calm.group_due([quiet], 1.0, 1_000.0) is None


def test_no_safety_poll_before_the_plain_cadence_would_poll() -> None:
    """
    Renders far shorter than the policy's first interval: a delivery may
    still be on its way, so neither a job's safety net nor the lost-delivery
    call comes before that first interval.
    """
    pacer = learned_pacer(0.1)
    pacer.delivered(FAILED, [], 0.0)
    for _ in range(20):
        pacer.found_lost(0.0)  # deliveries are being lost
    policy = hg.PollPolicy(interval_initial=0.5, interval_max=0.5)
    jobs = [Job(policy) for _ in range(50)]
    assert pacer.due(jobs[0], 0.01) == pytest.approx(0.5)
    for job in jobs[1:]:
        pacer.due(job, 0.01)
    call = pacer.group_due(jobs, 0.01, 10.0)
    assert call is None or call >= 0.5
