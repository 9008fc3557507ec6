"""Why WASM memory (byteLength) grew: every memory.grow of a traced run (GROW lines) attributed to the
allocation request that forced it, per iteration; and the allocator's fragmentation at each snapshot.

byteLength only grows through memory.grow, and the binary-route tracer hooks every memory.grow instruction,
so the GROW bytes between two snapshots must add up to the byteLength difference (`unexplained_bytes` is
what does not). A grow is attributed to a site when the tracer saw which code asked: the Rust function from
its stack (`rust_fn`) under the JS→Rust export in progress (`export`); `coverage` is the share of byteLength
growth whose grows have such a site. Inputs are parse results in their JSON form (snapshots, grows).
"""
from __future__ import annotations

import re
from collections import defaultdict

UNKNOWN = "(no site)"


def site_of(grow: dict) -> str:
    """'export > rust_fn' (either part may be missing); UNKNOWN when neither is known."""
    parts = [p for p in (grow.get("export"), short_rust_name(grow.get("rust_fn"))) if p]
    return " > ".join(parts) if parts else UNKNOWN


_HASH = re.compile(r"\[[0-9a-f]{8,}\]")
_GENERIC_ARGS = re.compile(r"(\w)<[^<>]*>")
_PATH = re.compile(r"(?:\w+::)+(\w+::\w+)")


def short_rust_name(name: str | None) -> str | None:
    """A demangled Rust name readable in a table: crate hashes and generic arguments dropped, paths cut to their
    last two parts (`<ark_poly[..]::..::Evaluations<Fp<..>, ..> as o1_utils[..]::..::ExtendedEvaluations<..>>::shift`
    becomes `<univariate::Evaluations as evaluations::ExtendedEvaluations>::shift`)."""
    if not name:
        return name
    name = _HASH.sub("", name)
    while True:
        shorter = _GENERIC_ARGS.sub(r"\1", name)
        if shorter == name:
            break
        name = shorter
    return _PATH.sub(r"\1", name)


def _boundaries(snapshots: list[dict]) -> list[tuple[int, dict]]:
    """(index in snapshots, snapshot) of the iteration boundaries: the last snapshot of each iteration >= 0."""
    last: dict[int, tuple[int, dict]] = {}
    for i, s in enumerate(snapshots):
        if s.get("iteration", -1) >= 0:
            last[s["iteration"]] = (i, s)
    return [last[k] for k in sorted(last)]


def attribute(snapshots: list[dict], grows: list[dict]) -> dict | None:
    """Per iteration k >= 1: byteLength growth since iteration k-1, the GROW bytes in between, by site.
    None when the log has no GROW lines (a trace made before they existed, or the source route)."""
    if not grows:
        return None
    bounds = _boundaries(snapshots)
    if len(bounds) < 2:
        return None
    rows, by_site = [], defaultdict(lambda: {"one_time": 0, "steady": 0, "count": 0, "max_request": 0})
    for (i0, s0), (i1, s1) in zip(bounds, bounds[1:]):
        inside = [g for g in grows if g.get("snapshot") is not None and i0 <= g["snapshot"] < i1]
        grown = [g for g in inside if g.get("outcome") == "grown"]
        delta = s1["memory_bytes"] - s0["memory_bytes"]
        grow_bytes = sum(g["bytes"] for g in grown)
        sited = sum(g["bytes"] for g in grown if site_of(g) != UNKNOWN)
        sites = defaultdict(int)
        for g in grown:
            sites[site_of(g)] += g["bytes"]
            e = by_site[site_of(g)]
            e["one_time" if s1["iteration"] == 1 else "steady"] += g["bytes"]
            e["count"] += 1
            e["max_request"] = max(e["max_request"], g.get("req_size") or 0)
        top = max(sites.items(), key=lambda kv: kv[1]) if sites else (None, 0)
        rows.append({"iteration": s1["iteration"], "bytelength_growth": delta, "grow_bytes": grow_bytes,
                     "unexplained_bytes": delta - grow_bytes, "grows": len(grown),
                     "failed_grows": sum(1 for g in inside if g.get("outcome") == "failed"), "sited_bytes": sited,
                     "top_site": top[0], "top_site_bytes": top[1],
                     "requests_larger_than_free": sum(1 for g in grown if _did_not_fit(g))})
    total = sum(r["bytelength_growth"] for r in rows)
    steady = [r for r in rows if r["iteration"] >= 2]
    steady_total = sum(r["bytelength_growth"] for r in steady)
    return {
        "rows": rows,
        "bytelength_growth": total,
        "grow_bytes": sum(r["grow_bytes"] for r in rows),
        "unexplained_bytes": sum(r["unexplained_bytes"] for r in rows),
        "coverage": sum(r["sited_bytes"] for r in rows) / total if total > 0 else None,
        "steady_growth": steady_total,
        "steady_coverage": sum(r["sited_bytes"] for r in steady) / steady_total if steady_total > 0 else None,
        "sites": sorted(({"site": k, **v} for k, v in by_site.items()),
                        key=lambda e: -(e["one_time"] + e["steady"])),
    }


def _did_not_fit(grow: dict) -> bool:
    """The request was larger than every free chunk at that moment: free space, however much, could not serve it."""
    req, largest = grow.get("req_size"), grow.get("largest_free")
    return req is not None and largest is not None and req > largest


def fragmentation(snapshots: list[dict]) -> list[dict]:
    """Per iteration boundary: free chunks, the largest, the top chunk, free bytes below it, by size class."""
    out = []
    for _, s in _boundaries(snapshots):
        w = s.get("heap_walk") or {}
        if not w:
            continue
        out.append({"iteration": s["iteration"], "memory_bytes": s["memory_bytes"], "free_bytes": w.get("free_bytes"),
                    "free_chunks": w.get("free_chunks"), "largest_free": w.get("largest_free"),
                    "top_free_bytes": w.get("top_free_bytes"), "free_below_top_bytes": w.get("free_below_top_bytes"),
                    "largest_free_below_top": w.get("largest_free_below_top"),
                    "free_classes": w.get("free_classes") or []})
    return out


def reuse_verdict(frag: list[dict], growth: dict | None) -> str | None:
    """One sentence from the data: after proof 1, is the free space reused, or do requests land at the top?"""
    rows = [f for f in frag if f["iteration"] >= 1 and f.get("free_below_top_bytes") is not None]
    if len(rows) < 2:
        return None
    first, last = rows[0], rows[-1]
    later = [r for r in (growth or {}).get("rows", []) if r["iteration"] >= 2]
    grows = sum(r["grows"] for r in later)
    did_not_fit = sum(r["requests_larger_than_free"] for r in later)
    mib = lambda b: f"{b / (1 << 20):.2f}"  # noqa: E731
    text = (f"Free space below the top chunk went from {mib(first['free_below_top_bytes'])} MiB in "
            f"{first['free_chunks']:,} free chunks after proof 1 to {mib(last['free_below_top_bytes'])} MiB in "
            f"{last['free_chunks']:,} after proof {last['iteration']} (largest free chunk below the top "
            f"{mib(first['largest_free_below_top'] or 0)} → {mib(last['largest_free_below_top'] or 0)} MiB). ")
    if growth is None:
        return text + "This trace has no GROW lines, so it cannot say which requests grew memory."
    if grows == 0:
        return text + "After proof 1 no request grew memory: later proofs were served from the free space."
    return text + (f"After proof 1, {grows} memory.grow call(s) happened; in {did_not_fit} of them the request was "
                   "larger than every free chunk at that moment (the free space could not serve it), in "
                   f"{grows - did_not_fit} it was not larger than the largest free chunk.")
