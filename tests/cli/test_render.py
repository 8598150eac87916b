"""`heygen-async render` end to end against a fake server: inputs, downloads, resume."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from heygen_async._cli import main
from heygen_async._cli.render import resume_command
from heygen_async.testing import Fault, JobPlan
from tests.helpers.cli import FAST, VOICE_ID, ThreadedFake, copy_photos, threaded_fake


@pytest.fixture(name="served")
def _served() -> Any:
    """A fast fake server on a background thread."""
    with threaded_fake() as served:
        yield served


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own empty folder."""
    monkeypatch.chdir(tmp_path)


def render(served: ThreadedFake, *args: str, **env: str) -> int:
    """Run `heygen-async render ARGS` against *served*."""
    return main(["render", *args, *FAST], environ=served.environ(**env))


def results(out: str = "heygen-out") -> list[dict[str, Any]]:
    """The rows of OUT/results.jsonl."""
    lines = Path(out, "results.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_folder_of_photos_renders_and_downloads(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every photo in a folder becomes a downloaded MP4 and a results line."""
    copy_photos(Path("photos"), 3)
    code = render(served, "photos", "--script", "Hello!", "--voice-id", VOICE_ID)
    assert code == 0
    out = Path("heygen-out")
    assert sorted(p.name for p in out.glob("*.mp4")) == [
        "ada.mp4",
        "bruno.mp4",
        "chen.mp4",
    ]
    assert all(p.read_bytes()[4:8] == b"ftyp" for p in out.glob("*.mp4"))
    assert not list(out.rglob("*.part"))
    rows = results()
    assert [r["input"] for r in rows] == [
        "photos/ada.png",
        "photos/bruno.png",
        "photos/chen.png",
    ]
    assert {"completed"} == {r["status"] for r in rows}
    assert rows[0]["file"] == "heygen-out/ada.mp4"
    assert rows[0]["video_id"].startswith("v_")
    assert rows[0]["video_url"].startswith(served.url)
    assert rows[0]["error"] is None
    stdout, stderr = capsys.readouterr()
    assert len(stdout.splitlines()) == 3
    assert stdout.startswith("completed\tv_")
    assert "Summary" in stderr
    assert "HTTP requests" in stderr
    assert served.stats.jobs_created == 3
    assert served.stats.uploads == 3
    bodies = served.call(lambda: [v.request for v in served.fake.videos.values()])
    assert {"ada", "bruno", "chen"} == {body["title"] for body in bodies}


def test_json_lines_and_options(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints results as JSON lines; request options reach the server."""
    copy_photos(Path("p"), 2)
    Path("script.txt").write_text("From a file.\n")
    code = render(
        served,
        "p/ada.png",
        "p/*.png",
        "--script-file",
        "script.txt",
        "--voice-id",
        VOICE_ID,
        "--resolution",
        "720p",
        "--aspect-ratio",
        "9:16",
        "--title",
        "Hi {name}",
        "--max-in-flight",
        "1",
        "--out",
        "o",
        "--json",
    )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"p/ada.png", "p/bruno.png"} == {line["input"] for line in lines}
    bodies = served.call(lambda: [v.request for v in served.fake.videos.values()])
    assert len(bodies) == 2  # ada named twice is rendered once
    assert {"Hi ada", "Hi bruno"} == {b["title"] for b in bodies}
    assert {"From a file."} == {b["script"] for b in bodies}
    assert {"720p"} == {b["resolution"] for b in bodies}


def test_no_download_keeps_urls(served: ThreadedFake) -> None:
    """--no-download writes no files but the results still have the URLs."""
    copy_photos(Path("p"), 1)
    code = render(served, "p", "--audio-url", "https://x.test/a.mp3", "--no-download")
    assert code == 0
    assert not list(Path("heygen-out").glob("*.mp4"))
    (row,) = results()
    assert row["file"] is None
    assert row["video_url"]


def _plan(index: int, _body: object) -> JobPlan:
    """Every job fails; odd ones without a reason."""
    if index % 2:
        return JobPlan(
            render_seconds=0.02, fail=True, failure_code=None, failure_message=None
        )
    return JobPlan(render_seconds=0.02, fail=True)


def test_failed_jobs_exit_1_with_reasons(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Failed renders exit 1 with their reason; a silent failure says so."""
    with threaded_fake(job_plan=_plan) as served:
        copy_photos(Path("p"), 4)
        code = render(served, "p", "--script", "Hi", "--voice-id", VOICE_ID)
    assert code == 1
    rows = results()
    assert {"failed"} == {r["status"] for r in rows}
    reasons = {r["error"] for r in rows}
    assert {
        "Render failed on the server.",
        "the render failed and HeyGen gave no reason",
    } == reasons
    assert "FAILED" in capsys.readouterr().err


def test_deadline_then_resume_pays_once(capsys: pytest.CaptureFixture[str]) -> None:
    """A run cut short by --deadline resumes on the same command; no job twice."""
    with threaded_fake(render_seconds=0.4) as served:
        copy_photos(Path("p"), 3)
        argv = ["p", "--script", "Hi", "--voice-id", VOICE_ID, "--max-in-flight", "2"]
        assert render(served, *argv, "--deadline", "0.1") == 1
        first = results()
        assert {"timed_out"} == {r["status"] for r in first}
        assert sum(r["video_id"] is not None for r in first) == 2
        err = capsys.readouterr().err
        assert "passed the deadline" in err
        assert "Resume with:\n  heygen-async render p --script Hi" in err
        assert render(served, *argv) == 0
        assert {"completed"} == {r["status"] for r in results()}
        assert served.stats.jobs_created == 3
        assert served.stats.duplicate_jobs == 0
        assert "Resuming: 0 jobs finished earlier, 2 still rendering, 1 to send" in (
            capsys.readouterr().err
        )


def test_second_run_reuses_everything(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """Re-running a finished command sends no request and downloads nothing."""
    copy_photos(Path("p"), 2)
    argv = ["p", "--script", "Hi", "--voice-id", VOICE_ID]
    assert render(served, *argv) == 0
    before = served.stats.total_requests
    capsys.readouterr()
    assert render(served, *argv) == 0
    # Only the voice check and the balance are new; no create, poll, upload
    # or media request. The summary counts both (it used to say 0).
    assert before + 2 == served.stats.total_requests
    assert len(results()) == 2
    err = capsys.readouterr().err
    assert "(earlier run)" in err
    assert "HTTP requests  2 (1 GET /v3/users/me, 1 GET /v3/voices/{voice_id})" in err


def test_expired_urls_are_fetched_again() -> None:
    """A resumed job whose URL expired gets a fresh one before downloading."""
    with threaded_fake(url_ttl=0.2) as served:
        copy_photos(Path("p"), 2)
        argv = ["p", "--script", "Hi", "--voice-id", VOICE_ID]
        assert render(served, *argv, "--no-download") == 0
        gets = served.stats.requests["GET /v3/videos/{video_id}"]
        time.sleep(0.25)  # let the journaled URLs expire
        assert render(served, *argv) == 0
        assert gets + 2 == served.stats.requests["GET /v3/videos/{video_id}"]
    assert len(list(Path("heygen-out").glob("*.mp4"))) == 2
    assert all(r["file"] for r in results())


def test_download_failure_is_reported_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A video that cannot be downloaded exits 1 with the reason; no .part left."""
    with threaded_fake(url_ttl=0.2) as served:
        copy_photos(Path("p"), 1)
        argv = ["p", "--script", "Hi", "--voice-id", VOICE_ID]
        assert render(served, *argv, "--no-download") == 0
        time.sleep(0.25)  # the journaled URL expires, and a refresh fails:
        fault = Fault(
            kind="error", status=404, route="GET /v3/videos/{video_id}", nth=(1,)
        )
        served.call(lambda: served.fake.add_fault(fault))
        code = render(served, *argv)
    assert code == 1
    (row,) = results()
    assert row["status"] == "completed"
    assert row["file"] is None
    assert row["error"].startswith("download failed: 404 not_found")
    assert not list(Path().rglob("*.part"))
    assert not list(Path().rglob("*.mp4"))
    assert "FAILED    p/ada.png: download failed" in capsys.readouterr().err


def test_retry_warnings_are_shown(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """SDK warnings such as retries are printed on stderr during a run."""
    served.call(
        lambda: served.fake.add_fault(
            Fault(kind="error", status=503, route="GET /v3/videos/statuses", nth=(1,))
        )
    )
    copy_photos(Path("p"), 1)
    assert render(served, "p", "--script", "Hi", "--voice-id", VOICE_ID) == 0
    assert "heygen.retry_scheduled" in capsys.readouterr().err


def test_manifest_rows_with_their_own_fields(served: ThreadedFake) -> None:
    """A CSV manifest gives each row its script, voice settings and file name."""
    copy_photos(Path("m/img"), 2)
    Path("m/list.csv").write_text(
        "image_path,script,voice_settings.speed,name,output_format\n"
        "img/ada.png,Hello Ada,1.2,first,\n"
        "img/bruno.png,,,../../etc/passwd,webm\n"
        "img/ada.png,Hello again,,first,\n"
    )
    code = render(served, "m/list.csv", "--script", "Default", "--voice-id", VOICE_ID)
    assert code == 0
    names = sorted(p.name for p in Path("heygen-out").iterdir() if p.is_file())
    assert names == ["etc_passwd.webm", "first-2.mp4", "first.mp4", "results.jsonl"]
    bodies = served.call(lambda: [v.request for v in served.fake.videos.values()])
    scripts = sorted(b["script"] for b in bodies)
    assert scripts == ["Default", "Hello Ada", "Hello again"]
    speeds = [b.get("voice_settings", {}).get("speed") for b in bodies]
    assert 1.2 in speeds
    inputs = [r["input"] for r in results()]
    assert (inputs) == [
        "m/list.csv#first",
        "m/list.csv#../../etc/passwd",
        "m/list.csv#first",
    ]


SAY = ("--script", "Hi", "--voice-id", VOICE_ID)
BAD_CSV = b"image_url,resolution\nhttps://x.test/a.jpg,720p\nhttps://x.test/b.jpg,8k\n"


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({}, ["nope.png", *SAY], "nope.png: no such file"),
        ({"a.gif": b"GIF89a"}, ["a.gif", *SAY], "a.gif: unsupported image type (.gif"),
        ({"a.jpg": b"not an image"}, ["a.jpg", *SAY], "a.jpg: not a PNG or JPEG"),
        ({"m.csv": BAD_CSV}, ["m.csv", *SAY], "m.csv line 3: resolution must be one"),
        (
            {"m.csv": b"image_url,scirpt\nhttps://x.test/a.jpg,Hi\n"},
            ["m.csv", *SAY],
            "m.csv line 2: unknown column 'scirpt'",
        ),
        ({}, ["p", "--voice-id", VOICE_ID], "p/ada.png: nothing to say"),
        ({}, ["p", "--script", "Hi"], "p/ada.png: a script needs a voice"),
        ({}, ["p/*.jpg", *SAY], "p/*.jpg: no PNG or JPEG files match"),
    ],
)
def test_bad_input_exits_2_and_submits_nothing(
    served: ThreadedFake,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, bytes],
    argv: list[str],
    message: str,
) -> None:
    """Bad inputs name the file or line, exit 2, and send nothing."""
    copy_photos(Path("p"), 1)
    for name, data in files.items():
        Path(name).write_bytes(data)
    assert render(served, *argv) == 2
    assert message in capsys.readouterr().err
    assert served.stats.total_requests == 0


def test_missing_voice_id_exits_2(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """A script without a voice is refused before any request, naming the file."""
    copy_photos(Path("p"), 1)
    assert render(served, "p", "--script", "Hi") == 2
    err = capsys.readouterr().err
    assert "p/ada.png: a script needs a voice: pass --voice-id" in err
    assert served.stats.total_requests == 0


def test_unknown_voice_id_exits_2(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """A voice id HeyGen does not know is refused before any job is created."""
    copy_photos(Path("p"), 4)
    assert render(served, "p", "--script", "Hi", "--voice-id", "no-such-voice") == 2
    err = capsys.readouterr().err
    assert "and 1 more: voice 'no-such-voice' does not exist" in err
    assert served.stats.jobs_created == 0
    assert "POST /v3/videos" not in served.stats.requests


def test_configuration_and_api_errors(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """No key exits 2, a rejected key exits 2, an unusable API exits 1."""
    copy_photos(Path("p"), 1)
    argv = ["render", "p", "--script", "Hi", "--voice-id", VOICE_ID]
    assert main(argv, environ={}) == 2
    assert "no API key" in capsys.readouterr().err
    assert (
        main([*argv, "--api-key", "wrong", "--base-url", served.url], environ={}) == 2
    )
    assert "the API key was rejected" in capsys.readouterr().err
    served.call(
        lambda: served.fake.add_fault(
            Fault(kind="error", status=400, route="GET /v3/voices/{voice_id}", nth=(1,))
        )
    )
    assert main(argv, environ=served.environ()) == 1
    assert "cannot reach HeyGen" in capsys.readouterr().err
    assert served.stats.jobs_created == 0


def test_ctrl_c_stops_keeps_journal_and_resumes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGINT exits 130 with the resume command; re-running pays for nothing twice."""
    with threaded_fake(render_seconds=0.5, api_key="secret-key") as served:
        copy_photos(Path("p"), 5)
        argv = ["p", "--script", "Hi", "--voice-id", VOICE_ID, "--max-in-flight", "2"]
        finished = threading.Event()

        def interrupt() -> None:
            """Send SIGINT once two jobs exist (unless main() returned)."""
            deadline = time.monotonic() + 20
            while served.stats.jobs_created < 2 and time.monotonic() < deadline:
                if finished.wait(0.01):
                    return
            os.kill(os.getpid(), signal.SIGINT)

        thread = threading.Thread(target=interrupt)
        thread.start()
        try:
            code = main(
                ["render", *argv, *FAST, "--api-key", "secret-key"],
                environ={"HEYGEN_API_BASE": served.url},
            )
        finally:
            finished.set()
            thread.join()
        assert code == 130
        err = capsys.readouterr().err
        assert "Interrupted: stopped sending jobs, 5 unfinished" in err
        assert (
            "heygen-async render p --script Hi --voice-id "
            f"{VOICE_ID} --max-in-flight 2 --poll-interval 0.01"
        ) in err
        assert "export HEYGEN_API_KEY=..." in err
        assert "--api-key" not in err.split("Resume with:")[1].splitlines()[2]
        assert "secret-key" not in err
        rows = results()
        assert {"pending"} == {r["status"] for r in rows}
        assert sum(r["video_id"] is not None for r in rows) == 2
        assert render(served, *argv) == 0
        assert served.stats.jobs_created == 5
        assert served.stats.duplicate_jobs == 0
    assert len(list(Path("heygen-out").glob("*.mp4"))) == 5


def test_resume_command_quotes_and_hides_the_key() -> None:
    """The resume hint is shell-quoted and never repeats an API key."""
    argv = ["render", "my photos", "--api-key=abc", "--script", "it's"]
    said = resume_command(argv)
    assert said.startswith("export HEYGEN_API_KEY=...")
    assert "abc" not in said
    assert said.splitlines()[1] == (
        "  heygen-async render 'my photos' --script 'it'\"'\"'s'"
    )
    assert resume_command(["render", "p", "--api-key", "abc"]) == (
        "export HEYGEN_API_KEY=...   # the key was given with --api-key: export it "
        "instead (flags show up in process lists)\n  heygen-async render p"
    )
    assert resume_command(["render", "p"]) == "heygen-async render p"


def test_fewer_inputs_still_report_every_journaled_job(served: ThreadedFake) -> None:
    """Jobs the journal holds but this run did not list stay in the results."""
    copy_photos(Path("p"), 2)
    assert render(served, "p", *SAY) == 0
    with Path("heygen-out/results.jsonl").open("a") as file:
        file.write("not json\n[1]\n")
    assert render(served, "p/bruno.png", *SAY) == 0
    rows = results()
    assert [r["input"] for r in rows] == ["p/ada.png", "p/bruno.png"]
    assert [r["file"] for r in rows] == ["heygen-out/ada.mp4", "heygen-out/bruno.mp4"]
    assert served.stats.jobs_created == 2


def test_rejected_requests_and_many_failures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A refused create is a failure with HeyGen's message; long lists are cut."""
    with threaded_fake(job_plan=_plan) as served:
        fault = Fault(kind="error", status=400, route="POST /v3/videos", nth=(1,))
        served.call(lambda: served.fake.add_fault(fault))
        copy_photos(Path("p"), 12)
        assert render(served, "p", *SAY) == 1
    reasons = [r["error"] for r in results()]
    assert sum(reason.startswith("400 ") for reason in reasons) == 1
    assert "... and 2 more in results.jsonl" in capsys.readouterr().err


def test_unreadable_script_file_exits_2(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --script-file that cannot be read is a usage error."""
    copy_photos(Path("p"), 1)
    assert render(served, "p", "--script-file", "missing.txt", "--voice-id", "v") == 2
    assert "--script-file missing.txt: cannot read it" in capsys.readouterr().err
    assert served.stats.total_requests == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--deadline", "soon"], "expected a number above 0, got 'soon'"),
        (["--poll-interval", "0"], "expected a number above 0, got '0'"),
        (["--max-in-flight", "0"], "expected a whole number >= 1, got '0'"),
        (["--max-in-flight", "x"], "expected a whole number >= 1, got 'x'"),
    ],
)
def test_option_types(
    served: ThreadedFake,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    """Malformed option values are argparse usage errors."""
    assert main(["render", "p", *argv], environ=served.environ()) == 2
    assert message in capsys.readouterr().err


def test_unusable_out_and_journal(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --out that is a file exits 2; a corrupt journal exits 1, naming it."""
    copy_photos(Path("p"), 1)
    Path("taken").write_text("a file")
    assert render(served, "p", *SAY, "--out", "taken") == 2
    assert "--out taken: cannot use it" in capsys.readouterr().err
    Path("o/.heygen").mkdir(parents=True)
    Path("o/.heygen/journal.sqlite").write_bytes(b"this is not a database" * 100)
    assert render(served, "p", *SAY, "--out", "o") == 1
    assert "the journal o/.heygen/journal.sqlite is unusable" in (
        capsys.readouterr().err
    )
    assert served.stats.jobs_created == 0


def test_a_second_run_on_the_same_out_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """While one render uses --out, another exits 2 at once, naming it."""
    with threaded_fake(render_seconds=0.4) as served:
        copy_photos(Path("p"), 2)
        first: list[int] = []
        runner = threading.Thread(
            target=lambda: first.append(render(served, "p", *SAY))
        )
        runner.start()
        try:
            while not served.stats.jobs_created:
                time.sleep(0.005)
            started = time.monotonic()
            assert render(served, "p", *SAY) == 2
            assert time.monotonic() - started < 5
        finally:
            runner.join(60)
        assert first == [0]
        assert served.stats.jobs_created == 2
    err = capsys.readouterr().err
    assert "--out heygen-out is in use by another run" in err
    assert "heygen-out/.heygen/journal.sqlite is locked" in err
    assert len(results()) == 2
    assert not list(Path("heygen-out").rglob("*.part"))


def test_another_command_on_the_same_out_is_refused(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """A different script on a used --out exits 2 before sending anything."""
    copy_photos(Path("p"), 2)
    assert render(served, "p", *SAY) == 0
    before = Path("heygen-out/results.jsonl").read_text()
    capsys.readouterr()
    assert render(served, "p", "--script", "Bye", "--voice-id", VOICE_ID) == 2
    err = capsys.readouterr().err
    assert "--out heygen-out holds the journal of a different command" in err
    assert "p/ada.png, p/bruno.png were sent with another script" in err
    assert "--fresh" in err
    assert "--retry-failed" in err
    assert served.stats.jobs_created == 2
    assert Path("heygen-out/results.jsonl").read_text() == before
    # More inputs with the same settings are not another command.
    copy_photos(Path("p"), 3)
    assert render(served, "p", *SAY, "--deadline", "30") == 0
    assert served.stats.jobs_created == 3


def test_fresh_starts_a_new_journal_and_keeps_the_old(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    """--fresh sets the old journal aside and renders every input anew."""
    copy_photos(Path("p"), 2)
    assert render(served, "p", *SAY, "--fresh") == 0  # nothing to set aside yet
    assert (
        render(served, "p", "--script", "Bye", "--voice-id", VOICE_ID, "--fresh") == 0
    )
    assert "New journal; the old one is kept as heygen-out/.heygen/journal-" in (
        capsys.readouterr().err
    )
    assert served.stats.jobs_created == 4
    assert len(list(Path("heygen-out/.heygen").glob("journal-*.sqlite"))) == 1
    rows = results()
    assert [r["file"] for r in rows] == ["heygen-out/ada.mp4", "heygen-out/bruno.mp4"]
    assert {r["status"] for r in rows} == {"completed"}
    # The new journal is tied to the new command.
    assert render(served, "p", "--script", "Bye", "--voice-id", VOICE_ID) == 0
    assert served.stats.jobs_created == 4


def test_retry_failed_resends_failed_jobs_on_purpose(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Failed jobs stay failed on a rerun; --retry-failed sends them again."""
    with threaded_fake() as served:
        fault = Fault(kind="error", status=400, route="POST /v3/videos", nth=(1,))
        served.call(lambda: served.fake.add_fault(fault))
        copy_photos(Path("p"), 3)
        assert render(served, "p", *SAY) == 1
        assert render(served, "p", *SAY) == 1
        assert served.stats.jobs_created == 2
        capsys.readouterr()
        assert render(served, "p", *SAY, "--retry-failed") == 0
        assert "Re-sending 1 failed jobs under new keys" in capsys.readouterr().err
        assert served.stats.jobs_created == 3
        assert render(served, "p", *SAY) == 0
        assert served.stats.jobs_created == 3
    rows = results()
    assert len(rows) == 3
    assert {r["status"] for r in rows} == {"completed"}


def test_retry_failed_with_new_settings_keeps_what_completed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With other settings, only the failed inputs are sent again."""
    with threaded_fake() as served:
        fault = Fault(kind="error", status=400, route="POST /v3/videos", nth=(1,))
        served.call(lambda: served.fake.add_fault(fault))
        copy_photos(Path("p"), 3)
        assert render(served, "p", *SAY) == 1
        capsys.readouterr()
        new = ("--script", "Better", "--voice-id", VOICE_ID)
        assert render(served, "p", *new, "--retry-failed") == 0
        err = capsys.readouterr().err
        assert "2 inputs keep the job an earlier run made with other settings" in err
        assert served.stats.jobs_created == 3
        scripts = served.call(
            lambda: sorted(
                str(v.request.get("script")) for v in served.fake.videos.values()
            )
        )
    assert scripts == ["Better", "Hi", "Hi"]
    rows = results()
    assert len(rows) == 3
    assert sorted(r["file"] for r in rows) == [
        "heygen-out/ada.mp4",
        "heygen-out/bruno.mp4",
        "heygen-out/chen.mp4",
    ]


@pytest.mark.parametrize("bad", ["{not json", '{"image_url": 5}'])
def test_a_corrupt_journaled_request_is_a_clear_error(
    served: ThreadedFake, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    """A hand-edited journal row: a message naming the journal, exit 1, no traceback."""
    import sqlite3

    copy_photos(Path("p"), 1)
    argv = ["p", "--script", "Hi", "--voice-id", VOICE_ID]
    assert render(served, *argv) == 0
    with sqlite3.connect(Path("heygen-out", ".heygen", "journal.sqlite")) as db:
        db.execute("UPDATE jobs SET request = ?", (bad,))
    db.close()
    capsys.readouterr()
    assert render(served, *argv) == 1
    err = capsys.readouterr().err
    assert "the journal heygen-out/.heygen/journal.sqlite is unusable" in err
    assert "--fresh" in err
    assert "Traceback" not in err
    assert served.stats.jobs_created == 1
