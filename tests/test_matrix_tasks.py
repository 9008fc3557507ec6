"""The matrix steps and the committed lock, run by doit itself on a fake configuration: adding a cell must
run only that cell's chain (and its release's install and instrument when the release is new), leave the
others up to date, and a fresh checkout of the same files (new mtimes, no doit database, no
intermediates) must run nothing. The fake steps write their outputs and record that they ran; no node, no o1js."""
import os

import pytest
from pathlib import Path
from types import SimpleNamespace

from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain

from analysis.matrix import tasks as matrix_tasks
from analysis.matrix.cells import Cell
from analysis.pipeline.graph import Graph


def fake_steps(root: Path):
    ran = root / "ran.txt"

    def log(what):
        with ran.open("a") as f:
            f.write(what + "\n")

    def touch(*paths):
        for p in paths:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("x\n")

    cell_dir = lambda cfg, c: root / "cells" / c.id  # noqa: E731
    s = SimpleNamespace(
        PRELOAD=root / "code" / "preload.cjs",
        is_main_release=lambda cfg, v: False,
        lockfile=lambda cfg, v: root / "locks" / f"{v}.json",
        installed_marker=lambda cfg, v: root / "installed" / v / "marker",
        instrument_report=lambda cfg, v: root / "traced" / v / "instrument.json",
        traced_o1js=lambda cfg, v: root / "traced" / v / "o1js",
        mitigation_file=lambda cfg, c: root / "code" / f"{c.mitigation}.cjs",
        baseline_path=lambda cfg, c: cell_dir(cfg, c) / "baseline.jsonl",
        trace_log_path=lambda cfg, c: cell_dir(cfg, c) / "trace.log",
        trace_bench_path=lambda cfg, c: cell_dir(cfg, c) / "trace-bench.jsonl",
        mitigation_report_path=lambda cfg, c, run: cell_dir(cfg, c) / f"mitigation-{run}.json",
        summary_path=lambda cfg, c: cell_dir(cfg, c) / "cell.json",
    )
    s.instrument_command = lambda cfg, v: ["instrument", v]
    s.command = lambda cfg, c, traced: ([f"run {c.name}", str(traced), str(root / "x")], {"T": str(root / "y")})
    s.install = lambda cfg, v: (log(f"install {v}"), touch(s.installed_marker(cfg, v)))[-1]
    s.instrument = lambda cfg, v: (log(f"instrument {v}"),
                                   touch(s.instrument_report(cfg, v), s.traced_o1js(cfg, v) / "package.json"))[-1]
    s.baseline = lambda cfg, c: (log(f"baseline {c.name}"), touch(
        s.baseline_path(cfg, c), *([s.mitigation_report_path(cfg, c, "baseline")] if c.mitigation else [])))[-1]
    s.trace = lambda cfg, c: (log(f"trace {c.name}"), touch(
        s.trace_log_path(cfg, c), s.trace_bench_path(cfg, c),
        *([s.mitigation_report_path(cfg, c, "trace")] if c.mitigation else [])))[-1]
    s.summarize_cell = lambda cfg, c: (log(f"parse {c.name}"), touch(s.summary_path(cfg, c)))[-1]
    return s, ran


def setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = tmp_path / "code"
    code.mkdir()
    for name in ("preload.cjs", "fix.cjs", "run.py", "parse.py", "instrument.py"):
        (code / name).write_text(name)
    (tmp_path / "locks").mkdir()
    for v in ("2.15.0", "2.10.0"):
        (tmp_path / "locks" / f"{v}.json").write_text(v)
    cfg = {"bench": {"cache": "none", "circuit_rows": 8, "settle_turns": 10}, "matrix": {"iterations": 4},
           "mitigations": {"fix": {"file": "code/fix.cjs", "targets": ["T"]}}}
    steps, ran = fake_steps(tmp_path)
    deps = {"instrument": ["code/instrument.py"], "run": ["code/run.py"], "parse": ["code/parse.py"]}

    def run_doit(cells, db="doit.db"):
        graph = Graph(tmp_path, tmp_path / "lock.json", tmp_path / "cache" / "hashes.json")
        for step in matrix_tasks.steps_for(cfg, cells, steps, code=deps, root=tmp_path):
            graph.add(step)

        def task_matrix():
            for name in graph.group("matrix"):
                yield graph.doit(name)
        ran.write_text("")
        code_ = DoitMain(ModuleTaskLoader({"task_matrix": task_matrix})).run(
            ["run", "--db-file", str(tmp_path / db), "-v", "0"])
        assert code_ == 0
        return sorted(ran.read_text().split("\n")[:-1])
    return run_doit, code


CELL_A = Cell("2.15.0", "trivial", 1)


def test_first_run_runs_the_whole_chain_then_nothing(tmp_path, monkeypatch):
    run_doit, _ = setup(tmp_path, monkeypatch)
    assert run_doit([CELL_A]) == ["baseline 2.15.0/trivial/w1", "install 2.15.0", "instrument 2.15.0",
                                  "parse 2.15.0/trivial/w1", "trace 2.15.0/trivial/w1"]
    assert run_doit([CELL_A]) == []


def test_adding_cells_runs_only_those_cells(tmp_path, monkeypatch):
    run_doit, _ = setup(tmp_path, monkeypatch)
    run_doit([CELL_A])
    b = Cell("2.15.0", "trivial", 4)
    assert run_doit([CELL_A, b]) == ["baseline 2.15.0/trivial/w4", "parse 2.15.0/trivial/w4", "trace 2.15.0/trivial/w4"]
    c = Cell("2.10.0", "recursive", 1)
    w = Cell("2.15.0", "trivial", 1, "fix")
    assert run_doit([CELL_A, b, c, w]) == [
        "baseline 2.10.0/recursive/w1", "baseline 2.15.0/trivial/w1+fix", "install 2.10.0", "instrument 2.10.0",
        "parse 2.10.0/recursive/w1", "parse 2.15.0/trivial/w1+fix", "trace 2.10.0/recursive/w1",
        "trace 2.15.0/trivial/w1+fix"]
    # and taking a cell out again leaves the rest alone
    assert run_doit([CELL_A, w]) == []


def test_changing_shared_code_reruns_every_cell_that_uses_it(tmp_path, monkeypatch):
    run_doit, code = setup(tmp_path, monkeypatch)
    cells = [CELL_A, Cell("2.10.0", "trivial", 1)]
    run_doit(cells)
    (code / "parse.py").write_text("changed")
    assert run_doit(cells) == ["parse 2.10.0/trivial/w1", "parse 2.15.0/trivial/w1"]
    (code / "fix.cjs").write_text("changed")  # a mitigation file only matters to its what-if cells
    assert run_doit(cells) == []


def fresh_checkout(root: Path, steps) -> None:
    """What a clone looks like: every committed file with a new mtime, no intermediates, no local caches."""
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, (p.stat().st_atime + 1000, p.stat().st_mtime + 1000))
    for p in [*root.glob("cells/*/trace.log"), *root.glob("installed/*/marker"), *root.glob("traced/*/o1js/package.json"),
              root / "cache" / "hashes.json"]:
        p.unlink(missing_ok=True)


def test_fresh_checkout_runs_nothing(tmp_path, monkeypatch):
    run_doit, _ = setup(tmp_path, monkeypatch)
    cells = [CELL_A, Cell("2.10.0", "trivial", 1)]
    run_doit(cells)
    fresh_checkout(tmp_path, None)
    assert run_doit(cells, db="fresh.db") == []


def test_changed_input_after_fresh_checkout_rebuilds_what_it_needs(tmp_path, monkeypatch):
    run_doit, code = setup(tmp_path, monkeypatch)
    run_doit([CELL_A])
    fresh_checkout(tmp_path, None)
    # the parse step must run, and it reads the trace log, which a clone does not have: trace runs first
    (code / "parse.py").write_text("changed")
    assert run_doit([CELL_A], db="fresh.db") == ["install 2.15.0", "instrument 2.15.0", "parse 2.15.0/trivial/w1",
                                                 "trace 2.15.0/trivial/w1"]
    assert run_doit([CELL_A], db="fresh.db") == []


def test_deleted_intermediate_alone_reruns_nothing(tmp_path, monkeypatch):
    run_doit, _ = setup(tmp_path, monkeypatch)
    run_doit([CELL_A])
    (tmp_path / "cells" / CELL_A.id / "trace.log").unlink()
    assert run_doit([CELL_A]) == []


def test_changed_parameter_or_edited_output_makes_the_step_stale(tmp_path, monkeypatch):
    run_doit, _ = setup(tmp_path, monkeypatch)
    run_doit([CELL_A])
    (tmp_path / "cells" / CELL_A.id / "cell.json").write_text("edited by hand")
    assert run_doit([CELL_A]) == ["parse 2.15.0/trivial/w1"]
    slower = Cell("2.15.0", "trivial", 1)
    assert run_doit([slower]) == []  # same parameters: nothing


def test_a_forced_pass_reruns_everything_once_and_resumes_where_it_stopped(tmp_path, monkeypatch):
    """`--force` / `--resume` (analysis/pipeline/forced.py): every step reruns once, a pass cut short reruns
    only what it had not rerun, and the segments' wall times add up."""
    from analysis.pipeline import forced
    run_doit, _ = setup(tmp_path, monkeypatch)
    everything = run_doit([CELL_A])
    pass_file = tmp_path / "pass.json"
    forced.start(pass_file, now=1000.0)
    monkeypatch.setenv(forced.ENV, str(pass_file))
    assert run_doit([CELL_A]) == everything                  # up to date, rerun anyway
    assert run_doit([CELL_A]) == []                          # each step once per pass
    # A pass cut short: only the install and the instrument step had rerun when it stopped.
    forced.start(pass_file, now=1000.0)
    forced.mark_done(pass_file, "matrix:install-2.15.0", now=1100.0)
    forced.mark_done(pass_file, "matrix:instrument-2.15.0", now=1300.0)
    forced.resume(pass_file, now=5000.0)
    assert run_doit([CELL_A]) == ["baseline 2.15.0/trivial/w1", "parse 2.15.0/trivial/w1", "trace 2.15.0/trivial/w1"]
    s = forced.finish(pass_file)
    assert s["steps"] == 5 and s["segments"] == 2 and s["segment_seconds"][0] == 300.0 and s["finished"]
    assert "5 steps rerun" in forced.describe(s) and "over 2 segments" in forced.describe(s)
    monkeypatch.delenv(forced.ENV)
    assert run_doit([CELL_A]) == []                          # without the pass: the lock decides again


def test_a_finished_or_missing_pass_cannot_be_resumed(tmp_path):
    from analysis.pipeline import forced
    with pytest.raises(forced.ForcedPassError, match="no forced pass"):
        forced.resume(tmp_path / "none.json")
    forced.start(tmp_path / "p.json")
    forced.finish(tmp_path / "p.json")
    with pytest.raises(forced.ForcedPassError, match="finished"):
        forced.resume(tmp_path / "p.json")
