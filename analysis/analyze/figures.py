"""Step 3 figures computed from a parse result (analysis.parse) and the Step 0 summary.

Everything here is arithmetic on measured data; nothing is estimated. When the ceiling would be reached is the
forecaster's (analysis.forecast), which reads byteLength as steps and never as a rate through one-time steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.analyze import growth as growth_mod
from analysis.analyze.objects import LogObjects
from analysis.common.stats import linear_fit


@dataclass
class IterationRow:
    iteration: int
    memory_bytes: int
    live_heap_bytes: int
    live_blocks: int
    tracked_live_bytes: int
    untracked_live_bytes: int
    never_dropped_created_here: int | None   # bytes of objects ALLOCATEd since the previous snapshot, never dropped
    step0_memory_bytes: int | None
    decomposition: dict | None = None        # byteLength split into measured parts (see decompose)


@dataclass
class Ratio:
    numerator: int
    denominator: int | None

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator and self.denominator > 0 else None


@dataclass
class ScenarioFigures:
    scenario: str
    rows: list[IterationRow]
    never_dropped_total: int
    never_dropped_in_loop: int | None
    vs_bytelength_run: Ratio | None
    vs_live_heap_run: Ratio | None
    per_proof: list[dict] = field(default_factory=list)
    live_slope: float | None = None
    live_slope_stderr: float | None = None
    first_proof_live_growth: int | None = None
    top_growth_sites: list[dict] = field(default_factory=list)
    tracked_share_of_growth: float | None = None
    leaks_by_type_in_loop: list[dict] = field(default_factory=list)
    proofs: int = 0
    type_rates: list[dict] = field(default_factory=list)   # live bytes per type: one-time and per-proof growth
    growth_by_site_kind: dict = field(default_factory=dict)  # live heap split by kind of allocation site
    site_rates: list[dict] = field(default_factory=list)   # live bytes per allocation site, likewise
    byte_growth: dict | None = None                         # byteLength growth attributed to memory.grow requests
    fragmentation: list[dict] = field(default_factory=list)  # free chunks per iteration (heap walk)


def is_thread_startup(site: dict) -> bool:
    """A site of wasm-bindgen's thread start-up code: the TLS block each thread's `__wbindgen_start` allocates,
    and the stack of each worker, which the start code (a function without a name) asks `__wbindgen_malloc`
    for. The stack is only recorded for blocks >= the tracer's big-block size (64 KiB), so a worker's small TLS
    block cannot be told apart and stays in live_untracked."""
    if site.get("rust") == "__wbindgen_start":
        return True
    stack = site.get("stack") or []
    # 2.15: [..__wbindgen_malloc, <unnamed start code>]; plonk_wasm: [..malloc, ..memalign, ..__wbindgen_malloc,
    # ..__wasm_init_memory]
    for i, frame in enumerate(stack[:-1]):
        if frame.endswith(".__wbindgen_malloc"):
            caller = stack[i + 1]
            return caller.endswith(".wasm") or ".__wasm_init" in caller or caller.endswith(".__wbindgen_start")
    return False


def thread_startup_bytes(result, iterations: list[int]) -> dict[int, int]:
    """Live bytes of thread start-up blocks (is_thread_startup) per snapshot iteration (SITE_LIVE lines)."""
    by_it = result.site_live_by_iteration()
    sites = {k for k, info in result.sites.items() if is_thread_startup(info)}
    return {i: sum(v["bytes"] for k, v in by_it.get(i, {}).items() if k in sites) for i in iterations}


def decompose(snapshot: dict, thread_bytes: int = 0) -> dict | None:
    """Split linear memory into parts measured on their own:
    - static: memory below the heap at instantiation (data segments, main stack), from the tracer;
    - live_tracked / live_untracked: requested bytes of live blocks (allocator hooks), in or not in tracked objects;
    - thread_stacks_tls: live blocks of the threads' start-up code (worker stacks, TLS; see is_thread_startup),
      taken out of live_untracked;
    - allocator_overhead: in-use chunk bytes (heap walk) minus requested live bytes (hooks): chunk headers,
      alignment, and the few blocks dlmalloc hands out without passing the hooks;
    - free: free chunks, including the top chunk (heap walk);
    - other: fenceposts and bytes the walk could not parse.
    `sum` adds them up; `error` is sum - byteLength (0 when every part is accounted for)."""
    w = snapshot.get("heap_walk")
    if not w:
        return None
    live = snapshot["live_heap_bytes"]
    tracked = snapshot.get("tracked_live_bytes", 0)
    parts = {"static": w["heap_base"], "live_tracked": tracked, "live_untracked": live - tracked - thread_bytes,
             "thread_stacks_tls": thread_bytes,
             "allocator_overhead": w["inuse_bytes"] - live, "free": w["free_bytes"],
             "other": w["fencepost_bytes"] + w["unparsed_bytes"]}
    total = sum(parts.values())
    return {**parts, "sum": total, "memory_bytes": snapshot["memory_bytes"], "error": total - snapshot["memory_bytes"],
            "inuse_chunks": w["inuse_chunks"], "live_blocks": snapshot["live_blocks"],
            "chunks_not_hooked": w["inuse_chunks"] - snapshot["live_blocks"], "largest_free": w["largest_free"]}


def leaks_by_type(rows: list[tuple], sites: dict, proofs: int) -> list[dict]:
    """Objects created in the loop and never dropped (objects.never_dropped_rows), per type, with their creation
    sites ranked by bytes (ties: by site number, then by type name)."""
    per: dict[str, dict] = {}
    for t, site, n, b in rows:
        r = per.setdefault(t, {"type": t, "count": 0, "bytes": 0, "sites": []})
        r["count"] += n
        r["bytes"] += b
        info = sites.get(site, {}) if site is not None else {}
        r["sites"].append({"site": site, "count": n, "bytes": b, "js": info.get("js"), "rust": info.get("rust")})
    out = []
    for r in per.values():
        r["sites"].sort(key=lambda x: (-x["bytes"], -1 if x["site"] is None else x["site"]))
        out.append({"type": r["type"], "count": r["count"], "bytes": r["bytes"],
                    "bytes_per_proof": r["bytes"] / proofs if proofs else None, "sites": r["sites"][:5]})
    out.sort(key=lambda r: (-r["bytes"], r["type"]))
    return out


def figures(scenario: str, result, step0_memory: dict[str, int] | None, objects=None) -> ScenarioFigures:
    """objects: where the tracked objects come from (analysis.analyze.objects); the ALLOCATE/DROP lines of the
    parse result unless given (a `wlh run --aggregate` run gives its reader's tables)."""
    objects = objects if objects is not None else LogObjects(result)
    idx = [k for k, s in enumerate(result.snapshots) if s.get("iteration", -1) >= 0]  # after compile, after each proof
    snaps = [result.snapshots[k] for k in idx]
    rows = []
    threads = thread_startup_bytes(result, [s["iteration"] for s in snaps])
    for j, s in enumerate(snaps):
        rows.append(IterationRow(
            iteration=s["iteration"], memory_bytes=s["memory_bytes"], live_heap_bytes=s["live_heap_bytes"],
            live_blocks=s["live_blocks"], tracked_live_bytes=s.get("tracked_live_bytes", 0),
            untracked_live_bytes=s["live_heap_bytes"] - s.get("tracked_live_bytes", 0),
            never_dropped_created_here=objects.never_dropped_bytes(idx[j - 1], idx[j]) if j else None,
            step0_memory_bytes=(step0_memory or {}).get(str(s["iteration"])), decomposition=decompose(s, threads[s["iteration"]])))
    f = ScenarioFigures(scenario=scenario, rows=rows, never_dropped_total=objects.never_dropped_bytes(),
                        never_dropped_in_loop=None, vs_bytelength_run=None, vs_live_heap_run=None)
    f.byte_growth = growth_mod.attribute(result.snapshots, getattr(result, "grows", []))
    f.fragmentation = growth_mod.fragmentation(result.snapshots)
    if len(rows) < 2:
        return f
    first, last = rows[0], rows[-1]
    f.proofs = last.iteration
    # "the loop": from the after-compile snapshot to the snapshot after the last proof
    f.leaks_by_type_in_loop = leaks_by_type(objects.never_dropped_rows(idx[0], idx[-1]), result.sites, f.proofs)
    f.never_dropped_in_loop = objects.never_dropped_bytes(idx[0], idx[-1])
    if f.never_dropped_in_loop is not None:
        m0 = first.step0_memory_bytes if first.step0_memory_bytes is not None else first.memory_bytes
        m1 = last.step0_memory_bytes if last.step0_memory_bytes is not None else last.memory_bytes
        f.vs_bytelength_run = Ratio(f.never_dropped_in_loop, m1 - m0)
        f.vs_live_heap_run = Ratio(f.never_dropped_in_loop, last.live_heap_bytes - first.live_heap_bytes)
    for a, b in zip(rows, rows[1:]):
        mem_a = a.step0_memory_bytes if a.step0_memory_bytes is not None else a.memory_bytes
        mem_b = b.step0_memory_bytes if b.step0_memory_bytes is not None else b.memory_bytes
        nd = b.never_dropped_created_here
        f.per_proof.append({
            "proof": b.iteration, "bytelength_growth": mem_b - mem_a,
            "live_heap_growth": b.live_heap_bytes - a.live_heap_bytes,
            "tracked_growth": b.tracked_live_bytes - a.tracked_live_bytes,
            "never_dropped_created": nd,
            "ratio_vs_bytelength": Ratio(nd, mem_b - mem_a).value if nd is not None else None,
            "ratio_vs_live_heap": Ratio(nd, b.live_heap_bytes - a.live_heap_bytes).value if nd is not None else None,
        })
    f.first_proof_live_growth = rows[1].live_heap_bytes - rows[0].live_heap_bytes
    later = [r for r in rows if r.iteration >= 1]
    fit = linear_fit([r.iteration for r in later], [r.live_heap_bytes for r in later]) if len(later) >= 2 else None
    if fit:
        f.live_slope, f.live_slope_stderr = fit.slope, fit.slope_stderr
    growth = last.live_heap_bytes - first.live_heap_bytes
    if growth > 0:
        f.tracked_share_of_growth = (last.tracked_live_bytes - first.tracked_live_bytes) / growth
    its = [s["iteration"] for s in snaps]
    sites = site_series(result, snaps)
    f.growth_by_site_kind = growth_by_site_kind(result.sites, objects.object_sites(), sites, its)
    f.top_growth_sites = sorted(sites, key=lambda r: -r["growth_bytes"])[:15]
    f.site_rates = sorted(sites, key=lambda r: -(r["per_proof"] or 0))[:25]
    f.type_rates = type_rates(objects.live_by_type(idx), its)
    return f


def rate(xs: list[int], ys: list[float]) -> dict:
    """One-time growth (first proof) and steady growth per proof (least squares over proofs 1..N, with the
    slope's standard error as its spread)."""
    fit = linear_fit(xs[1:], ys[1:]) if len(xs) >= 3 else None
    return {"first_proof": ys[1] - ys[0] if len(ys) >= 2 else None,
            "per_proof": fit.slope if fit else None, "spread": fit.slope_stderr if fit else None,
            "values": ys}


def type_rates(live_by_type: dict[str, list[float]], its: list[int]) -> list[dict]:
    """Live bytes of tracked objects per type at every snapshot (after compile, after each proof), with their
    one-time and per-proof growth; the 25 growing fastest, types never live left out."""
    rows = [{"type": t, **rate(its, ys)} for t, ys in live_by_type.items() if any(ys)]
    rows.sort(key=lambda r: (-(r["per_proof"] or 0), r["type"]))
    return rows[:25]


SITE_KINDS = ("objects", "thread_startup", "other")


def growth_by_site_kind(sites: dict, object_sites: set[int], site_rows: list[dict], iterations: list[int]) -> dict:
    """Live heap bytes per kind of allocation site, at every snapshot, with their rates. Every live block has
    exactly one site, so the kinds never overlap and add up to the live heap (unlike tracked-object sizes,
    which include a share of their building call's bytes):
    - objects: blocks allocated during a boundary call (Rust export) that created tracked objects;
    - thread_startup: the threads' start-up code (worker stacks, TLS; is_thread_startup);
    - other: every other site."""
    # Handles get a site with their JS caller, blocks one without: they meet in the boundary export's name.
    object_calls = {sites.get(s, {}).get("rust") for s in object_sites} - {None}
    sums = {k: np.zeros(len(iterations)) for k in SITE_KINDS}
    for r in site_rows:
        kind = ("thread_startup" if is_thread_startup(sites.get(r["site"], {}))
                else "objects" if r["rust"] in object_calls else "other")
        sums[kind] += np.asarray(r["values"], dtype=float)
    return {k: {**rate(iterations, [float(x) for x in v]), "growth": float(v[-1] - v[0]) if len(v) else 0.0,
                "growth_after_first": float(v[-1] - v[1]) if len(v) >= 2 else None} for k, v in sums.items()}


def site_kind_shares(kinds: dict, key: str) -> dict | None:
    """Each site kind's share of the live-heap growth (key: "growth" from after compile, "growth_after_first"
    from after proof 1); None when the heap did not grow."""
    total = sum(v[key] or 0.0 for v in kinds.values()) if kinds else 0.0
    return {k: (v[key] or 0.0) / total for k, v in kinds.items()} if total > 0 else None


def site_series(result, snaps: list[dict]) -> list[dict]:
    """Live heap bytes per allocation site at every snapshot (SITE_LIVE lines): the series, its rates, and
    the change from the first snapshot to the last (`growth_bytes`)."""
    by_it = result.site_live_by_iteration()
    its = [s["iteration"] for s in snaps]
    sites = set().union(*[set(by_it.get(i, {})) for i in its]) if its else set()
    rows = []
    for site in sites:
        ys = [by_it.get(i, {}).get(site, {}).get("bytes", 0) for i in its]
        info = result.sites.get(site, {})
        rows.append({"site": site, "rust": info.get("rust"), "alloc_fn": info.get("alloc_fn"), "js": info.get("js"),
                     "growth_bytes": ys[-1] - ys[0], "live_bytes_end": ys[-1],
                     "blocks_end": by_it.get(its[-1], {}).get(site, {}).get("blocks", 0), **rate(its, ys)})
    return rows


def tracked_coverage(rows) -> dict:
    """How much of the live-heap growth is held by live tracked objects, from after compile (first proof
    included) and from after proof 1 (excluded). rows: snapshot rows (objects or their JSON dicts), one per
    iteration from after compile. Each span: growth and tracked bytes, and their ratio (None without growth)."""
    def get(row, key):
        return row[key] if isinstance(row, dict) else getattr(row, key)

    def span(a, b):
        growth = get(b, "live_heap_bytes") - get(a, "live_heap_bytes")
        tracked = get(b, "tracked_live_bytes") - get(a, "tracked_live_bytes")
        return {"growth": growth, "tracked": tracked, "share": tracked / growth if growth > 0 else None}
    return {"with_first_proof": span(rows[0], rows[-1]) if len(rows) >= 2 else None,
            "without_first_proof": span(rows[1], rows[-1]) if len(rows) >= 3 else None}
