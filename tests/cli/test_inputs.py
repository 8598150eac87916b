"""What `render` accepts: photos, folders, globs, CSV and JSONL manifests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import heygen_async as hg
from heygen_async._cli.inputs import (
    Defaults,
    InputError,
    check_image,
    collect,
)
from heygen_async._cli.names import safe_name, unique_names
from tests.helpers import JPEG, png
from tests.helpers.cli import VOICE_ID, copy_photos


SAY = Defaults(script="Hi", voice_id=VOICE_ID)


@pytest.fixture(name="here")
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with three sample photos under p/."""
    monkeypatch.chdir(tmp_path)
    copy_photos(tmp_path / "p", 3)
    return tmp_path


def test_folder_glob_and_file_are_merged_in_order(here: Path) -> None:
    """Inputs expand in order; a photo reached twice is rendered once."""
    (here / "p" / ".hidden.png").write_bytes(png())
    (here / "p" / "notes.txt").write_text("skip me")
    (here / "q").mkdir()
    (here / "q" / "z.JPG").write_bytes(JPEG)
    jobs = collect(["q/z.JPG", "p", "p/*.png", "p/ada.png"], SAY)
    assert [job.tag for job in jobs] == [
        "q/z.JPG",
        "p/ada.png",
        "p/bruno.png",
        "p/chen.png",
    ]
    assert [job.name for job in jobs] == ["z.mp4", "ada.mp4", "bruno.mp4", "chen.mp4"]
    assert jobs[1].request.image_path == here / "p" / "ada.png"
    assert jobs[1].request.title == "ada"
    assert jobs[1].request.script == "Hi"
    assert jobs[1].request.voice_id == VOICE_ID


def test_recursive_glob_and_absolute_paths(here: Path) -> None:
    """'**' globs recurse; absolute paths work and keep their spelling as tag."""
    (here / "p" / "deep").mkdir()
    (here / "p" / "deep" / "ada.png").write_bytes(png(7))
    jobs = collect(["p/**/*.png", str(here / "p" / "chen.png")], SAY)
    assert [job.tag for job in jobs] == [
        "p/ada.png",
        "p/bruno.png",
        "p/chen.png",
        "p/deep/ada.png",
    ]
    assert [job.name for job in jobs][-1] == "ada-2.mp4"


def test_defaults_fill_only_what_is_missing(here: Path) -> None:
    """CLI options fill empty fields; {name} in the title is the input's name."""
    defaults = Defaults(
        audio_url="https://x.test/a.mp3",
        title="Video of {name}",
        resolution="720p",
        aspect_ratio="1:1",
    )
    (job,) = collect(["p/bruno.png"], defaults)
    request = job.request
    assert request.audio_url == "https://x.test/a.mp3"
    assert request.script is None
    assert request.title == "Video of bruno"
    assert (request.resolution, request.aspect_ratio) == ("720p", "1:1")


def test_csv_manifest_with_nested_and_json_columns(here: Path) -> None:
    """Dotted and JSON columns build nested settings; cells override options."""
    (here / "m").mkdir()
    copy_photos(here / "m" / "img", 1)
    (here / "m" / "videos.csv").write_text(
        "image_path,image_url,script,voice_id,voice_settings.speed,voice_settings,"
        "background,remove_background,caption.style,title\n"
        'img/ada.png,,Hola,v2,1.25,"{""pitch"": 5}",'
        '"{""color"": ""#102030""}",yes,default,\n'
        ",,,,,,,,,\n"
        ",https://x.test/b.jpg,,,,,,no,,Bee\n"
    )
    first, second = collect(
        ["m/videos.csv"], Defaults(script="Default", voice_id="v1", resolution="4k")
    )
    assert first.tag == "m/videos.csv#img/ada.png"
    assert first.where == "m/videos.csv line 2"
    assert first.request.script == "Hola"
    assert first.request.voice_id == "v2"
    assert first.request.voice_settings == hg.VoiceSettings(speed=1.25, pitch=5)
    assert first.request.background == hg.Background(color="#102030")
    assert first.request.remove_background is True
    assert first.request.caption == hg.Caption(style="default")
    assert first.request.resolution == "4k"
    assert first.request.image_path == here / "m" / "img" / "ada.png"
    assert first.name == "ada.mp4"
    assert second.tag == "m/videos.csv#https://x.test/b.jpg"
    assert second.where == "m/videos.csv line 4"
    assert second.request.image_url == "https://x.test/b.jpg"
    assert second.request.script == "Default"
    assert second.request.remove_background is False
    assert second.request.title == "Bee"
    assert second.name == "b.mp4"


def test_jsonl_manifest_with_native_types(here: Path) -> None:
    """JSON Lines rows may nest objects and use real numbers and booleans."""
    rows = [
        {"avatar_id": "look_1", "audio_asset_id": "a_1", "name": "Ünïcode név"},
        {},
        {
            "image_asset_id": "asset_9",
            "script": "Hi",
            "voice_settings": {"speed": 1, "locale": "en-US"},
            "remove_background": True,
            "output_format": "webm",
            "title": None,
        },
    ]
    text = "\n".join(json.dumps(row) for row in rows) + "\n\n"
    (here / "list.jsonl").write_text(text)
    first, second = collect(["list.jsonl"], Defaults(voice_id="v1"))
    assert first.request.avatar_id == "look_1"
    assert first.name == "Unicode_nev.mp4"
    assert first.tag == "list.jsonl#Ünïcode név"
    assert second.request.voice_settings == hg.VoiceSettings(speed=1.0, locale="en-US")
    assert second.request.voice_id == "v1"
    assert second.name == "asset_9.webm"
    assert second.where == "list.jsonl line 3"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("m.jsonl", "{not json}\n", "m.jsonl line 1: not valid JSON"),
        ("m.jsonl", "[1, 2]\n", "m.jsonl line 1: expected a JSON object"),
        ("m.csv", "image_url\n", "m.csv: the manifest has no rows"),
        ("m.csv", "image_url\nhttps://x.test/a.jpg,extra\n", "more cells than header"),
        ("m.csv", "image_url,voice_settings.sped\nhttps://x.test/a.jpg,1\n", "column"),
        (
            "m.csv",
            "image_url,voice_settings\nhttps://x.test/a.jpg,{bad\n",
            "line 2: column 'voice_settings' must be a JSON object",
        ),
        (
            "m.jsonl",
            '{"image_url": "https://x.test/a.jpg", "voice_settings": [1]}\n',
            "line 1: 'voice_settings' must be an object",
        ),
        (
            "m.jsonl",
            '{"image_url": "https://x.test/a.jpg", "voice_settings": {"tempo": 2}}\n',
            "line 1: unknown voice_settings key(s) tempo",
        ),
        (
            "m.csv",
            "image_url,voice_settings.speed\nhttps://x.test/a.jpg,fast\n",
            "voice_settings.speed must be a number; got 'fast'",
        ),
        (
            "m.csv",
            "image_url,voice_settings.speed\nhttps://x.test/a.jpg,9\n",
            "voice_settings.speed must be between 0.5 and 1.5",
        ),
        (
            "m.csv",
            "image_url,remove_background\nhttps://x.test/a.jpg,maybe\n",
            "remove_background must be true or false; got 'maybe'",
        ),
        (
            "m.jsonl",
            '{"image_url": "https://x.test/a.jpg", "title": 5}\n',
            "title must be text; got 5",
        ),
        ("m.csv", "image_path\nmissing.png\n", "m.csv line 2: missing.png: no such"),
        (
            "m.csv",
            "image_url,image_path\nhttps://x.test/a.jpg,p/ada.png\n",
            "line 2: image source: pass exactly one of",
        ),
    ],
)
def test_bad_manifests_name_the_line(
    here: Path, name: str, content: str, message: str
) -> None:
    """Every manifest problem names the file and, where there is one, the line."""
    (here / name).write_text(content)
    with pytest.raises(InputError, match=re.escape(message)):
        collect([name], SAY)


def test_every_problem_is_listed(here: Path) -> None:
    """Several bad inputs are all reported at once, none held back."""
    with pytest.raises(InputError) as caught:
        collect([f"missing-{n}.png" for n in range(25)], SAY)
    lines = str(caught.value).splitlines()
    assert len(lines) == 25
    assert lines[0] == "missing-0.png: no such file"
    assert lines[-1] == "missing-24.png: no such file"


def test_every_bad_row_is_reported_in_one_round(here: Path) -> None:
    """Bad cells, missing files, invalid requests and unreadable rows all at once."""
    (here / "m.csv").write_text(
        "image_path,script,voice_settings.speed\n"
        "missing.png,Hi,\n"  # line 2: no such file
        "p/ada.png,Hi,fast\n"  # line 3: not a number
        f"p/bruno.png,{'x' * 5001},\n"  # line 4: too long (VideoRequest)
        "p/chen.png,Hi,1,extra\n"  # line 5: too many cells
        "p/chen.png,Hi,nan\n"  # line 6: NaN (VoiceSettings)
        "p/chen.png,Hello,1\n"  # line 7: fine
    )
    (here / "n.jsonl").write_text('{"image_url": "ftp://x.test/a.jpg"}\n')
    with pytest.raises(InputError) as caught:
        collect(["m.csv", "gone.png", "n.jsonl"], SAY)
    lines = str(caught.value).splitlines()
    assert lines == [
        "m.csv line 2: missing.png: no such file",
        "m.csv line 3: voice_settings.speed must be a number; got 'fast'",
        "m.csv line 4: script must be 1 to 5000 characters; got 5001",
        "m.csv line 5: more cells than header columns",
        "m.csv line 6: voice_settings.speed must be a finite number; got nan",
        "gone.png: no such file",
        (
            "n.jsonl line 1: image_url must be an http:// or https:// URL; "
            "got 'ftp://x.test/a.jpg'"
        ),
    ]


def test_one_problem_on_many_lines_is_said_once(here: Path) -> None:
    """Twelve rows missing a voice fold into one line listing where."""
    rows = "".join(f"https://x.test/{n}.jpg,Hi\n" for n in range(12))
    (here / "m.csv").write_text("image_url,script\n" + rows)
    with pytest.raises(InputError) as caught:
        collect(["m.csv"], Defaults())
    assert str(caught.value) == (
        "m.csv lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more: a script needs a "
        "voice: pass --voice-id or add a voice_id column (list voices with "
        "'heygen-async voices')"
    )


def test_a_huge_csv_cell_is_an_input_error(here: Path) -> None:
    """A cell over the csv module's 131,072-character limit names its line."""
    (here / "m.csv").write_text(
        "image_url,script\n"
        "https://x.test/a.jpg,Hi\n"
        f"https://x.test/b.jpg,{'x' * 131_073}\n"
        "https://x.test/c.jpg,\t\n"
        "https://x.test/d.jpg,Hi\n"
    )
    with pytest.raises(InputError) as caught:
        collect(["m.csv"], Defaults(voice_id=VOICE_ID))
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("m.csv line 3: cannot read this row (field larger")
    assert lines[1].startswith("m.csv line 4: nothing to say")
    assert len(lines) == 2
    (here / "h.csv").write_text(f"image_url,{'x' * 131_073}\nhttps://x.test/a.jpg,\n")
    with pytest.raises(InputError, match=r"^h\.csv line 1: cannot read the header"):
        collect(["h.csv"], SAY)


def test_a_deeply_nested_jsonl_line_is_an_input_error(here: Path) -> None:
    """Nesting too deep to parse, or deep where text belongs, names the line."""
    deep = "[" * 100_000 + "]" * 100_000
    shallow = "[" * 500 + "]" * 500
    (here / "m.jsonl").write_text(
        f"{deep}\n"
        f'{{"image_url": "https://x.test/a.jpg", "title": {shallow}}}\n'
        f'{{"image_url": "https://x.test/b.jpg", "voice_settings": "{deep}"}}\n'
    )
    with pytest.raises(InputError) as caught:
        collect(["m.jsonl"], SAY)
    assert str(caught.value).splitlines() == [
        "m.jsonl line 1: not valid JSON (nested too deeply)",
        "m.jsonl line 2: title must be text; got a JSON array",
        (
            "m.jsonl line 3: column 'voice_settings' must be a JSON object, "
            'e.g. {"speed": 1.1}'
        ),
    ]


def test_huge_numbers_are_input_errors(here: Path) -> None:
    """A 400-digit speed or 1e400 is refused, not an OverflowError."""
    huge = "9" * 400
    (here / "m.jsonl").write_text(
        f'{{"image_url": "https://x.test/a.jpg", "voice_settings.speed": {huge}}}\n'
        '{"image_url": "https://x.test/b.jpg", "voice_settings.speed": 1e400}\n'
    )
    with pytest.raises(InputError) as caught:
        collect(["m.jsonl"], SAY)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("m.jsonl line 1: voice_settings.speed must be a number")
    assert lines[1] == (
        "m.jsonl line 2: voice_settings.speed must be a finite number; got inf"
    )


def test_a_semicolon_csv_gets_a_delimiter_hint(here: Path) -> None:
    """A CSV saved with ';' is reported once, with what to do about it."""
    (here / "m.csv").write_text("image_url;script\nhttps://x.test/a.jpg;Hi\n")
    with pytest.raises(InputError) as caught:
        collect(["m.csv"], SAY)
    assert str(caught.value) == (
        "m.csv: the header 'image_url;script' is one column with semicolons in "
        "it; manifests are comma-separated (save as 'CSV UTF-8 (comma "
        "delimited)', or replace ';' with ',')"
    )


def test_a_semicolon_in_a_column_name_gets_the_hint(here: Path) -> None:
    """A partly semicolon-separated header gets the hint on its unknown column."""
    (here / "m.csv").write_text("image_url,script;voice_id\nhttps://x.test/a.jpg,Hi\n")
    with pytest.raises(InputError, match="comma-separated, not semicolon"):
        collect(["m.csv"], SAY)


def test_avatar_rows_may_leave_out_the_voice(here: Path) -> None:
    """An avatar speaks in its own voice; --voice-id still applies when given."""
    (here / "m.jsonl").write_text(
        '{"avatar_id": "look_1", "script": "Hi"}\n'
        '{"avatar_id": "look_2", "script": "Hi", "voice_id": "v9"}\n'
    )
    own, chosen = collect(["m.jsonl"], Defaults())
    assert own.request.voice_id is None
    assert chosen.request.voice_id == "v9"
    (given,) = collect(["m.jsonl"], Defaults(voice_id=VOICE_ID))[:1]
    assert given.request.voice_id == VOICE_ID


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([], "nothing to render"),
        (["empty"], "empty: no PNG or JPEG files in this folder"),
        (["p/*.gif"], "p/*.gif: no PNG or JPEG files match this pattern"),
        (["README"], "README: unsupported image type (files without an extension)"),
        (["nope.csv"], "nope.csv: no such file"),
        (["bad.csv"], "bad.csv: cannot read it"),
    ],
)
def test_input_errors(here: Path, inputs: list[str], message: str) -> None:
    """Unusable inputs are refused with a message naming them."""
    (here / "empty").mkdir()
    (here / "README").write_text("hello")
    (here / "bad.csv").write_bytes(b"\xff\xfe\xfa not utf-8")
    with pytest.raises(InputError, match=re.escape(message)):
        collect(inputs, SAY)


def test_check_image_limits(here: Path) -> None:
    """Images are checked for readability, size and real type."""
    big = here / "big.png"
    with big.open("wb") as file:
        file.write(png())
        file.truncate(32 * 1024 * 1024 + 1)
    with pytest.raises(InputError, match="over the 32 MiB upload limit"):
        check_image(big, "big.png")
    folder = here / "dir.png"
    folder.mkdir()
    with pytest.raises(InputError, match=r"dir\.png: cannot read it"):
        check_image(folder, "dir.png")


@pytest.mark.parametrize(
    ("stem", "safe"),
    [
        ("ada", "ada"),
        ("../../etc/passwd", "etc_passwd"),
        ("Zoë & Chloé: part 1?", "Zoe_Chloe_part_1"),
        ("...", "video"),
        ("", "video"),
        ("CON", "_CON"),
        ("lpt1.final", "_lpt1.final"),
        ("a" * 200, "a" * 80),
        ("日本語", "video"),
    ],
)
def test_safe_name(stem: str, safe: str) -> None:
    """Names from inputs are reduced to a portable, harmless stem."""
    assert safe_name(stem) == safe


def test_unique_names_ignore_case() -> None:
    """Clashing names get -2, -3 suffixes, case-insensitively."""
    names = unique_names(["a", "A", "a", "b"], [".mp4", ".mp4", ".mp4", ".webm"])
    assert names == ["a.mp4", "A-2.mp4", "a-3.mp4", "b.webm"]


def test_urls_are_inputs(here: Path) -> None:
    """An http(s) URL input renders that image without uploading anything."""
    (job,) = collect(["https://cdn.test/people/zoe.jpg?size=big"], SAY)
    assert job.request.image_url == "https://cdn.test/people/zoe.jpg?size=big"
    assert job.name == "zoe.mp4"
    assert job.tag == "https://cdn.test/people/zoe.jpg?size=big"
