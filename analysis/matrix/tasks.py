"""doit tasks of the release matrix: one chain per cell (install, instrument, baseline, trace, parse).

Install and instrument belong to a release and are shared by its cells. Every task of a cell depends only
on that cell's parameters, its release's files and the code that runs it, never on the list of cells, so
adding a cell adds tasks and leaves the others up to date (tests/test_matrix_tasks.py runs doit to check).
`steps` is the module with the actions and paths (analysis.matrix.steps; tests pass a fake one)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from doit.tools import config_changed

from analysis.matrix.cells import Cell, versions
from analysis.common.paths import rel_path


def tasks(cfg, cells: list[Cell], steps, *, code: dict[str, list[str]], root: Path) -> Iterator[dict]:
    """code: the source files each kind of task depends on, under the keys instrument, run, parse."""
    r = lambda p: rel_path(p, root)  # noqa: E731
    b = cfg["bench"]
    run_knobs = {"cache": b["cache"], "circuit_rows": b["circuit_rows"], "settle_turns": b["settle_turns"],
                 "iterations": cfg["matrix"]["iterations"]}
    for v in versions(cells):
        marker = r(steps.installed_marker(cfg, v))
        if not steps.is_main_release(cfg, v):  # the main release is installed by task node_deps
            yield {"name": f"install-{v}", "doc": f"install o1js {v} from its pinned lockfile",
                   "actions": [(steps.install, [cfg, v])], "file_dep": [r(steps.lockfile(cfg, v))],
                   "targets": [marker]}
        yield {"name": f"instrument-{v}", "doc": f"instrumented copy of o1js {v}",
               "actions": [(steps.instrument, [cfg, v])], "file_dep": [marker, *code["instrument"]],
               "targets": [r(steps.instrument_report(cfg, v)), r(steps.traced_o1js(cfg, v) / "package.json")]}
    for c in cells:
        marker = r(steps.installed_marker(cfg, c.version))
        mitigation = [r(steps.mitigation_file(cfg, c)), r(steps.PRELOAD)] if c.mitigation else []
        def report(run, c=c):  # what the mitigation did in that run, written by the preload
            return [r(steps.mitigation_report_path(cfg, c, run))] if c.mitigation else []
        knobs = config_changed({**c.params(), **run_knobs,
                                "mitigation_targets": cfg["mitigations"][c.mitigation]["targets"] if c.mitigation else None})
        yield {"name": f"baseline-{c.id}", "doc": f"{c.name}: benchmark, untraced",
               "actions": [(steps.baseline, [cfg, c])], "file_dep": [marker, *mitigation, *code["run"]],
               "targets": [r(steps.baseline_path(cfg, c)), *report("baseline")], "uptodate": [knobs]}
        yield {"name": f"trace-{c.id}", "doc": f"{c.name}: benchmark on the instrumented copy",
               "actions": [(steps.trace, [cfg, c])],
               "file_dep": [r(steps.instrument_report(cfg, c.version)), *mitigation, *code["run"]],
               "targets": [r(steps.trace_log_path(cfg, c)), r(steps.trace_bench_path(cfg, c)), *report("trace")],
               "uptodate": [knobs]}
        yield {"name": f"parse-{c.id}", "doc": f"{c.name}: parse the trace, reduce to the cell summary",
               "actions": [(steps.summarize_cell, [cfg, c])],
               "file_dep": [r(steps.trace_log_path(cfg, c)), r(steps.baseline_path(cfg, c)),
                            r(steps.instrument_report(cfg, c.version)), *report("baseline"), *report("trace"),
                            *code["parse"]],
               "targets": [r(steps.summary_path(cfg, c))], "uptodate": [knobs]}
