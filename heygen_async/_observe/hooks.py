"""
Event hooks in httpx's style: ``{"request": [...], "response": [...]}``.

A hook is any callable taking one view; it may be a coroutine function. A
hook that raises is logged and skipped, unlike httpx: a response hook must
not be able to lose the id of a video that was just paid for.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from heygen_async import _log

from .views import RequestInfo, ResponseInfo


__all__ = ["EVENTS", "EventHooks", "Hooks", "call_hooks"]

log = _log.http_logger

EVENTS = ("request", "response")

EventHooks = Mapping[str, Sequence[Callable[..., Any]]]
"""What ``Client(event_hooks=...)`` takes: event name to a list of hooks."""


def _hook_list(event: str, hooks: object) -> tuple[Callable[..., Any], ...]:
    if callable(hooks) or isinstance(hooks, str | bytes):
        msg = f"event_hooks[{event!r}] must be a list of callables, not one"
        raise ValueError(msg)
    if not isinstance(hooks, Iterable):
        msg = f"event_hooks[{event!r}] must be a list of callables"
        raise ValueError(msg)
    checked = tuple(hooks)
    for index, hook in enumerate(checked):
        if not callable(hook):
            msg = f"event_hooks[{event!r}][{index}] is not callable: {hook!r}"
            raise ValueError(msg)
    return checked


@attrs.frozen
class Hooks:
    """The client's hooks, checked once at construction."""

    request: tuple[Callable[[RequestInfo], Any], ...] = ()
    response: tuple[Callable[[ResponseInfo], Any], ...] = ()

    @classmethod
    def of(cls, event_hooks: EventHooks | None) -> Hooks:
        """
        Check *event_hooks*.

        Raises:
            ValueError: An unknown event name (all of them named), or a
                value that is not a list of callables.
        """
        if not event_hooks:
            return cls()
        if not isinstance(event_hooks, Mapping):
            msg = (
                "event_hooks must be a dict like {'request': [...], 'response': [...]}"
            )
            raise ValueError(msg)
        unknown = sorted(str(event) for event in event_hooks if event not in EVENTS)
        if unknown:
            msg = (
                f"unknown event_hooks: {', '.join(map(repr, unknown))}; "
                f"the events are {', '.join(map(repr, EVENTS))}"
            )
            raise ValueError(msg)
        return cls(
            request=_hook_list("request", event_hooks.get("request", ())),
            response=_hook_list("response", event_hooks.get("response", ())),
        )

    def __bool__(self) -> bool:
        return bool(self.request or self.response)


async def call_hooks(
    event: str, hooks: Sequence[Callable[[Any], Any]], view: object
) -> None:
    """Call each hook with *view*, awaiting the async ones; log failures."""
    for hook in hooks:
        try:
            result = hook(view)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.warning(
                "heygen.event_hook_failed event=%s hook=%s",
                event,
                getattr(hook, "__qualname__", type(hook).__qualname__),
                exc_info=True,
            )
