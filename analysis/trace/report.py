"""STEP_2.md: the log format (generated from the JSON Schema), the hook points found in the binary,
event counts per type from the traced runs, the tracer's overhead, and what the tracer cannot see."""
from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from analysis.common.paths import schema_path
from analysis.source_patch import compare as routes_compare


def format_section() -> list[str]:
    """The '@' line format, written from schemas/trace-event.schema.json so the two cannot disagree."""
    schema = json.loads(schema_path("trace-event").read_text())
    md = ["## The log format", "", schema["description"], "",
          "Each event kind, its fields (required ones in **bold**) and what they mean:", ""]
    for name, d in schema["$defs"].items():
        if d.get("type") != "object" or "properties" not in d:
            continue
        ev = d["properties"].get("ev", {}).get("const")  # None: an object nested in events (heap_walk)
        rows = []
        for field, spec in d["properties"].items():
            if field == "ev":
                continue
            if "$ref" in spec:
                ref = schema["$defs"][spec["$ref"].split("/")[-1]]
                typ, desc = ref.get("type", ""), spec.get("description") or ref.get("description", "")
                if ref.get("minimum") == 0:
                    typ += " ≥ 0"
            else:
                typ = spec.get("type", "")
                typ = "/".join(typ) if isinstance(typ, list) else typ
                if "enum" in spec:
                    typ = " \\| ".join(json.dumps(v) for v in spec["enum"])
                desc = spec.get("description", "")
            rows.append([f"**{field}**" if field in d.get("required", []) else field, typ, desc])
        more = " Other fields are allowed." if d.get("additionalProperties", True) is not False else ""
        md += [f"### `{ev}`" if ev else f"### `{name}` (an object inside the events above)", "",
               d.get("description", "") + more, ""]
        if rows:
            md += [tabulate(rows, headers=["field", "type", "meaning"], tablefmt="github"), ""]
    md += ["Example lines:", "", "```",
           '@{"ev":"ALLOCATE","size":84,"type":"WasmFpGate","id":0,"site":3,"tid":0,"ptr":1179672}',
           '@{"ev":"DROP","size":84,"type":"WasmFpGate","id":0,"freed":84,"how":"free","tid":0}', "```", ""]
    return md


def hooks_section(instr: dict) -> list[str]:
    rows = [[role, f"`{name}`"] for role, name in instr["hooks"].items()]
    return ["## Hook points found in the binary", "",
            f"o1js {instr['o1js_version']}, glue `{instr['glue']}`; {instr['functions']:,} functions, "
            f"{instr['exports']} exports, {instr['drop_in_place_functions']} `drop_in_place::<T>` functions. "
            f"Hook set **{instr['hook_set']}** (found by name in the `name` section):", "",
            tabulate(rows, headers=["role", "function"], tablefmt="github"), "",
            f"Input sha256 `{instr['input_sha256'][:16]}…`, instrumented `{instr['output_sha256'][:16]}…`; the result "
            "validated (binaryen) with every export and the name section kept.", ""]


def counts_section(results: dict[str, dict]) -> list[str]:
    md = ["## Events per type in the traced runs", ""]
    for scenario, r in results.items():
        snaps = [s for s in r["snapshots"] if s.get("iteration", -1) >= 0]
        last = snaps[-1] if snaps else {}
        md += [f"### `{scenario}`", "",
               f"{r['lines']['total']:,} lines: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r["events"].items()))
               + f"; allocator calls seen: {int(last.get('alloc_calls', 0)):,} allocations, "
                 f"{int(last.get('free_calls', 0)):,} frees; frees of blocks never seen allocated: "
                 f"{int(last.get('unknown_frees', 0)):,}; handle pointers that were not a heap block start "
                 f"(borrowed, not tracked): {int(last.get('unmatched_handles', 0)):,}; extra JS handles on an "
                 f"already tracked value: {int(last.get('shared_handles', 0)):,}; live-block table overflows: "
                 f"{int(last.get('table_full', 0)):,}.", ""]
        rows = [[t["type"], t["allocated"], t["dropped"], t["never_dropped"]] for t in r["types"]]
        md += [tabulate(rows, headers=["type", "ALLOCATE", "DROP", "never dropped"], tablefmt="github"), ""]
    return md


def overhead_section(ov: dict | None) -> list[str]:
    if not ov:
        return ["## Overhead", "", "Not measured in this pipeline run (`doit trace_overhead`).", ""]
    verdict = "within" if ov["ratio"] is not None and ov["ratio"] <= ov["target"] else "NOT within"
    return ["## Overhead", "",
            f"Measured by `doit trace_overhead` ({ov['method']}; {ov['pairs']} pair(s) of runs, {ov['iterations']} "
            f"proofs each, creation sites on): mean prove time {ov['mean_prove_seconds_plain']:.2f} s untraced, "
            f"{ov['mean_prove_seconds_traced']:.2f} s traced: ratio **{ov['ratio']:.3f}**, {verdict} the target of "
            f"{ov['target']}. Timings on these machines drift by up to 20 % between runs, so a ratio within ±0.1 of "
            "1 is noise.", ""]


ROUTES_TEXT = """### Both routes on the same benchmark

Generated from `artifacts/source_route/compare.json`: for each scenario, the binary route's parsed trace
(`artifacts/step3/`) beside the source route's (`artifacts/source_route/`, parsed by the same parser from a run of
the same benchmark, same proofs and knobs, on a built copy; the build and the runs are made by hand on a machine
with a Rust toolchain and the bindings' crates, `python -m analysis.source_patch.runs`, and only the parsed results
are committed). Rows are matched by type name, largest never-dropped bytes first; "—" = the route logged no such
type. The routes count different things, so equal rows are a finding and unequal rows need a reason:

- the binary route counts wasm-bindgen handles (one block per JS object), the source route counts Rust values of the
  instrumented structs on every construction path, including clones and values that never reach JS;
- sizes differ by definition: the binary route takes the allocator's bytes live inside the creating call, the
  source route `size_of` plus the heap the value owns (a `HeapSize` rule per type, shared `Arc` blocks charged once);
- a tracked value held inside another one (the commitments inside a verification-evals object) is an object of
  its own in the source route; in the binary route it is part of its owner's block until JS reads it through a
  getter, which hands out a clone with a handle of its own;
- types the binary route names after JS classes that the patch does not instrument (enums, `Copy` types, types
  outside the bindings crate: `artifacts/source_patch/summary.md`) appear on the binary side only.

The second table of each scenario matches the never-dropped objects by the export JS called when each was made:
both routes record that boundary (the binary route from its export hooks, the source route from the export
context the patch opens in every exported function), so it checks where the leak comes from, not only how much.
"""


METHOD = """## How the binary route works

1. `bench/instrument/instrument-wasm.mjs` (binaryen.js) finds the allocator entry points by name, moves each
   one's body into `<name>$wlh_orig` and makes the original name a wrapper that calls it and a new import of
   module `__wlh` (pointer, size, alignment). Names, exports and validity are checked on the result.
2. `bench/instrument/make-traced-copy.mjs` makes a hard-linked copy of the installed o1js under
   `artifacts/traced/`, replaces the wasm and patches the glue (four edits, each checked): load the tracer
   first, pass the `__wlh` imports, wrap the exports, and watch the `__wbg_ptr` of every class.
3. `bench/tracer/wlh-tracer.cjs` runs in the main thread and in every rayon worker (they get its shared
   state through `workerData` when they are constructed). One table of live heap blocks lives in a
   `SharedArrayBuffer`; one lock (a futex-style mutex on `Atomics`) guards the table, the id counter and
   every write to the log file (`fs.writeSync`), so ids are contiguous and lines never torn.

### Objects and their sizes
- **ALLOCATE**: whenever a JS handle takes ownership of a Rust value: the glue's constructors and `__wrap`,
  and o1js's own `wrap(ptr, Class)` for values returned inside vectors of raw pointers — all of them assign
  `__wbg_ptr`, which the tracer watches on every class prototype. The handle pointer must be 8 bytes past the
  start of a live heap block (the value's reference-counted block in wasm-bindgen 0.2.100; the offset is
  checked at run time and reported in each SNAPSHOT as `handle_offset`). A second handle on the same value is
  not a new object; a pointer that is not a block start is counted as borrowed and not logged.
- **DROP**: when that heap block is deallocated, on any thread and by any path (`free()`, the
  FinalizationRegistry, consumption by value into Rust). `how` tells which: `free`, `finalizer`, `consumed`
  (freed inside another export), `rust` (freed on a worker thread).
- **Size** (measured from the allocator's own records): the handle's block plus the bytes that the outer
  JS→wasm call that built the value (the call during which its block was allocated, on any thread)
  allocated and that are still live when the handle is written. All handles of values built by one call
  are written together (when a handle of another call arrives, at a snapshot, at exit, or before one of
  them is dropped), each with its own block and an equal share of the rest: the one place where bytes are
  apportioned rather than attributed block by block. `freed` on DROP lines is the exact number of bytes
  deallocated on the main thread from the start of the call that dropped the object.
- **Heap snapshots**: at each benchmark iteration boundary (after the GC settling of Step 0) a SNAPSHOT line
  with byteLength, live heap bytes and blocks, tracked live objects and bytes, and a walk of dlmalloc's chunk
  headers (in-use and free bytes, free chunks by power-of-two size class, the top chunk apart from the free
  space below it), then one SITE_LIVE line per allocation site with live blocks.
- **Memory growth**: every `memory.grow` instruction of the module (found by walking every function body;
  the instrument report lists them as `grow_sites`) is replaced by a call that reports before and after the
  real grow. Each grow writes a GROW line: the thread, the bytes, byteLength before and after, whether it
  failed (the start of an out-of-memory crash), the allocation request in progress on that thread (each
  hooked allocator entry point records its size and alignment in per-thread globals before calling the
  original), the export JS called, the Rust function that asked (from a stack captured there) and a heap walk
  just before the grow (free bytes, free chunks, largest free chunk, top chunk). byteLength grows only
  through `memory.grow`, so the GROW bytes between two snapshots equal the byteLength difference.
- **Allocation sites**: every block carries the export JS called when it was allocated (the boundary); blocks
  of 64 KiB or more also the Rust function that called the allocator, from a stack captured at that
  allocation. Handle creation sites: the boundary export and up to three o1js JS frames (file:line): the
  nearest, the first outside the conversion helpers (`conversion*.js`: the code that asked for the value),
  and the first outside the bindings layer (the library code), written `a < b < c`.
- **Aggregate mode** (`wlh run --aggregate`, for runs of any length): the same tracer writes into a pipe; a
  reader per process (`analysis/wlh/aggregate/`) keeps the live objects, writes every line but ALLOCATE/DROP to
  the trace log unchanged (so this parser reads it as before), and at each SNAPSHOT one record of
  `aggregate.jsonl` (`schemas/wlh-aggregate.schema.json`): per type and creation site the live objects and bytes,
  allocated and dropped since the last snapshot, per snapshot interval what is still live, and the parser's id
  checks as counts. `wlh report` puts these where the figures from ALLOCATE/DROP lines go; a test feeds one
  stream to both and compares every figure and check count.

## What the tracer cannot see (and what it does about it)
- Heap traffic that bypasses `__rust_alloc`/`__rust_dealloc` (a few std thread-bookkeeping paths call
  dlmalloc directly): such a block is invisible; if one is later freed through `__rust_dealloc`, it shows as
  an *unknown free* (counted in every SNAPSHOT).
- Rust values that never get a JS handle (caches inside Rust, statics, values owned by other values) are not
  objects in the log; their bytes are still in the live heap and in the per-site table, where Step 3 ranks them.
- Sizes use the call that created a handle: bytes that call allocated for something else (e.g. a cache filled
  on the first proof) are attributed to the handle; bytes a value gains after creation are not.
- `drop_in_place::<T>` functions of Rust-internal types are not hooked: most drop glue is inlined, so a
  per-type count from them would be incomplete.
- With the dlmalloc hook set, dlmalloc's `memalign` gets its block from `malloc`, so both hooks report the
  same pointer: the second report replaces the first (counted as `stale_blocks_replaced` in every SNAPSHOT),
  in the live totals and in the building call's bytes, so the block counts once.
- Static data and allocator free space are not blocks: Step 3 measures them from the heap base and a walk of
  dlmalloc's chunk headers. Thread stacks and TLS are heap blocks that wasm-bindgen's thread start-up code
  allocates; Step 3 recognises them by their allocation site.
"""


def compat_section(cells: list[dict]) -> list[str]:
    """The same instrumenter on older releases: their trivial matrix cells (artifacts/matrix/, cell.json)."""
    if not cells:
        return []
    md = ["## The same instrumenter on older releases", "",
          "From the release matrix (`doit matrix`): each older release is instrumented by the same tool and its "
          "trivial scenario traced; the hook set is what the instrumenter found by name in that binary.", ""]
    for c in cells:
        ins, t = c["instrument"], c["trace"]
        iters = sorted(t["live_heap_by_iteration"], key=int)
        rows = [[i, t["bytes_by_iteration"][i], t["live_heap_by_iteration"][i], t["tracked_by_iteration"][i]] for i in iters]
        top = t["leaks_by_type_in_loop"][:3]
        md += [f"### o1js {c['version']}, {c['workers']} worker(s) (glue `{ins['glue']}`)", "",
               f"Hook set **{ins['hook_set']}**: " + ", ".join(f"{k} = `{v}`" for k, v in ins["hooks"].items()) + ". "
               "Parser checks " + ("all passed" if c["checks_ok"] else f"FAILED ({', '.join(c['failed_checks'])})") + ".", "",
               tabulate(rows, headers=["iter", "byteLength", "live heap bytes", "tracked live bytes"], tablefmt="github"), "",
               "Never dropped in the loop, by type: "
               + (", ".join(f"{x['type']} {x['bytes']:,} B ({x['count']:,})" for x in top) if top else "none") + ".", ""]
    return md


def _source_verified(cmp: dict | None) -> str:
    """What the source route's column can claim, from the recorded runs only."""
    if not cmp or not cmp.get("scenarios"):
        return ("core crate built and tested natively (`cargo test --offline`); no source-route run is recorded in "
                "these artifacts (`artifacts/source_route/`), so no figure here comes from it.")
    b = cmp.get("build") or {}
    runs = ", ".join(f"{sc} ({c['source']['last_iteration']} proofs)" for sc, c in cmp["scenarios"].items())
    return (f"core crate tested natively (`cargo test --offline`); the generated patch compiled for wasm32 "
            f"({routes_compare.toolchain_line(b) or 'toolchain not recorded'}, as the wasm's producers section "
            "names them; the full record is the \"Source-route build\" line below) on a "
            f"maintainer's machine, outside this repository, and traced on {runs}: the tables below.")


def write_report(instr: dict, results: dict[str, dict], overhead: dict | None, report: Path,
                 source_summary: dict | None = None, compat: list[dict] | None = None,
                 routes: dict | None = None) -> None:
    md = ["# Step 2 — logging every allocation and drop of the bindings' objects", "",
          "_Generated by `doit step2_report` from the instrumenter's report, the parsed trace logs and the "
          "overhead benchmark; the method text is written and holds for any run._", ""]
    md += METHOD.splitlines() + [""]
    md += hooks_section(instr) + compat_section(compat or []) + counts_section(results) + overhead_section(overhead)
    md += format_section()
    md += ["## The two routes compared", "",
           tabulate([
               ["how it is installed", "rewrite of the shipped wasm + glue (no Rust toolchain)",
                "a generated patch to the bindings crate, compiled for wasm32 (needs a Rust toolchain and the crates)"],
               ["objects it sees", "every JS handle that owns a block (all classes, all creation paths)",
                "every instrumented struct, on every construction path (new, Clone, Default, deserialize)"],
               ["sizes", "allocator records: handle block + live bytes of the creating call",
                "`size_of` + owned heap by a HeapSize trait, measured when each value (clones included) is made; "
                "blocks shared through Rc/Arc charged once; deep rules for the prover and verifier indexes "
                "(what each leaves out: see its summary)"],
               ["sites", "o1js JS caller + boundary export, full stack for blocks ≥ 64 KiB",
                "boundary export + the Rust type that built the value, on every construction path"],
               ["memory growth", "every memory.grow (GROW lines) and a heap walk per snapshot", "live bytes from a "
                "counting allocator per snapshot; no GROW lines"],
               ["verified here", "instrumented, run and traced on o1js 2.15.0 (this report)", _source_verified(routes)],
           ], headers=["", "binary route", "source route"], tablefmt="github"), ""]
    if source_summary:
        md += [f"Source route patch for commit `{source_summary.get('checkout_commit', '?')}`: see "
               "`artifacts/source_patch/summary.md` (types instrumented and skipped with reasons; every touched file "
               "parsed with tree-sitter and rustfmt).", ""]
    if routes and routes.get("scenarios"):
        md += ROUTES_TEXT.splitlines() + [""] + routes_compare.markdown(routes)
    report.write_text("\n".join(md))


def write_from_files(instrument: Path, results: dict[str, Path], overhead: Path, source_summary: Path,
                     older_cells: list[Path], report: Path, routes: Path | None = None) -> None:
    load = lambda p: json.loads(Path(p).read_text())  # noqa: E731
    write_report(load(instrument), {s: load(p) for s, p in results.items()},
                 load(overhead) if Path(overhead).exists() else None, report,
                 load(source_summary) if Path(source_summary).exists() else None, [load(p) for p in older_cells],
                 load(routes) if routes is not None and Path(routes).exists() else None)
