"""Pipeline tasks whose up-to-date state comes from the committed lock, not from doit's local database.

A `Step` names its input files (data and the code that runs), the parameter values it reads, its
committed outputs and its uncommitted intermediates. `Graph.doit(step)` turns it into a doit task whose
`uptodate` asks the lock, whose order comes from the producers of its inputs (task_dep), and whose last
action records what it ran with. doit's own file_dep is not used: its database is per machine, so a
fresh clone would rerun everything.

A step is stale when
  - it has no lock entry, its parameters or input list differ from the entry, an input's content hash
    differs (an intermediate input that is absent counts with the hash its producer recorded), or a
    committed output is missing or differs from the entry;
  - or a task that produces one of its inputs is stale (so `doit list --status` shows the whole chain);
  - or one of its intermediates is absent and a task that reads or requires it must run (it is rebuilt
    first);
  - or a forced pass is on (analysis/pipeline/forced.py) and the step has not run in it yet.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from analysis.pipeline import forced
from analysis.pipeline import lock as lockfile
from analysis.pipeline.hashing import HashCache, canonical_json


@dataclass
class Step:
    name: str                                   # full doit name: "analyze" or "step0:trivial-run1"
    actions: list
    doc: str = ""
    inputs: list[str] = field(default_factory=list)        # repo-relative files: data and code
    params: dict = field(default_factory=dict)             # config values and command lines it runs with
    outputs: list[str] = field(default_factory=list)       # committed results
    intermediates: list[str] = field(default_factory=list)  # uncommitted (large or rebuildable) results
    requires: list[str] = field(default_factory=list)      # files that must exist when it runs (not hashed)
    after: list[str] = field(default_factory=list)         # tasks to run first (order only, not staleness)


class Graph:
    def __init__(self, root: Path, lock_path: Path, cache_file: Path | None = None):
        self.root = root
        self.lock_path = lock_path
        self.hashes = HashCache(root, cache_file)
        self.steps: dict[str, Step] = {}
        self.producer: dict[str, str] = {}
        self.consumers: dict[str, list[str]] = {}
        self._started: dict[str, float] = {}
        self._inputs_at_start: dict[str, dict] = {}

    # ---------------------------------------------------------------- declaring
    def add(self, step: Step) -> Step:
        if step.name in self.steps:
            raise ValueError(f"pipeline: task {step.name} declared twice")
        self.steps[step.name] = step
        for f in [*step.outputs, *step.intermediates]:
            if f in self.producer:
                raise ValueError(f"pipeline: {f} is made by both {self.producer[f]} and {step.name}")
            self.producer[f] = step.name
        for f in [*step.inputs, *step.requires]:
            self.consumers.setdefault(f, []).append(step.name)
        return step

    def upstream(self, name: str) -> list[str]:
        """Producers of the step's inputs: when one is stale, so is the step."""
        s = self.steps[name]
        return sorted({self.producer[f] for f in s.inputs if f in self.producer})

    def run_first(self, name: str) -> list[str]:
        s = self.steps[name]
        return sorted(set(self.upstream(name)) | {self.producer[f] for f in s.requires if f in self.producer}
                      | set(s.after))

    def doit(self, name: str) -> dict:
        """The doit task dict of a declared step (call once every step is declared: order comes from the
        producers of its inputs). Subtasks ("group:sub") get their "name"; a top-level step's name is its
        task function's."""
        step = self.steps[name]
        sub = name.partition(":")[2]
        d = {"actions": [(self._start, [name]), *step.actions, (self.record, [name])],
             "doc": step.doc, "targets": list(step.outputs), "uptodate": [(self.uptodate, [name])],
             "task_dep": self.run_first(name), "verbosity": 2}
        if sub:
            d["name"] = sub
        return d

    def group(self, base: str) -> list[str]:
        """The declared subtasks of a group, in declaration order."""
        return [n for n in self.steps if n.startswith(base + ":")]

    # ---------------------------------------------------------------- checking
    def lock(self) -> dict:
        return lockfile.read(self.lock_path)

    def uptodate(self, name: str) -> bool:
        ok = not self.stale_reasons(name)
        self.hashes.save()
        return ok

    def current_hash(self, rel: str, lock: dict) -> str | None:
        h = self.hashes.file_hash(rel)
        if h is None and rel in self.producer:  # an absent intermediate: as its producer recorded it
            rec = lock.get(self.producer[rel]) or {}
            h = (rec.get("intermediates") or {}).get(rel) or (rec.get("outputs") or {}).get(rel)
        return h

    def own_reasons(self, name: str, lock: dict) -> list[str]:
        step, rec = self.steps[name], lock.get(name)
        if rec is None:
            return ["never run here (no entry in the lock)"]
        reasons = []
        pass_file = forced.active()
        if pass_file is not None and not forced.is_done(pass_file, name):
            reasons.append("forced pass: not rerun yet")
        if canonical_json(rec.get("params", {})) != canonical_json(step.params):
            old, new = rec.get("params", {}), step.params
            keys = sorted(k for k in {*old, *new} if canonical_json(old.get(k)) != canonical_json(new.get(k)))
            reasons.append(f"parameters changed: {', '.join(keys)}")
        recorded = rec.get("inputs", {})
        for f in step.inputs:
            cur = self.current_hash(f, lock)
            if f not in recorded:
                reasons.append(f"new input: {f}")
            elif cur is None:
                reasons.append(f"input missing: {f}")
            elif cur != recorded[f]:
                reasons.append(f"input changed: {f}")
        reasons += [f"input no longer used: {f}" for f in sorted(set(recorded) - set(step.inputs))]
        outs = rec.get("outputs", {})
        for f in step.outputs:
            cur = self.hashes.file_hash(f)
            if cur is None:
                reasons.append(f"output missing: {f}")
            elif cur != outs.get(f):
                reasons.append(f"output differs from the lock: {f}")
        return reasons

    def stale_reasons(self, name: str, lock: dict | None = None, memo: dict | None = None) -> list[str]:
        lock = self.lock() if lock is None else lock
        memo = {} if memo is None else memo
        if name in memo:
            return memo[name]
        memo[name] = []  # breaks cycles through the intermediate rule
        reasons = self.own_reasons(name, lock)
        if not reasons:
            reasons = [f"upstream task is stale: {u}" for u in self.upstream(name)
                       if u in self.steps and self.stale_reasons(u, lock, memo)]
        if not reasons:
            for f in self.steps[name].intermediates:
                if self.hashes.file_hash(f) is not None:
                    continue
                needy = [c for c in self.consumers.get(f, []) if self.stale_reasons(c, lock, memo)]
                if needy:
                    reasons.append(f"{f} is not here and {needy[0]} needs it")
        memo[name] = reasons
        return reasons

    def status(self) -> dict[str, list[str]]:
        lock, memo = self.lock(), {}
        out = {n: self.stale_reasons(n, lock, memo) for n in self.steps}
        self.hashes.save()
        return out

    # ---------------------------------------------------------------- recording
    def _start(self, name: str) -> None:
        # The inputs are hashed before the step runs: a file edited while it runs (code, in a long session) must
        # leave the step stale, not be recorded as what it ran with.
        self._started[name] = time.monotonic()
        self._inputs_at_start[name] = {f: self.hashes.file_hash(f) for f in self.steps[name].inputs}

    def record(self, name: str) -> None:
        """Last action of every step: write what it ran with and what it made into the lock."""
        step = self.steps[name]
        missing = [f for f in [*step.inputs, *step.outputs, *step.intermediates] if self.hashes.file_hash(f) is None]
        if missing:
            raise RuntimeError(f"{name}: ran, but these files are not there: {', '.join(missing)}")
        entry = {
            "params": step.params,
            "inputs": self._inputs_at_start.pop(name, None) or {f: self.hashes.file_hash(f) for f in step.inputs},
            "outputs": {f: self.hashes.file_hash(f) for f in step.outputs},
            "intermediates": {f: self.hashes.file_hash(f) for f in step.intermediates},
            "seconds": round(time.monotonic() - self._started.get(name, time.monotonic()), 1),
        }
        lockfile.update(self.lock_path, name, entry)
        self.hashes.save()
        pass_file = forced.active()
        if pass_file is not None:
            forced.mark_done(pass_file, name)

    def adopt(self, name: str, seconds: float | None = None) -> None:
        """Record a step as made from the current inputs without running it (like `dvc commit`): only for
        outputs known to come from exactly these inputs (see `python -m analysis.pipeline adopt`)."""
        self._started.pop(name, None)
        self.record(name)
        if seconds is not None:
            entry = self.lock()[name]
            entry["seconds"] = seconds
            lockfile.update(self.lock_path, name, entry)


def relative_command(cmd: list[str], root: Path) -> list[str]:
    """A command line as a parameter: paths inside the repository written relative to it, so the lock
    is the same on every clone."""
    prefix = str(root.resolve()) + "/"
    return [a.replace(prefix, "") for a in cmd]


Action = Callable[..., object]
