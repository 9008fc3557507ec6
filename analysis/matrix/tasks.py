"""Pipeline steps of the release matrix: one chain per cell (install, instrument, baseline, trace, parse).

Install and instrument belong to a release and are shared by its cells. Every step of a cell depends only
on that cell's parameters, its release's files and the code that runs it, never on the list of cells, so
adding a cell adds steps and leaves the others up to date (tests/test_matrix_tasks.py runs doit to check).
`steps` is the module with the actions, paths and commands (analysis.matrix.steps; tests pass a fake one).
Large outputs (the instrumented copy, trace logs) are intermediates: recorded in the lock, not committed."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from analysis.matrix.cells import Cell, versions
from analysis.common.paths import rel_path
from analysis.pipeline.graph import Step, relative_command


def steps_for(cfg, cells: list[Cell], steps, *, code: dict[str, list[str]], root: Path,
              main_install: str | None = None) -> Iterator[Step]:
    """code: the source files each kind of step depends on, under the keys instrument, run, parse.
    main_install: the task that installs the main release (its cells wait for it), if any."""
    r = lambda p: rel_path(p, root)  # noqa: E731
    cmd = lambda c: relative_command(c, root)  # noqa: E731
    def marker(v):  # the installed release (not hashed: npm's own record of it may differ between machines)
        return [] if steps.is_main_release(cfg, v) else [r(steps.installed_marker(cfg, v))]

    for v in versions(cells):
        install = []
        if not steps.is_main_release(cfg, v):  # the main release is installed by `./run` (task node_deps)
            install = [f"matrix:install-{v}"]
            yield Step(install[0], [(steps.install, [cfg, v])], doc=f"install o1js {v} from its pinned lockfile",
                       inputs=[r(steps.lockfile(cfg, v))], intermediates=[r(steps.installed_marker(cfg, v))])
        elif main_install:
            install = [main_install]
        yield Step(f"matrix:instrument-{v}", [(steps.instrument, [cfg, v])], doc=f"instrumented copy of o1js {v}",
                   inputs=[r(steps.lockfile(cfg, v)), *code["instrument"]],
                   params={"command": cmd(steps.instrument_command(cfg, v))},
                   outputs=[r(steps.instrument_report(cfg, v))],
                   intermediates=[r(steps.traced_o1js(cfg, v) / "package.json")], requires=marker(v), after=install)
    for c in cells:
        install = ([f"matrix:install-{c.version}"] if not steps.is_main_release(cfg, c.version)
                   else [main_install] if main_install else [])
        mitigation = [r(steps.mitigation_file(cfg, c)), r(steps.PRELOAD)] if c.mitigation else []
        targets = {"mitigation_targets": cfg["mitigations"][c.mitigation]["targets"] if c.mitigation else None}

        def report(run, c=c):  # what the mitigation did in that run, written by the preload (kept local: it
            # names the glue by this machine's path; the cell summary keeps it without)
            return [r(steps.mitigation_report_path(cfg, c, run))] if c.mitigation else []

        def run_params(traced, c=c):
            command, env = steps.command(cfg, c, traced=traced)
            return {"command": cmd(command), "env": {k: cmd([v])[0] for k, v in sorted(env.items())}}
        yield Step(f"matrix:baseline-{c.id}", [(steps.baseline, [cfg, c])], doc=f"{c.name}: benchmark, untraced",
                   inputs=[r(steps.lockfile(cfg, c.version)), *mitigation, *code["run"]], params=run_params(False),
                   outputs=[r(steps.baseline_path(cfg, c))], intermediates=report("baseline"), requires=marker(c.version),
                   after=install)
        yield Step(f"matrix:trace-{c.id}", [(steps.trace, [cfg, c])], doc=f"{c.name}: benchmark on the instrumented copy",
                   inputs=[r(steps.instrument_report(cfg, c.version)), *mitigation, *code["run"]],
                   requires=[r(steps.traced_o1js(cfg, c.version) / "package.json")], params=run_params(True),
                   outputs=[r(steps.trace_bench_path(cfg, c))],
                   intermediates=[r(steps.trace_log_path(cfg, c)), *report("trace")])
        yield Step(f"matrix:parse-{c.id}", [(steps.summarize_cell, [cfg, c])],
                   doc=f"{c.name}: parse the trace, reduce to the cell summary",
                   inputs=[r(steps.trace_log_path(cfg, c)), r(steps.baseline_path(cfg, c)),
                           r(steps.instrument_report(cfg, c.version)), *report("baseline"), *report("trace"),
                           *code["parse"]],
                   params={"cell": c.params(), **targets}, outputs=[r(steps.summary_path(cfg, c))])
