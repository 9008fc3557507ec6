"""The release matrix compared (issue 8): one row per cell, and each what-if cell against its plain cell,
with the drop in per-proof live-heap growth the analysis predicted and the drop measured.

The prediction comes from the plain cell alone: the steady per-proof growth of the live bytes of the
types the mitigation targets (config `mitigations.<name>.targets`). The measurement is the difference of
the least-squares live-heap slopes of the two cells' traces."""
from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from analysis.common.units import mib, pct, signed_mib
from analysis.forecast.steps import bytelength_growth, steps_text


def bytelength_steps(baseline: dict) -> dict:
    """The untraced baseline's byteLength after compile and each proof, read as steps (analysis.forecast):
    4 proofs are too few for a rate unless the steps recur every proof."""
    return bytelength_growth({int(k): v for k, v in (baseline.get("bytes_by_iteration") or {}).items()})


def steps_cell(g: dict) -> str:
    kind = {"steady": f"recurring, {signed_mib(g['per_proof'], 3)}/proof" if g.get("per_proof") is not None else "recurring",
            "levels_off": "levels off", "not_enough_proofs": "too few proofs for a rate"}[g["kind"]]
    return f"{steps_text(g, 3)} ({kind})"


def _version_key(v: str):
    return tuple(int(x) for x in v.split("."))


def comparison(cells: list[dict]) -> dict:
    plain = [c for c in cells if not c.get("mitigation")]
    plain.sort(key=lambda c: (c["scenario"], c["workers"], [-x for x in _version_key(c["version"])]))
    by_name = {c["cell"]: c for c in cells}
    rows = []
    for c in plain:
        t, b = c["trace"], c["baseline"]
        rows.append({
            "cell": c["cell"], "version": c["version"], "scenario": c["scenario"], "workers": c["workers"],
            "proofs": c["proofs"], "checks_ok": c["checks_ok"],
            "bytelength_first_proof": b["first_proof_growth"], "bytelength_steps": bytelength_steps(b),
            "live_per_proof": t["live_per_proof"], "live_per_proof_spread": t["live_per_proof_spread"],
            "coverage_with_first": t["coverage"]["with_first_proof"],
            "coverage_without_first": t["coverage"]["without_first_proof"],
            "per_proof_by_site_kind": {k: v["per_proof"] for k, v in (t.get("by_site_kind") or {}).items()},
            "site_kind_shares_without_first": (t.get("site_kind_shares") or {}).get("without_first_proof"),
            "top_leaks": [{"type": r["type"], "bytes_per_proof": r["bytes_per_proof"]} for r in t["leaks_by_type_in_loop"][:3]],
        })
    whatif = []
    for c in cells:
        if not c.get("mitigation"):
            continue
        base_name = c["cell"].split("+")[0]
        base = by_name.get(base_name)
        row = {"cell": c["cell"], "base": base_name, "mitigation": c["mitigation"], "targets": c["mitigation_targets"],
               "checks_ok": c["checks_ok"], "failed_checks": c["failed_checks"],
               "mitigation_stats": {run: rep.get("stats") for run, rep in (c.get("mitigation_reports") or {}).items()},
               "applied_to": {run: (rep.get("applied") or {}).get("types") for run, rep in
                              (c.get("mitigation_reports") or {}).items()}}
        if base is not None:
            rates = {r["type"]: r["per_proof"] for r in base["trace"]["growing_types"]}
            before, after = base["trace"]["live_per_proof"], c["trace"]["live_per_proof"]
            predicted = sum(rates.get(t, 0.0) or 0.0 for t in c["mitigation_targets"])
            measured = before - after if before is not None and after is not None else None
            row |= {"live_per_proof_before": before, "live_per_proof_after": after,
                    "spread_before": base["trace"]["live_per_proof_spread"],
                    "spread_after": c["trace"]["live_per_proof_spread"],
                    "predicted_drop": predicted, "measured_drop": measured,
                    "measured_over_predicted": measured / predicted if measured is not None and predicted else None,
                    "bytelength_steps_before": bytelength_steps(base["baseline"]),
                    "bytelength_steps_after": bytelength_steps(c["baseline"])}
        whatif.append(row)
    return {"rows": rows, "whatif": whatif}


def write_comparison(cell_files: list[Path], out: Path) -> None:
    cells = [json.loads(Path(p).read_text()) for p in cell_files]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(comparison(cells), indent=1, sort_keys=True) + "\n")


def _m(x, digits=3, sign=False):
    return signed_mib(x, digits) if sign else mib(x, digits)


def markdown(comp: dict) -> str:
    """The comparison table and rankings, then the what-if lines."""
    return "\n".join(rows_lines(comp["rows"]) + whatif_lines(comp["whatif"])) + "\n"


def rows_lines(rows: list[dict]) -> list[str]:
    """One table row per plain cell, then per scenario and worker count the releases ranked by leak rate."""
    out = []
    if rows:
        table = []
        for r in rows:
            k, sh = r["per_proof_by_site_kind"], r["site_kind_shares_without_first"]
            table.append([
                r["version"], r["scenario"], r["workers"], r["proofs"], _m(r["bytelength_first_proof"], 1, True),
                steps_cell(r["bytelength_steps"]),
                f"{_m(r['live_per_proof'], 4, True)} ± {_m(r['live_per_proof_spread'], 4)}",
                " / ".join(_m(k.get(kind), 4) for kind in ("objects", "thread_startup", "other")) if k else "n/a",
                pct(1 - sh["other"]) if sh else "n/a", pct(r["coverage_without_first"]),
                ", ".join(f"{t['type']} ({_m(t['bytes_per_proof'], 4)})" for t in r["top_leaks"]) or "none",
                "yes" if r["checks_ok"] else "NO"])
        out.append(tabulate(table, headers=["o1js", "scenario", "workers", "proofs", "byteLength Δ proof 1 MiB",
                                            "byteLength steps after proof 1, MiB (untraced)", "live heap Δ/proof MiB (± s.e.)",
                                            "of which: calls that made objects / thread stacks+TLS / other",
                                            "coverage by site kind", "in tracked objects",
                                            "never dropped in loop: top types (MiB/proof)", "checks"],
                            tablefmt="github"))
        out.append("")
        for (scenario, workers) in sorted({(r["scenario"], r["workers"]) for r in rows}):
            group = [r for r in rows if r["scenario"] == scenario and r["workers"] == workers and r["live_per_proof"] is not None]
            if len(group) >= 2:
                group.sort(key=lambda r: -r["live_per_proof"])
                order = f"{group[0]['version']} ({_m(group[0]['live_per_proof'], 4, True)} MiB/proof)"
                for a, b in zip(group, group[1:]):  # equal to the byte: "=", not ">"
                    sep = " = " if round(a["live_per_proof"]) == round(b["live_per_proof"]) else " > "
                    order += f"{sep}{b['version']} ({_m(b['live_per_proof'], 4, True)} MiB/proof)"
                out.append(f"- `{scenario}`, {workers} worker(s): live heap grows fastest per proof in {order}.")
        out.append("")
    return out


def whatif_lines(whatif: list[dict]) -> list[str]:
    """Per what-if cell: the rate before and after, the predicted and the measured drop."""
    out = []
    for w in whatif:
        if w.get("predicted_drop") is None:
            out.append(f"- `{w['cell']}`: its plain cell `{w['base']}` is missing; no comparison.")
            continue
        stats = w["mitigation_stats"].get("trace") or {}
        out.append(
            f"- **`{w['cell']}`** (mitigation `{w['mitigation']}`, targets {', '.join(w['targets'])}): live heap per "
            f"proof {_m(w['live_per_proof_before'], 4, True)} ± {_m(w['spread_before'], 4)} MiB before → "
            f"{_m(w['live_per_proof_after'], 4, True)} ± {_m(w['spread_after'], 4)} MiB after. "
            f"**Predicted drop {_m(w['predicted_drop'], 4)} MiB/proof, measured drop {_m(w['measured_drop'], 4)} MiB/proof**"
            + (f" (measured / predicted = {w['measured_over_predicted']:.3f})" if w["measured_over_predicted"] is not None else "")
            + f". Untraced byteLength steps after proof 1: {steps_cell(w['bytelength_steps_before'])} → "
            f"{steps_cell(w['bytelength_steps_after'])}. In the traced run the mitigation registered "
            f"{stats.get('registered', '–')} wrappers and freed {stats.get('freed', '–')}; trace checks "
            f"{'pass' if w['checks_ok'] else 'FAIL: ' + ', '.join(w['failed_checks'])}.")
    return out
