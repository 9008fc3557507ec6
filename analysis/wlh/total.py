"""A run of several processes taken together (`wlh report` of such a run, `wlh compare --total`).

Each process has its own WASM memory and its own ceiling, so there is no total forecast: the total adds what
adds up across processes (proofs, live-heap growth over the run, objects never dropped by type) and lists
each instance's forecast beside it. Per proof means per proof made by any of the processes."""
from __future__ import annotations

from collections import defaultdict

from tabulate import tabulate

from analysis.common.units import mib, signed_mib


def _growth(s: dict) -> int | None:
    live = {int(k): v for k, v in (s.get("live_by_iteration") or {}).items() if v is not None}
    return live[max(live)] - live[min(live)] if len(live) >= 2 else None


def total(label: str, summaries: list[dict]) -> dict:
    by_type, in_loop = defaultdict(int), defaultdict(lambda: [0, 0])
    for s in summaries:
        for r in s["never_dropped_by_type"]:
            by_type[r["type"]] += r["bytes"]
        for r in s["never_dropped_in_loop"]:
            in_loop[r["type"]][0] += r["count"]
            in_loop[r["type"]][1] += r["bytes"]
    proofs = sum(s["proofs"] or 0 for s in summaries)
    growths = [_growth(s) for s in summaries]
    growth = None if None in growths else sum(growths)
    per = (lambda b: b / proofs if proofs else None)  # noqa: E731
    return {
        "label": label, "instances": len(summaries), "proofs": proofs,
        "checks_ok": all(s["checks_ok"] for s in summaries),
        "failed_checks": sorted({c for s in summaries for c in s["failed_checks"]}),
        "live_growth": growth, "live_growth_per_proof": per(growth) if growth is not None else None,
        "never_dropped_by_type": [{"type": t, "bytes": b} for t, b in sorted(by_type.items(), key=lambda kv: -kv[1])],
        "never_dropped_in_loop": [{"type": t, "count": c, "bytes": b, "bytes_per_proof": per(b)}
                                  for t, (c, b) in sorted(in_loop.items(), key=lambda kv: -kv[1][1])],
        "per_instance": [{"label": s["label"], "instance": s.get("instance"), "proofs": s["proofs"],
                          "checks_ok": s["checks_ok"], "live_per_proof": s["live"]["per_proof"],
                          "live_growth": g, "forecast": s["forecast_headline"]} for s, g in zip(summaries, growths)],
    }


def _opt(v, f=signed_mib, digits=3) -> str:
    return "n/a" if v is None else f(v, digits)


def markdown(t: dict) -> list[str]:
    rows = [[i["instance"]["instance"] if i.get("instance") else "", i["instance"]["pid"] if i.get("instance") else "",
             i["proofs"], "ok" if i["checks_ok"] else "**failed**", _opt(i["live_growth"]), _opt(i["live_per_proof"]),
             i["forecast"]] for i in t["per_instance"]]
    rows.append(["total", "", t["proofs"], "ok" if t["checks_ok"] else "**failed**", _opt(t["live_growth"]),
                 _opt(t["live_growth_per_proof"]), "(each process has its own ceiling)"])
    out = [tabulate(rows, headers=["instance", "pid", "proofs", "parser checks", "live heap growth, MiB",
                                   "per proof, MiB", "forecast"], tablefmt="github", disable_numparse=True), ""]
    leaks = [r for r in t["never_dropped_in_loop"] if r["bytes"] > 0]
    if leaks:
        out += ["Objects created after each instance's baseline snapshot and never dropped, all instances together "
                "(per proof: over the proofs of all instances):", "",
                tabulate([[f"`{r['type']}`", f"{r['count']:,}", mib(r["bytes"], 3), _opt(r["bytes_per_proof"], mib)]
                          for r in leaks[:15]], headers=["type", "objects", "MiB", "MiB per proof"],
                         tablefmt="github", disable_numparse=True)]
    else:
        out.append("No object created after a baseline snapshot was left undropped, in any instance.")
    return out


def compare(base: dict, cand: dict) -> str:
    """Two totals side by side; the verdict line compares never-dropped bytes per proof (no spread: a total
    has no rate fit, see the per-instance compare for one)."""
    b_types = {r["type"]: r for r in base["never_dropped_in_loop"]}
    c_types = {r["type"]: r for r in cand["never_dropped_in_loop"]}
    rows = []
    for t in sorted(set(b_types) | set(c_types), key=lambda t: -max(b_types.get(t, {}).get("bytes", 0),
                                                                  c_types.get(t, {}).get("bytes", 0))):
        b, c = b_types.get(t, {}), c_types.get(t, {})
        rows.append([f"`{t}`", _opt(b.get("bytes_per_proof"), mib), _opt(c.get("bytes_per_proof"), mib)])
    nd = (lambda x: sum(r["bytes"] for r in x["never_dropped_in_loop"]) / x["proofs"] if x["proofs"] else None)  # noqa: E731
    a, b = nd(base), nd(cand)
    if a is None or b is None:
        verdict = "no proofs in one of the runs: nothing to compare"
    else:
        change = f"{100 * (b - a) / a:+.1f} %" if a else "n/a"
        verdict = (f"all processes together, the candidate leaves {mib(b, 4)} MiB per proof never dropped "
                   f"against {mib(a, 4)} MiB ({change}; {cand['instances']} vs {base['instances']} processes, "
                   f"{cand['proofs']} vs {base['proofs']} proofs)")
    head = [["processes that loaded o1js", base["instances"], cand["instances"]],
            ["proofs (all processes)", base["proofs"], cand["proofs"]],
            ["live heap growth per proof, MiB", _opt(base["live_growth_per_proof"]), _opt(cand["live_growth_per_proof"])],
            ["parser checks", "ok" if base["checks_ok"] else "failed", "ok" if cand["checks_ok"] else "failed"]]
    return "\n".join([f"**Verdict (total):** {verdict}.", "",
                      tabulate(head, headers=["", f"`{base['label']}`", f"`{cand['label']}`"], tablefmt="github",
                               disable_numparse=True), "",
                      tabulate(rows, headers=["never dropped, MiB per proof", "baseline", "candidate"],
                               tablefmt="github", disable_numparse=True), ""])
