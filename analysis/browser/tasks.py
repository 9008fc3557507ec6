"""Pipeline steps of the browser runs: per configured run, `wlh browser` (minutes), then for a traced run
`wlh report` (seconds); BROWSER.md from all of them and the node runs of the same program (the candidate
chain's release runs: bench/wlh-loop.mjs, the node twin of bench/browser/www/loop.mjs)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from analysis.browser import steps
from analysis.browser.runs import browser_runs, run_dir
from analysis.common.config import Config
from analysis.common.paths import rel_path
from analysis.pipeline.graph import Step, relative_command

RUN_COMMITTED = ("run.json", "browser.json", "samples.jsonl", "page.jsonl")
RUN_LOCAL = ("trace.log", "console.log")
REPORT_COMMITTED, REPORT_LOCAL = ("report.json", "report.md"), ("parse.json", "report.png")


def steps_for(cfg: Config, root: Path, *, code: dict[str, list[str]]) -> Iterator[Step]:
    """code: repo-relative files each kind of step runs ("run": the driver, page scripts, tracer, instrumenter;
    "report": the parser and wlh report)."""
    r = lambda p: rel_path(p, root)  # noqa: E731
    cmd = lambda c: relative_command(c, root)  # noqa: E731
    b = cfg["browser"]
    for run in browser_runs(cfg):
        d = run_dir(cfg, run)
        files = lambda names: [r(d / n) for n in names]  # noqa: E731
        yield Step(f"browser:run-{run.id}", [(steps.run, [cfg, run])],
                   doc=f"wlh browser, {run.name}: the {run.scenario} scenario, {b['proofs']} proofs, in headless Chromium",
                   inputs=code["run"], params={"command": cmd(steps.run_command(cfg, run))},
                   outputs=files(RUN_COMMITTED), intermediates=files(RUN_LOCAL), after=["node_deps"])
        if run.traced:
            yield Step(f"browser:report-{run.id}", [(steps.report, [cfg, run])],
                       doc=f"wlh report of the browser run {run.name}",
                       inputs=[*files(("run.json", "samples.jsonl", "trace.log")), *code["report"]],
                       params={"command": cmd(steps.report_command(cfg, run))},
                       outputs=files(REPORT_COMMITTED), intermediates=files(REPORT_LOCAL))
