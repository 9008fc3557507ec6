"""The long run itself (a one-off, not a pipeline step: it takes hours): `wlh run` of bench/wlh-loop.mjs on the
pinned release, then `wlh report`, then the byte offset of each SNAPSHOT line in the trace log (disk per proof;
the log itself is not committed).

    python -m analysis.longrun.run --scenario trivial --proofs 100 [--out artifacts/longrun/trivial]
    python -m analysis.longrun.run --scenario trivial --proofs 300 --aggregate   # -> artifacts/longrun/trivial-aggregate
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from analysis.candidate.steps import WLH, _call
from analysis.common.paths import BENCH, ROOT
from analysis.wlh import spec
from analysis.wlh.aggregate.disk import log_offsets

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", choices=["trivial", "recursive"], default="trivial")
    ap.add_argument("--proofs", type=int, default=100)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--aggregate", action="store_true", help="wlh run --aggregate (disk grows with snapshots only)")
    a = ap.parse_args(argv)
    out = a.out or ROOT / "artifacts" / "longrun" / (a.scenario + ("-aggregate" if a.aggregate else ""))
    cmd = [*WLH, "run", "--o1js", spec.pinned_version(), "--workers", "1", "--out", str(out), "--force",
           *(["--aggregate"] if a.aggregate else []),
           "--label", f"long run {a.scenario} ({a.proofs} proofs{', aggregate' if a.aggregate else ''})", "--", "node", str(BENCH / "wlh-loop.mjs"),
           "--scenario", a.scenario, "--proofs", str(a.proofs), "--workers", "1"]
    try:
        _call(cmd, f"long run {a.scenario}: wlh run")
        _call([*WLH, "report", str(out)], f"long run {a.scenario}: wlh report")
    except RuntimeError as e:
        print(f"longrun: error: {e}", file=sys.stderr)
        return 1
    (out / "log_offsets.json").write_text(json.dumps(log_offsets(out / "trace.log"), indent=1) + "\n")
    print(f"longrun: {out}: done; next: doit longrun_report", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
