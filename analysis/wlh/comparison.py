"""`wlh compare`: two runs of one program side by side, and a verdict line generated from the figures.

The verdict answers first what the person testing a fix asks: does the candidate still reach the memory
ceiling, and when (the one forecaster, analysis.forecast: a build whose live heap does not grow levels off)?
Then the steady live-heap growth per proof (the leak): the difference of the two least-squares rates against
twice their combined standard error (sqrt(s1² + s2²)). With fewer than three proofs a run has no spread, and
the verdict says so instead of calling the change significant.

Only runs of the same program are comparable: `differences()` lists what differs between the two run records
(program and arguments, snapshot mode, worker threads, key cache); the command refuses such a pair unless told
to go on, and then the Markdown says what differs."""
from __future__ import annotations

import math

from tabulate import tabulate

from analysis.common.units import mib, signed_mib
from analysis.forecast import short
from analysis.forecast.steps import steps_text

# what must be the same in both run records for the runs to be of "the same program"
SAME = (("program", "program and arguments"), ("snapshot", "snapshot mode"), ("workers", "worker threads"),
        ("key_cache", "o1js key cache"))


def differences(base: dict, cand: dict) -> list[str]:
    """'program and arguments: `node a.mjs` vs `node b.mjs`', ... for every SAME field that differs (a field
    missing from one record, e.g. a trace log given alone, is not held against the pair)."""
    out = []
    for key, name in SAME:
        a, b = base.get(key), cand.get(key)
        if a is not None and b is not None and a != b:
            show = (lambda v: " ".join(v) if isinstance(v, list) else str(v))  # noqa: E731
            out.append(f"{name}: `{show(a)}` vs `{show(b)}`")
    return out


def _pm(r: dict, digits: int = 3) -> str:
    if r.get("per_proof") is None:
        return "n/a"
    return signed_mib(r["per_proof"], digits) + (f" ± {mib(r['spread'], digits + 1)}" if r.get("spread") is not None else "")


def _change(a, b, digits: int = 3) -> str:
    if a is None or b is None:
        return "n/a"
    rel = f" ({100 * (b - a) / abs(a):+.1f} %)" if a else ""
    return f"{signed_mib(b - a, digits)}{rel}"


def _bytelength(b: dict) -> str:
    kind = {"steady": f"recurring: {_pm(b)} MiB/proof", "levels_off": f"levels off since proof {b['since_proof']}",
            "not_enough_proofs": f"too few proofs to tell ({b['more_proofs_needed']} more needed)"}[b["kind"]]
    return f"{steps_text(b, 4)}; {kind}"


def rate_change(base: dict, cand: dict) -> dict:
    """Difference of two rates ({per_proof, spread}) and whether it exceeds twice the combined spread."""
    a, b = base.get("per_proof"), cand.get("per_proof")
    if a is None or b is None:
        return {"difference": None, "combined_spread": None, "significant": None}
    sa, sb = base.get("spread"), cand.get("spread")
    spread = math.sqrt(sa ** 2 + sb ** 2) if sa is not None and sb is not None else None
    return {"difference": b - a, "combined_spread": spread,
            "significant": None if spread is None else abs(b - a) > 2 * spread}


def type_rows(base: dict, cand: dict, limit: int = 12) -> list[dict]:
    def by_type(s, key, field):
        return {r["type"]: r[field] for r in s[key]}
    nb, nc = by_type(base, "never_dropped_by_type", "bytes"), by_type(cand, "never_dropped_by_type", "bytes")
    lb, lc = by_type(base, "never_dropped_in_loop", "bytes_per_proof"), by_type(cand, "never_dropped_in_loop", "bytes_per_proof")
    types = sorted(set(nb) | set(nc), key=lambda t: (-max(nb.get(t, 0), nc.get(t, 0)), t))[:limit]  # ties by name
    return [{"type": t, "baseline": nb.get(t, 0), "candidate": nc.get(t, 0),
             "baseline_per_proof": lb.get(t, 0), "candidate_per_proof": lc.get(t, 0)} for t in types]


def compare(base: dict, cand: dict) -> dict:
    return {"baseline": base["label"], "candidate": cand["label"], "differences": differences(base, cand),
            "live": rate_change(base["live"], cand["live"]),
            "forecast": {"baseline": short(base["forecast"]), "candidate": short(cand["forecast"])},
            "types": type_rows(base, cand)}


def verdict(base: dict, cand: dict, c: dict) -> str:
    head = f"Verdict: the candidate {c['forecast']['candidate']}; the baseline {c['forecast']['baseline']}"
    live = c["live"]
    if live["difference"] is None:
        return head + ". No live-heap rate in one of the runs (each needs at least two proofs after the baseline)."
    a, b = base["live"]["per_proof"], cand["live"]["per_proof"]
    tail = f". Live-heap growth per proof {_pm(base['live'])} → {_pm(cand['live'])} MiB (change {_change(a, b)})"
    if live["significant"] is None:
        tail += "; spread unknown (fewer than 3 proofs in a run), so no claim that the change is real"
    elif live["significant"]:
        tail += f"; beyond twice the combined spread ({mib(2 * live['combined_spread'], 4)} MiB): a real change"
    else:
        tail += f"; within twice the combined spread ({mib(2 * live['combined_spread'], 4)} MiB): no measurable change"
    moved = sorted(c["types"], key=lambda r: (-abs(r["candidate_per_proof"] - r["baseline_per_proof"]), r["type"]))
    if moved and moved[0]["candidate_per_proof"] != moved[0]["baseline_per_proof"]:
        m = moved[0]
        tail += (f". Largest change by type: `{m['type']}` never dropped per proof {mib(m['baseline_per_proof'], 3)} → "
                 f"{mib(m['candidate_per_proof'], 3)} MiB")
    if c["differences"]:
        tail += ". The runs differ (" + "; ".join(c["differences"]) + "): compare with care"
    return head + tail + "."


def markdown(base: dict, cand: dict, c: dict) -> str:
    def o1js(s):
        o = s.get("o1js") or {}
        return f"{o.get('version')} ({o.get('kind')} {o.get('spec')})" if o else "n/a"
    rows = [
        ["o1js", o1js(base), o1js(cand), ""],
        ["proofs (snapshots)", f"{base['proofs']} ({base['snapshots']})", f"{cand['proofs']} ({cand['snapshots']})", ""],
        ["parser checks", "ok" if base["checks_ok"] else "FAILED", "ok" if cand["checks_ok"] else "FAILED", ""],
        ["live heap growth per proof, MiB (± spread)", _pm(base["live"]), _pm(cand["live"]),
         _change(base["live"]["per_proof"], cand["live"]["per_proof"])],
        ["live heap growth, first proof, MiB", signed_mib(base["live"]["first_proof"], 3),
         signed_mib(cand["live"]["first_proof"], 3), _change(base["live"]["first_proof"], cand["live"]["first_proof"])],
        ["byteLength growth, first proof, MiB", signed_mib(base["bytelength"]["first_proof"], 3),
         signed_mib(cand["bytelength"]["first_proof"], 3),
         _change(base["bytelength"]["first_proof"], cand["bytelength"]["first_proof"])],
        ["byteLength steps after proof 1 (a high-water mark: a rate only where they recur)",
         _bytelength(base["bytelength"]), _bytelength(cand["bytelength"]), ""],
        ["forecast (analysis/forecast; an estimate)", c["forecast"]["baseline"], c["forecast"]["candidate"], ""],
    ]
    md = [tabulate(rows, headers=["", f"baseline `{base['label']}`", f"candidate `{cand['label']}`", "change"],
                   tablefmt="github", disable_numparse=True), ""]
    if c["types"]:
        md += ["Bytes never dropped, by type (whole run; and per proof, of objects created after the baseline snapshot):", "",
               tabulate([[f"`{r['type']}`", mib(r["baseline"], 3), mib(r["candidate"], 3),
                          signed_mib(r["candidate"] - r["baseline"], 3), mib(r["baseline_per_proof"], 4),
                          mib(r["candidate_per_proof"], 4)] for r in c["types"]],
                        headers=["type", "baseline MiB", "candidate MiB", "change MiB", "baseline per proof MiB",
                                 "candidate per proof MiB"], tablefmt="github", disable_numparse=True), ""]
    if c["differences"]:
        md += ["Note: the two runs are not of the same program as run (" + "; ".join(c["differences"]) +
               "): their figures are not comparable.", ""]
    md += [verdict(base, cand, c), ""]
    return "\n".join(md)
