"""`wlh run`: start the user's node command with the preload (bench/wlh/preload.mjs), the traced o1js copy
and the tracer's log in the run directory, then write the run record (run.json).

The program runs unchanged: its stdout/stderr are the terminal's, its exit code is `wlh run`'s. Node gets
--expose-gc (GC settling), --harmony-weak-refs-with-cleanup-some where V8 has it (settling at the very
return of a prover call, see bench/wlh/settle.mjs); the preload and the guard come through NODE_OPTIONS, so
every node process the program starts is followed: each one that loads o1js is an instance with its own
trace log and samples (bench/wlh/instance.mjs), listed in run.json.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from analysis.common.jsonl import read_jsonl
from analysis.wlh.aggregate.stream import AGGREGATE
from analysis.wlh.errors import WlhError
from analysis.wlh.paths import (GUARD, GUARD_RECORD, INSTANCES_DIR, INSTANCES_RECORD, PRELOAD, RUN_RECORD, SAMPLES,
                                TRACE_LOG, display_path)
from analysis.wlh.spec import O1jsSource
from analysis.wlh.traced import TracedCopy

CLEANUP_SOME = "--harmony-weak-refs-with-cleanup-some"
# aggregate mode's files beside each trace log (bench/wlh/instance.mjs): the records, the reader's errors, its pipe
AGGREGATE_FILES = (AGGREGATE, "aggregate.err", "trace.fifo")


@dataclass
class RunOptions:
    command: list[str]        # node [node options] SCRIPT [ARGS]
    out: Path
    snapshot: str             # proof | every:SECONDS | manual
    workers: int | None
    key_cache: str            # fresh | home
    label: str
    guard: bool = True        # load bench/guard/guard.cjs (a fault ends the program with code 86, recorded)
    cap_mib: float | None = None  # lower the WASM memory ceiling (the guard's WLH_MEMORY_CAP_MIB)
    aggregate: bool = False   # live tables instead of one line per event (analysis.wlh.aggregate)


def check_command(command: list[str]) -> Path | None:
    """The command must start with node; returns the script (first argument not starting with '-')."""
    if not command:
        raise WlhError("no program given: wlh run [options] -- node SCRIPT [ARGS]")
    if Path(command[0]).name not in ("node", "nodejs"):
        raise WlhError(f"the command after -- must start with node (got '{command[0]}'), e.g. -- node prog.mjs")
    takes_value = {"--import", "--require", "-r", "--loader", "--experimental-loader", "--conditions", "-C"}
    rest = iter(command[1:])
    for a in rest:
        if a in takes_value:
            next(rest, None)
        elif not a.startswith("-"):
            return Path(a)
    return None


@functools.cache
def node_has(flag: str, node: str) -> bool:
    try:
        out = subprocess.run([node, "--v8-options"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise WlhError(f"cannot run '{node}' (Node >= 20.6 is needed)") from None
    return flag.lstrip("-") in out


@functools.cache
def check_node_version(node: str) -> str:
    """module.register (the ESM resolve hook) needs Node >= 20.6."""
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise WlhError(f"cannot run '{node}' (Node >= 20.6 is needed)") from None
    major, minor = (int(x) for x in version.lstrip("v").split(".")[:2])
    if (major, minor) < (20, 6):
        raise WlhError(f"'{node}' is Node {version}; wlh needs Node >= 20.6 (module.register)")
    return version


def node_command(command: list[str]) -> list[str]:
    """The program's command with the V8 flags GC settling needs; the preload and the guard come through
    NODE_OPTIONS (node_options), so that every node process of the program loads them."""
    check_node_version(command[0])
    flags = ["--expose-gc"] + ([CLEANUP_SOME] if node_has(CLEANUP_SOME, command[0]) else [])
    return [command[0], *flags, *command[1:]]


def node_options(guard: bool = True, inherited: str = "") -> str:
    """NODE_OPTIONS for the program: the preload (bench/wlh/preload.mjs) and the guard in every node process it
    starts (fork, spawn and exec of node, cluster), after the user's own options. --expose-gc is allowed there;
    --harmony-weak-refs-with-cleanup-some is not: a child started by fork inherits it (execArgv), one started by
    spawn settles GC over task turns instead (bench/wlh/settle.mjs)."""
    ours = ["--expose-gc", f'--import "{PRELOAD.as_uri()}"', *([f'--require "{GUARD}"'] if guard else [])]
    return " ".join([inherited.strip(), *ours]).strip()


def program_env(base: dict, run_dir: Path, guard: bool = True) -> dict:
    """The environment every process of the program inherits: NODE_OPTIONS with the preload, and the run
    directory in which each process that loads o1js claims its instance (bench/wlh/instance.mjs)."""
    env = dict(base)
    env.pop("WLH_ROOT_PID", None)  # the process wlh starts is the root: a stale value would make it a child
    env["NODE_OPTIONS"] = node_options(guard, env.get("NODE_OPTIONS", ""))
    env["WLH_RUN_DIR"] = str(run_dir)
    return env


def prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise WlhError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise WlhError(f"--out {out}: not empty (pass --force to replace its run)")
        for name in (RUN_RECORD, TRACE_LOG, SAMPLES, GUARD_RECORD, INSTANCES_RECORD, *AGGREGATE_FILES):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / INSTANCES_DIR, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def _display_arg(a: str) -> str:
    # Arguments that name existing files are recorded by name only (see display_path).
    return display_path(a) if os.path.isabs(a) and os.path.exists(a) else a


def run(opts: RunOptions, src: O1jsSource, traced: TracedCopy) -> tuple[int, dict]:
    out = opts.out
    env = dict(os.environ)
    env.update({"WLH_O1JS_ANCHOR": str(traced.anchor), "WLH_SAMPLES": str(out / SAMPLES),
                "WLH_TRACE_LOG": str(out / TRACE_LOG), "WLH_SNAPSHOT": opts.snapshot, "WLH_LABEL": opts.label,
                "WLH_CREATION_SITES": "1", "O1JS_BACKEND": "wasm"})
    if opts.workers is not None:
        env["WLH_WORKERS"] = str(opts.workers)
    env.pop("WLH_TRACE_FILE", None)
    env.pop("WLH_AGGREGATE", None)
    if opts.aggregate:
        env.update({"WLH_AGGREGATE": "1", "WLH_PYTHON": sys.executable})
    for k in [k for k in env if k.startswith("WLH_GUARD") or k in ("WLH_MEMORY_CAP_MIB", "WLH_WATCHDOG_SECONDS")]:
        del env[k]  # the guard's settings are wlh's (--guard, --cap), not whatever the shell had
    if opts.guard:
        env["WLH_GUARD_RECORD"] = str(out / GUARD_RECORD)
        if opts.cap_mib is not None:
            env["WLH_MEMORY_CAP_MIB"] = f"{opts.cap_mib:g}"
    key_cache = None
    if opts.key_cache == "fresh":
        # o1js keeps compiled keys in $XDG_CACHE_HOME/o1js; its state changes WASM memory (cold vs warm), so
        # each run starts from an empty one and never writes the user's.
        key_cache = tempfile.mkdtemp(prefix="wlh-keys-")
        env["XDG_CACHE_HOME"] = key_cache
    env = program_env(env, out, opts.guard)
    cmd = node_command(opts.command)
    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    try:
        code = subprocess.run(cmd, env=env).returncode
    except KeyboardInterrupt:
        code = 130
    finally:
        if key_cache:
            shutil.rmtree(key_cache, ignore_errors=True)
    if opts.aggregate:
        wait_for_aggregates(out)
    tidy_claims(out)
    seconds = time.monotonic() - t0
    record = {
        "tool": "wlh run", "label": opts.label,
        "program": [_display_arg(a) for a in opts.command],
        "o1js": {**src.record(), "traced_copy_key": traced.key, "instrument": traced.report},
        "workers": opts.workers, "snapshot": opts.snapshot, "key_cache": opts.key_cache,
        "mode": "aggregate" if opts.aggregate else "full",
        "node_flags": cmd[1:len(cmd) - len(opts.command) + 1],
        "started": started.isoformat(timespec="seconds"), "seconds": round(seconds, 1), "exit_code": code,
        "files": {"trace_log": TRACE_LOG, "samples": SAMPLES, **({"guard": GUARD_RECORD} if opts.guard else {}),
                  **({"aggregate": AGGREGATE} if opts.aggregate else {})},
        "guard": guard_end(out / GUARD_RECORD, opts) if opts.guard else None,
        **run_figures(out),
    }
    (out / RUN_RECORD).write_text(json.dumps(record, indent=1) + "\n")
    return code, record


def tidy_claims(out: Path) -> None:
    """The claim counter of bench/wlh/instance.mjs (instances/.claims/) is of no use once the program has ended;
    instances/ goes too when no process other than the root claimed one."""
    shutil.rmtree(out / INSTANCES_DIR / ".claims", ignore_errors=True)
    try:
        (out / INSTANCES_DIR).rmdir()
    except OSError:
        pass  # other instances recorded there (or it never existed)


def wait_for_aggregates(out: Path, timeout: float = 600.0) -> None:
    """Each instance's reader ends once its process has exited and it has read the rest of the pipe: wait for
    its end record (a reader that lags behind a fast writer may need a while; say so)."""
    dirs = [out / i["dir"] for i in instances(out)] or [out]
    t0 = time.monotonic()
    told = False
    for d in dirs:
        while (d / "trace.fifo").exists() and not _ended(d / AGGREGATE):
            if time.monotonic() - t0 > timeout:
                warn(f"{display_path(d)}: the aggregate reader has not finished after {timeout:.0f} s; its records "
                     "end at its last snapshot")
                break
            if not told and time.monotonic() - t0 > 2:
                warn("waiting for the aggregate readers to finish the stream")
                told = True
            time.sleep(0.1)
        err = d / "aggregate.err"
        if err.exists() and err.stat().st_size:
            warn(f"{display_path(err)}: {err.read_text(errors='replace').strip().splitlines()[-1]}")


def _ended(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 65536))
            tail = f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        return tail.startswith(b'{"kind":"end"')
    except OSError:
        return False


def guard_end(path: Path, opts: "RunOptions") -> dict:
    """What the guard saw (bench/guard/guard.cjs): the first crash (the cause) and how the process ended."""
    events = read_jsonl(path, strict=False).records if path.exists() else []
    crash = next((e for e in events if e.get("event") == "crash"), None)
    end = next((e for e in events if e.get("event") == "guard_exit"), None)
    warn_ = next((e for e in events if e.get("event") == "near_ceiling"), None)
    cap = next((e for e in events if e.get("event") == "memory_cap"), {})
    keep = ("how", "cause", "fault", "proof", "export", "error_name", "message", "wasm_memory_bytes", "ceiling_bytes")
    return {"cap_mib": opts.cap_mib, "ceiling_bytes": (cap.get("maximum_pages") or 0) * 65536 or None,
            "crash": {k: crash.get(k) for k in keep} if crash else None,
            "ended_by_guard": {k: end.get(k) for k in ("reason", "exit_code", "via")} if end else None,
            "near_ceiling": {k: warn_.get(k) for k in ("share", "proofs_done", "per_proof_bytes", "proofs_left")} if warn_ else None}


def run_figures(out: Path) -> dict:
    """snapshots, proofs and preload of the run: those of its one instance, or (several processes loaded o1js)
    the sums over its instances, each of which is listed with its own."""
    found = instances(out)
    if len(found) <= 1:
        return {**end_of_samples(out / (found[0]["dir"] if found else ".") / SAMPLES), "instances": found}
    snaps, proofs = sum(i["snapshots"] for i in found), [i["proofs"] for i in found]
    return {"snapshots": snaps, "proofs": None if None in proofs else sum(proofs),
            "preload": {"glue_loaded": True, "instances": len(found)}, "instances": found}


def instances(out: Path) -> list[dict]:
    """The instances claimed in a run directory (instances.jsonl), in start order, each with its figures."""
    path = out / INSTANCES_RECORD
    if not path.exists():
        return []
    found = sorted(read_jsonl(path, strict=False).records, key=lambda r: r.get("instance", 0))
    return [{**{k: r.get(k) for k in ("instance", "name", "pid", "ppid", "root", "dir", "argv")},
             **end_of_samples(out / r["dir"] / SAMPLES)} for r in found]


def end_of_samples(path: Path) -> dict:
    """What the preload saw: snapshots taken, proofs, prover exports, the pool size the program asked for. A
    process that was killed (a service's worker ended by a signal) wrote no end record: its proofs are those
    its last sample counted, and preload.ended says it did not end normally."""
    if not path.exists():
        return {"snapshots": 0, "proofs": None, "preload": None}
    records = read_jsonl(path, strict=False).records
    end = next((r for r in reversed(records) if r.get("event") == "end"), None)
    start = next((r for r in records if r.get("event") == "start"), {})
    samples = [r for r in records if r.get("event") == "sample"]
    proofs = end.get("proofs") if end else max((r.get("proofs_done") or 0 for r in samples), default=0)
    return {"snapshots": len(samples), "proofs": proofs,
            "preload": {"settle": start.get("settle"), **({k: end.get(k) for k in (
                "glue_loaded", "prover_exports", "step_prover_calls", "wrap_prover_calls", "threads_asked_by_program",
                "threads_used")}
                if end else {"ended": False, "glue_loaded": bool(start)})}}


def default_out(script: Path | None) -> Path:
    stem = script.stem if script else "program"
    return Path(f"wlh-{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")


def warn(msg: str) -> None:
    print(f"wlh: {msg}", file=sys.stderr, flush=True)
