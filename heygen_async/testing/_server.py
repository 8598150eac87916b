"""
``FakeHeyGen``: a real HTTP server on loopback that speaks HeyGen's v3 API.

Tests, examples, the demo and the benchmarks all point an SDK client at it
over real sockets, so what they exercise is the client's actual HTTP code:
envelopes, status vocabularies, errors, ``Retry-After``, the concurrency cap,
idempotency, expiring media URLs and scripted faults. Everything is
deterministic for a given ``seed`` and nothing sleeps except where a test asks
for time to pass.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import attrs
from aiohttp import web
from aiohttp.typedefs import Handler

from heygen_async import _log

from ._config import BillingType, FakeConfig, JobPlanner, RenderSeconds
from ._conformance import INTENTIONAL_FAULTS, VIOLATION_CODE, violation_message
from ._faults import Fault
from ._library_routes import LibraryRoutes
from ._runtime import CURRENT, RequestState, Runtime
from ._state import FakeVideo
from ._stats import FakeStats
from ._video_routes import VideoRoutes
from ._webhook_routes import WebhookRoutes
from ._wire import ApiError, default_code, error_response, rate_limited


log = _log.testing_logger

_P = ParamSpec("_P")
_T = TypeVar("_T")

MAX_REQUEST_BYTES = 64 * 1024 * 1024
ROUTES: frozenset[str] = frozenset(
    f"{method} {path}"
    for method, path, _ in VideoRoutes.ROUTES
    + LibraryRoutes.ROUTES
    + WebhookRoutes.ROUTES
    if path.startswith("/v3/")
)


def _check_fault(fault: Fault) -> Fault:
    if fault.route is not None and fault.route not in ROUTES:
        known = ", ".join(sorted(ROUTES))
        msg = f"Fault.route {fault.route!r} is not a FakeHeyGen route; known: {known}"
        raise ValueError(msg)
    return fault


def route_key(request: web.Request) -> str:
    """``"METHOD /canonical/path"`` of the matched route, or ``<unmatched>``."""
    resource = request.match_info.route.resource
    path = "<unmatched>" if resource is None else resource.canonical
    return f"{request.method} {path}"


def _parameters_of(
    make: Callable[_P, object],
) -> Callable[[Callable[..., None]], Callable[Concatenate[Any, _P], None]]:
    """Give the decorated ``__init__`` the keyword parameters of *make*."""

    def wrap(init: Callable[..., None]) -> Callable[Concatenate[Any, _P], None]:
        signature = inspect.signature(make)
        self_ = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        params = [self_, *signature.parameters.values()]
        init.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return init

    return wrap


class _Knob(Generic[_T]):
    """A :class:`FakeConfig` knob as an attribute; setting it re-validates."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, fake: None, owner: type) -> _Knob[_T]: ...

    @overload
    def __get__(self, fake: FakeHeyGen, owner: type) -> _T: ...

    def __get__(self, fake: FakeHeyGen | None, owner: type) -> _Knob[_T] | _T:
        if fake is None:
            return self
        value: _T = getattr(fake._runtime.config, self.name)
        return value

    def __set__(self, fake: FakeHeyGen, value: _T) -> None:
        fake._runtime.reconfigure(**{self.name: value})


class FakeHeyGen:
    """
    A local, faithful HeyGen v3 server for tests, demos and benchmarks.

    Start it with ``async with FakeHeyGen() as fake:`` (or :meth:`start` and
    :meth:`aclose`) and point a client at :attr:`url` with :attr:`api_key`.

    A video renders for *render_seconds* (a number, a ``(low, high)`` range
    drawn per job, or a callable given the RNG): ``pending`` for the first
    20 % of that time, then *in_progress_status*, then ``completed`` or, for a
    *failure_rate* share of jobs, ``failed`` (a *silent_failure_rate* share of
    failures carry no reason at all, as on the real API). *job_plan* scripts
    each job exactly instead.

    Limits behave like HeyGen's: *concurrency_limit* unfinished jobs per
    account (429 ``rate_limit_exceeded`` with ``Retry-After`` beyond it),
    an optional *requests_per_second* token bucket, *credits* (1 per video,
    402 ``insufficient_credit`` at zero). Presigned media URLs stop working
    *url_ttl* seconds after they are minted. A photo avatar trains for
    *avatar_training_seconds*; one named ``"fail"`` fails training, and one
    named ``"needs-consent"`` stays ``pending_consent`` until
    ``POST /v3/avatars/{group_id}/consent``.

    ``GET /v3/users/me`` describes a *billing_type* account (``wallet``,
    ``subscription`` or ``usage_based``) whose balance is *credits*; a
    wallet has auto-reload on when *wallet_auto_reload* is set.

    Webhooks: endpoints registered through ``/v3/webhooks/endpoints`` (and a
    video's own ``callback_url``) receive ``avatar_video.success`` /
    ``avatar_video.fail`` when a job ends, signed with the endpoint's
    ``whsec_`` secret. A receiver that fails is retried *webhook_attempts*
    times, *webhook_retry_base* seconds apart and doubling, each attempt
    timing out after *webhook_timeout*. *webhook_delay* makes every delivery
    late by that many seconds; *webhook_duplicate_rate* and
    *webhook_drop_rate* send a share of them twice or never (seeded).
    *webhook_scheme* signs them with ``Heygen-Signature`` (``"heygen"``) or
    as Standard Webhooks (``"standard"``).

    *check_responses* validates every ``/v3`` answer against HeyGen's
    official schemas before it is sent (``None``: on when the environment
    variable ``HEYGEN_FAKE_CHECK_RESPONSES=1``); a violation is answered as
    a 500 ``fake_contract_violation`` and kept in :attr:`contract_violations`.
    It needs ``jsonschema`` (the ``dev`` extra).

    Every keyword argument is also an attribute; setting one (say
    ``fake.job_plan``) is validated like the constructor and applies to what
    follows.

    Attributes:
        credits: Remaining credits (``None``: unlimited); decreases as videos
            are created.
        faults: Faults armed so far (see :meth:`add_fault`).
        port: The bound port once started.
    """

    __slots__ = ("__weakref__", "_closed", "_runner", "_runtime")

    api_key: _Knob[str] = _Knob()
    host: _Knob[str] = _Knob()
    render_seconds: _Knob[RenderSeconds] = _Knob()
    failure_rate: _Knob[float] = _Knob()
    silent_failure_rate: _Knob[float] = _Knob()
    concurrency_limit: _Knob[int | None] = _Knob()
    requests_per_second: _Knob[float | None] = _Knob()
    retry_after: _Knob[float] = _Knob()
    url_ttl: _Knob[float] = _Knob()
    avatar_training_seconds: _Knob[float] = _Knob()
    billing_type: _Knob[BillingType] = _Knob()
    wallet_auto_reload: _Knob[bool] = _Knob()
    bulk_statuses: _Knob[bool] = _Knob()
    in_progress_status: _Knob[str] = _Knob()
    job_plan: _Knob[JobPlanner | None] = _Knob()
    seed: _Knob[int] = _Knob()
    webhook_attempts: _Knob[int] = _Knob()
    webhook_retry_base: _Knob[float] = _Knob()
    webhook_timeout: _Knob[float] = _Knob()
    webhook_delay: _Knob[float] = _Knob()
    webhook_duplicate_rate: _Knob[float] = _Knob()
    webhook_drop_rate: _Knob[float] = _Knob()
    webhook_scheme: _Knob[str] = _Knob()
    check_responses: _Knob[bool] = _Knob()
    # port, credits and faults are properties: they change as the fake runs.

    @_parameters_of(FakeConfig)
    def __init__(self, **knobs: Any) -> None:
        unknown = sorted(knobs.keys() - attrs.fields_dict(FakeConfig).keys())
        if unknown:
            msg = f"FakeHeyGen() got an unexpected keyword argument {unknown[0]!r}"
            raise TypeError(msg)
        config = FakeConfig(**knobs)
        self._runtime = Runtime(config)
        self._runner: web.AppRunner | None = None
        self._closed = False
        for fault in config.faults:
            self._runtime.arm(_check_fault(fault))

    def __repr__(self) -> str:
        rt = self._runtime
        now = attrs.evolve(rt.config, credits=rt.credits, faults=rt.armed)
        return repr(now).replace("FakeConfig", "FakeHeyGen", 1)

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve; a second call does nothing."""
        if self._closed:
            msg = "FakeHeyGen cannot be restarted once closed; create a new one."
            raise RuntimeError(msg)
        if self._runner is not None:
            return
        app = web.Application(
            middlewares=[self._middleware], client_max_size=MAX_REQUEST_BYTES
        )
        VideoRoutes(self._runtime).register(app)
        LibraryRoutes(self._runtime).register(app)
        WebhookRoutes(self._runtime).register(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._runtime.reconfigure(port=runner.addresses[0][1])
        self._runtime.bind(asyncio.get_running_loop(), self.url)
        log.debug("heygen.fake.started url=%s", self.url)

    async def aclose(self) -> None:
        """Stop serving; safe to call more than once."""
        self._closed = True
        await self._runtime.webhooks.aclose()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeHeyGen:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- what tests read and change --------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self._runner is None and self.port == 0:
            msg = "FakeHeyGen has no port yet: await start() first."
            raise RuntimeError(msg)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The same as :attr:`url`."""
        return self.url

    @property
    def port(self) -> int:
        """The port asked for, and the bound port once started."""
        return self._runtime.config.port

    @port.setter
    def port(self, port: int) -> None:
        self._runtime.reconfigure(port=port)

    @property
    def credits(self) -> int | None:
        """Remaining credits (``None``: unlimited); decreases as videos are created."""
        return self._runtime.credits

    @credits.setter
    def credits(self, credits: int | None) -> None:
        self._runtime.credits = credits

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The faults armed so far: the constructor's, then :meth:`add_fault`'s."""
        return self._runtime.armed

    @property
    def stats(self) -> FakeStats:
        """A snapshot of what the server has seen."""
        return self._runtime.stats()

    @property
    def videos(self) -> Mapping[str, FakeVideo]:
        """Live read-only view of the videos created (and not deleted), by id."""
        return self._runtime.videos.view

    @property
    def contract_violations(self) -> tuple[str, ...]:
        """
        Every way an answer broke HeyGen's schema (with checking on).

        Each was answered as a 500 ``fake_contract_violation`` instead.
        """
        return self._runtime.contract_violations

    def add_fault(self, fault: Fault) -> None:
        """Arm *fault* now; its ``nth`` counts requests from this moment."""
        self._runtime.arm(_check_fault(fault))

    def set_credits(self, credits: int | None) -> None:
        """Set the remaining credits (``None``: unlimited); validated like the field."""
        self.credits = credits

    # -- request pipeline --------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        rt = self._runtime
        route = route_key(request)
        tracked = not request.path.startswith("/_fake/")
        if tracked:
            rt.recorder.requests[route] += 1
        state = RequestState()
        CURRENT.set(state)
        response = await self._respond(request, handler, route, state)
        if response is None:  # drop: close the socket without answering
            if request.transport is not None:  # pragma: no branch
                request.transport.close()
            return web.Response(status=499)  # never written: the connection is gone
        if tracked and rt.checker is not None:
            response = self._conform(request, state, response)
        response.headers["X-Request-Id"] = rt.ids.request_id()
        if tracked:
            rt.recorder.responses[route][response.status] += 1
        return response

    def _conform(
        self, request: web.Request, state: RequestState, response: web.StreamResponse
    ) -> web.StreamResponse:
        """The answer, or a 500 saying how it breaks HeyGen's schema."""
        checker = self._runtime.checker
        deliberate = state.fault is not None and state.fault.kind in INTENTIONAL_FAULTS
        if checker is None or deliberate or not request.path.startswith("/v3/"):
            return response
        # Every /v3 answer is one JSON body; anything else (a stream) fails.
        body = response.body if isinstance(response, web.Response) else None
        problems = checker.check(
            request.method,
            request.path,
            response.status,
            response.content_type,
            body if isinstance(body, bytes) else b"",
        )
        if not problems:
            return response
        return error_response(500, VIOLATION_CODE, violation_message(problems))

    async def _respond(
        self, request: web.Request, handler: Handler, route: str, state: RequestState
    ) -> web.StreamResponse | None:
        if not request.path.startswith("/v3/"):
            return await self._call(handler, request)
        rt = self._runtime
        fault = state.fault = rt.faults.pick(route)
        if fault is not None and fault.phase == "before":
            if fault.kind != "slow":
                return fault.response(retry_after=rt.config.retry_after)
            await asyncio.sleep(fault.delay)
        if rt.bucket is not None and not rt.bucket.take(rt.now()):
            msg = "Too many requests. Retry after the time in Retry-After."
            return rate_limited(rt.config.retry_after, msg).to_response()
        if not self._authorized(request):
            return error_response(401, "unauthorized", "Invalid or missing API key.")
        response = await self._call(handler, request)
        if fault is not None and fault.phase == "after":
            await rt.slow_after()
            if fault.kind != "slow":
                return fault.response(retry_after=rt.config.retry_after)
        return response

    async def _call(self, handler: Handler, request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.to_response()
        except web.HTTPException as exc:
            return error_response(
                exc.status, default_code(exc.status), f"{exc.reason}."
            )
        except Exception:
            log.exception("heygen.fake.handler_error path=%s", request.path)
            return error_response(500, "internal_error", "Internal server error.")

    def _authorized(self, request: web.Request) -> bool:
        key = request.headers.get("x-api-key")
        if key is None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
        return hmac.compare_digest(key.encode(), self.api_key.encode())


def _attributes_cover_config() -> None:
    """Fail at import when a :class:`FakeConfig` field has no attribute here."""
    knobs = {
        name for name, value in vars(FakeHeyGen).items() if isinstance(value, _Knob)
    }
    stateful = {"port", "credits", "faults"}  # properties over runtime state
    missing = attrs.fields_dict(FakeConfig).keys() - knobs - stateful
    if missing:  # pragma: no cover - a mistake while adding a knob
        msg = f"FakeConfig fields without a FakeHeyGen attribute: {sorted(missing)}"
        raise TypeError(msg)


_attributes_cover_config()
