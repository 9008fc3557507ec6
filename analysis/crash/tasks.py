"""Pipeline steps of the crash horizon: per cell, a prediction from its uncapped matrix baseline (made before the
capped run, which depends on it), then the capped run; one report step compares them."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from analysis.common.config import Config, ConfigError
from analysis.common.paths import rel_path
from analysis.crash import run as crash_run
from analysis.crash.predict import MiB, predict
from analysis.matrix.cells import Cell, parse_cell
from analysis.matrix.paths import baseline_path, lockfile, mitigation_file
from analysis.pipeline.graph import Step, relative_command


def cells(cfg: Config, matrix_cells: list[Cell]) -> list[tuple[Cell, int]]:
    """config crash.cells: {"<matrix cell>": max proofs}; each must be a matrix cell (its baseline predicts)."""
    out = []
    for text, max_proofs in cfg["crash"]["cells"].items():
        cell = parse_cell(text, "crash.cells")
        if cell not in matrix_cells:
            raise ConfigError(f"crash.cells: {text} is not a cell of the matrix (its uncapped baseline makes the "
                              f"prediction): add it to matrix.extra_cells or matrix.whatif")
        out.append((cell, int(max_proofs)))
    return out


def write_prediction(cfg: Config, cell: Cell, max_proofs: int) -> None:
    import json
    p = crash_run.prediction_path(cfg, cell)
    p.parent.mkdir(parents=True, exist_ok=True)
    pred = predict(baseline_path(cfg, cell), int(cfg["crash"]["cap_mib"] * MiB), max_proofs)
    p.write_text(json.dumps(pred, indent=1, sort_keys=True) + "\n")


def steps_for(cfg: Config, chosen: list[tuple[Cell, int]], root: Path, *, code: dict[str, list[str]]) -> Iterator[Step]:
    r = lambda p: rel_path(p, root)  # noqa: E731
    c = cfg["crash"]
    for cell, max_proofs in chosen:
        yield Step(f"crash:predict-{cell.id}", [(write_prediction, [cfg, cell, max_proofs])],
                   doc=f"{cell.name}: predicted crash proof under a {c['cap_mib']} MiB cap, from the uncapped baseline",
                   inputs=[r(baseline_path(cfg, cell)), *code["predict"]],
                   params={"cap_mib": c["cap_mib"], "max_proofs": max_proofs},
                   outputs=[r(crash_run.prediction_path(cfg, cell))])
        command, env = crash_run.command(cfg, cell, max_proofs)
        mitigation = [r(mitigation_file(cfg, cell))] if cell.mitigation else []
        yield Step(f"crash:run-{cell.id}", [(crash_run.run, [cfg, cell, max_proofs])],
                   doc=f"{cell.name}: prove under a {c['cap_mib']} MiB cap until it dies or {max_proofs} proofs",
                   # the prediction is made first (order only): the run does not read it
                   inputs=[r(lockfile(cfg, cell.version)), *mitigation, *code["run"]],
                   params={"command": relative_command(command, root),
                           "env": {k: relative_command([v], root)[0] for k, v in sorted(env.items())}},
                   outputs=[r(crash_run.run_path(cfg, cell)), r(crash_run.end_record_path(cfg, cell)),
                            r(crash_run.outcome_path(cfg, cell))],
                   after=[f"crash:predict-{cell.id}",
                          "node_deps" if cell.version == cfg["o1js_version"] else f"matrix:install-{cell.version}"])
