"""
The chaos suite, slimmed for CI: no paid job lost, billed twice or misreported.

``benchmarks/chaos.py`` runs the full version (1,000 jobs, 200 photos, 20
SIGKILLs); these run the same harness at a size CI affords, plus the judge
on hand-made records so its verdicts are pinned.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from heygen_async.testing import Fault


CHAOS_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "chaos.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("heygen_chaos_suite", CHAOS_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


chaos = _load()


def zeros(tally: Any) -> tuple[int, int, int, int]:
    """The four numbers that must be zero."""
    return (tally.lost, tally.billed_twice, tally.reported_twice, tally.wrong)


async def test_batch_under_faults_loses_and_repeats_nothing() -> None:
    """200 jobs through one batch with ~20 % mixed faults: the four zeros."""
    tally = await chaos.run_batch_part(200, 0.2, 1)
    assert tally.jobs == 200
    assert tally.faults_injected > 20
    assert zeros(tally) == (0, 0, 0, 0), tally.examples
    assert tally.completed + tally.failed + tally.refused == 200


@pytest.mark.slow
def test_cli_under_sigkill_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """The CLI over 12 photos, SIGKILLed 3 times and resumed: the four zeros."""
    tally = chaos.run_cli_part(12, 3, 0.2, 1, tmp_path)
    assert tally.jobs == 12
    assert tally.kills >= 2
    assert zeros(tally) == (0, 0, 0, 0), tally.examples
    assert tally.completed + tally.failed + tally.refused == 12


def test_clean_run_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """Without faults the batch part is clean and the command exits 0."""
    level = logging.getLogger("heygen_async").level
    assert chaos.main(["--jobs", "30", "--fault-rate", "0", "--skip-cli"]) == 0
    assert logging.getLogger("heygen_async").level == level  # muted only meanwhile
    out = capsys.readouterr().out
    assert "jobs                            30" in out
    assert "chaos: 0 lost, 0 billed twice, 0 reported twice, 0 wrong" in out


def video(title: str, video_id: str, status: str) -> dict[str, str]:
    """A ``GET /_fake/videos`` record."""
    return {"id": video_id, "title": title, "status": status}


def test_judge_counts_every_kind_of_trouble() -> None:
    """Each verdict of the judge, from hand-made reports and fake records."""
    report = chaos.Report
    reports = {
        "ok": [report("completed", "v1")],
        "render-failed": [report("failed", "v2")],
        "lost-failed": [report("failed", None, "409 request_in_progress")],
        "lost-timed-out": [report("timed_out", "v4")],
        "lost-silent": [],
        "twice-billed": [report("completed", "v6")],
        "twice-reported": [report("completed", "v8"), report("completed", "v8")],
        "wrong-status": [report("completed", "v9")],
        "wrong-failed": [report("failed", "v10")],
        "wrong-id": [report("completed", "v_other")],
        "wrong-no-id": [report("completed", None)],
        "refused": [report("failed", None)],
        "unfinished": [report("timed_out", None)],
    }
    videos = [
        video("ok", "v1", "completed"),
        video("render-failed", "v2", "failed"),
        video("lost-failed", "v3", "completed"),
        video("lost-timed-out", "v4", "processing"),
        video("lost-silent", "v5", "completed"),
        video("twice-billed", "v6", "completed"),
        video("twice-billed", "v7", "completed"),
        video("twice-reported", "v8", "completed"),
        video("wrong-status", "v9", "failed"),
        video("wrong-failed", "v10", "completed"),
        video("wrong-id", "v11", "completed"),
        video("nobody", "v12", "completed"),
    ]
    tally = chaos.judge(chaos.Tally(part="t"), reports, videos)
    assert tally.jobs == 13
    assert tally.fake_videos == 12
    assert zeros(tally) == (4, 1, 1, 4)
    assert (tally.completed, tally.failed) == (3, 1)
    assert (tally.refused, tally.unfinished) == (1, 1)
    assert not tally.ok
    assert any("409 request_in_progress" in e for e in tally.examples)
    assert any("unknown job" in e for e in tally.examples)


def test_judge_passes_a_clean_run() -> None:
    """Every job reported once, as the fake has it: all zeros, ok."""
    reports = {
        "a": [chaos.Report("completed", "v1")],
        "b": [chaos.Report("failed", None)],
    }
    tally = chaos.judge(chaos.Tally(part="t"), reports, [video("a", "v1", "completed")])
    assert zeros(tally) == (0, 0, 0, 0)
    assert tally.ok
    assert tally.examples == []


def test_fault_plan_is_seeded_and_parses() -> None:
    """The plan is valid --fault specs, mixed over the three routes, per seed."""
    specs = chaos.fault_specs(0.2, 7, 1000)
    assert specs == chaos.fault_specs(0.2, 7, 1000)
    assert specs != chaos.fault_specs(0.2, 8, 1000)
    assert chaos.fault_specs(0.0, 7, 1000) == []
    faults = [Fault.parse(spec) for spec in specs]
    kinds = {(f.kind, f.phase) for f in faults}
    assert {
        ("drop", "after"),
        ("malformed", "after"),
        ("rate_limit", "before"),
    } <= kinds
    for route in ("POST /v3/videos", "GET /v3/videos/statuses"):
        mixed = [f for f in faults if f.route == route and f.probability > 0]
        missed = 1.0
        for fault in mixed:
            missed *= 1 - fault.probability
        assert 1 - missed == pytest.approx(0.2, abs=0.001)
        bursts = [f for f in faults if f.route == route and f.kind == "rate_limit"]
        assert len(bursts) == 10
        assert all(3 <= len(f.nth) <= 6 for f in bursts)


def test_photos_are_distinct_pngs() -> None:
    """Part B's photos are valid, distinct PNGs (the CLI sniffs them)."""
    first, second = chaos.png(0), chaos.png(1)
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    assert first != second


@pytest.mark.parametrize("rate", ["1", "-0.1", "nan"])
def test_fault_rate_out_of_range_is_a_usage_error(rate: str) -> None:
    """--fault-rate must be a share in [0, 1)."""
    with pytest.raises(SystemExit) as exc:
        chaos.main(["--fault-rate", rate])
    assert exc.value.code == 2
