"""Pipeline steps of the candidate check: pack the candidate tarball once; per scenario, trace the release and
the candidate with `wlh run` (each run depends only on its build and scenario), then `wlh compare` them."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from analysis.candidate import paths, steps
from analysis.common.config import Config
from analysis.common.paths import rel_path
from analysis.pipeline.graph import Step, relative_command

# Written into a run directory by `wlh run` (the proving, minutes) and by `wlh report` (a parse, seconds): kept
# apart so that a change of the parser or report code reruns only the report. Committed, or kept here only.
RUN_COMMITTED, RUN_LOCAL = ("run.json", "samples.jsonl"), ("trace.log",)
REPORT_COMMITTED, REPORT_LOCAL = ("report.json", "report.md"), ("parse.json", "report.png")


def run_files(cfg: Config, build: str, scenario: str, names: tuple[str, ...]) -> list[Path]:
    return [paths.run_dir(cfg, build, scenario) / n for n in names]


def steps_for(cfg: Config, root: Path, *, code: dict[str, list[str]], node_lock: str) -> Iterator[Step]:
    """code: repo-relative files each kind of step runs ("pack", "run", "compare"); node_lock: the lockfile
    that pins the installed release (the candidate is made from it)."""
    r = lambda p: rel_path(p, root)  # noqa: E731
    cmd = lambda c: relative_command(c, root)  # noqa: E731
    c = cfg["candidate"]
    tarball = r(paths.tarball(cfg))
    yield Step("candidate:pack", [(steps.pack, [cfg])],
               doc=f"candidate {paths.NAME}: our template inserted into o1js {cfg['o1js_version']}'s wrap(), npm pack",
               inputs=[node_lock, *code["pack"]], params={"command": cmd(steps.pack_command(cfg))},
               outputs=[r(paths.pack_record(cfg))], intermediates=[tarball], after=["node_deps"])
    for scenario in c["scenarios"]:
        for build in paths.BUILDS:
            what = f"o1js {cfg['o1js_version']}" if build == "release" else f"the {paths.NAME} tarball"
            yield Step(f"candidate:run-{build}-{scenario}", [(steps.run, [cfg, build, scenario])],
                       doc=f"wlh run of bench/wlh-loop.mjs ({scenario}, {c['proofs']} proofs) on {what}",
                       inputs=[node_lock if build == "release" else tarball, *code["run"]],
                       params={"command": cmd(steps.run_command(cfg, build, scenario))},
                       outputs=[r(p) for p in run_files(cfg, build, scenario, RUN_COMMITTED)],
                       intermediates=[r(p) for p in run_files(cfg, build, scenario, RUN_LOCAL)], after=["node_deps"])
            yield Step(f"candidate:report-{build}-{scenario}", [(steps.report, [cfg, build, scenario])],
                       doc=f"wlh report of the {scenario} run on {what}",
                       inputs=[r(p) for p in run_files(cfg, build, scenario, ("run.json", "samples.jsonl", "trace.log"))]
                       + code["report"],
                       params={"command": cmd(steps.report_command(cfg, build, scenario))},
                       outputs=[r(p) for p in run_files(cfg, build, scenario, REPORT_COMMITTED)],
                       intermediates=[r(p) for p in run_files(cfg, build, scenario, REPORT_LOCAL)])
        yield Step(f"candidate:compare-{scenario}", [(steps.compare, [cfg, scenario])],
                   doc=f"wlh compare, {scenario}: o1js {cfg['o1js_version']} vs the {paths.NAME} candidate",
                   inputs=[*(r(p) for b in paths.BUILDS for p in run_files(cfg, b, scenario, ("run.json", "trace.log",
                                                                                                "report.json"))),
                           *code["compare"]],
                   params={"command": cmd(steps.compare_command(cfg, scenario))},
                   outputs=[r(paths.compare_json(cfg, scenario)), r(paths.compare_md(cfg, scenario))])
