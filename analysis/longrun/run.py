"""The long run itself (a one-off, not a pipeline step: it takes hours): `wlh run` of bench/wlh-loop.mjs on the
pinned release, then `wlh report`, then the byte offset of each SNAPSHOT line in the trace log (disk per proof;
the log itself is not committed).

    python -m analysis.longrun.run --scenario trivial --proofs 100 [--out artifacts/longrun/trivial]
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

SNAPSHOT = b'@{"ev":"SNAPSHOT"'


def log_offsets(log: Path) -> dict:
    """{iteration: bytes of the log before that SNAPSHOT line}, and the log's size: what the log cost per proof."""
    offsets, pos = {}, 0
    with open(log, "rb") as f:
        for line in f:
            if line.startswith(SNAPSHOT):
                offsets[str(json.loads(line[1:])["iteration"])] = pos
            pos += len(line)
    return {"snapshot_offsets": offsets, "log_bytes": pos}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", choices=["trivial", "recursive"], default="trivial")
    ap.add_argument("--proofs", type=int, default=100)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    out = a.out or ROOT / "artifacts" / "longrun" / a.scenario
    cmd = [*WLH, "run", "--o1js", spec.pinned_version(), "--workers", "1", "--out", str(out), "--force",
           "--label", f"long run {a.scenario} ({a.proofs} proofs)", "--", "node", str(BENCH / "wlh-loop.mjs"),
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
