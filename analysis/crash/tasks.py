"""Pipeline steps of the crash horizon: per cell, a prediction from its uncapped matrix baseline (made before the
capped run, which depends on it), then the capped run; one report step compares them."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from analysis.common.config import Config
from analysis.common.paths import rel_path
from analysis.crash import run as crash_run
from analysis.crash.cells import CrashCell
from analysis.crash.predict import MiB, predict
from analysis.matrix.paths import baseline_path, lockfile, mitigation_file, summary_path
from analysis.pipeline.graph import Step, relative_command


def write_prediction(cfg: Config, cc: CrashCell) -> None:
    import json
    p = crash_run.prediction_path(cfg, cc)
    p.parent.mkdir(parents=True, exist_ok=True)
    pred = predict(baseline_path(cfg, cc.cell), summary_path(cfg, cc.cell), int(cc.cap_mib * MiB), cc.max_proofs)
    p.write_text(json.dumps(pred, indent=1, sort_keys=True) + "\n")


def steps_for(cfg: Config, chosen: list[CrashCell], root: Path, *, code: dict[str, list[str]]) -> Iterator[Step]:
    r = lambda p: rel_path(p, root)  # noqa: E731
    for cc in chosen:
        cell = cc.cell
        yield Step(f"crash:predict-{cc.id}", [(write_prediction, [cfg, cc])],
                   doc=f"{cc.name}: predicted crash proof under a {cc.cap_mib:g} MiB cap, from the cell's matrix runs",
                   inputs=[r(baseline_path(cfg, cell)), r(summary_path(cfg, cell)), *code["predict"]],
                   params={"cap_mib": cc.cap_mib, "max_proofs": cc.max_proofs},
                   outputs=[r(crash_run.prediction_path(cfg, cc))])
        command, env = crash_run.command(cfg, cc)
        mitigation = [r(mitigation_file(cfg, cell))] if cell.mitigation else []
        yield Step(f"crash:run-{cc.id}", [(crash_run.run, [cfg, cc])],
                   doc=f"{cc.name}: prove under a {cc.cap_mib:g} MiB cap until it dies or {cc.max_proofs} proofs",
                   # the prediction is made first (order only): the run does not read it
                   inputs=[r(lockfile(cfg, cell.version)), *mitigation, *code["run"]],
                   params={"command": relative_command(command, root),
                           "env": {k: relative_command([v], root)[0] for k, v in sorted(env.items())}},
                   outputs=[r(crash_run.run_path(cfg, cc)), r(crash_run.end_record_path(cfg, cc)),
                            r(crash_run.outcome_path(cfg, cc))],
                   after=[f"crash:predict-{cc.id}",
                          "node_deps" if cell.version == cfg["o1js_version"] else f"matrix:install-{cell.version}"])
