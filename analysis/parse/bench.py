"""Benchmark of the trace-log parser (not a test): python -m analysis.parse.bench [--lines N]

Writes a realistic log to a temporary file (about 48 % ALLOCATE with site, 45 % DROP, some noise,
SITE lines before first use, a SNAPSHOT and its SITE_LIVE lines per iteration, a few leaking types;
ALLOCATE/DROP lines as the binary route writes them, --source-route for the source route's),
then parses it in a child process that does nothing else, and prints lines per second and the
child's peak RSS (getrusage ru_maxrss), so generating the log does not count.
--reordered writes ALLOCATE/DROP keys in another order, which the regex fast path does not take:
it measures the slow (per-line orjson) path.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis.common.paths import ROOT

TYPES = [  # (name, weight, mean size, probability that an object is never dropped)
    ("WasmFpPolyComm", 20, 320, 0.0), ("WasmFqPolyComm", 20, 320, 0.0), ("WasmGPallas", 30, 104, 0.0),
    ("WasmGVesta", 30, 104, 0.0), ("WasmVecVecFp", 8, 4096, 0.0), ("WasmVecVecFq", 8, 4096, 0.0),
    ("WasmFpGate", 6, 240, 0.0), ("WasmFqGate", 6, 240, 0.0), ("WasmFpGateVector", 1, 65536, 0.0),
    ("WasmFpProverProof", 2, 12000, 0.3), ("WasmFqProverProof", 2, 12000, 0.3),
    ("WasmFpOpeningProof", 2, 2200, 0.05), ("WasmFpLookupCommitments", 1, 900, 0.0),
    ("WasmFpProverCommitments", 2, 1800, 0.02), ("WasmPastaFpPlonkIndex", 0.05, 8_000_000, 0.5),
    ("WasmPastaFqPlonkIndex", 0.05, 8_000_000, 0.5), ("WasmFpPlonkVerifierIndex", 0.2, 40000, 0.2),
    ("WasmFpSrs", 0.01, 50_000_000, 1.0), ("WasmFpDomain", 3, 48, 0.0), ("WasmFpShifts", 1, 256, 0.0),
    ("kimchi::prover::ProverProof<Fp>", 1, 11000, 0.1), ("WasmPastaFp", 25, 32, 0.0),
]
NOISE = [b"proving step %d ... done", b"(node:%d) ExperimentalWarning: ESM loader", b"compile %d: 12.3s",
         b"o1js: worker %d started", b"    at Object.<anonymous> (file:///bench/prove.js:%d:5)", b""]
HOWS = [b"free", b"finalizer", b"consumed", b"rust"]


def write_log(path: Path, lines: int, seed: int = 1, reordered: bool = False, source_route: bool = False,
              iterations: int = 10) -> None:
    """ALLOCATE/DROP lines as the binary route writes them (site, tid, ptr / freed, how, tid), or as the
    source route does (source_route: site only), or with keys out of schema order (reordered)."""
    rnd = random.Random(seed)
    names = [t[0] for t in TYPES]
    weights = [t[1] for t in TYPES]
    sites_per_type = {n: [i * 16 + k for k in range(rnd.randint(2, 16))] for i, n in enumerate(names)}
    defined: set[int] = set()
    live: list[tuple[int, bytes, int]] = []
    next_id = 0
    written = 0
    per_iter = max(lines // iterations, 1)
    next_snapshot, it = per_iter, 0
    with open(path, "wb", buffering=1 << 20) as f:
        out = []
        out.append(b'@{"ev":"META","route":"binary","o1js":"2.15.0","scenario":"bench","synthetic":true}')
        while written + len(out) < lines:
            r = rnd.random()
            if r < 0.48:
                i = rnd.choices(range(len(names)), weights)[0]
                name, _, mean, leak = TYPES[i]
                site = rnd.choice(sites_per_type[name])
                if site not in defined:
                    defined.add(site)
                    out.append(b'@{"ev":"SITE","site":%d,"js":"dist/node/lib/proof-system/zkprogram.js:%d",'
                               b'"rust":"caml_pasta_fp_plonk_proof_create","alloc_fn":"alloc::vec::Vec<T>::push"}'
                               % (site, site % 900 + 1))
                size = max(1, int(rnd.expovariate(1 / mean)))
                t = name.encode()
                tid = 0 if rnd.random() < 0.9 else rnd.randint(1, 3)
                ptr = 1_100_000 + (next_id * 88) % 15_000_000
                if reordered:
                    out.append(b'@{"id":%d,"type":"%s","size":%d,"site":%d,"ev":"ALLOCATE","tid":%d,"ptr":%d}'
                               % (next_id, t, size, site, tid, ptr))
                elif source_route:
                    out.append(b'@{"ev":"ALLOCATE","size":%d,"type":"%s","id":%d,"site":%d}' % (size, t, next_id, site))
                else:  # the binary route's line: site, tid and ptr
                    out.append(b'@{"ev":"ALLOCATE","size":%d,"type":"%s","id":%d,"site":%d,"tid":%d,"ptr":%d}'
                               % (size, t, next_id, site, tid, ptr))
                if rnd.random() >= leak:
                    live.append((next_id, t, size))
                next_id += 1
            elif r < 0.93:
                if not live:
                    continue
                # mostly recent objects (temporaries), sometimes an old one
                j = len(live) - 1 - min(int(rnd.expovariate(1 / 50)), len(live) - 1) if rnd.random() < 0.9 \
                    else rnd.randrange(len(live))
                live[j], live[-1] = live[-1], live[j]
                ident, t, size = live.pop()
                how = HOWS[ident % 4]
                if reordered:
                    out.append(b'@{"how":"%s","id":%d,"size":%d,"type":"%s","ev":"DROP"}' % (how, ident, size, t))
                elif source_route:
                    out.append(b'@{"ev":"DROP","size":%d,"type":"%s","id":%d}' % (size, t, ident))
                elif how == b"rust":  # binary route, a worker thread
                    out.append(b'@{"ev":"DROP","size":%d,"type":"%s","id":%d,"how":"rust","tid":%d}'
                               % (size, t, ident, 1 + ident % 3))
                else:  # binary route, main thread
                    out.append(b'@{"ev":"DROP","size":%d,"type":"%s","id":%d,"freed":%d,"how":"%s","tid":0}'
                               % (size, t, ident, size + 16, how))
            else:
                noise = rnd.choice(NOISE)
                out.append(noise % written if b"%d" in noise else noise)
            if written + len(out) >= next_snapshot:
                it += 1
                next_snapshot += per_iter
                heap = next_id * 700
                out.append(b'@{"ev":"SNAPSHOT","iteration":%d,"phase":"after-proof","memory_bytes":%d,'
                           b'"live_heap_bytes":%d,"live_blocks":%d,"tracked_live_objects":%d,"tracked_live_bytes":%d}'
                           % (it, heap * 2, heap, next_id, len(live), heap // 2))
                for s in sorted(defined):
                    out.append(b'@{"ev":"SITE_LIVE","iteration":%d,"site":%d,"bytes":%d,"blocks":%d,"owned_bytes":%d}'
                               % (it, s, s * 1000, s, s * 500))
            if len(out) >= 65536:
                f.write(b"\n".join(out) + b"\n")
                written += len(out)
                out = []
        f.write(b"\n".join(out[: lines - written]) + b"\n")


CHILD = """
import json, resource, sys, time
from analysis.parse import parse_file
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
t, c = time.perf_counter(), cpu()
r = parse_file(sys.argv[1])
dt, dc = time.perf_counter() - t, cpu() - c
print(json.dumps({"seconds": dt, "cpu_seconds": dc, "lines": r.lines_total, "noise": r.noise_lines, "events": r.events,
                  "never_dropped": r.totals["never_dropped"], "failed": r.failed_checks,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run(lines: int, reordered: bool = False, keep: Path | None = None, log: Path | None = None,
        source_route: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = log or keep or Path(tmp) / "trace.log"
        t = time.perf_counter()
        if not log:
            write_log(path, lines, reordered=reordered, source_route=source_route)
        gen = time.perf_counter() - t
        size = path.stat().st_size
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": "0"})
        wall = time.perf_counter() - t
        if proc.returncode:
            raise SystemExit(f"parse child failed:\n{proc.stderr}")
        child = json.loads(proc.stdout)
        children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"lines": child["lines"], "bytes": size, "generate_s": gen, "parse_s": child["seconds"],
            "child_wall_s": wall, "lines_per_s": child["lines"] / child["seconds"],
            "cpu_s": child["cpu_seconds"], "lines_per_cpu_s": child["lines"] / child["cpu_seconds"],
            "peak_rss_mib": child["maxrss_kib"] / 1024, "children_maxrss_mib": children_rss / 1024,
            "events": child["events"], "noise": child["noise"], "never_dropped": child["never_dropped"],
            "failed_checks": child["failed"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.parse.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--reordered", action="store_true", help="keys out of schema order (slow path)")
    ap.add_argument("--source-route", action="store_true", help="the source route's shorter lines")
    ap.add_argument("--keep", type=Path, help="write the log here and keep it")
    ap.add_argument("--log", type=Path, help="parse this existing log instead of generating one")
    args = ap.parse_args(argv)
    r = run(args.lines, args.reordered, args.keep, args.log, args.source_route)
    print(f"log: {r['lines']:,} lines, {r['bytes'] / 2**20:,.0f} MiB (generated in {r['generate_s']:.1f} s); "
          f"events {r['events']}, noise {r['noise']:,}, never dropped {r['never_dropped']:,}")
    print(f"parse: {r['parse_s']:.2f} s wall in the child ({r['child_wall_s']:.2f} s with start-up) -> "
          f"{r['lines_per_s']:,.0f} lines/s; {r['cpu_s']:.2f} s CPU -> "
          f"{r['lines_per_cpu_s']:,.0f} lines per CPU second")
    print(f"peak RSS of the parsing process {r['peak_rss_mib']:,.0f} MiB "
          f"(ru_maxrss self; RUSAGE_CHILDREN in the parent: {r['children_maxrss_mib']:,.0f} MiB)")
    if r["failed_checks"]:
        print(f"failed checks (unexpected for a generated log): {r['failed_checks']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
