"""
Media the fake hands out: tiny but well-formed files and presigned URLs.

A client that downloads a finished video should get bytes that a media tool
recognises (an MP4 that starts with a proper ``ftyp`` box, a JPEG thumbnail),
and it should meet URL expiry the way it does on HeyGen's CDN: a presigned URL
that stops working after a while and a fresh one on every GET.
"""

from __future__ import annotations

import hashlib
import hmac
import struct


_MOVIE_TIMESCALE = 1000


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(duration: float) -> bytes:
    """A minimal ISO-BMFF file: ``ftyp``, ``moov``/``mvhd`` and an empty ``mdat``."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">IIIII", 0, 0, 0, _MOVIE_TIMESCALE, round(duration * 1000))
        + struct.pack(">IH", 0x10000, 0x100)
        + bytes(10)
        + matrix
        + bytes(24)
        + struct.pack(">I", 1),
    )
    return ftyp + _box(b"moov", mvhd) + _box(b"mdat", b"")


def _ebml_size(size: int) -> bytes:
    # An EBML variable-size integer: one byte when it fits, else eight.
    if size < 0x7F:
        return bytes([0x80 | size])
    return bytes([0x01]) + size.to_bytes(7, "big")


def _ebml(element_id: int, payload: bytes) -> bytes:
    id_bytes = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
    return id_bytes + _ebml_size(len(payload)) + payload


def webm_bytes(duration: float) -> bytes:
    """A minimal WebM: an EBML header and a segment with its duration."""
    header = _ebml(
        0x1A45DFA3,
        _ebml(0x4286, b"\x01")
        + _ebml(0x42F7, b"\x01")
        + _ebml(0x42F2, b"\x04")
        + _ebml(0x42F3, b"\x08")
        + _ebml(0x4282, b"webm")
        + _ebml(0x4287, b"\x04")
        + _ebml(0x4285, b"\x02"),
    )
    info = _ebml(
        0x1549A966,
        _ebml(0x2AD7B1, (1_000_000).to_bytes(3, "big"))
        + _ebml(0x4489, struct.pack(">d", duration * 1000)),
    )
    return header + _ebml(0x18538067, info)


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _jpeg() -> bytes:
    # A 1x1 mid-grey baseline JPEG: every DCT coefficient is zero, so the
    # Huffman tables need a single one-bit code each.
    one_code = bytes([1]) + bytes(15) + b"\x00"
    return (
        b"\xff\xd8"
        + _jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _jpeg_segment(0xDB, b"\x00" + bytes([1]) * 64)
        + _jpeg_segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
        + _jpeg_segment(0xC4, b"\x00" + one_code)
        + _jpeg_segment(0xC4, b"\x10" + one_code)
        + _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"
        + b"\xff\xd9"
    )


JPEG = _jpeg()
GIF = bytes.fromhex(
    "47494638396101000100800000ffffff00000021f90401000000002c"
    "00000000010001000002024401003b"
)
# ID3v2.4 tag header, then one silent MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz).
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(413)


def srt_text(script: str | None, duration: float) -> str:
    """A one-cue SRT sidecar for a video."""
    words = (script or "").split()
    text = " ".join(words[:12]) or "[music]"
    millis = round(max(duration, 1.0) * 1000)
    seconds, millis = divmod(millis, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    stamp = f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"
    return f"1\n00:00:00,000 --> {stamp}\n{text}\n"


def sniff(data: bytes) -> tuple[str, str] | None:
    """``(mime_type, asset_type)`` from the leading bytes, or ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "image"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "image"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg", "audio"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav", "audio"
    if data[4:8] == b"ftyp":
        return "video/mp4", "video"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm", "video"
    return None


class UrlSigner:
    """HMAC signatures for presigned media URLs."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, name: str, expires: str) -> str:
        """The hex signature of *name* valid until *expires*."""
        message = f"{name}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, name: str, expires: str, signature: str) -> bool:
        """Whether *signature* was made by :meth:`sign` for these values."""
        return hmac.compare_digest(self.sign(name, expires), signature)
