"""
What a batch will cost, before it costs anything.

HeyGen bills per second of video, and a video lasts as long as its speech.
So an estimate of each job's length is its script's words at a speaking
rate (:attr:`Pricing.words_per_minute`, 150 by default, a common narration
pace) divided by ``voice_settings.speed``. An ``audio_url`` or
``audio_asset_id`` has no length the API tells (assets carry no duration):
give it in *audio*, as seconds or as the local WAV/MP3 file it came from
(its header is read); otherwise the job's length is unknown, counted apart.

Credits are seconds times a rate: :attr:`Pricing.credits_per_second`, or
:attr:`Pricing.usd_per_second` for a wallet kept in USD. HeyGen's API does
not publish its prices, so the defaults (0.1 per second, i.e. 6 per minute)
are placeholders: set your plan's rates. Everything here is an *estimate*;
the real ``duration`` of each video is known once it finishes.
"""

from __future__ import annotations

import os
import struct
import wave
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from ._models import Account, VideoRequest


__all__ = [
    "AudioLengths",
    "Balance",
    "Estimate",
    "JobEstimate",
    "Pricing",
    "audio_seconds",
    "balance_of",
    "estimate",
    "estimate_job",
]


AudioLengths = Mapping[str, float | str | os.PathLike[str]]
"""An audio URL or asset id mapped to its length: seconds, or a WAV/MP3 file."""


def _positive(
    _instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    if not value > 0:
        msg = f"Pricing.{attribute.name} must be > 0; got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class Pricing:
    """
    How an estimate turns requests into seconds and seconds into money.

    Attributes:
        words_per_minute: Speaking rate of a voice at speed 1.
        credits_per_second: Credits one second of video costs (placeholder
            default: set your plan's rate).
        usd_per_second: USD one second costs, for wallets kept in USD
            (placeholder default).
    """

    words_per_minute: float = attrs.field(default=150.0, validator=_positive)
    credits_per_second: float = attrs.field(default=0.1, validator=_positive)
    usd_per_second: float = attrs.field(default=0.1, validator=_positive)

    def rate(self, unit: str) -> float:
        """The price of one second in *unit* (``"usd"`` or credits)."""
        return self.usd_per_second if unit.lower() == "usd" else self.credits_per_second


@attrs.frozen(kw_only=True)
class JobEstimate:
    """
    One job's estimated length, or ``None`` when it cannot be told.

    Attributes:
        seconds: Estimated video seconds (an estimate, not a quote).
        basis: How it was estimated: ``"script"``, ``"audio file"`` or
            ``"unknown"`` (an audio URL or asset, whose length the API
            does not give).
    """

    seconds: float | None
    basis: str


@attrs.frozen(kw_only=True)
class Estimate:
    """
    The estimated cost of a list of requests.

    Attributes:
        jobs: One :class:`JobEstimate` per request, in order.
        pricing: The rates used.
    """

    jobs: tuple[JobEstimate, ...]
    pricing: Pricing

    @property
    def seconds(self) -> float:
        """Estimated video seconds of the jobs whose length is known."""
        return sum(job.seconds for job in self.jobs if job.seconds is not None)

    @property
    def unknown(self) -> int:
        """Jobs whose length cannot be estimated (audio URLs and assets)."""
        return sum(job.seconds is None for job in self.jobs)

    @property
    def credits(self) -> float:
        """Estimated credits of the jobs whose length is known."""
        return self.cost("credits")

    def cost(self, unit: str) -> float:
        """Estimated cost in *unit* (``"usd"`` or ``"credits"``)."""
        return self.seconds * self.pricing.rate(unit)


@attrs.frozen(kw_only=True)
class Balance:
    """What the account can spend: *amount* of *unit* (``usd`` or ``credits``)."""

    amount: float
    unit: str
    plan: str | None = None


def estimate_job(
    request: VideoRequest,
    pricing: Pricing,
    *,
    audio: AudioLengths | None = None,
) -> JobEstimate:
    """
    One request's estimated length.

    *audio* maps an ``audio_url`` or ``audio_asset_id`` to its length in
    seconds, or to the local WAV/MP3 file it was made from (its header is
    read): the API does not say how long an audio asset is.
    """
    if request.script is not None:
        words = max(1, len(request.script.split()))
        speed = request.voice_settings.speed if request.voice_settings else None
        seconds = words * 60.0 / pricing.words_per_minute / (speed or 1.0)
        return JobEstimate(seconds=round(seconds, 1), basis="script")
    source = request.audio_url or request.audio_asset_id
    known = (audio or {}).get(source) if source is not None else None
    if isinstance(known, int | float):
        return JobEstimate(seconds=float(known), basis="audio length")
    if known is not None and (length := audio_seconds(Path(known))) is not None:
        return JobEstimate(seconds=round(length, 1), basis="audio file")
    return JobEstimate(seconds=None, basis="unknown")


def estimate(
    requests: Iterable[VideoRequest],
    *,
    pricing: Pricing | None = None,
    audio: AudioLengths | None = None,
) -> Estimate:
    """The estimated seconds and credits of *requests* (nothing is sent)."""
    rates = pricing or Pricing()
    jobs = tuple(estimate_job(r, rates, audio=audio) for r in requests)
    return Estimate(jobs=jobs, pricing=rates)


def balance_of(account: Account) -> Balance | None:
    """What a ``GET /v3/users/me`` answer says is left to spend, if it says."""
    wallet, sub, usage = account.wallet, account.subscription, account.usage_based
    if wallet is not None and wallet.remaining_balance is not None:
        unit = (wallet.currency or "usd").lower()
        return Balance(amount=wallet.remaining_balance, unit=unit, plan="wallet")
    if sub is not None and sub.credits is not None:
        pools = (sub.credits.premium_credits, sub.credits.add_on_credits)
        left = [p.remaining for p in pools if p is not None and p.remaining is not None]
        if left:
            return Balance(amount=float(sum(left)), unit="credits", plan=sub.plan)
    if usage is not None and usage.remaining_credits is not None:
        return Balance(
            amount=usage.remaining_credits, unit="credits", plan="usage_based"
        )
    return None


def audio_seconds(path: Path) -> float | None:
    """
    A WAV or MP3 file's length from its header, or ``None`` if not told.

    WAV through :mod:`wave`; MP3 from its first frame header (a Xing/Info
    frame count when present, else the file size at a constant bit rate).
    """
    try:
        with path.open("rb") as file:
            head = file.read(4)
            size = path.stat().st_size
            if head == b"RIFF":
                file.seek(0)
                with wave.open(file) as audio:
                    return float(audio.getnframes()) / float(audio.getframerate())
            file.seek(0)
            return _mp3_seconds(file.read(1 << 16), size)
    except (OSError, EOFError, wave.Error, ZeroDivisionError):
        return None


_MP3_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_RATES = {
    3: (44100, 48000, 32000),
    2: (22050, 24000, 16000),
    0: (11025, 12000, 8000),
}


def _mp3_seconds(data: bytes, size: int) -> float | None:
    """MPEG-1 Layer III lengths (other layers and versions: ``None``)."""
    start = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        tag = data[6:10]
        start = 10 + ((tag[0] << 21) | (tag[1] << 14) | (tag[2] << 7) | tag[3])
    frame = data[start : start + 4]
    if len(frame) < 4 or frame[0] != 0xFF or (frame[1] & 0xFE) != 0xFA:
        return None  # not an MPEG-1 Layer III frame sync
    bitrate_index, rate_index = frame[2] >> 4, (frame[2] >> 2) & 3
    if not 0 < bitrate_index < len(_MP3_BITRATES) or rate_index == 3:
        return None
    sample_rate = _MP3_RATES[3][rate_index]
    for marker in (b"Xing", b"Info"):
        at = data.find(marker, start, start + 64)
        if at >= 0 and len(data) >= at + 12 and data[at + 7] & 1:
            (frames,) = struct.unpack(">I", data[at + 8 : at + 12])
            return float(frames * 1152 / sample_rate)
    return (size - start) * 8 / (_MP3_BITRATES[bitrate_index] * 1000)
