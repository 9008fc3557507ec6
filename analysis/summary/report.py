"""Step 4: SUMMARY.md — biggest leakers, perfectly dropped types, and how far to trust the data.

Reads only the machine-readable outputs of earlier steps (Step 3 results and figures, Step 0 summary,
the Step 2 overhead); every sentence with a number is generated from them.
"""
from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from analysis.browser import report as browser_report
from analysis.candidate import report as candidate_report
from analysis.crash import report as crash_report
from analysis.forecast import forecast, headline
from analysis.longrun import summary as longrun_summary
from analysis.forecast.steps import steps_text
from analysis.matrix import report as matrix_report
from analysis.source_patch import compare as routes_compare
from analysis.analyze.figures import site_kind_shares, tracked_coverage
from analysis.common.units import mib, pct, signed_mib


def _coverage_lines(scenario: str, fig: dict) -> list[str]:
    rows = fig["rows"]
    if len(rows) < 3:
        return [f"- `{scenario}`: fewer than two proofs traced; coverage not computed."]
    cov = tracked_coverage(rows)
    g_all, s_all = cov["with_first_proof"]["growth"], cov["with_first_proof"]["share"]
    g_ex, s_ex = cov["without_first_proof"]["growth"], cov["without_first_proof"]["share"]
    return [f"- `{scenario}`: live-heap growth after compile → last proof {signed_mib(g_all, 3)} MiB, of which "
            f"{pct(s_all)} is in live tracked objects (types); excluding the first proof {signed_mib(g_ex, 3)} MiB, "
            f"{pct(s_ex)} in tracked objects. Every live byte also has an allocation site (the Rust export JS "
            "called, plus the allocating Rust function for blocks ≥ 64 KiB), so 100 % is attributed to a site at "
            "that granularity; the top sites are below."] + _site_kind_line(fig)


def _site_kind_line(fig: dict) -> list[str]:
    kinds = fig.get("growth_by_site_kind") or {}
    parts = []
    for key, label in (("growth", "after compile"), ("growth_after_first", "excluding the first proof")):
        sh = site_kind_shares(kinds, key)
        if sh:
            parts.append(f"{label}: {pct(sh['objects'])} in blocks of the Rust calls that created tracked objects, "
                         f"{pct(sh['thread_startup'])} thread stacks/TLS, {pct(sh['other'])} other")
    if not parts:
        return []
    return ["  By allocation site, without overlap (each live block has one site) — " + "; ".join(parts) + "."]


def _memory_lines(scenario: str, fig: dict) -> list[str]:
    rows = [r for r in fig["rows"] if r.get("decomposition")]
    if len(rows) < 3:
        return []
    d0, d1, dn = rows[0]["decomposition"], rows[1]["decomposition"], rows[-1]["decomposition"]
    live = lambda d: d["live_tracked"] + d["live_untracked"] + d.get("thread_stacks_tls", 0)  # noqa: E731
    steady_mem = dn["memory_bytes"] - d1["memory_bytes"]
    steady_live = live(dn) - live(d1)
    line = (f"- `{scenario}`, after proof {rows[-1]['iteration']}: byteLength {mib(dn['memory_bytes'])} MiB = static "
            f"{mib(dn['static'])} + live heap {mib(live(dn))} (of which in tracked objects {mib(dn['live_tracked'])}, "
            f"thread stacks/TLS {mib(dn.get('thread_stacks_tls', 0))}) "
            f"+ allocator overhead {mib(dn['allocator_overhead'])} + free {mib(dn['free'])} MiB (largest free chunk "
            f"{mib(dn['largest_free'])} MiB). The first proof grew byteLength by "
            f"{signed_mib(d1['memory_bytes'] - d0['memory_bytes'])} MiB, of which free space "
            f"{signed_mib(d1['free'] - d0['free'])} MiB (a transient peak that dlmalloc keeps) and live heap "
            f"{signed_mib(live(d1) - live(d0), 3)} MiB. Over proofs 2..{rows[-1]['iteration']}, byteLength grew "
            f"{signed_mib(steady_mem, 3)} MiB and live heap {signed_mib(steady_live, 3)} MiB")
    if steady_mem > 0:
        line += f": live data is {pct(steady_live / steady_mem)} of the steady growth of byteLength."
    else:
        line += ": the leak fills free space left by the first proof, so byteLength does not show it yet."
    return [line]


def _leak_table(fig: dict) -> str:
    rates = {r["type"]: r for r in fig.get("type_rates", [])}
    rows = []
    for r in fig["leaks_by_type_in_loop"][:10]:
        rt = rates.get(r["type"], {})
        spread = rt.get("spread")
        rows.append([r["type"], r["count"], mib(r["bytes"], 3), mib(r["bytes_per_proof"], 4),
                     signed_mib(rt.get("per_proof"), 4) + ("" if spread is None else f" ± {mib(spread, 4)}")])
    return tabulate(rows, headers=["type", "objects never dropped", "MiB", "MiB per proof (mean)",
                                   "steady live growth per proof MiB (± std. error)"], tablefmt="github") \
        if rows else "_No object created during the proving loop stayed alive._"


def _where_to_look(fig: dict) -> list[str]:
    out = []
    for r in fig["leaks_by_type_in_loop"][:3]:
        for s in r.get("sites", [])[:2]:
            out.append(f"- `{r['type']}`: {s['count']} objects, {mib(s['bytes'], 3)} MiB, created at "
                       f"`{s['js'] or 'unknown JS caller'}`, value built by Rust export `{s['rust'] or '?'}`")
    return out


def _site_table(fig: dict) -> str:
    rows = [[s["site"], signed_mib(s["growth_bytes"], 3), s["rust"] or "", s["alloc_fn"] or ""]
            for s in fig["top_growth_sites"][:8] if s["growth_bytes"] > 0]
    return tabulate(rows, headers=["site", "live Δ MiB over the loop", "boundary export", "allocating Rust fn (≥ 64 KiB)"],
                    tablefmt="github") if rows else "_No site grew._"


def _perfect(result: dict) -> list[str]:
    return [t["type"] for t in result["types"] if t["allocated"] > 0 and t["allocated"] == t["dropped"]]


def trust_lines(results: dict, figs: dict, overhead: dict | None) -> list[str]:
    out = []
    for s, r in results.items():
        failed = [k for k, v in r["checks"].items() if v["failed"]]
        snaps = [x for x in r["snapshots"] if x.get("iteration", -1) >= 0]
        last = snaps[-1] if snaps else {}
        out.append(f"- `{s}`: parser checks " + ("all passed" if not failed else f"FAILED: {', '.join(failed)}")
                   + f"; unknown frees {int(last.get('unknown_frees', 0))}, live-block table overflows "
                     f"{int(last.get('table_full', 0))}, borrowed handle pointers {int(last.get('unmatched_handles', 0))}.")
        f = figs[s]
        if f.get("vs_live_heap_run"):
            num, den = f["vs_live_heap_run"]["numerator"], f["vs_live_heap_run"]["denominator"]
            ratio = num / den if den and den > 0 else None
            out.append(f"  Never-dropped bytes of objects created in the loop / live-heap growth over the loop = "
                       f"{'n/a' if ratio is None else f'{ratio:.3f}'}; / byteLength growth = "
                       + (lambda b: "n/a" if not b["denominator"] or b["denominator"] <= 0 else f"{b['numerator'] / b['denominator']:.3f}")(f["vs_bytelength_run"]) + ".")
    if overhead and overhead.get("ratio") is not None:
        out.append(f"- Tracing overhead on prove time: ×{overhead['ratio']:.3f} (target ≤ {overhead['target']}).")
    return out


WEAKNESSES = """## Weaknesses of the method, and how to remove them
- **Sizes of handles are attributed by call, not by ownership.** A handle's size is its block plus an equal
  share of what the call that built its value left live (shared among all handles of values that call
  built). A cache filled during that call is counted in its handles; bytes a value gains later are not.
  Blocks a worker thread allocates while that call runs count as the call's too: `initThreadPool`'s
  `PoolBuilder` is charged the stacks of the workers it starts. So per-type sizes can overlap other
  categories and their sum can exceed the live-heap growth; the split by kind of allocation site (calls
  that made objects / thread start-up / other) cannot; coverage is reported both ways. Removing it needs
  ownership from the source route (a HeapSize per type), or a measure at drop time
  (`freed`, exact, but only for objects that are dropped).
- **Rust-internal values are not objects here.** What no JS handle owns is seen only as live blocks per
  allocation site. The allocating Rust function is recorded only for blocks ≥ 64 KiB (a stack per such
  allocation); smaller blocks carry only the export JS called. Capturing a stack per small block would
  multiply the overhead; sampling one in N small blocks is the next step.
- **`byteLength` is a high-water mark.** Growth of byteLength that live bytes do not show is allocator free
  space; the snapshots measure it by walking dlmalloc's chunk headers. The walk relies on dlmalloc's chunk
  layout (checked at run time only by its consistency: chunk counts against the hooks, bytes it cannot parse
  reported as such) and on the heap being quiet while it runs (snapshots are taken after settling, with the
  worker threads idle).
- **The release matrix uses fewer proofs per run** (`matrix.iterations`) than the main traces: its per-proof
  rates are least-squares slopes over proofs 1..N of one traced run per cell; the untraced baseline of the
  same cell gives byteLength. Where the spread is 0, every proof after the first added exactly the same bytes.
  byteLength, unlike the live heap, grows in steps (only when a request is larger than every free chunk), so
  the tables list its steps and give a rate only where they recur (`analysis/forecast/`); with several workers,
  whose interleaving shapes the free space, those steps differ from run to run. The crash cells follow byteLength
  over up to 50 proofs.
- **Forecasts are estimates.** A proof number "to the ceiling" comes from a model (the steady live-heap slope plus
  what a proof needs above the live heap, and its drift with fragmentation, all measured over a few proofs): it
  assumes the leak stays steady and fragmentation keeps its pace. The crash cells test it against crashes that
  really happened (the table above gives the error in proofs); nothing has been run to the real 4 GiB ceiling.
"""


def source_route_lines(routes: dict | None) -> list[str]:
    """The last weakness: which route the figures come from, and what the other route said (from compare.json)."""
    if not routes or not routes.get("scenarios"):
        return ["- **Every figure here comes from the binary route.** No source-route run is recorded in these "
                "artifacts (`artifacts/source_route/`); its core crate is tested natively and its generated patch parses.", ""]
    out = ["- **Every figure above comes from the binary route; the source route is the cross-check.** The generated "
           "patch, compiled for wasm32 outside this repository (" + routes_compare.build_line(routes.get("build") or {})
           + "; read off the built files), ran the same benchmark; STEP_2.md \"The two routes compared\" has every type:"]
    for sc, c in routes["scenarios"].items():
        line = (f"  - `{sc}`: {c['types_both']} types logged by both routes, never-dropped counts equal for "
                f"{c['never_dropped_equal']}; source-route log checks "
                + ("all passed" if c["source"]["ok"] else "FAILED (" + ", ".join(c["source"]["failed_checks"]) + ")"))
        top = (c.get("never_dropped_by_export") or [None])[0]
        if top:
            line += (f"; the largest group of never-dropped objects, `{top['type']}` made in `{top['export']}`: "
                     f"{top['binary']:,} (binary route), {top['source']:,} (source route)")
        out.append(line + ".")
    return out + [""]


# Hand-written, about the code of the releases (read in their npm packages), not about the figures.
MATRIX_NOTES = """What differs in the code (read in the npm packages; the table says what it costs):

- **Thread pool.** o1js wraps every compile and prove in `withThreadPool` (bindings/js/node/node-backend.js). In
  2.7.0 and 2.10.0 (identical file) `exitThreadPool` calls the Rust `exitThreadPool`, which terminates the Node
  workers (`worker.terminate()`); nothing calls wasm-bindgen's `__wbindgen_thread_destroy`, so the stack
  (1 MiB each in these builds) and TLS that wasm-bindgen's start code malloc'd for each worker stay allocated,
  and the next proof starts new workers with new stacks: the "thread stacks+TLS" column. The `PoolBuilder`
  handle `initThreadPool` returns is never freed either (its size in the types column includes the stacks
  its call allocated). In 2.15.0 `exitThreadPool` is a no-op ("Keep the pool
  alive across compile/prove calls"): one pool, one set of stacks, no growth from threads.
- **PolyComm values.** 2.7.0 and 2.10.0 ship `plonk_wasm`; their `polyCommFromRust`
  (bindings/crypto/bindings/conversion-core.js) frees neither the PolyComm it is given nor what it points to.
  2.15.0 ships `kimchi_wasm`; its `polyCommFromRust` frees wasm-bindgen wrappers but skips those made by its own
  `wrap()` ("only borrow raw pointers"), although Rust handed those objects over: the PolyComm values of
  `caml_f{p,q}_srs_lagrange_commitments_whole_domain_read_from_ptr` and of the proof/commitment getters stay
  allocated in every release (the "calls that made objects" column)."""

WHATIF_NOTE = ("A mitigation is a file in `bench/mitigations/`, named in `config.yaml` (`mitigations`) and applied only "
               "in the `matrix.whatif` cells that name it, at run time from outside o1js: `node --require "
               "bench/mitigations/preload.cjs` hands it the wasm-bindgen glue when o1js loads it. The **prediction** "
               "comes from the plain cell alone: the sum of the steady per-proof growth (least squares over proofs "
               "1..N) of the live bytes of the types the mitigation targets. The **measurement** is the plain cell's "
               "live-heap slope minus the what-if cell's, both traced in the same pipeline run. The byteLength "
               "figures come from the untraced runs of the same cells; byteLength is a high-water mark, so it can "
               "keep growing (free space, fragmentation) where live bytes do not.")


def matrix_lines(matrix: dict | None) -> list[str]:
    if not matrix:
        return []
    md = ["## Across releases and worker counts", "",
          "_From `doit matrix` (artifacts/matrix/comparison.json): each cell is an untraced run (byteLength) and a "
          "traced run (live heap, types) of the same benchmark, fewer proofs than above. Per-proof rates are "
          "least-squares slopes over proofs 1..N. Coverage, both after proof 1: *by site kind* = share of the "
          "live-heap growth in blocks of Rust calls that created tracked objects or of thread start-up (the "
          "rest is 'other'); *in tracked objects* = tracked bytes over live-heap growth (sizes include a share "
          "of the building call's bytes, so this can overlap the thread column; see the weaknesses below)._", ""]
    md += matrix_report.rows_lines(matrix["rows"]) + MATRIX_NOTES.splitlines() + [""]
    if matrix["whatif"]:
        md += ["## Checking the diagnosis: what-if runs", "", WHATIF_NOTE, ""]
        md += matrix_report.whatif_lines(matrix["whatif"]) + [""]
    return md


def write_summary(results: dict, figs: dict, step0: dict, overhead: dict | None, report: Path,
                  matrix: dict | None = None, crash: dict | None = None, candidate: dict | None = None,
                  candidate_pack: dict | None = None, routes: dict | None = None, browser: dict | None = None,
                  longrun: dict | None = None) -> None:
    md = ["# Summary — what leaks when o1js proves in a loop", "",
          "_Generated by `doit summary` from the Step 0, 2 and 3 outputs; every figure comes from those files._", "",
          "## Coverage: how much of the live-heap growth is explained", ""]
    for s in figs:
        md += _coverage_lines(s, figs[s])
    md += ["", "## Where the WASM memory goes (measured: allocator hooks + a walk of dlmalloc's chunks)", ""]
    for s in figs:
        md += _memory_lines(s, figs[s])
    md += ["", "## Biggest leakers", "",
           "Objects created during the proving loop (after compile) that were never dropped, by type. Objects o1js "
           "keeps on purpose from compile (keys, SRS) are not in this table; they are in STEP_3.md.", ""]
    for s, f in figs.items():
        md += [f"### `{s}` ({f['proofs']} proofs traced)", "", _leak_table(f), ""]
        where = _where_to_look(f)
        if where:
            md += ["Where these objects were created (nearest o1js frame < the code that asked for the value, outside "
                   "the conversion helpers < the library frame outside the bindings layer; the Rust export that "
                   "built the value):", ""] + where + [""]
        md += ["Allocation sites whose live bytes grew most over the loop (tracked or not):", "", _site_table(f), ""]
        if f.get("live_slope") is not None:
            err = f" ± {mib(f['live_slope_stderr'], 4)}" if f.get("live_slope_stderr") is not None else ""
            fc = forecast({r["iteration"]: r["memory_bytes"] for r in f["rows"]},
                          {r["iteration"]: r["live_heap_bytes"] for r in f["rows"]})
            md += [f"Live heap grows by {signed_mib(f['live_slope'], 4)}{err} MiB per proof (least squares over proofs "
                   f"1..{f['proofs']}). Forecast (`analysis/forecast`): {headline(fc)}", ""]
        run0 = (step0.get(s) or [{}])[0]
        s0 = run0.get("growth") or {}
        if s0.get("first_proof") is not None and run0.get("wasm_memory_by_iteration"):
            st = forecast({int(k): v for k, v in run0["wasm_memory_by_iteration"].items()})["bytelength"]
            md += [f"Step 0 (untraced): byteLength +{mib(s0['first_proof'])} MiB on the first proof, then steps of "
                   f"{steps_text(st, 4)}; " + {"steady": f"they recur: {signed_mib(st['per_proof'], 3)} MiB per proof.",
                                               "levels_off": f"none since proof {st['since_proof']} (it levels off).",
                                               "not_enough_proofs": "too few proofs for a rate."}[st["kind"]], ""]
    md += matrix_lines(matrix)
    md += crash_report.markdown(crash)
    md += candidate_report.markdown(candidate or {}, candidate_pack)
    md += browser_report.summary_lines(browser)
    md += longrun_summary.markdown(longrun)
    md += ["## Types dropped perfectly", "",
           "Every object of these types that was allocated was also dropped, in every traced scenario:", ""]
    perfect = None
    for r in results.values():
        p = set(_perfect(r))
        perfect = p if perfect is None else perfect & p
    md += [", ".join(f"`{t}`" for t in sorted(perfect or [])) or "_none_", ""]
    md += ["## Can the data be trusted?", ""] + trust_lines(results, figs, overhead) + [""]
    md += WEAKNESSES.rstrip("\n").splitlines() + source_route_lines(routes)
    report.write_text("\n".join(md) + "\n")


def write_from_files(result_paths: dict[str, Path], figures_path: Path, step0_path: Path, overhead_path: Path,
                     report: Path, matrix_path: Path | None = None, crash_path: Path | None = None,
                     candidate_paths: dict[str, Path] | None = None, candidate_pack_path: Path | None = None,
                     routes_path: Path | None = None, browser_path: Path | None = None,
                     longrun_path: Path | None = None) -> None:
    results = {s: json.loads(p.read_text()) for s, p in result_paths.items()}
    figs = json.loads(figures_path.read_text())
    step0 = json.loads(step0_path.read_text()) if step0_path.exists() else {}
    overhead = json.loads(overhead_path.read_text()) if overhead_path.exists() else None
    matrix = json.loads(matrix_path.read_text()) if matrix_path and matrix_path.exists() else None
    crash = json.loads(crash_path.read_text()) if crash_path and crash_path.exists() else None
    candidate, pack = candidate_report.load(candidate_paths or {}, candidate_pack_path)
    routes = json.loads(routes_path.read_text()) if routes_path and routes_path.exists() else None
    browser = json.loads(browser_path.read_text()) if browser_path and browser_path.exists() else None
    longrun = json.loads(longrun_path.read_text()) if longrun_path and longrun_path.exists() else None
    write_summary(results, figs, step0, overhead, report, matrix, crash, candidate, pack, routes, browser, longrun)
