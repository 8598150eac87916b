"""
The public API as a user writes it: type-checked by mypy in CI, never run.

If a public name, signature or return type changes by accident, this file
stops type-checking.
"""

from __future__ import annotations

from pathlib import Path

import attrs

import heygen_async as hg
from heygen_async import webhooks
from heygen_async.testing import FakeHeyGen, Fault, JobPlan


async def single(client: hg.Client, voice_id: str) -> str | None:
    """Upload, create, wait."""
    asset: hg.Asset = await client.upload_asset(Path("me.jpg"))
    request = hg.VideoRequest(
        image_asset_id=asset.id,
        script="Hi!",
        voice_id=voice_id,
        resolution="1080p",
        aspect_ratio="16:9",
        voice_settings=hg.VoiceSettings(speed=1.1),
        background=hg.Background(color="#ffffff"),
    )
    created: hg.CreatedVideo = await client.create_video(request)
    try:
        video: hg.Video = await client.wait_for_video(created.id, deadline=600)
    except hg.VideoFailedError as error:
        return error.video.failure_message
    except hg.WaitTimeoutError as error:
        last: hg.VideoStatus | None = error.last_status
        return f"{error.video_id} still {last}"
    return video.video_url


async def many(client: hg.Client, photos: list[Path], voice_id: str) -> int:
    """A resumable batch, outcomes matched by type."""
    done = 0
    store: hg.JobStore = hg.SQLiteStore("run.sqlite")
    poll = attrs.evolve(hg.PollPolicy(), deadline=900.0)
    learned: float = hg.PollPolicy(learn=True, target_delay=4.0, miss=0.02).delay_target
    assert learned > 0
    async with client.batch(max_in_flight=10, poll=poll, store=store) as batch:
        handles: list[hg.JobHandle] = [
            batch.submit(
                hg.VideoRequest(image_path=p, script="Hi", voice_id=voice_id),
                tag=str(p),
            )
            for p in photos
        ]
        async for outcome in batch.as_completed():
            match outcome:
                case hg.Completed(video=video):
                    done += video.video_url is not None
                case hg.Failed(error=error, video=failed):
                    _ = (error, failed)
                case hg.TimedOut(video_id=video_id):
                    _ = video_id
        stats: hg.BatchStats = batch.stats()
        first: hg.Outcome = await handles[0]
        _ = (stats.requests, first)
    return done


async def webhook(client: hg.Client, body: bytes, headers: dict[str, str]) -> bool:
    """Verify a delivery and feed it to the poll loop."""
    endpoint = await client.create_webhook_endpoint("https://example.com/hook")
    secret = endpoint.secret or ""
    try:
        event = webhooks.verify(body, headers, [secret, "whsec_old"], scheme=None)
    except hg.InvalidSignatureError:
        return False
    scheme: webhooks.EventScheme = event.scheme
    match event:
        case webhooks.BatchFinished(batch_id=batch_id, video_ids=video_ids):
            _ = (batch_id, video_ids, scheme)
        case _:
            pass
    return client.feed_webhook(event)


async def testing_kit() -> int:
    """The fake server as a user's tests drive it."""
    faults = [Fault(kind="error", status=503, route="POST /v3/videos", nth=(1,))]
    plan = JobPlan(render_seconds=0.1, fail=False)
    async with FakeHeyGen(
        render_seconds=(0.05, 0.2), faults=faults, job_plan=lambda _i, _b: plan
    ) as fake:
        async with hg.Client(
            api_key=fake.api_key,
            base_url=fake.url,
            retry=hg.RetryPolicy(attempts=2),
            poll=hg.PollPolicy.for_testing(),
        ) as client:
            await client.render(
                hg.VideoRequest(
                    image_url="https://e.com/a.jpg", audio_url="https://e.com/a.mp3"
                )
            )
        return fake.stats.jobs_created


async def account_and_avatars(client: hg.Client, video_ids: list[str]) -> str:
    """Typed account billing, bulk status errors and photo-avatar training."""
    me: hg.Account = await client.get_me()
    reload: hg.AutoReload | None = me.wallet.auto_reload if me.wallet else None
    plan: str | None = me.subscription.plan if me.subscription else None
    cap: float | None = me.usage_based.spending_cap_usd if me.usage_based else None
    _ = (reload, plan, cap)
    for item in await client.get_statuses(video_ids):
        error: hg.StatusError | None = item.error
        if item.id is not None and error is not None:
            return f"{item.id}: {error.code} {error.message}"
    avatar = await client.create_photo_avatar(
        name="me", image_url="https://e.com/a.jpg"
    )
    if avatar.look is None:
        return avatar.group.id if avatar.group else "no avatar"
    try:
        look: hg.AvatarLook = await client.wait_for_avatar(avatar.look.id)
    except hg.AvatarConsentRequiredError as needs:
        return f"consent for group {needs.group_id} (look {needs.look_id})"
    except hg.AvatarFailedError as failed:
        reason: hg.AvatarError | None = failed.look.error
        return f"{failed.code}: {reason.message if reason else None}"
    except hg.ResponseValidationError as drift:
        return f"{drift.route} {drift.fields} {drift.request_id}"
    return look.id


async def several_processes(redis_url: str, voice_id: str) -> str | None:
    """One account, several processes: a shared coordinator and webhooks."""
    coordinator = hg.RedisCoordinator(
        redis_url, namespace="acme-prod", account_concurrency=10
    )
    local: hg.Coordinator = hg.LocalCoordinator()
    assert local.to_poll(["v1"]) == ["v1"]
    async with hg.Client(coordinator=coordinator) as client:
        try:
            video: hg.Video = await client.render(
                hg.VideoRequest(
                    image_url="https://x/y.jpg", script="Hi", voice_id=voice_id
                )
            )
        except hg.CoordinatorUnavailableError as error:
            return f"redis away for {error.seconds:.1f} s"
        event = webhooks.parse(b"{}")
        waiting: bool = await client.deliver_webhook(event)
        assert isinstance(waiting, bool)
        return video.video_url


def batch_options(client: hg.Client) -> hg.Batch:
    """The batch options, stated once and forwarded typed; the renamed retry limit."""
    options: hg.BatchOptions = {"max_in_flight": 5, "deadline": 60.0}
    retry = hg.RetryPolicy(give_up_after=30.0, retry_on_rate_limit=False)
    limit: float | None = retry.give_up_after
    assert limit == 30.0
    return client.batch(**options)


async def campaign(client: hg.Client, rows: list[str], voice_id: str) -> int:
    """One shard at a time of a campaign shared by every machine (redis extra)."""
    done = 0
    shards = hg.claim_shards("redis://r:6379/0", "spring", 64, fingerprint="v1")
    async for shard, store in shards:
        journal: hg.JobStore = store
        async with client.batch(store=journal) as batch:
            for url in rows:
                batch.submit(
                    hg.VideoRequest(image_url=url, script="Hi", voice_id=voice_id),
                    tag=f"{shard}:{url}",
                )
        done += shard >= 0
    pinned = hg.RedisStore("redis://r", "j", run_id="spring/1", lease=10.0, wait=True)
    _ = pinned.journal
    by_shard: dict[int, list[hg.JobRecord]] = await hg.campaign_records(
        "redis://r:6379/0", "spring"
    )
    return done + len(by_shard)


async def cost(client: hg.Client, requests: list[hg.VideoRequest]) -> float:
    """Estimate, compare with the balance, cap a batch."""
    pricing = hg.Pricing(words_per_minute=160, credits_per_second=0.2)
    found: hg.Estimate = client.estimate(
        requests, pricing=pricing, audio={"asset_1": 12.0, "asset_2": Path("a.wav")}
    )
    job: hg.JobEstimate = found.jobs[0]
    balance: hg.Balance | None = hg.balance_of(await client.get_me())
    seconds: float | None = hg.audio_seconds(Path("a.wav"))
    async with client.batch(max_credits=found.credits, pricing=pricing) as batch:
        for request in requests:
            batch.submit(request)
        async for outcome in batch.as_completed():
            if isinstance(outcome, hg.Failed) and isinstance(
                outcome.error, hg.CreditLimitError
            ):
                return outcome.error.spent
    _ = (job.basis, balance, seconds)
    return found.cost("usd")


def preflight(photo: Path) -> str:
    """Check a file before a batch uploads it; the fault spec for help texts."""
    kinds: tuple[str, ...] = Fault.KINDS
    _ = (Fault.SPEC, kinds)
    return hg.check_upload(photo, images_only=True)


async def observed(api_key: str) -> list[str]:
    """Event hooks (sync and async) and OpenTelemetry on one client."""
    seen: list[str] = []

    def on_request(request: hg.RequestInfo) -> None:
        seen.append(f"{request.method} {request.route} #{request.attempt}")
        _ = (request.url, request.headers.get("x-api-key"))

    async def on_response(response: hg.ResponseInfo) -> None:
        elapsed: float = response.elapsed
        request_id: str | None = response.request_id
        seen.append(f"{response.status} {request_id} {elapsed:.3f}")
        _ = (response.request.route, response.headers)

    async with hg.Client(
        api_key=api_key,
        event_hooks={"request": [on_request], "response": [on_response]},
        telemetry=hg.OpenTelemetry(tracer_provider=None, meter_provider=None),
    ) as client:
        await client.get_me()
    async with hg.Client(api_key=api_key, telemetry=True) as client:
        await client.get_me()
    return seen
