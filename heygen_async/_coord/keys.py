"""Names, settings and wire format shared by the Redis coordinator's parts."""

from __future__ import annotations

import json
from typing import Any

from heygen_async._converter import make_record_converter
from heygen_async._models import Video


__all__ = ["Keys", "check_settings", "decode", "encode", "text"]

_RECORDS = make_record_converter()
_CHANNELS = ("settled", "freed", "gate", "poke", "inflight")


class Keys:
    """Every key and channel of one namespace, in one Redis Cluster slot."""

    def __init__(self, namespace: str) -> None:
        self.prefix = f"hg:{{{namespace}}}:"
        for name in ("slots", "limit", "gate", "queue", "queue_exp", "ticket"):
            setattr(self, name, self.prefix + name)
        self.inflight = self.prefix + "inflight"
        self.leader = self.prefix + "leader"
        self.channels = {name: self.prefix + name for name in _CHANNELS}
        self.by_channel = {v: k for k, v in self.channels.items()}

    def result(self, video_id: str) -> str:
        return f"{self.prefix}result:{video_id}"

    def event(self, event_id: str) -> str:
        return f"{self.prefix}event:{event_id}"

    slots: str
    limit: str
    gate: str
    queue: str
    queue_exp: str
    ticket: str


def encode(video: Video) -> str:
    """A terminal video as the JSON stored and published."""
    return json.dumps(_RECORDS.unstructure(video), separators=(",", ":"))


def decode(data: str | bytes) -> Video:
    """The video :func:`encode` wrote."""
    video: Video = _RECORDS.structure(json.loads(data), Video)
    return video


def text(value: str | bytes) -> str:
    """*value* as text (Redis answers bytes)."""
    return value.decode() if isinstance(value, bytes) else value


def check_settings(**settings: Any) -> None:
    """ValueError naming every bad setting, before anything connects."""
    bad = []
    namespace = settings.pop("namespace")
    if not isinstance(namespace, str) or not namespace or "}" in namespace:
        bad.append(f"namespace={namespace!r} (a non-empty string without '}}')")
    count = settings.pop("account_concurrency")
    if not isinstance(count, int) or count < 1:
        bad.append(f"account_concurrency={count!r} (an int >= 1)")
    for name, value in settings.items():
        if not isinstance(value, int | float) or value <= 0:
            bad.append(f"{name}={value!r} (seconds > 0)")
    if bad:
        msg = "RedisCoordinator: bad settings: " + ", ".join(bad)
        raise ValueError(msg)
