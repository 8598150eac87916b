"""Cost before spending: video seconds from scripts and audio files, balances."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import pytest

import heygen_async as hg


IMAGE = "https://example.com/me.jpg"


async def test_script_seconds_follow_the_speaking_rate_and_speed(
    client: hg.Client,
) -> None:
    """150 words a minute by default; speed 1.5 speaks the same words faster."""
    words = " ".join(["word"] * 150)
    plain = hg.VideoRequest(image_url=IMAGE, script=words, voice_id="v")
    fast = hg.VideoRequest(
        image_url=IMAGE,
        script=words,
        voice_id="v",
        voice_settings=hg.VoiceSettings(speed=1.5),
    )
    found = client.estimate([plain, fast])
    assert [j.seconds for j in found.jobs] == [60.0, 40.0]
    assert {j.basis for j in found.jobs} == {"script"}
    assert found.seconds == 100.0
    assert found.credits == pytest.approx(10.0)  # 0.1 credit per second
    slow = hg.Pricing(words_per_minute=75, credits_per_second=1, usd_per_second=0.5)
    found = client.estimate([plain], pricing=slow)
    assert found.seconds == 120.0
    assert found.credits == 120.0
    assert found.cost("usd") == 60.0


async def test_audio_sources_have_no_estimable_length(client: hg.Client) -> None:
    """An audio URL's length is not told by the API: counted apart, not as 0."""
    found = client.estimate(
        [hg.VideoRequest(image_url=IMAGE, audio_url="https://x/a.mp3")]
    )
    assert found.unknown == 1
    assert found.jobs[0].basis == "unknown"
    assert found.seconds == 0


async def test_audio_lengths_given_as_seconds_or_local_files(
    client: hg.Client, tmp_path: Path
) -> None:
    """The caller knows its audio: seconds, or the WAV it uploaded."""
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(1)
        audio.setframerate(1000)
        audio.writeframes(b"\0" * 4000)
    by_url = hg.VideoRequest(image_url=IMAGE, audio_url="https://x/a.mp3")
    by_asset = hg.VideoRequest(image_url=IMAGE, audio_asset_id="asset_1")
    other = hg.VideoRequest(image_url=IMAGE, audio_asset_id="asset_2")
    found = client.estimate(
        [by_url, by_asset, other],
        audio={"https://x/a.mp3": 12.5, "asset_1": path, "asset_2": tmp_path / "no"},
    )
    assert [j.seconds for j in found.jobs] == [12.5, 4.0, None]
    assert [j.basis for j in found.jobs] == ["audio length", "audio file", "unknown"]
    assert found.seconds == 16.5
    assert found.unknown == 1


def test_bad_rates_are_refused() -> None:
    """A rate of 0 would make every run look free."""
    with pytest.raises(ValueError, match="credits_per_second"):
        hg.Pricing(credits_per_second=0)


def test_wav_length_from_its_header(tmp_path: Path) -> None:
    """A 2.5 s WAV reads as 2.5 s."""
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * 20000)
    assert hg.audio_seconds(path) == 2.5


def _mp3_frame(bitrate_index: int = 9) -> bytes:
    """An MPEG-1 Layer III, 44.1 kHz frame header (128 kbps by default)."""
    return bytes([0xFF, 0xFB, bitrate_index << 4, 0x00])


def test_mp3_length_at_a_constant_bit_rate(tmp_path: Path) -> None:
    """128 kbps over 160,000 bytes after an ID3 tag is 10 s."""
    path = tmp_path / "a.mp3"
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 10]) + b"\0" * 10
    path.write_bytes(tag + _mp3_frame() + b"\0" * (160_000 - 4))
    assert hg.audio_seconds(path) == pytest.approx(10.0)


def test_mp3_length_from_a_xing_frame_count(tmp_path: Path) -> None:
    """A VBR file's Xing header counts its frames: 1152 samples each."""
    path = tmp_path / "v.mp3"
    xing = b"Xing" + struct.pack(">I", 1) + struct.pack(">I", 441)
    path.write_bytes(_mp3_frame() + b"\0" * 32 + xing + b"\0" * 5000)
    assert hg.audio_seconds(path) == pytest.approx(441 * 1152 / 44100)


@pytest.mark.parametrize("content", [b"", b"not audio at all", b"\xff\xfb\xf0\x00"])
def test_unknown_audio_is_none(tmp_path: Path, content: bytes) -> None:
    """Anything but a readable WAV or MPEG-1 Layer III header: no length."""
    path = tmp_path / "x.bin"
    path.write_bytes(content)
    assert hg.audio_seconds(path) is None
    assert hg.audio_seconds(tmp_path / "missing.wav") is None


def _account(**fields: object) -> hg.Account:
    return hg.Account(**fields)  # type: ignore[arg-type]


def test_balance_of_each_billing_type() -> None:
    """Wallet (its currency), subscription pools summed, usage-based credits."""
    wallet = _account(wallet=hg.Wallet(currency="USD", remaining_balance=12.5))
    assert hg.balance_of(wallet) == hg.Balance(amount=12.5, unit="usd", plan="wallet")
    pools = hg.SubscriptionCredits(
        premium_credits=hg.CreditPool(remaining=10),
        add_on_credits=hg.CreditPool(remaining=5),
    )
    sub = _account(subscription=hg.Subscription(plan="pro", credits=pools))
    assert hg.balance_of(sub) == hg.Balance(amount=15.0, unit="credits", plan="pro")
    usage = _account(usage_based=hg.UsageBased(remaining_credits=7.0))
    found = hg.balance_of(usage)
    assert found is not None
    assert (found.amount, found.unit) == (7.0, "credits")
    assert hg.balance_of(_account()) is None
