"""`doit analyze`: parse each Step 2 trace log, write its result JSON, and generate STEP_3.md.

The tables and checks come from the parser (analysis.parse); the sanity check against Step 0 and
the per-iteration heap figures from analysis.step3_figures. Statements in the report are generated
from those figures so they stay true when the data changes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from tabulate import tabulate

from analysis.analyze.growth_report import growth_section, plot_fragmentation
from analysis.parse import parse_file
from analysis.parse.format import format_checks, format_table, format_type_sites
from analysis.analyze.figures import ScenarioFigures, figures
from analysis.common.units import mib, pct, signed_mib
from analysis.forecast import forecast, headline


def parse_log(log: Path, out_json: Path, name: str | None = None):
    """Parse one log; `name` is how reports refer to it (a repo-relative path, never a machine path)."""
    result = parse_file(log)
    if name is not None:
        result.source = name
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result.to_dict(), indent=None, separators=(",", ":")) + "\n")
    return result


def _fmt_ratio(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def iteration_table(f: ScenarioFigures) -> str:
    rows = [[r.iteration, mib(r.memory_bytes), mib(r.step0_memory_bytes), mib(r.live_heap_bytes, 2), r.live_blocks,
             mib(r.tracked_live_bytes, 2), mib(r.untracked_live_bytes, 2),
             "" if r.never_dropped_created_here is None else mib(r.never_dropped_created_here, 3)] for r in f.rows]
    return tabulate(rows, headers=["iter", "WASM memory MiB (traced run)", "WASM memory MiB (Step 0 run 1)",
                                   "live heap MiB", "live blocks", "in live tracked objects MiB",
                                   "not in tracked objects MiB", "never-dropped objects created in this iteration MiB"],
                    tablefmt="github", disable_numparse=True)


def per_proof_table(f: ScenarioFigures) -> str:
    rows = [[p["proof"], signed_mib(p["bytelength_growth"], 3), signed_mib(p["live_heap_growth"], 3),
             signed_mib(p["tracked_growth"], 3), "n/a" if p["never_dropped_created"] is None else mib(p["never_dropped_created"], 3),
             _fmt_ratio(p["ratio_vs_bytelength"]), _fmt_ratio(p["ratio_vs_live_heap"])] for p in f.per_proof]
    return tabulate(rows, headers=["proof", "byteLength Δ MiB", "live heap Δ MiB", "tracked objects Δ MiB",
                                   "never-dropped created MiB", "never-dropped / byteLength Δ",
                                   "never-dropped / live heap Δ"], tablefmt="github", disable_numparse=True)


PARTS = ["static", "live_tracked", "live_untracked", "thread_stacks_tls", "allocator_overhead", "free", "other"]


def decomposition_table(f: ScenarioFigures) -> str:
    rows = []
    for r in f.rows:
        d = r.decomposition
        if d is None:
            continue
        rows.append([r.iteration, *[mib(d[k], 2) for k in PARTS], mib(d["sum"], 2), mib(d["memory_bytes"], 2),
                     f"{d['error']:+d}", d["chunks_not_hooked"], mib(d["largest_free"], 1)])
    return tabulate(rows, headers=["iter", "static MiB", "live, tracked objects MiB", "live, other MiB",
                                   "live, thread stacks/TLS MiB", "allocator overhead MiB", "free MiB", "fenceposts/unparsed MiB", "sum MiB",
                                   "byteLength MiB", "sum − byteLength (bytes)", "in-use chunks not seen by hooks",
                                   "largest free chunk MiB"], tablefmt="github", disable_numparse=True)


def plot_decomposition(figs: dict, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(figs), figsize=(6.5 * len(figs), 4.5), squeeze=False)
    for ax, (scenario, f) in zip(axes[0], figs.items()):
        rows = [r for r in f.rows if r.decomposition]
        if not rows:
            continue
        xs = [r.iteration for r in rows]
        ax.stackplot(xs, *[[r.decomposition[k] / 2 ** 20 for r in rows] for k in PARTS], labels=PARTS, alpha=0.85)
        ax.plot(xs, [r.memory_bytes / 2 ** 20 for r in rows], "k--", label="byteLength")
        ax.set_title(f"{scenario}: WASM linear memory, measured parts")
        ax.set_xlabel("iteration (0 = after compile)")
        ax.set_ylabel("MiB")
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def sites_table(f: ScenarioFigures) -> str:
    rows = [[s["site"], signed_mib(s["growth_bytes"], 3), mib(s["live_bytes_end"], 3), s["blocks_end"],
             s["rust"] or "", s["alloc_fn"] or "(below 64 KiB: boundary only)"] for s in f.top_growth_sites
            if s["growth_bytes"] != 0]
    return tabulate(rows, headers=["site", "live Δ MiB", "live at end MiB", "blocks at end",
                                   "Rust function called from JS (boundary)", "Rust function that allocated"],
                    tablefmt="github", disable_numparse=True)


def _rate_cells(r: dict) -> list[str]:
    spread = "n/a" if r["spread"] is None else mib(r["spread"], 4)
    return [signed_mib(r["first_proof"], 4), signed_mib(r["per_proof"], 4), spread]


def rates_tables(f: ScenarioFigures) -> list[str]:
    types = [[r["type"], *_rate_cells(r), mib(r["values"][-1], 3)] for r in f.type_rates
             if r["per_proof"] or r["first_proof"]][:12]
    sites = [[r["site"], r["rust"] or "", r["alloc_fn"] or "", *_rate_cells(r), mib(r["values"][-1], 3)]
             for r in f.site_rates if r["per_proof"] or r["first_proof"]][:12]
    head = ["one-time growth, first proof MiB", "steady growth per proof MiB (least squares, proofs 1..N)",
            "spread (std. error) MiB", "live at end MiB"]
    md = ["### Leak rates", "",
          "Live bytes per type (tracked objects: ALLOCATEd before a snapshot and not yet DROPped) and per "
          "allocation site (SITE_LIVE), at every snapshot; the first proof's growth is shown apart from the "
          "steady rate over the later proofs. Spread is n/a with fewer than three proofs.", ""]
    md += [tabulate(types, headers=["type", *head], tablefmt="github", disable_numparse=True) if types
           else "_No tracked type's live bytes changed over the loop._", ""]
    md += [tabulate(sites, headers=["site", "boundary export", "allocating Rust fn (≥ 64 KiB)", *head],
                    tablefmt="github", disable_numparse=True) if sites else "_No site's live bytes changed._", ""]
    return md


def findings(f: ScenarioFigures, result) -> list[str]:
    out = []
    if result.ok:
        out.append("Every check passed: ids unique, every DROP matches an earlier ALLOCATE of the same type and size.")
    else:
        out.append(f"Failed checks: {', '.join(result.failed_checks)} — the tables below are to be read with that in mind.")
    if len(f.rows) >= 2:
        first, last = f.rows[0], f.rows[-1]
        out.append(f"From after compile to after proof {last.iteration}, WASM memory (byteLength, a high-water mark) went "
                   f"{mib(first.memory_bytes)} → {mib(last.memory_bytes)} MiB, while live heap bytes went "
                   f"{mib(first.live_heap_bytes, 2)} → {mib(last.live_heap_bytes, 2)} MiB: "
                   f"{mib(last.memory_bytes - last.live_heap_bytes)} MiB of linear memory at the end is not live heap "
                   "(allocator free space and overhead, static data, stacks).")
        if f.first_proof_live_growth is not None:
            out.append(f"The first proof changes live heap by {signed_mib(f.first_proof_live_growth, 3)} MiB.")
        if f.live_slope is not None:
            err = f" ± {mib(f.live_slope_stderr, 4)}" if f.live_slope_stderr is not None else ""
            fc = forecast({r.iteration: r.memory_bytes for r in f.rows}, {r.iteration: r.live_heap_bytes for r in f.rows})
            out.append(f"Least-squares slope of live heap over proofs 1..{last.iteration}: "
                       f"{signed_mib(f.live_slope, 4)}{err} MiB per proof. The forecaster (analysis.forecast: byteLength "
                       f"as steps, proof 1 apart, never a one-time step read as a rate): {headline(fc)}")
        if f.tracked_share_of_growth is not None:
            out.append(f"Live tracked objects (JS handles and what they own) account for {pct(f.tracked_share_of_growth)} "
                       "of the live-heap growth over the loop; the rest is heap no live JS handle owns, listed by allocation site below.")
        kinds = f.growth_by_site_kind
        if kinds and any(v["growth"] for v in kinds.values()):
            out.append("By kind of allocation site (no overlap; they add up to the live-heap growth over the loop): "
                       f"blocks of the Rust calls that created tracked objects {signed_mib(kinds['objects']['growth'], 3)} MiB, "
                       f"thread stacks/TLS {signed_mib(kinds['thread_startup']['growth'], 3)} MiB, other "
                       f"{signed_mib(kinds['other']['growth'], 3)} MiB.")
    return out


def scenario_section(scenario: str, result, f: ScenarioFigures) -> list[str]:
    md = [f"## Scenario `{scenario}`", "", "### Findings (generated from the data)", ""]
    md += [f"- {x}" for x in findings(f, result)] + [""]
    md += rates_tables(f)
    md += ["### Checks", "", "```", format_checks(result), "```", ""]
    md += ["### Types by bytes never dropped", "",
           "Bytes never dropped = sizes of ALLOCATE lines with no DROP by the end of the run (objects still alive "
           "when the process exited, including those o1js legitimately keeps, such as compiled keys).", "",
           format_table(result), ""]
    md += ["### Never-dropped bytes by type and creation site", "", format_type_sites(result, limit=15), ""]
    sites = {n: s for n, s in result.sites.items()}
    used = sorted({r.site for r in result.type_sites[:15] if r.site is not None})
    if used:
        md += ["Creation sites used above:", ""]
        md += [tabulate([[n, sites.get(n, {}).get("js") or "", sites.get(n, {}).get("rust") or ""] for n in used],
                        headers=["site", "o1js caller (file:line)", "Rust function at the boundary"],
                        tablefmt="github", disable_numparse=True), ""]
    md += ["### Sanity check against Step 0", ""]
    if f.vs_bytelength_run is not None:
        md += [f"Over the loop (after compile → last proof): never-dropped bytes of objects created in the loop = "
               f"{mib(f.vs_bytelength_run.numerator, 3)} MiB; byteLength growth (Step 0) = "
               f"{signed_mib(f.vs_bytelength_run.denominator, 3)} MiB → ratio **{_fmt_ratio(f.vs_bytelength_run.value)}**; "
               f"live heap growth (heap snapshots) = {signed_mib(f.vs_live_heap_run.denominator, 3)} MiB → ratio "
               f"**{_fmt_ratio(f.vs_live_heap_run.value)}**.", ""]
        md += ["Per proof:", "", per_proof_table(f), ""]
    else:
        md += ["Not enough snapshots to compare (the run needs the after-compile snapshot and at least one proof).", ""]
    md += ["### Heap per iteration", "", iteration_table(f), ""]
    if any(r.decomposition for r in f.rows):
        ds = [r.decomposition for r in f.rows if r.decomposition]
        worst = max(abs(d["error"]) for d in ds)
        per_chunk = [d["allocator_overhead"] / d["inuse_chunks"] for d in ds if d["inuse_chunks"]]
        unhooked = sorted({d["chunks_not_hooked"] for d in ds})
        md += ["### What linear memory is made of, per iteration (all parts measured)", "",
               "Static = memory below the heap at instantiation; live = requested bytes of live blocks (allocator "
               "hooks), split into blocks a live tracked object owns, blocks of the threads' start-up code (worker "
               "stacks and TLS, recognised by their allocation site; a worker's TLS block is too small to carry a "
               "stack and stays in 'other'), and the rest; allocator overhead = in-use chunk bytes from a "
               "walk of dlmalloc's chunk headers minus the live requested bytes; free = free chunks found by the walk "
               "(the top chunk included); fenceposts/unparsed = what the walk could not attribute. "
               f"Largest |sum − byteLength| over the iterations: {worst} bytes — the walk covers every heap byte, so this "
               "only shows that nothing was double counted; the independent checks are that the walk's in-use chunks "
               f"and the hooks' live blocks differ by {', '.join(map(str, unhooked))} chunk(s) (blocks dlmalloc handed "
               "out without passing the hooks), and that the overhead per in-use chunk is "
               f"{min(per_chunk):.1f}–{max(per_chunk):.1f} bytes, what dlmalloc's 4-byte header, 8-byte rounding and "
               "16-byte minimum chunk cost (a block the hooks missed would add its whole size to this figure).", "",
               decomposition_table(f), ""]
    md += growth_section(f.byte_growth, f.fragmentation)
    md += ["### Allocation sites whose live bytes grew most over the loop", "",
           "Every live heap block carries the site it was allocated at: the Rust function JS called (the boundary), "
           "and for blocks of 64 KiB and more also the Rust function that called the allocator (from a stack captured "
           "at that allocation).", "", sites_table(f), ""]
    return md


def write_report(results: dict, figs: dict, report: Path, inputs_note: str, plot: Path | None = None,
                 frag_plot: Path | None = None) -> None:
    md = ["# Step 3 — which objects are never dropped", "",
          "_Generated by `doit analyze` from the Step 2 trace logs; do not edit by hand._", "", inputs_note, "",
          "How to read it: the parser (`python -m analysis.parse LOG`) collects every ALLOCATE and every DROP, checks "
          "that ids are unique and that each DROP matches an ALLOCATE of the same type and size, and ranks types by "
          "the bytes of objects that were never dropped. The sanity check compares those bytes with the memory growth "
          "seen by Step 0 (byteLength) and with the live heap growth from the tracer's heap snapshots: a ratio far below "
          "1 means growth that no tracked object explains (allocator high-water effects, or heap owned by Rust, not by a "
          "JS handle); above 1 would mean double counting.", ""]
    if plot is not None:
        plot_decomposition(figs, plot)
        md += [f"![memory decomposition]({os.path.relpath(plot, report.parent)})", ""]
    if frag_plot is not None and plot_fragmentation({s: figs[s].fragmentation for s in figs}, frag_plot):
        md += [f"![free chunks by size class]({os.path.relpath(frag_plot, report.parent)})", ""]
    for scenario in results:
        md += scenario_section(scenario, results[scenario], figs[scenario])
    report.write_text("\n".join(md))
