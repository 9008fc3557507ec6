"""A recorded run, as `wlh report` and `wlh compare` take it: a run directory (trace.log, samples.jsonl,
run.json) or a trace log alone (a Step 2 log works too, without a run record)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from analysis.wlh.errors import WlhError
from analysis.wlh.paths import INSTANCES_RECORD, RUN_RECORD, TRACE_LOG


@dataclass
class Run:
    path: Path            # as given
    folder: Path          # where the report files go by default
    log: Path
    record: dict          # run.json ({} without one)
    label: str


def open_run(path: Path) -> Run:
    if path.is_dir():
        log = path / TRACE_LOG
        if (path / INSTANCES_RECORD).is_file() and (not log.is_file() or _several(path)):
            return _only_child(path)  # or, with several instances, an error that says how to pick
        if not log.is_file():
            raise WlhError(f"{path}: no {TRACE_LOG} (not a `wlh run` directory)")
        folder = path
    elif path.is_file():
        log, folder = path, path.parent
    else:
        raise WlhError(f"{path}: no such file or directory")
    record = {}
    rec = folder / RUN_RECORD
    if rec.is_file():
        try:
            record = json.loads(rec.read_text())
        except ValueError as e:
            raise WlhError(f"{rec}: not JSON: {e}") from None
        if not path.is_dir() and (record.get("files") or {}).get("trace_log") != log.name:
            record = {}  # a log given alone that is not the one this run record describes
    label = record.get("label") or (path.name if path.is_dir() else log.stem)
    return Run(path=path, folder=folder, log=log, record=record, label=label)


def _several(path: Path) -> bool:
    from analysis.wlh.instances import listed

    return len(listed(path)) > 1


def _only_child(path: Path) -> Run:
    from analysis.wlh.instances import listed  # instances builds on this module

    found = listed(path)
    if len(found) > 1:
        raise WlhError(f"{path}: {len(found)} processes loaded o1js in this run: name one with --instance N "
                       f"(1 to {len(found)}) or take them together with --total")
    if not found:
        raise WlhError(f"{path}: no process of the program loaded o1js (no instance recorded)")
    run = open_run(path / found[0]["dir"])
    rec = {}
    if (path / RUN_RECORD).is_file():
        try:
            rec = json.loads((path / RUN_RECORD).read_text())
        except ValueError as e:
            raise WlhError(f"{path / RUN_RECORD}: not JSON: {e}") from None
    return Run(path=path, folder=path, log=run.log, record=rec, label=rec.get("label") or path.name)
