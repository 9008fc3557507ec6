"""What a run cost on disk, per snapshot: the bytes written before each SNAPSHOT line of the trace log and, in
aggregate mode, before each snapshot record of aggregate.jsonl. A proof's bytes are those written between the
snapshot before it and the one after it. Much of it is one-time: compile, the first proof, and the first proof
that takes a new path (proof 2 of the recursive scenario verifies proof 1 in its circuit: about 140 new creation
sites, each written once with its stack). The steady cost is the median over the proofs after the first, and
the proofs that wrote more than twice that are listed apart, as one-time steps are elsewhere."""
from __future__ import annotations

import json
from pathlib import Path

from analysis.wlh.aggregate.stream import AGGREGATE

SNAPSHOT = b'@{"ev":"SNAPSHOT"'
AGG_SNAPSHOT = b'{"kind":"snapshot"'


def log_offsets(log: Path) -> dict:
    """{iteration: bytes written before that SNAPSHOT line} (both files in aggregate mode), and the total."""
    offsets, pos = {}, 0
    with open(log, "rb") as f:
        for line in f:
            if line.startswith(SNAPSHOT):
                offsets[str(json.loads(line[1:])["iteration"])] = pos
            pos += len(line)
    agg = log.with_name(AGGREGATE)
    if agg.is_file():
        apos = 0
        with open(agg, "rb") as f:
            for line in f:
                if line.startswith(AGG_SNAPSHOT):
                    it = str(json.loads(line)["iteration"])
                    offsets[it] = offsets.get(it, 0) + apos
                apos += len(line)
        pos += apos
    return {"snapshot_offsets": offsets, "log_bytes": pos}


def bytes_per_proof(offsets: dict) -> dict[int, int]:
    """{proof k: bytes written between the snapshots k-1 and k}, for consecutive snapshots from iteration 0."""
    o = {int(k): v for k, v in offsets["snapshot_offsets"].items()}
    return {k: o[k] - o[k - 1] for k in sorted(o) if k >= 1 and k - 1 in o}


def steady_bytes_per_proof(offsets: dict) -> dict:
    """The median of the proofs after the first (None with fewer than 2 of them) and the proofs above twice it."""
    per = bytes_per_proof(offsets)
    later = sorted(v for k, v in per.items() if k >= 2)
    if len(later) < 2:
        return {"per_proof": None, "one_time": {}, "by_proof": per}
    mid = len(later) // 2
    median = later[mid] if len(later) % 2 else (later[mid - 1] + later[mid]) / 2
    return {"per_proof": median, "one_time": {k: v for k, v in per.items() if v > 2 * median},
            "by_proof": per}
