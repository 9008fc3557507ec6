"""byteLength growth as what it is: a high-water mark that grows in steps.

WASM memory grows only when an allocation finds no free chunk large enough (STEP_3.md, "Why byteLength
grew"), so byteLength after each proof is flat for a while, then jumps. A least-squares line through a few
such jumps is not a rate: one +8 MiB step in proof 2 of a 3-proof run reads as "+4 MiB per proof". This
module lists the steps apart and gives a rate only where the steps keep recurring:

- proof 1 is always one-time growth (keys, SRS, the prover's first buffers) and is shown apart;
- growth **recurs** when at least STEADY_MIN_STEPS proofs after proof 1 grew and the flat run after the last
  of them is no longer than the longest gap seen between steps: then the least-squares slope over proofs
  1..N is a steady rate (with its standard error);
- it **levels off** when the flat run after the last step is at least LEVEL_FLAT_PROOFS proofs long and at
  least twice the longest gap seen: the steps before it were one-time;
- otherwise there are **not enough proofs to tell**, and the result says how many more flat proofs would
  show that it levels off.
Input: {iteration: byteLength}, iteration 0 = the baseline snapshot before the first proof (optional),
iteration k = after proof k."""
from __future__ import annotations

from analysis.common.stats import linear_fit

STEADY_MIN_STEPS = 3
LEVEL_FLAT_PROOFS = 5


def after_proofs(series: dict) -> list[tuple[int, int]]:
    return sorted((int(k), int(v)) for k, v in series.items() if int(k) >= 1 and v is not None)


def bytelength_growth(series: dict) -> dict:
    rows = after_proofs(series)
    base = series.get(0, series.get("0"))
    out = {"proofs": rows[-1][0] if rows else 0, "last_bytes": rows[-1][1] if rows else None,
           "first_proof": rows[0][1] - base if rows and base is not None and rows[0][0] == 1 else None,
           "steps": [], "kind": "not_enough_proofs", "per_proof": None, "spread": None, "since_proof": None,
           "more_proofs_needed": None}
    if len(rows) < 2:
        out["more_proofs_needed"] = LEVEL_FLAT_PROOFS + 1 - len(rows)
        return out
    steps = [{"proof": k, "bytes": v - pv} for (pk, pv), (k, v) in zip(rows, rows[1:]) if v > pv]
    out["steps"] = steps
    first, last = rows[0][0], rows[-1][0]
    step_proofs = [first] + [s["proof"] for s in steps]    # the one-time growth of proof 1 starts the count
    longest_gap = max((b - a for a, b in zip(step_proofs, step_proofs[1:])), default=1)
    flat_tail = last - step_proofs[-1]
    needed_flat = max(LEVEL_FLAT_PROOFS, 2 * longest_gap)
    if len(steps) >= STEADY_MIN_STEPS and flat_tail <= longest_gap:
        fit = linear_fit([float(k) for k, _ in rows], [float(v) for _, v in rows])
        out |= {"kind": "steady", "per_proof": fit.slope, "spread": fit.slope_stderr, "longest_gap": longest_gap}
    elif flat_tail >= needed_flat:
        out |= {"kind": "levels_off", "per_proof": 0.0, "since_proof": step_proofs[-1]}
    else:
        out["more_proofs_needed"] = needed_flat - flat_tail
    return out


def steps_text(g: dict, limit: int = 6) -> str:
    """'+8.12 MiB in proof 2, +4.06 MiB in proof 3, …' (the steps after proof 1)."""
    from analysis.common.units import signed_mib
    s = g["steps"]
    if not s:
        return "none"
    shown = ", ".join(f"{signed_mib(x['bytes'], 2)} MiB in proof {x['proof']}" for x in s[:limit])
    return shown + (f", and {len(s) - limit} more" if len(s) > limit else "")
