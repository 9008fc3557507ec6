"""wlh run: trace a node program against the chosen o1js."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from analysis.wlh import runner, spec, traced
from analysis.wlh.errors import WlhError
from analysis.wlh.aggregate.stream import AGGREGATE
from analysis.wlh.paths import RUN_RECORD, TRACE_LOG

SNAPSHOT = re.compile(r"^(proof|manual|every:\d+(\.\d+)?)$")


def snapshot_mode(text: str) -> str:
    if not SNAPSHOT.match(text) or (text.startswith("every:") and float(text[6:]) <= 0):
        raise argparse.ArgumentTypeError(f"'{text}': expected proof, every:SECONDS or manual")
    return text


def positive_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = 0.0
    if not 0 < x <= 4096:
        raise argparse.ArgumentTypeError(f"'{text}': expected a number of MiB above 0, at most 4096")
    return x


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': expected a whole number >= 1")
    return int(text)


class RunCommand:
    name = "run"
    help = "run a node program under the tracer (writes a run directory)"
    description = """\
Run a node program unchanged, with `import 'o1js'` / `require('o1js')` resolved to an instrumented copy of
the chosen o1js, and record every WASM allocation and object of o1js's Rust bindings (trace.log), a
GC-settled heap snapshot at each snapshot point (samples.jsonl) and a run record (run.json) into --out.
The instrumented copy is made once per o1js content and kept in $WLH_CACHE (default ~/.cache/wlh).
Every node process the program starts (fork, spawn and exec of node, cluster) is followed: each one that loads
o1js is an instance with its own trace log and samples (the process wlh started at the top of --out, any other
in instances/<n>-<pid>/; run.json lists them). Progress (proofs done, WASM MiB, live MiB) goes to stderr; the
program's exit code is wlh's."""
    epilog = """\
--o1js SPEC:
  2.15.0                a release (the one pinned by this repository is used as installed; others are
                        installed with npm into the cache, their lockfile recorded in run.json)
  path/to/o1js          a built o1js checkout (with dist/node) or an unpacked package
  path/to/o1js-X.tgz    `npm pack` output (unpacked into the cache once per content hash)
  (none)                the o1js the program would import (node_modules/o1js above the script), else
                        the release pinned by this repository

--snapshot MODE:
  proof          (default) just before the first prover call, then as each proof's last prover call
                 (the wrap proof) returns: one snapshot per proof, GC settled there
  every:SECONDS  every SECONDS once o1js has loaded its WASM bindings
  manual         where the program calls  await globalThis.wlhSnapshot?.('label')
                 (the optional call keeps the program runnable without wlh; the first call is the
                 baseline, iteration 0)

--aggregate:
  the tracer's events go through a pipe to a reader (one per process) that keeps the live objects and
  writes, at each snapshot, per type and creation site: live objects and bytes, allocated and dropped
  since the last snapshot, and what is still live per snapshot interval (aggregate.jsonl); the trace
  log keeps every line but ALLOCATE/DROP (SNAPSHOT, SITE_LIVE, SITE, GROW). The parser's checks on
  ids are made by the reader and written as counts. `wlh report/compare/check` read both modes alike;
  only the object-by-object listing of a full log is gone.

example:
  wlh run --o1js 2.15.0 --workers 1 --out runs/base -- node build/prove.js --count 3
  wlh report runs/base"""

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("--o1js", metavar="SPEC", help="release version, o1js folder or tarball (see below)")
        p.add_argument("--workers", type=positive_int, metavar="N",
                       help="rayon worker threads (default: the program's own choice; o1js picks cores - 1)")
        p.add_argument("--out", type=Path, metavar="DIR", help="run directory (default: ./wlh-SCRIPT-TIME)")
        p.add_argument("--force", action="store_true", help="replace the run in a non-empty --out")
        p.add_argument("--snapshot", type=snapshot_mode, default="proof", metavar="MODE",
                       help="proof (default), every:SECONDS or manual (see below)")
        p.add_argument("--key-cache", choices=["fresh", "home"], default="fresh",
                       help="o1js's compiled-key cache: fresh = an empty one per run (default; memory depends on "
                            "it), home = the program's usual one")
        p.add_argument("--label", help="name of the run in reports (default: the script's name)")
        p.add_argument("--no-guard", dest="guard", action="store_false",
                       help="do not load the guard (by default a WASM fault, e.g. out of memory in a rayon worker, "
                            "ends the program within 5 s with exit code 86 instead of hanging; guard.jsonl says why)")
        p.add_argument("--cap", type=positive_float, metavar="MIB",
                       help="lower o1js's WASM memory ceiling to MIB (default 4096) to reach it in fewer proofs")
        p.add_argument("--aggregate", action="store_true",
                       help="keep live tables per type and site instead of one log line per allocation and drop: "
                            "disk grows with snapshots, not with events (for long runs; see below)")
        p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- node SCRIPT [ARGS]",
                       help="the program, after --")

    def run(self, args: argparse.Namespace) -> int:
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        script = runner.check_command(command)
        runner.check_node_version(command[0])
        if args.cap is not None and not args.guard:
            raise WlhError("--cap is applied by the guard: drop --no-guard")
        out = args.out or runner.default_out(script)
        runner.prepare_out(out, args.force)
        src = spec.resolve(args.o1js, script)
        copy = traced.prepare(src)
        note = f" [{'; '.join(src.notes)}]" if src.notes else ""
        runner.warn(f"o1js {src.version} ({src.kind} {src.spec}){note}{' (cached copy)' if copy.reused else ''}; "
                    f"recording into {out}")
        opts = runner.RunOptions(command=command, out=out, snapshot=args.snapshot, workers=args.workers,
                                 key_cache=args.key_cache, label=args.label or (script.name if script else "program"),
                                 guard=args.guard, cap_mib=args.cap, aggregate=args.aggregate)
        code, record = runner.run(opts, src, copy)
        loaded = (record.get("preload") or {}).get("glue_loaded")
        if not loaded and code != 0:
            runner.warn(f"the program exited with code {code} before o1js loaded its WASM bindings: nothing was "
                        "traced (its own error is above)")
        elif not loaded:
            runner.warn("no process of the program loaded o1js's WASM bindings: nothing was traced (does it "
                        "import 'o1js'? does it select the native backend? wlh follows node processes, not o1js "
                        "loaded in a worker thread, which o1js 2.15.0 does not support anyway)")
        elif record["snapshots"] == 0:
            runner.warn(f"no snapshot was taken (--snapshot {args.snapshot}); `wlh report` needs at least two")
        logs = [out / i["dir"] / TRACE_LOG for i in record["instances"]] or [out / TRACE_LOG]
        size = sum(f.stat().st_size for f in logs + [f.with_name(AGGREGATE) for f in logs] if f.exists())
        n = record["proofs"]
        several = f" in {len(logs)} processes (instances/)" if len(logs) > 1 else ""
        proofs = "no proof counted" if n is None else f"{n} proof{'' if n == 1 else 's'}"
        runner.warn(f"{record['snapshots']} snapshot(s), {proofs}{several}, trace log"
                    f"{'s' if len(logs) > 1 else ''}{' and aggregates' if args.aggregate else ''} {size / 2 ** 20:.1f} MiB; run record {out / RUN_RECORD}; "
                    f"next: wlh report {out}")
        ended = ((record.get("guard") or {}).get("ended_by_guard") or {})
        crash = (record.get("guard") or {}).get("crash") or {}
        if ended:
            runner.warn(f"the guard ended the program with code {ended['exit_code']} ({crash.get('how')}, "
                        f"{crash.get('cause')}, in proof {crash.get('proof')}): the trace up to that point is kept; "
                        f"{out / 'guard.jsonl'} says more")
        elif code != 0 and loaded:
            runner.warn(f"the program exited with code {code} (the trace up to that point is kept)")
        return code
