"""What the benchmarks share (they print figures; they are not tests): runs of several modes made alternately
in one go, so that all of them see the same machine state; one line, not a traceback, when a run fails; the
result written as JSON where asked.

    return benchmark.main("wlh overhead", lambda tmp: measure(..., tmp), lines, args.out)
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable


class BenchError(RuntimeError):
    """A run of the benchmark failed; its output was shown above the message."""


def alternate(pairs: int, modes: Iterable[str], run_one: Callable[[str, int], dict]) -> list[dict]:
    """run_one(mode, pair) for pair 1..pairs, every mode in turn within a pair (plain, traced, plain, traced...)."""
    modes = list(modes)
    return [run_one(mode, k) for k in range(1, pairs + 1) for mode in modes]


def write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")


def main(name: str, measure: Callable[[Path], dict], lines: Callable[[dict], Iterable[str]],
         out: Path | None) -> int:
    """measure(a temporary folder) -> result; print lines(result); write it to out. Exit status 0, or 1 with
    `NAME: error: ...` on one line when a run failed (RuntimeError: BenchError, a failed step-0 run, a timeout)."""
    with tempfile.TemporaryDirectory(prefix=f"wlh-{name.replace(' ', '-')}-") as tmp:
        try:
            result = measure(Path(tmp))
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"{name}: error: {' '.join(str(e).split())}", file=sys.stderr)
            return 1
    for line in lines(result):
        print(line, flush=True)
    if out:
        write_json(out, result)
    return 0
