"""The instances of a `wlh run` directory: one per node process of the program that loaded o1js
(bench/wlh/instance.mjs). A run of one process is read as before; a run of several is reported per instance
and in total, compared per instance (--instance N) or in total (--total), and checked per instance.

A trace log holds one process: its META line names the pid that opened it. Two processes writing one log
(a program run without wlh's process following, each child pointed at the same WLH_TRACE_LOG) interleave
ids that restart at 0; the parser refuses such a log with the line of the second process's META
(analysis.parse.MixedLogError)."""
from __future__ import annotations

import json
from pathlib import Path

from analysis.wlh.errors import WlhError
from analysis.wlh.paths import INSTANCES_RECORD, RUN_RECORD, TRACE_LOG
from analysis.wlh.rundir import Run


def listed(folder: Path) -> list[dict]:
    """The instances of a run directory in start order, from run.json (or instances.jsonl while running)."""
    rec = folder / RUN_RECORD
    if rec.is_file():
        try:
            found = json.loads(rec.read_text()).get("instances")
        except ValueError:
            found = None
        if found is not None:
            return found
    path = folder / INSTANCES_RECORD
    if not path.is_file():
        return []
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except ValueError:
            raise WlhError(f"{path}:{n}: not JSON") from None
    return sorted(rows, key=lambda r: r.get("instance", 0))


def instance_runs(path: Path) -> list[Run]:
    """One Run per instance of a run directory with several; [] for a log, or a run of one process."""
    if not path.is_dir():
        return []
    found = listed(path)
    if len(found) <= 1:
        return []
    record = _record(path)
    runs = []
    for i in found:
        log = path / i["dir"] / TRACE_LOG
        if not log.is_file():
            raise WlhError(f"{log}: missing (instance {i['name']} of {path})")
        rec = {**record, "proofs": i.get("proofs"), "snapshots": i.get("snapshots"), "preload": i.get("preload"),
               "instance": {k: i.get(k) for k in ("instance", "name", "pid", "root", "argv")}}
        label = f"{record.get('label') or path.name} #{i['instance']} (pid {i['pid']})"
        runs.append(Run(path=path / i["dir"], folder=path / "instances" / i["name"], log=log, record=rec, label=label))
    return runs


def pick(path: Path, instance: int | None) -> Path | Run:
    """What `wlh compare`/`wlh check` read for --instance N: that instance's Run; without it, the path."""
    if instance is None:
        return path
    runs = instance_runs(path)
    if not runs:
        if instance == 1:
            return path  # a run of one process: its only instance
        raise WlhError(f"{path}: one process loaded o1js in this run: --instance {instance} does not exist")
    if not 1 <= instance <= len(runs):
        raise WlhError(f"{path}: --instance {instance}: this run has instances 1 to {len(runs)}")
    return runs[instance - 1]


def _record(folder: Path) -> dict:
    rec = folder / RUN_RECORD
    try:
        return json.loads(rec.read_text()) if rec.is_file() else {}
    except ValueError as e:
        raise WlhError(f"{rec}: not JSON: {e}") from None
