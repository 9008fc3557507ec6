"""Where wlh keeps things, and how its records name paths without leaking a machine's layout."""
from __future__ import annotations

import os
from pathlib import Path

from analysis.common.paths import BENCH, ROOT

PRELOAD = BENCH / "wlh" / "preload.mjs"
PREPARE = BENCH / "wlh" / "prepare.mjs"
GUARD = BENCH / "guard" / "guard.cjs"   # the same guard users load into services (README)
# What the instrumented copy is made with: a change to any of them makes a new copy.
TOOL_FILES = [BENCH / "instrument" / "instrument-wasm.mjs", BENCH / "instrument" / "make-traced-copy.mjs",
              BENCH / "tracer" / "wlh-tracer.cjs", PREPARE]

# File names inside a run directory (`wlh run --out DIR`).
RUN_RECORD = "run.json"
TRACE_LOG = "trace.log"
SAMPLES = "samples.jsonl"
GUARD_RECORD = "guard.jsonl"
# One per node process of the program that loaded o1js (bench/wlh/instance.mjs): the process wlh started
# records at the top of the run directory, any other into INSTANCES_DIR/<n>-<pid>/; INSTANCES_RECORD lists them.
INSTANCES_DIR = "instances"
INSTANCES_RECORD = "instances.jsonl"


def cache_root() -> Path:
    """$WLH_CACHE, else $XDG_CACHE_HOME/wlh, else ~/.cache/wlh."""
    if os.environ.get("WLH_CACHE"):
        return Path(os.environ["WLH_CACHE"]).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser().resolve() / "wlh"


def display_path(p: Path | str) -> str:
    """How records and reports name a path: relative to the repository or to the wlh cache when inside
    one of them, else the last component only (records may be shared; a home folder layout is nobody's
    business)."""
    p = Path(p).resolve()
    for root, prefix in ((ROOT, ""), (cache_root(), "$WLH_CACHE/")):
        if p.is_relative_to(root):
            return prefix + str(p.relative_to(root))
    return p.name
