"""The engine under `render` and `demo`, driven directly from async code."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import heygen_async as hg
from heygen_async._cli.inputs import Job
from heygen_async._cli.progress import PlainReporter
from heygen_async._cli.run import RunConfig, run_jobs
from tests.helpers import req


def jobs(voice_id: str, count: int) -> list[Job]:
    """*count* distinct URL jobs."""
    return [
        Job(tag=f"job-{n}", request=req(voice_id, n), name=f"job-{n}.mp4", where="t")
        for n in range(count)
    ]


async def test_quiet_stdout_when_it_is_the_terminal(
    client: hg.Client,
    voice_id: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With emit off (stdout is the progress terminal) no data lines are printed."""
    config = RunConfig(out=tmp_path, journal=False, emit=False)
    report = await run_jobs(client, jobs(voice_id, 2), config, PlainReporter())
    assert report.exit_code == 0
    assert [r.file for r in report.results] == [
        str(tmp_path / "job-0.mp4"),
        str(tmp_path / "job-1.mp4"),
    ]
    out, err = capsys.readouterr()
    assert out == ""
    assert "done      job-0 ->" in err


async def test_cancelling_the_caller_is_not_an_interrupt(
    client: hg.Client, voice_id: str, tmp_path: Path
) -> None:
    """Only Ctrl-C turns into exit 130; a cancelled caller stays cancelled."""
    config = RunConfig(out=tmp_path, journal=False)
    task = asyncio.create_task(
        run_jobs(client, jobs(voice_id, 3), config, PlainReporter())
    )
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
