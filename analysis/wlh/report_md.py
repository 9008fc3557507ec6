"""The Markdown of `wlh report`: a header about the run, a generated headline (what leaks, how fast), then
the Step 3 section for one trace (analysis.analyze.report.scenario_section: checks, never-dropped types,
rates with spread, creation sites, memory decomposition per snapshot) and its PNG."""
from __future__ import annotations

import os
from pathlib import Path

from tabulate import tabulate

from analysis.analyze.report import plot_decomposition, scenario_section
from analysis.common.units import mib, signed_mib
from analysis.forecast import reasoning
from analysis.forecast.steps import steps_text

# scenario_section was written for Step 3, whose byteLength comes from a separate Step 0 run; here
# both come from the traced run itself, so the phrases that name Step 0 are reworded.
REWORD = {"### Sanity check against Step 0": "### Never-dropped bytes against memory growth (this run)",
          "byteLength growth (Step 0)": "byteLength growth (this run)",
          "From after compile to after proof": "From the baseline snapshot to after proof",
          "Over the loop (after compile → last proof)": "Over the loop (baseline snapshot → last proof)"}


def reword(line: str) -> str:
    for old, new in REWORD.items():
        line = line.replace(old, new)
    return line


def _rate(r: dict, digits: int = 3) -> str:
    if r.get("per_proof") is None:
        return "n/a (needs two proofs after the first)"
    spread = f" ± {mib(r['spread'], digits + 1)}" if r.get("spread") is not None else " (spread: needs 3+ proofs)"
    return f"{signed_mib(r['per_proof'], digits)}{spread} MiB per proof"


def bytelength_text(b: dict) -> str:
    """proof 1 apart, the steps after it, and a rate only where the forecaster found recurring steps."""
    head = f"first proof {signed_mib(b['first_proof'], 3)} MiB; steps after it: {steps_text(b)}"
    if b["kind"] == "steady":
        return head + f"; they recur: {_rate(b)}"
    if b["kind"] == "levels_off":
        return head + f"; none since proof {b['since_proof']}: it levels off"
    return head + f"; not enough proofs to tell whether they recur ({b['more_proofs_needed']} more needed), so no rate"


def _guard(g: dict | None) -> str:
    if not g:
        return "not loaded"
    ceiling = f"ceiling {mib(g['ceiling_bytes'], 0)} MiB" + (" (--cap)" if g.get("cap_mib") else "") if g.get("ceiling_bytes") else "no WASM memory seen"
    c, end = g.get("crash"), g.get("ended_by_guard")
    if not c:
        return f"loaded, {ceiling}; no fault"
    text = f"{c['how']} ({c.get('cause')}) in proof {c.get('proof')}: {c.get('error_name') or ''} {c.get('message')}".replace("  ", " ")
    return f"{ceiling}; {text}" + (f"; ended by the guard with code {end['exit_code']}" if end else "")


def _threads(rec: dict) -> str:
    used = (rec.get("preload") or {}).get("threads_used")
    how = "set by --workers" if rec.get("workers") is not None else "the program's choice"
    return f"{used if used is not None else 'n/a'} ({how})" if rec else "n/a"


def run_table(run, s: dict) -> str:
    rec = run.record
    o = rec.get("o1js") or {}
    rows = [["program", " ".join(rec.get("program") or []) or "(no run record: a trace log alone)"],
            ["o1js", f"{o.get('version')} ({o.get('kind')} {o.get('spec')})" if o else "n/a"],
            ["hook set", ((o.get("instrument") or {}).get("hook_set")) or "n/a"],
            ["worker threads", _threads(rec)],
            ["snapshots", f"{s['snapshots']} ({rec.get('snapshot', 'n/a')} mode)"],
            ["trace", "aggregate (live tables per type and site, `--aggregate`)" if rec.get("mode") == "aggregate"
             else "full (one line per allocation and drop)"],
            ["o1js key cache", rec.get("key_cache", "n/a")],
            ["proofs", s["proofs"]], ["exit code", rec.get("exit_code", "n/a")],
            ["guard", _guard(rec.get("guard"))],
            ["seconds", rec.get("seconds", "n/a")]]
    return tabulate(rows, headers=["run", ""], tablefmt="github", disable_numparse=True)


def headline(s: dict) -> list[str]:
    out = []
    if s["snapshots"] < 2:
        return ["- Fewer than two snapshots: no growth can be measured (did the program prove anything?)."]
    out.append(f"- Live heap (bytes allocated and not freed): first proof {signed_mib(s['live']['first_proof'], 3)} MiB, "
               f"then {_rate(s['live'])}.")
    out.append(f"- WASM memory (byteLength, a high-water mark that grows in steps): {bytelength_text(s['bytelength'])}.")
    out.append(f"- Forecast: {s['forecast_headline']}")
    out += [f"  - {line}" for line in reasoning(s["forecast"], bytelength=False)]
    leaks = [r for r in s["never_dropped_in_loop"] if r["bytes"] > 0][:5]
    if leaks:
        out.append("- Objects created after the baseline snapshot and never dropped (what leaks), by type:")
        for r in leaks:
            site = r["sites"][0] if r["sites"] else {}
            where = " < ".join(x for x in (site.get("js"), site.get("rust")) if x)
            out.append(f"  - `{r['type']}`: {r['count']:,} objects, {mib(r['bytes'], 3)} MiB"
                       f" ({mib(r['bytes_per_proof'], 3)} MiB per proof){f', mostly from {where}' if where else ''}")
    else:
        out.append("- No object created after the baseline snapshot was left undropped.")
    if not s["checks_ok"]:
        out.append(f"- **Failed parser checks**: {', '.join(s['failed_checks'])} (read the tables with that in mind).")
    return out


def write(run, result, f, s: dict, md_path: Path, png_path: Path) -> None:
    plot_decomposition({run.label: f}, png_path)
    md = [f"# wlh report: `{run.label}`", "",
          f"_Generated by `wlh report` from `{run.log.name}`; do not edit by hand._", "",
          run_table(run, s), "",
          "Iteration 0 is the baseline snapshot (in `proof` mode: just before the first prover call); iteration k "
          "is the snapshot after proof k (or the k-th interval / manual snapshot). Rates are least-squares slopes "
          "over iterations 1..N with their standard error as the spread; the first proof's one-time growth is shown "
          "apart.", "", "## What leaks (generated from the data)", "", *headline(s), "",
          f"![memory decomposition]({os.path.relpath(png_path, md_path.parent)})", ""]
    md += [reword(line) for line in scenario_section(run.label, result, f)]
    md_path.write_text("\n".join(md))
