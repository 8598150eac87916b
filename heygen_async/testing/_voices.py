"""
A fixed voice catalogue so voice browsing and ``voice_id`` checks are real.

The catalogue is generated, not random: the same ids in every run and every
process, so a test, an example or a subprocess can name a voice found earlier.
It spans ten languages, both genders and several TTS engines, with a few
private (cloned) voices that only ``type=private`` lists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import attrs


_LANGUAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # language: (female names, male names)
    "English": (
        ("Amelia", "Olivia", "Grace", "Hannah", "Chloe", "Sophie", "Emma", "Lily"),
        ("Oliver", "James", "Henry", "Jack", "Thomas", "Noah", "Samuel", "Leo"),
    ),
    "Spanish": (
        ("Lucia", "Sofia", "Martina", "Valeria", "Elena", "Carmen", "Paula", "Ines"),
        ("Mateo", "Diego", "Javier", "Pablo", "Hugo", "Alvaro", "Marcos", "Sergio"),
    ),
    "French": (
        ("Camille", "Chloe", "Manon", "Ines", "Lea", "Juliette", "Louise", "Margaux"),
        ("Louis", "Gabriel", "Arthur", "Jules", "Hugo", "Theo", "Raphael", "Paul"),
    ),
    "German": (
        ("Anna", "Mia", "Lena", "Clara", "Marie", "Greta", "Frieda", "Leonie"),
        ("Lukas", "Felix", "Jonas", "Paul", "Elias", "Maximilian", "Finn", "Emil"),
    ),
    "Japanese": (
        ("Yui", "Sakura", "Hina", "Aoi", "Mei", "Rin", "Yuna", "Haruka"),
        ("Haruto", "Sota", "Ren", "Yuto", "Riku", "Kaito", "Hiroshi", "Takumi"),
    ),
    "Portuguese": (
        ("Beatriz", "Mariana", "Ana", "Larissa", "Camila", "Julia", "Leticia", "Rita"),
        ("Joao", "Pedro", "Gabriel", "Rafael", "Tiago", "Bruno", "Miguel", "Davi"),
    ),
    "Hindi": (
        ("Aanya", "Diya", "Ishita", "Kavya", "Meera", "Priya", "Saanvi", "Anika"),
        ("Aarav", "Vivaan", "Arjun", "Rohan", "Kabir", "Ishaan", "Dev", "Aditya"),
    ),
    "Italian": (
        (
            "Giulia",
            "Chiara",
            "Francesca",
            "Alessia",
            "Sara",
            "Martina",
            "Elisa",
            "Aurora",
        ),
        ("Marco", "Luca", "Matteo", "Alessandro", "Davide", "Andrea", "Simone", "Enzo"),
    ),
    "Chinese": (
        ("Xiaomei", "Lihua", "Mei", "Yan", "Jing", "Xiu", "Ling", "Hui"),
        ("Wei", "Jun", "Hao", "Lei", "Ming", "Tao", "Yang", "Bo"),
    ),
    "Korean": (
        ("Jiwoo", "Seoyeon", "Minji", "Hayoon", "Yuna", "Soyeon", "Eunji", "Dahye"),
        ("Minjun", "Seojun", "Doyun", "Jiho", "Hyunwoo", "Taeyang", "Junho", "Siwoo"),
    ),
}
_STYLES = ("Friendly", "Professional", "Warm", "Energetic", "Calm", "Narrator")
_PRIVATE = (
    ("My Voice Clone", "English", "female"),
    ("Brand Narrator Clone", "English", "male"),
    ("Podcast Host Clone", "Spanish", "male"),
    ("Founder Clone", "French", "female"),
)


@attrs.frozen(kw_only=True)
class FakeVoice:
    """One voice of the catalogue."""

    voice_id: str
    name: str
    language: str
    gender: str
    type: str
    engines: tuple[str, ...]
    support_pause: bool
    support_locale: bool
    support_interactive_avatar: bool

    def to_json(self, base_url: str, *, detail: bool = False) -> dict[str, Any]:
        """The wire form; ``GET /v3/voices/{id}`` adds interactive-avatar support."""
        data: dict[str, Any] = {
            "voice_id": self.voice_id,
            "name": self.name,
            "language": self.language,
            "gender": self.gender,
            "type": self.type,
            "preview_audio_url": f"{base_url}/_fake/static/voice_{self.voice_id}.mp3",
            "support_pause": self.support_pause,
            "support_locale": self.support_locale,
        }
        if detail:
            data["support_interactive_avatar"] = self.support_interactive_avatar
        return data


def _voice_id(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:32]


def _engines(n: int) -> tuple[str, ...]:
    engines = ["starfish"]
    if n % 2 == 0:
        engines.append("elevenlabs")
    if n % 3 == 0:
        engines.append("fish")
    return tuple(engines)


def _build() -> tuple[FakeVoice, ...]:
    voices: list[FakeVoice] = []
    n = 0
    for language, (female, male) in _LANGUAGES.items():
        pairs = zip(female, male, strict=True)
        for person, (fname, mname) in enumerate(pairs):
            for name, gender in ((fname, "female"), (mname, "male")):
                style = _STYLES[n % len(_STYLES)]
                voices.append(
                    FakeVoice(
                        voice_id=_voice_id("public", language, name, gender),
                        name=f"{name} - {style}",
                        language=language,
                        gender=gender,
                        type="public",
                        engines=_engines(n),
                        support_pause=n % 4 != 3,
                        support_locale=language in ("English", "Spanish", "Portuguese")
                        or person % 3 == 0,
                        support_interactive_avatar=n % 5 == 0,
                    )
                )
                n += 1
    for name, language, gender in _PRIVATE:
        voices.append(
            FakeVoice(
                voice_id=_voice_id("private", language, name, gender),
                name=name,
                language=language,
                gender=gender,
                type="private",
                engines=("elevenlabs",),
                support_pause=True,
                support_locale=False,
                support_interactive_avatar=False,
            )
        )
    return tuple(voices)


VOICES: tuple[FakeVoice, ...] = _build()
_BY_ID = {voice.voice_id: voice for voice in VOICES}


def find_voice(voice_id: str) -> FakeVoice | None:
    """The voice with this id, public or private."""
    return _BY_ID.get(voice_id)


def select_voices(
    *,
    voice_type: str = "public",
    engine: str | None = None,
    language: str | None = None,
    gender: str | None = None,
) -> list[FakeVoice]:
    """The catalogue filtered like ``GET /v3/voices`` filters it."""
    chosen: Iterable[FakeVoice] = (v for v in VOICES if v.type == voice_type)
    if engine:
        chosen = (v for v in chosen if engine.lower() in v.engines)
    if language:
        chosen = (v for v in chosen if v.language.lower() == language.lower())
    if gender:
        chosen = (v for v in chosen if v.gender == gender.lower())
    return list(chosen)
