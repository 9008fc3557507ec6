"""The two routes compared, per type, from parsed results (schemas/parse-result.schema.json).

Input: for each scenario the binary route's parsed Step 2 trace (``artifacts/step3/<scenario>.json``)
and the source route's (``artifacts/source_route/<scenario>.json``, made by
``python -m analysis.source_patch.runs`` on a local build). Output: ``compare.json`` (data only) and
the Markdown section of STEP_2.md.

The routes do not see the same objects, so the rows are matched by type name and the differences
are named, not hidden: the binary route counts JS handles of wasm-bindgen classes (one block per
handle), the source route counts Rust values of the instrumented structs, on every construction
path (clones and values never handed to JS included). A type seen by one route only is listed with
the other side empty.
"""
from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from analysis.inventory.wasm_names import read_wasm_file

SCHEMA = "wasm-leak-hunt/routes-compared/1"
FIELDS = ("allocated", "dropped", "never_dropped", "never_dropped_bytes")


def _types(result: dict) -> dict[str, dict]:
    return {t["type"]: {f: t.get(f, 0) for f in FIELDS} for t in result.get("types", [])}


def _iterations(result: dict) -> int | None:
    its = [s.get("iteration") for s in result.get("snapshots", []) if isinstance(s.get("iteration"), int)]
    return max(its) if its else None


def _summary(result: dict) -> dict:
    meta = result.get("meta") or [{}]
    return {"lines": result.get("lines", {}).get("total"), "ok": result.get("ok"),
            "failed_checks": [k for k, v in result.get("checks", {}).items() if v.get("failed")],
            "missing_ids": result.get("checks", {}).get("missing_ids", {}).get("count"),
            "route": meta[0].get("route"), "o1js_version": meta[0].get("o1js_version"),
            "last_iteration": _iterations(result), "totals": result.get("totals", {})}


def _never_by_export(result: dict) -> dict[tuple[str, str], int]:
    """Never-dropped objects per (type, export JS called when it was made): both routes name the boundary."""
    rust = {x["site"]: x.get("rust") for x in result.get("sites", [])}
    out: dict[tuple[str, str], int] = {}
    for x in result.get("never_dropped_by_type_site", []):
        key = (x["type"], rust.get(x["site"]) or "(no site)")
        out[key] = out.get(key, 0) + x["count"]
    return out


def shared_function_exports(exports: list[tuple[str, int, int]]) -> list[list[str]]:
    """Groups of export names that are one and the same wasm function (2 or more names each, sorted), from a
    module's (name, kind, index) exports.

    The compiler folds functions with identical code into one (the Fp and Fq versions of a generic binding
    often are), and wasm-bindgen's glue then calls one of the names for all of them."""
    by_index: dict[int, list[str]] = {}
    for name, kind, idx in exports:
        if kind == 0:
            by_index.setdefault(idx, []).append(name)
    return sorted(sorted(g) for g in by_index.values() if len(g) > 1)


def export_labels(shared: list[list[str]]) -> dict[str, str]:
    """Export name -> the label of its group when several exports are one wasm function ("a = b").

    The binary route names the export the glue called, and for such a group the glue calls one name for
    all (see ``shared_function_exports``); the source route names the Rust function that ran. Rows are
    matched on the group, the finest boundary both routes can see."""
    return {name: " = ".join(group) for group in shared for name in group}


def _relabel(counts: dict[tuple[str, str], int], labels: dict[str, str]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for (t, e), n in counts.items():
        key = (t, labels.get(e, e))
        out[key] = out.get(key, 0) + n
    return out


def _export_rows(binary: dict, source: dict, labels: dict[str, str] | None = None) -> list[dict]:
    b, s = _never_by_export(binary), _never_by_export(source)
    if labels:
        b, s = _relabel(b, labels), _relabel(s, labels)
    rows = [{"type": t, "export": e, "binary": b.get((t, e), 0), "source": s.get((t, e), 0)}
            for t, e in sorted(set(b) | set(s))]
    return sorted(rows, key=lambda r: (-max(r["binary"], r["source"]), r["type"], r["export"]))


def compare_scenario(binary: dict, source: dict, labels: dict[str, str] | None = None) -> dict:
    """Rows for every type either route logged, biggest never-dropped bytes (either route) first.
    ``labels``: ``export_labels`` of the binary route's wasm (exports that are one function)."""
    b, s = _types(binary), _types(source)
    rows = []
    for name in sorted(set(b) | set(s)):
        rb, rs = b.get(name), s.get(name)
        rows.append({"type": name, "binary": rb, "source": rs,
                     "never_dropped_equal": (rb is not None and rs is not None
                                             and rb["never_dropped"] == rs["never_dropped"])})
    rows.sort(key=lambda r: (-max((r["binary"] or {}).get("never_dropped_bytes", 0),
                                  (r["source"] or {}).get("never_dropped_bytes", 0)), r["type"]))
    both = [r for r in rows if r["binary"] and r["source"]]
    return {"binary": _summary(binary), "source": _summary(source), "rows": rows,
            "never_dropped_by_export": _export_rows(binary, source, labels),
            "types_both": len(both), "types_binary_only": sum(1 for r in rows if not r["source"]),
            "types_source_only": sum(1 for r in rows if not r["binary"]),
            "never_dropped_equal": sum(1 for r in both if r["never_dropped_equal"])}


def compare(binary: dict[str, dict], source: dict[str, dict], shared: list[list[str]] | None = None) -> dict:
    """``binary``/``source``: parsed results by scenario; only scenarios present in both are compared.
    ``shared``: groups of exports that are one function in the binary route's wasm."""
    labels = export_labels(shared or [])
    scenarios = {sc: compare_scenario(binary[sc], source[sc], labels) for sc in binary if sc in source}
    used = {r["export"] for c in scenarios.values() for r in c["never_dropped_by_export"]}
    return {"schema": SCHEMA, "scenarios": scenarios,
            "shared_exports": [g for g in (shared or []) if " = ".join(g) in used]}


def write_compare(binary: dict[str, Path], source: dict[str, Path], out: Path, build: Path | None = None,
                  binary_wasm: Path | None = None) -> dict:
    """``binary_wasm``: the wasm the binary route rewrote (the release's own), read for its shared exports."""
    load = lambda p: json.loads(Path(p).read_text())  # noqa: E731
    have = {sc: p for sc, p in source.items() if Path(p).exists()}
    shared = shared_function_exports(read_wasm_file(binary_wasm).exports) if binary_wasm is not None else None
    cmp = compare({sc: load(p) for sc, p in binary.items() if sc in have}, {sc: load(p) for sc, p in have.items()},
                  shared)
    if build is not None and Path(build).exists():
        cmp["build"] = load(build)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(cmp, indent=1) + "\n")
    return cmp


def _cell(side: dict | None, field: str) -> str:
    return "—" if side is None else f"{side[field]:,}"


def markdown(cmp: dict, top: int = 15) -> list[str]:
    """The per-scenario tables of STEP_2.md's "two routes compared" section (figures only)."""
    md: list[str] = []
    build = cmp.get("build")
    if build:
        md += [f"Source-route build: {build_line(build)}.", ""]
    for sc, c in cmp.get("scenarios", {}).items():
        b, s = c["binary"], c["source"]
        md += [f"**{sc}** — binary route: {b['lines']:,} lines, checks "
               f"{'all passed' if b['ok'] else 'FAILED: ' + ', '.join(b['failed_checks'])}, "
               f"{b['last_iteration']} proofs; source route: {s['lines']:,} lines, checks "
               f"{'all passed' if s['ok'] else 'FAILED: ' + ', '.join(s['failed_checks'])}, "
               f"{s['last_iteration']} proofs. Types logged by both routes: {c['types_both']} "
               f"(never-dropped count equal for {c['never_dropped_equal']}); binary only: {c['types_binary_only']}; "
               f"source only: {c['types_source_only']}.", ""]
        rows = [[r["type"], *(_cell(r["binary"], f) for f in FIELDS), *(_cell(r["source"], f) for f in FIELDS)]
                for r in c["rows"][:top]]
        md += [tabulate(rows, headers=["type", "bin alloc", "bin drop", "bin never", "bin never B",
                                       "src alloc", "src drop", "src never", "src never B"],
                        tablefmt="github", disable_numparse=True), ""]
        if len(c["rows"]) > top:
            md += [f"({len(c['rows']) - top} more types in `compare.json`.)", ""]
        ex = c.get("never_dropped_by_export") or []
        if ex:
            md += [f"Never-dropped objects of `{sc}` by the export JS called when each was made (both routes record "
                   "it), largest first:", "",
                   tabulate([[r["type"], f"`{r['export']}`", f"{r['binary']:,}", f"{r['source']:,}"] for r in ex[:top]],
                            headers=["type", "export", "binary", "source"], tablefmt="github", disable_numparse=True), ""]
    if cmp.get("shared_exports"):
        md += ["An export written `a = b` is one function of the release's wasm under two names: the compiler "
               "folded identical code (the Fp and Fq versions of a generic binding), and wasm-bindgen's glue calls "
               "one of the names whichever JS function ran, so the binary route cannot tell them apart; the source "
               "route, whose export context makes the bodies differ, can. Such rows add both names' objects. "
               "Groups among the rows of `compare.json`: " + "; ".join(" = ".join(f"`{n}`" for n in g) for g in cmp["shared_exports"])
               + ".", ""]
    return md


def toolchain_line(build: dict) -> str:
    """The compiler and glue tool of the build, from its record ("" when neither is recorded)."""
    return "; ".join(f"{label} {build[k]}" for k, label in (("rustc", "rustc"), ("wasm_bindgen", "wasm-bindgen"))
                     if build.get(k))


def build_line(build: dict) -> str:
    """One line on the build from its record (no closing period)."""
    parts = [toolchain_line(build)] if toolchain_line(build) else []
    if build.get("wasm_bytes"):
        parts.append(f"wasm {build['wasm_bytes']:,} B (sha256 {build.get('wasm_sha256', '?')[:12]})")
    if build.get("patch_sha256"):
        parts.append(f"patch sha256 {build['patch_sha256'][:12]} ({build.get('patch_lines', '?')} lines)")
    return "; ".join(parts)
