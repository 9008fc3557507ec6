"""When does a run reach a memory ceiling (4 GiB, or a lowered cap)? A model from what the run measured,
not a line through byteLength steps.

A proof k fails when, at its peak, what it needs does not fit under the ceiling. What it needs is the live
heap it starts with (L after proof k-1) plus what a proof needs above that: static data, the prover's
transient buffers, allocator overhead, and the free space it could not reuse. That second part is measured
at every proof in which byteLength grew (then byteLength ≈ what the proof needed, rounded up by the
allocator's system request):

    need_j = byteLength after proof j − live heap after proof j−1      (j a proof that grew byteLength)
    W      = the largest need_j measured
    g      = how need_j drifts per proof (least squares over the grows after proof 1; needs
             DRIFT_MIN_GROWS of them), i.e. how fragmentation worsens; 0 when it cannot be measured or shrinks
    s      = the steady live-heap slope (least squares over proofs 1..N, proof 1's one-time growth excluded)

    proof k (> N) fails when  L_N + s·(k−1−N) + W + g·(k−N)  >  ceiling.

With g the forecast is the earliest proof (fragmentation keeps worsening at its measured pace); with g = 0
the latest (it stops worsening). Both are given; the first is the forecast. A live heap that does not grow
(s ≤ 0, or s ≤ twice its standard error) levels off: no crash is forecast.
Everything here is an estimate and the text says so."""
from __future__ import annotations

import math

from analysis.common.stats import linear_fit

DRIFT_MIN_GROWS = 3


def live_rate(live: dict) -> dict:
    rows = sorted((int(k), int(v)) for k, v in live.items() if int(k) >= 1 and v is not None)
    if len(rows) < 2:
        return {"per_proof": None, "spread": None, "grows": None, "points": len(rows)}
    fit = linear_fit([float(k) for k, _ in rows], [float(v) for _, v in rows])
    s, e = fit.slope, fit.slope_stderr
    grows = s > 0 and (e is None or s > 2 * e)
    return {"per_proof": s, "spread": e, "grows": grows, "points": len(rows), "last": rows[-1][1], "proof": rows[-1][0]}


def need_above_live(bytelength: dict, live: dict) -> dict:
    b = {int(k): int(v) for k, v in bytelength.items() if v is not None}
    l_ = {int(k): int(v) for k, v in live.items() if v is not None}
    grew = [j for j in sorted(b) if j >= 1 and j - 1 in b and b[j] > b[j - 1] and j - 1 in l_]
    needs = {j: b[j] - l_[j - 1] for j in grew}
    if not needs:
        return {"need": None, "measured_in": None, "drift": 0.0, "drift_grows": 0, "needs": {}}
    j_max = max(needs, key=lambda j: (needs[j], j))
    later = [j for j in grew if j >= 2]
    drift = 0.0
    if len(later) >= DRIFT_MIN_GROWS:
        fit = linear_fit([float(j) for j in later], [float(needs[j]) for j in later])
        drift = max(0.0, fit.slope)
    return {"need": needs[j_max], "measured_in": j_max, "drift": drift, "drift_grows": len(later),
            "needs": {str(j): v for j, v in needs.items()}}


def failing_proof(last_live: int, last_proof: int, s: float, need: int, drift: float, ceiling: int) -> int:
    """The first proof k > N with L_N + s(k−1−N) + need + drift(k−N) > ceiling (s + drift > 0)."""
    room = ceiling - last_live - need + s
    if room < 0:
        return last_proof + 1
    return last_proof + math.floor(room / (s + drift)) + 1


def crash_forecast(bytelength: dict, live: dict, ceiling: int) -> dict:
    r = live_rate(live)
    n = need_above_live(bytelength, live)
    out = {"ceiling_bytes": ceiling, "live": r, "need": n}
    if r["per_proof"] is None:
        return out | {"verdict": "not_enough_proofs", "more_proofs_needed": 2 - r["points"]}
    if not r["grows"]:
        return out | {"verdict": "levels_off"}
    if n["need"] is None:
        return out | {"verdict": "not_enough_proofs", "more_proofs_needed": 1}
    early = failing_proof(r["last"], r["proof"], r["per_proof"], n["need"], n["drift"], ceiling)
    late = failing_proof(r["last"], r["proof"], r["per_proof"], n["need"], 0.0, ceiling)
    return out | {"verdict": "crash", "crash_proof": early, "crash_proof_latest": late,
                  "proofs_left": early - r["proof"] - 1}
