"""
A bulk poll is never poisoned by one row.

A loopback proxy sits between the client and the fake and rewrites what the
fake answers (a row HeyGen's schema allows but the SDK once could not read,
a row no schema allows, a body that is not a page at all). Whatever the fake
itself sends, every other video must settle at its normal time, the odd one
must cost exactly the single GETs it needs, and the drift must be logged once
per route and field, not once per tick.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import pickle
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import heygen_async as hg
from heygen_async._converter import error_fields, make_converter
from heygen_async.testing import FakeHeyGen, JobPlan
from tests.helpers import FAST_RETRY, loopback_server, req


STATUSES = "GET /v3/videos/statuses"
DETAIL = "GET /v3/videos/{video_id}"
# A poisoned chunk ends at the deadline; a healthy one within a few polls of
# the render's end (the test cadence polls every 20 ms at most).
DEADLINE = 5.0
NORMAL_LAG = 2.0
_SINGLE = re.compile(r"/v3/videos/([^/]+)")

Rewrite = Callable[[Any], Any]
"""Takes the fake's decoded body; returns the body to send (bytes go as is)."""


class Proxy:
    """Forwards every request to the fake; may rewrite bulk and single GETs."""

    def __init__(self, fake: FakeHeyGen, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session
        self.statuses: Rewrite | None = None
        self.video: Rewrite | None = None
        self.bulk_calls = 0
        self.singles: collections.Counter[str] = collections.Counter()
        self.request_ids: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        """Forward *request* and pass the answer back, rewritten if asked."""
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("x-api-key", "idempotency-key", "content-type")
        }
        async with self.session.request(
            request.method,
            self.fake.url + str(request.rel_url),
            headers=headers,
            data=await request.read(),
        ) as answer:
            body = await answer.read()
            status = answer.status
            request_id = answer.headers.get("X-Request-Id", "")
        rewrite = self._rewrite_for(request)
        if rewrite is not None and status == 200:
            new = rewrite(json.loads(body))
            body = new if isinstance(new, bytes) else json.dumps(new).encode()
        self.request_ids.append(request_id)
        return web.Response(
            status=status,
            body=body,
            content_type="application/json",
            headers={"X-Request-Id": request_id},
        )

    def _rewrite_for(self, request: web.Request) -> Rewrite | None:
        if request.method != "GET":
            return None
        if request.path == "/v3/videos/statuses":
            self.bulk_calls += 1
            return self.statuses
        if match := _SINGLE.fullmatch(request.path):
            self.singles[match[1]] += 1
            return self.video
        return None


@asynccontextmanager
async def proxied(fake: FakeHeyGen) -> AsyncIterator[tuple[Proxy, hg.Client]]:
    """A proxy in front of *fake* and a production (lenient) client on it."""
    async with aiohttp.ClientSession() as session:
        proxy = Proxy(fake, session)
        async with loopback_server(proxy.handle) as url:
            client = hg.Client(
                api_key=fake.api_key,
                base_url=url,
                retry=FAST_RETRY,
                poll=hg.PollPolicy.for_testing(deadline=DEADLINE),
            )
            async with client:
                yield proxy, client


def rows_of(body: Any) -> list[dict[str, Any]]:
    """The rows of a bulk status body (as the fake sent them)."""
    rows: list[dict[str, Any]] = body["data"]
    return rows


def corrupt(
    video_id: str, fields: Mapping[str, Any], *, statuses: Iterable[str] = ()
) -> Rewrite:
    """Overwrite *fields* in *video_id*'s row (only in those *statuses*, if given)."""
    only = set(statuses)

    def rewrite(body: Any) -> Any:
        for row in rows_of(body):
            if row.get("video_id") == video_id and (not only or row["status"] in only):
                row.update(fields)
        return body

    return rewrite


def official_errors(body: Any) -> Any:
    """Failed rows carry ``error`` as an object, as HeyGen's schema says."""
    for row in rows_of(body):
        error = row.get("error")
        if row["status"] == "failed" and not isinstance(error, dict):
            row["error"] = {"code": "rendering_failed", "message": error or "failed"}
    return body


async def create(client: hg.Client, voice_id: str, n: int) -> list[str]:
    """Create *n* videos in order and return their ids."""
    return [(await client.create_video(req(voice_id, i))).id for i in range(n)]


async def settle(client: hg.Client, ids: Iterable[str]) -> dict[str, float]:
    """Wait for every video to complete; the loop time each one settled."""
    loop = asyncio.get_running_loop()

    async def one(video_id: str) -> tuple[str, float]:
        video = await client.wait_for_video(video_id)
        assert video.status is hg.VideoStatus.COMPLETED
        return video_id, loop.time()

    return dict(await asyncio.gather(*(one(i) for i in ids)))


def assert_on_time(fake: FakeHeyGen, settled: Mapping[str, float]) -> None:
    """Each video settled soon after its render ended, not at a deadline."""
    lags = {i: at - fake.videos[i].finishes_mono for i, at in settled.items()}
    assert all(0 <= lag < NORMAL_LAG for lag in lags.values()), lags


def drift_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The ``heygen.schema_drift`` records logged so far."""
    return [
        r for r in caplog.records if r.getMessage().startswith("heygen.schema_drift")
    ]


@pytest.fixture(name="caplog_drift")
def _caplog_drift(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="heygen_async")
    return caplog


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"item_index": "first"}, "$.data[].item_index"),
        ({"batch_id": 5}, "$.data[].batch_id"),
        ({"status": {"weird": 1}}, "$.data[].status"),
    ],
)
async def test_one_bad_row_costs_one_single_get(
    voice_id: str,
    caplog_drift: pytest.LogCaptureFixture,
    fields: Mapping[str, Any],
    path: str,
) -> None:
    """99 rows settle at their normal time; the bad one costs one single GET."""
    async with (
        FakeHeyGen(render_seconds=0.1, concurrency_limit=None) as fake,
        proxied(fake) as (proxy, client),
    ):
        ids = await create(client, voice_id, 100)
        proxy.statuses = corrupt(ids[0], fields, statuses=["completed"])
        settled = await settle(client, ids)
    assert_on_time(fake, settled)
    # Every video costs the one GET that fetches its URLs: the bad row's
    # too, instead of stalling the other 99 until their deadline.
    assert proxy.singles == dict.fromkeys(ids, 1)
    [record] = drift_records(caplog_drift)
    assert record.args == (STATUSES, path, record.__dict__["heygen.request_id"])
    assert record.__dict__["heygen.route"] == STATUSES
    assert record.__dict__["heygen.field"] == path
    assert record.__dict__["heygen.request_id"] in proxy.request_ids


async def test_drift_is_logged_once_per_route_and_field(
    voice_id: str, caplog_drift: pytest.LogCaptureFixture
) -> None:
    """A row that stays bad for many ticks logs each (route, field) once."""

    def plan(index: int, _body: Mapping[str, Any]) -> JobPlan:
        return JobPlan(render_seconds=0.4 if index == 0 else 0.05)

    async with (
        FakeHeyGen(job_plan=plan, concurrency_limit=None) as fake,
        proxied(fake) as (proxy, client),
    ):
        ids = await create(client, voice_id, 5)
        bad_status = corrupt(ids[0], {"status": {"weird": 1}})

        def rewrite(body: Any) -> Any:
            body = bad_status(body)
            rows_of(body).append({"video_id": 42, "status": "completed"})
            return body

        proxy.statuses = rewrite
        settled = await settle(client, ids)
    assert_on_time(fake, settled)
    assert proxy.bulk_calls >= 5
    fields = sorted(r.__dict__["heygen.field"] for r in drift_records(caplog_drift))
    assert fields == ["$.data[].status", "$.data[].video_id"]
    assert all(proxy.singles[i] == 1 for i in ids[1:])
    assert proxy.singles[ids[0]] > 1  # asked alone each tick while it rendered


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"<html>502 Bad Gateway</html>", "$"),
        (b"[]", "$"),
        (b'{"data": {"video_id": "v"}}', "$.data"),
        (b'{"items": []}', "$.data"),
    ],
)
async def test_undecodable_bulk_answer_falls_back_to_single_gets(
    voice_id: str, caplog_drift: pytest.LogCaptureFixture, body: bytes, path: str
) -> None:
    """A bulk answer that is not a page sends its chunk to single GETs."""
    async with (
        FakeHeyGen(render_seconds=0.1, concurrency_limit=None) as fake,
        proxied(fake) as (proxy, client),
    ):
        ids = await create(client, voice_id, 5)
        proxy.statuses = lambda _body: body
        settled = await settle(client, ids)
    assert_on_time(fake, settled)
    assert proxy.bulk_calls >= 1
    assert set(proxy.singles) == set(ids)
    [record] = drift_records(caplog_drift)
    assert record.__dict__["heygen.field"] == path


async def test_rows_without_id_or_not_asked_for_are_skipped(
    voice_id: str, caplog_drift: pytest.LogCaptureFixture
) -> None:
    """Batch items not created yet and other videos' rows change nothing."""

    def rewrite(body: Any) -> Any:
        rows_of(body)[:0] = [
            {"video_id": None, "status": "queued", "batch_id": "b_1", "item_index": 0},
            {"video_id": "v_someone_else", "status": "completed"},
        ]
        return body

    async with (
        FakeHeyGen(render_seconds=0.1, concurrency_limit=None) as fake,
        proxied(fake) as (proxy, client),
    ):
        ids = await create(client, voice_id, 3)
        proxy.statuses = rewrite
        items = await client.get_statuses(ids)
        settled = await settle(client, ids)
    assert [item.id for item in items] == ids
    assert_on_time(fake, settled)
    assert proxy.singles == dict.fromkeys(ids, 1)
    assert not drift_records(caplog_drift)


async def test_a_missing_row_is_asked_about_alone(voice_id: str) -> None:
    """A video the bulk answer leaves out is fetched alone after a grace."""

    def drop_first(body: Any) -> Any:
        body["data"] = [row for row in rows_of(body) if row["video_id"] != ids[0]]
        return body

    async with (
        FakeHeyGen(render_seconds=0.1, concurrency_limit=None) as fake,
        proxied(fake) as (proxy, client),
    ):
        ids = await create(client, voice_id, 3)
        proxy.statuses = drop_first
        settled = await settle(client, ids)
    assert_on_time(fake, settled)
    assert proxy.singles[ids[0]] >= 1
    assert all(proxy.singles[i] == 1 for i in ids[1:])


async def test_get_statuses_raises_with_the_rows_that_decoded(voice_id: str) -> None:
    """A direct caller gets a typed error naming route, field and request id."""
    async with (
        FakeHeyGen(render_seconds=30) as fake,
        proxied(fake) as (proxy, client),
    ):
        ids = await create(client, voice_id, 3)
        proxy.statuses = corrupt(ids[1], {"item_index": "second"})
        with pytest.raises(hg.UndecodableRowsError) as info:
            await client.get_statuses(ids)
    error = info.value
    assert isinstance(error, hg.ResponseValidationError)
    assert [item.id for item in error.items] == [ids[0], ids[2]]
    assert error.video_ids == (ids[1],)
    assert error.fields == ("$.data[].item_index",)
    assert error.route == STATUSES
    assert error.request_id == proxy.request_ids[-1]
    for part in (STATUSES, "$.data[].item_index", error.request_id, ids[1]):
        assert part in str(error)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert (copy.video_ids, copy.items, str(copy)) == (
        error.video_ids,
        error.items,
        str(error),
    )


async def test_get_statuses_of_an_unreadable_answer_names_every_id(
    voice_id: str,
) -> None:
    """A body that is not a page leaves every asked id to single GETs."""
    async with (
        FakeHeyGen(render_seconds=30) as fake,
        proxied(fake) as (proxy, client),
    ):
        ids = await create(client, voice_id, 7)
        proxy.statuses = lambda _body: b"not json"
        with pytest.raises(hg.UndecodableRowsError) as info:
            await client.get_statuses(ids)
    assert info.value.items == []
    assert info.value.video_ids == tuple(ids)
    assert info.value.fields == ("$",)
    assert "(7 in all)" in str(info.value)


async def test_undecodable_single_get_never_fails_the_job(
    voice_id: str, caplog_drift: pytest.LogCaptureFixture
) -> None:
    """A video we cannot read is polled until its deadline, never failed."""

    def garble(body: Any) -> Any:
        body["data"]["status"] = {"weird": 1}
        return body

    async with (
        FakeHeyGen(render_seconds=0.02) as fake,
        proxied(fake) as (proxy, client),
    ):
        [video_id] = await create(client, voice_id, 1)
        proxy.video = garble
        with pytest.raises(hg.ResponseValidationError) as direct:
            await client.get_video(video_id)
        request_id = proxy.request_ids[-1]
        with pytest.raises(hg.WaitTimeoutError) as info:
            await client.wait_for_video(video_id, deadline=0.3)
        async with client.batch(poll=hg.PollPolicy.for_testing(deadline=0.3)) as batch:
            batch.submit(req(voice_id, 1))
            [outcome] = [o async for o in batch.as_completed()]
    # A direct caller is told the route, the field and the request id.
    assert (direct.value.route, direct.value.request_id) == (DETAIL, request_id)
    assert all(part in str(direct.value) for part in (DETAIL, "status", request_id))
    assert info.value.last_status is hg.VideoStatus.COMPLETED
    assert proxy.singles[video_id] > 2  # asked again, with backoff
    assert isinstance(outcome, hg.TimedOut)
    assert outcome.last_status is hg.VideoStatus.COMPLETED
    [record] = drift_records(caplog_drift)
    assert record.__dict__["heygen.route"] == DETAIL
    assert record.__dict__["heygen.field"] == "$.data.status"
    assert record.__dict__["heygen.request_id"] in proxy.request_ids


async def test_batch_with_failed_videos_reports_every_other_completed(
    voice_id: str,
) -> None:
    """
    Against a server following the official schema (failed rows carry
    ``error`` objects), every video that did not fail completes on time.
    """
    failing = {2, 7, 11}

    def plan(index: int, _body: Mapping[str, Any]) -> JobPlan:
        return JobPlan(render_seconds=0.05 + 0.01 * index, fail=index in failing)

    async with (
        FakeHeyGen(job_plan=plan, concurrency_limit=None) as fake,
        proxied(fake) as (proxy, client),
    ):
        proxy.statuses = official_errors
        loop = asyncio.get_running_loop()
        settled: dict[str, float] = {}
        async with client.batch(max_in_flight=20) as batch:
            for i in range(20):
                batch.submit(req(voice_id, i), tag=i)
            outcomes = []
            async for outcome in batch.as_completed():
                outcomes.append(outcome)
                if isinstance(outcome, hg.Completed):
                    settled[outcome.video.id] = loop.time()
    failed = [o for o in outcomes if isinstance(o, hg.Failed)]
    completed = [o for o in outcomes if isinstance(o, hg.Completed)]
    assert len(failed) == len(failing)
    assert all(o.video and o.video.status is hg.VideoStatus.FAILED for o in failed)
    assert len(completed) == 20 - len(failing)
    assert_on_time(fake, settled)
    assert {fake.videos[o.video.id].index for o in completed}.isdisjoint(failing)


async def test_get_statuses_pages_no_longer_than_it_must(voice_id: str) -> None:
    """Paging stops once every id is answered, and endless pages are cut."""
    pages = iter(range(1_000))

    def endless(body: Any) -> Any:
        body["data"] = [row for row in rows_of(body) if row["video_id"] != ids[1]]
        body["data"].append("not a row")
        body.update(has_more=True, next_token=f"t{next(pages)}")
        return body

    async with (
        FakeHeyGen(render_seconds=30) as fake,
        proxied(fake) as (proxy, client),
    ):
        ids = await create(client, voice_id, 2)
        proxy.statuses = lambda body: {**body, "has_more": True, "next_token": "t"}
        assert [item.id for item in await client.get_statuses(ids)] == ids
        assert proxy.bulk_calls == 1
        proxy.statuses = endless
        with pytest.raises(hg.UndecodableRowsError) as info:
            await client.get_statuses(ids)
    assert proxy.bulk_calls == 1 + len(ids) + 1
    assert [item.id for item in info.value.items] == [ids[0]]
    assert info.value.video_ids == (ids[1],)
    assert info.value.fields == ("$.data[]", "$.next_token")


def test_error_fields_name_fields_as_heygen_spells_them() -> None:
    """A drift report says ``video_id``, the wire name, not the model's ``id``."""
    converter = make_converter()
    with pytest.raises(hg.ResponseValidationError) as info:
        converter.structure({"video_id": 42, "status": 7}, hg.StatusItem)
    fields = error_fields(info.value, cl=hg.StatusItem, path="$.data[]")
    assert sorted(fields) == ["$.data[].status", "$.data[].video_id"]
    assert error_fields(hg.ResponseValidationError("no cause")) == ["$"]
