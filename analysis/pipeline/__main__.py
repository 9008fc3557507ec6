"""python -m analysis.pipeline status | where | forget STEP... | adopt STEP... [--dry-run]

status  every step, up to date or stale with the reasons (the lock against the working tree).
where   a one-line state and the reports' paths (printed at the end of `./run pipeline`).
forget  drop steps from the lock: the next `doit run` reruns them, and only them (doit's --always-execute
        would rerun everything they depend on too).
adopt   record steps in the lock as made from the current inputs WITHOUT running them (like `dvc commit`),
        for results made before the lock existed or before a step was redeclared. Refused unless it can be
        checked: every input and output is committed and unmodified, no input was changed by a commit later
        than the one that last wrote the outputs, the step's uncommitted intermediates are here and not older
        than its inputs' last change, and a benchmark output's own start record names the same run as the
        step's command.
"""
from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

from analysis.common.paths import ROOT
from analysis.pipeline import lock as lockfile


class AdoptError(Exception):
    pass


def load_graph():
    sys.path.insert(0, str(ROOT))
    return importlib.import_module("dodo").G


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def _last_commit(path: str) -> str:
    if _git("status", "--porcelain", "--", path):
        raise AdoptError(f"{path} has uncommitted changes")
    c = _git("log", "-1", "--format=%H", "--", path)
    if not c:
        raise AdoptError(f"{path} is not committed")
    return c


def _is_ancestor(a: str, b: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", a, b], cwd=ROOT).returncode == 0


def _option(cmd: list[str], flag: str) -> str | None:
    return cmd[cmd.index(flag) + 1] if flag in cmd else None


def check_start_record(step) -> None:
    """A benchmark's JSONL opens with a start event (bench/prove-loop.mjs): it must name the run the step's
    command would make."""
    command = step.params.get("command") or []
    if "bench/prove-loop.mjs" not in command:
        return
    out = _option(command, "--out")
    with open(ROOT / out) as f:
        start = json.loads(f.readline())
    expect = {"scenario": _option(command, "--scenario"), "iterations": int(_option(command, "--iterations")),
              "workers": int(_option(command, "--workers")), "cache": _option(command, "--cache"),
              "circuit_rows_requested": int(_option(command, "--rows")),
              "settle_turns": int(_option(command, "--settle-turns")), "label": _option(command, "--label"),
              "meta": json.loads(_option(command, "--meta"))}
    diff = [k for k, v in expect.items() if start.get(k) != v]
    if diff:
        raise AdoptError(f"{out}: its start record differs from the step's command in {', '.join(diff)}")


def run_seconds(step) -> float | None:
    """How long the run took, from the benchmark's own record (its lines carry seconds since start)."""
    out = _option(step.params.get("command") or [], "--out")
    if not out or not (ROOT / out).exists():
        return None
    lines = (ROOT / out).read_text().strip().splitlines()
    return json.loads(lines[-1]).get("t") if lines else None


def adopt(graph, name: str, dry_run: bool) -> str:
    step = graph.steps.get(name)
    if step is None:
        raise AdoptError(f"no step named {name} (see `python -m analysis.pipeline status`)")
    made = {o: _last_commit(o) for o in step.outputs}
    newest_input = 0
    for f in step.inputs:
        if f in step.intermediates or graph.producer.get(f) and f in graph.steps[graph.producer[f]].intermediates:
            raise AdoptError(f"{name} reads an uncommitted file ({f}): run it instead")
        c = _last_commit(f)
        newest_input = max(newest_input, int(_git("log", "-1", "--format=%ct", c)))
        for o, oc in made.items():
            if not _is_ancestor(c, oc):
                raise AdoptError(f"{f} changed in {c[:10]}, after {o} was made ({oc[:10]}): run {name} instead")
    for f in step.intermediates:  # uncommitted: made here, and not before the inputs last changed
        p = ROOT / f
        if not p.exists():
            raise AdoptError(f"{f} (uncommitted) is not here: run {name} instead")
        if p.stat().st_mtime < newest_input:
            raise AdoptError(f"{f} is older than the last change of its inputs: run {name} instead")
    check_start_record(step)
    if not dry_run:
        graph.adopt(name, seconds=run_seconds(step))
    return f"{'would adopt' if dry_run else 'adopted'} {name}: outputs from commit(s) " + \
        ", ".join(sorted({c[:10] for c in made.values()}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.pipeline", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("status", help="every step: up to date, or stale and why")
    sub.add_parser("where", help="how many steps are up to date, and where the reports are")
    f = sub.add_parser("forget", help="drop steps from the lock, so the next doit run reruns them (not their inputs)")
    f.add_argument("steps", nargs="+")
    a = sub.add_parser("adopt", help="record committed results as made from the current inputs (checked)")
    a.add_argument("steps", nargs="+")
    a.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    graph = load_graph()
    if args.cmd == "status":
        stale = 0
        for name, reasons in graph.status().items():
            print(f"{'stale' if reasons else 'ok   '}  {name}" + (f"  ({'; '.join(reasons[:3])})" if reasons else ""))
            stale += bool(reasons)
        print(f"{stale} of {len(graph.steps)} steps stale; lock: {Path(graph.lock_path).relative_to(ROOT)}",
              file=sys.stderr)
        return 0
    if args.cmd == "where":
        status = graph.status()
        stale = [n for n, why in status.items() if why]
        reports = sorted({o for s in graph.steps.values() for o in s.outputs if o.endswith(".md")})
        print(f"pipeline: {len(status) - len(stale)} of {len(status)} steps up to date"
              + (f"; stale: {', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}" if stale else ""))
        print("reports: " + ", ".join(reports))
        return 0
    if args.cmd == "forget":
        for name in args.steps:
            if name not in graph.steps:
                print(f"pipeline: no step named {name}", file=sys.stderr)
                return 2
            lockfile.update(graph.lock_path, name, None)
        print(f"forgot {len(args.steps)} step(s): the next `doit run` reruns them")
        return 0
    failed = 0
    for name in args.steps:
        try:
            print(adopt(graph, name, args.dry_run))
        except (AdoptError, subprocess.CalledProcessError, OSError, ValueError) as e:
            print(f"pipeline: not adopted: {name}: {e}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
