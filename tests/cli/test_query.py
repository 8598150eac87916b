"""`heygen-async voices` and `heygen-async status` against a fake server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

import heygen_async as hg
from heygen_async._cli import main
from heygen_async.testing._voices import VOICES
from tests.helpers.cli import ThreadedFake, threaded_fake


@pytest.fixture(name="served")
def _served() -> Iterator[ThreadedFake]:
    """A fake server on a background thread."""
    with threaded_fake(render_seconds=0.0) as served:
        yield served


def test_voices_json_with_filters(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """Filters reach the API; --json prints one object per voice."""
    code = main(
        [
            "voices",
            "--language",
            "French",
            "--gender",
            "female",
            "--limit",
            "3",
            "--json",
        ],
        environ=served.environ(),
    )
    assert code == 0
    out, err = capsys.readouterr()
    voices = [json.loads(line) for line in out.splitlines()]
    assert len(voices) == 3
    assert {(v["language"], v["gender"]) for v in voices} == {("French", "female")}
    assert "3 voices (the --limit; --limit 0 lists all)" in err


def test_voices_table_lists_all_with_limit_0(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """--limit 0 follows every page; a plain table goes to a pipe."""
    code = main(["voices", "--limit", "0"], environ=served.environ())
    assert code == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    public = [v for v in VOICES if v.type == "public"]
    assert lines[0].split() == ["VOICE", "ID", "NAME", "LANGUAGE", "GENDER", "TYPE"]
    assert len(lines) == 1 + len(public)
    assert lines[1].startswith(public[0].voice_id)
    assert f"{len(public)} voices\n" in err


def test_voices_rich_table_on_a_terminal(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """With FORCE_COLOR (a terminal) the table is drawn by rich."""
    env = served.environ(FORCE_COLOR="1", COLUMNS="150")
    assert main(["voices", "--type", "private"], environ=env) == 0
    out = capsys.readouterr().out
    assert "VOICE ID" in out
    assert "My Voice Clone" in out
    assert "\x1b[" in out


def test_status_table_and_json(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bulk status prints each video's status; an unknown id exits 1."""
    ids = _create(served, 2)
    assert main(["status", *ids, "--json"], environ=served.environ()) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["video_id"] for r in rows] == ids
    assert {r["status"] for r in rows} <= {"pending", "processing", "completed"}
    assert main(["status", ids[0], "v_unknown"], environ=served.environ()) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["VIDEO", "ID", "STATUS", "ERROR"]
    assert out.splitlines()[2].split() == ["v_unknown", "not_found"]


def _create(served: ThreadedFake, count: int) -> list[str]:
    """Create *count* videos on the fake with the SDK; return their ids."""

    async def create() -> list[str]:
        """Create the videos."""
        async with hg.Client(api_key=served.fake.api_key, base_url=served.url) as c:
            return [
                (await c.create_video(hg.VideoRequest(image_url=url, audio_url=url))).id
                for url in (f"https://x.test/{n}.jpg" for n in range(count))
            ]

    return asyncio.run(create())


@pytest.mark.parametrize("command", [["voices"], ["status", "v_1"]])
def test_configuration_errors_exit_2(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """No key, or a key the API rejects, exit 2 with a message."""
    assert main(command, environ={}) == 2
    assert "no API key" in capsys.readouterr().err
    env = {"HEYGEN_API_KEY": "wrong", "HEYGEN_API_BASE": served.url}
    assert main(command, environ=env) == 2
    assert "the API key was rejected" in capsys.readouterr().err


def test_bad_arguments_exit_1_or_2(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """A blank id is refused by the SDK (1); a bad --limit by argparse (2)."""
    assert main(["status", " "], environ=served.environ()) == 1
    assert "video_id must be a non-empty string" in capsys.readouterr().err
    assert main(["voices", "--limit", "-1"], environ=served.environ()) == 2
    assert "expected a whole number >= 0" in capsys.readouterr().err


def test_limit_must_be_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    """--limit takes whole numbers only."""
    assert main(["voices", "--limit", "many"], environ={}) == 2
    assert "expected a whole number >= 0, got 'many'" in capsys.readouterr().err
