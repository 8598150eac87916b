"""
Scripted misbehaviour: the failures a real HeyGen deployment produces.

A :class:`Fault` describes one kind of trouble (a 5xx, a gateway HTML page, a
dropped connection, a slow answer, a truncated body, a 429) and when it
strikes (the n-th matching request, or at random with the fake's seeded RNG).
Faults let every retry and recovery path of a client be tested
deterministically, without sleeping or patching.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from typing import ClassVar, Literal

import attrs
from aiohttp import web

from ._wire import default_code, error_response, format_seconds, reason


FaultKind = Literal["error", "html", "drop", "slow", "malformed", "rate_limit"]
FaultPhase = Literal["before", "after"]

FAULT_KINDS: tuple[str, ...] = (
    "error",
    "html",
    "drop",
    "slow",
    "malformed",
    "rate_limit",
)
MALFORMED_BODY = b'{"data": {"video_id": '
_METHODS = ("GET", "POST", "DELETE", "PUT", "PATCH", "HEAD")
_ROUTE = re.compile(rf"^({'|'.join(_METHODS)}) /\S*$")
FAULT_SPEC = "KIND:ROUTE:PROBABILITY[:PHASE][:OPTION=VALUE...]"
_SPEC_OPTIONS = ("nth", "status", "code", "delay", "retry_after")


def _check_route(
    _inst: object, _attr: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and not _ROUTE.match(value):
        msg = f"route must look like 'POST /v3/videos'; got {value!r}"
        raise ValueError(msg)


def _check_nth(
    _inst: object, _attr: attrs.Attribute[tuple[int, ...]], value: tuple[object, ...]
) -> None:
    if any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in value):
        msg = f"nth holds 1-based request counts; got {value!r}"
        raise ValueError(msg)


def _to_tuple(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Fault:
    """
    One scripted failure of the fake server.

    Attributes:
        kind: ``error`` (JSON error envelope with *status*), ``html`` (a
            gateway HTML page with *status*), ``drop`` (close the connection
            without answering), ``slow`` (wait *delay* seconds), ``malformed``
            (200 with a truncated JSON body) or ``rate_limit`` (429 with
            ``Retry-After``).
        route: The route it applies to, as ``"METHOD /canonical/path"``
            (``"GET /v3/videos/{video_id}"``); ``None`` means every ``/v3``
            route.
        nth: Which matching requests it strikes, 1-based and counted from the
            moment the fault is armed: ``(3,)`` is the third, ``(1, 2, 3)`` a
            burst.
        probability: Chance of striking each matching request (drawn from the
            fake's seeded RNG); used when *nth* is empty.
        status: HTTP status for ``error`` and ``html``.
        code: Error code for ``error``/``rate_limit``; by default derived
            from *status* (``internal_error`` for most 5xx).
        delay: Seconds a ``slow`` fault waits.
        retry_after: ``Retry-After`` of a ``rate_limit`` fault; defaults to
            the fake's ``retry_after``.
        phase: ``"before"``: the fault replaces the handler, nothing happens
            server-side. ``"after"``: the handler runs (a job is created, an
            idempotent response stored), then the fault replaces the answer.
            A ``slow`` fault in the ``after`` phase waits after the work is
            done but before an idempotent response is stored, which is how a
            retry can meet ``409 request_in_progress``.

    Note that aiohttp's client silently retries a GET once when the server
    drops the connection; to make a dropped GET visible, drop two in a row
    (``nth=(1, 2)``).

    :attr:`SPEC` is the text form :meth:`parse` reads and :attr:`KINDS`
    every *kind*, for help texts (the ``fake-server --fault`` option's).
    """

    SPEC: ClassVar[str] = FAULT_SPEC
    KINDS: ClassVar[tuple[str, ...]] = FAULT_KINDS

    kind: FaultKind = attrs.field(validator=attrs.validators.in_(FAULT_KINDS))
    route: str | None = attrs.field(default=None, validator=_check_route)
    nth: tuple[int, ...] = attrs.field(
        default=(), converter=_to_tuple, validator=_check_nth
    )
    probability: float = attrs.field(
        default=0.0, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)]
    )
    status: int = attrs.field(
        default=503, validator=[attrs.validators.ge(400), attrs.validators.le(599)]
    )
    code: str | None = None
    delay: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    retry_after: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(0.0))
    )
    phase: FaultPhase = attrs.field(
        default="before", validator=attrs.validators.in_(("before", "after"))
    )

    def __attrs_post_init__(self) -> None:
        if not self.nth and self.probability == 0:
            msg = "this Fault never strikes: give nth=(...) or probability > 0"
            raise ValueError(msg)

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """
        A fault from its command-line form, :data:`FAULT_SPEC`.

        ROUTE is ``*`` (every ``/v3`` route), ``POST:/v3/videos`` or
        ``"POST /v3/videos"``. PHASE is ``before`` (default) or ``after``.
        Options: ``nth=1,2,3`` (strike those requests; then PROBABILITY may be
        0), ``status=502``, ``code=...``, ``delay=SECONDS``,
        ``retry_after=SECONDS``. Examples::

            error:POST:/v3/videos:0.1:status=500
            malformed:POST:/v3/videos:0.05:after
            rate_limit:GET:/v3/videos/statuses:0:nth=5,6,7:retry_after=0.2
            slow:*:0.1:delay=0.5

        Raises:
            ValueError: The spec is malformed, naming the part at fault.
        """
        kind, sep, rest = spec.strip().partition(":")
        if not sep:
            msg = f"fault {spec!r}: expected {FAULT_SPEC}"
            raise ValueError(msg)
        route, parts = _split_route(spec, rest)
        if not parts:
            msg = f"fault {spec!r}: PROBABILITY is missing (expected {FAULT_SPEC})"
            raise ValueError(msg)
        fields: dict[str, object] = {
            "kind": kind.strip().lower(),
            "route": route,
            "probability": _number(spec, "PROBABILITY", parts[0]),
        }
        for option in parts[1:]:
            if option.strip().lower() in ("before", "after"):
                fields["phase"] = option.strip().lower()
                continue
            name, value = _option(spec, option)
            fields[name] = value
        if fields["kind"] not in FAULT_KINDS:
            msg = f"fault {spec!r}: KIND must be one of {', '.join(FAULT_KINDS)}"
            raise ValueError(msg)
        try:
            return cls(**fields)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            msg = f"fault {spec!r}: {exc}"
            raise ValueError(msg) from None

    def applies_to(self, route: str) -> bool:
        """Whether requests to *route* count toward this fault."""
        return self.route is None or self.route == route

    def response(self, *, retry_after: float) -> web.Response | None:
        """What the client gets instead of the real answer (``None``: nothing)."""
        if self.kind == "drop" or self.kind == "slow":
            return None
        if self.kind == "html":
            title = f"{self.status} {reason(self.status)}"
            page = f"<html><body><h1>{title}</h1></body></html>"
            return web.Response(status=self.status, text=page, content_type="text/html")
        if self.kind == "malformed":
            return web.Response(
                status=200, body=MALFORMED_BODY, content_type="application/json"
            )
        if self.kind == "rate_limit":
            wait = self.retry_after if self.retry_after is not None else retry_after
            return error_response(
                429,
                self.code or "rate_limit_exceeded",
                "Rate limit exceeded. Please retry after the time in Retry-After.",
                headers={"Retry-After": format_seconds(wait)},
            )
        return error_response(
            self.status,
            self.code or default_code(self.status),
            f"{reason(self.status)} (fault injected by FakeHeyGen).",
        )


def _split_route(spec: str, rest: str) -> tuple[str | None, list[str]]:
    """The route at the start of *rest* (``*``, ``M:/p`` or ``M /p``) and the rest."""
    parts = rest.split(":")
    first = parts[0].strip()
    if first == "*":
        return None, parts[1:]
    method, _, path = first.partition(" ")
    if path.strip().startswith("/") and method.upper() in _METHODS:
        return f"{method.upper()} {path.strip()}", parts[1:]
    if first.upper() in _METHODS and len(parts) > 1 and parts[1].startswith("/"):
        return f"{first.upper()} {parts[1].strip()}", parts[2:]
    msg = (
        f"fault {spec!r}: ROUTE must be '*', 'POST:/v3/videos' or "
        f"'POST /v3/videos'; got {first!r}"
    )
    raise ValueError(msg)


def _number(spec: str, name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        msg = f"fault {spec!r}: {name} must be a number; got {text!r}"
        raise ValueError(msg) from None


def _option(spec: str, text: str) -> tuple[str, object]:
    """One ``name=value`` option of a fault spec, converted."""
    name, sep, value = (part.strip() for part in text.partition("="))
    name = name.lower().replace("-", "_")
    if not sep or name not in _SPEC_OPTIONS:
        msg = (
            f"fault {spec!r}: unknown part {text!r}; expected before, after or "
            f"one of {', '.join(o + '=' for o in _SPEC_OPTIONS)}"
        )
        raise ValueError(msg)
    if name == "code":
        return name, value
    if name == "nth" or name == "status":
        try:
            numbers = tuple(int(n) for n in value.split(","))
        except ValueError:
            msg = f"fault {spec!r}: {name} takes whole numbers; got {value!r}"
            raise ValueError(msg) from None
        return name, numbers if name == "nth" else numbers[0]
    return name, _number(spec, name, value)


@attrs.define
class _Armed:
    fault: Fault
    seen: int = 0


class FaultBook:
    """The armed faults of one fake and how many requests each has seen."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._armed: list[_Armed] = []
        self.injected = 0

    def add(self, fault: Fault) -> None:
        """Arm *fault*; its ``nth`` counts start now."""
        self._armed.append(_Armed(fault))

    def pick(self, route: str) -> Fault | None:
        """
        The fault that strikes this request to *route*, if any.

        Every matching fault counts the request; the first one that strikes
        wins.
        """
        chosen: Fault | None = None
        for armed in self._armed:
            fault = armed.fault
            if not fault.applies_to(route):
                continue
            armed.seen += 1
            if chosen is not None:
                continue
            if fault.nth:
                strikes = armed.seen in fault.nth
            else:
                strikes = self._rng.random() < fault.probability
            if strikes:
                chosen = fault
        if chosen is not None:
            self.injected += 1
        return chosen
