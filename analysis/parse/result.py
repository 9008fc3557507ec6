"""ParseResult: the checks and tables computed from the collected columns, and its JSON form
(schemas/parse-result.schema.json)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.parse.collect import Collector, Tally
from analysis.parse.match import earliest, match_ids, sum_by, tally

RESULT_SCHEMA_ID = "wasm-leak-hunt/parse-result.schema.json"

# name -> what a non-zero count means; the order is the report order.
CHECKS = {
    "malformed_lines": "'@' lines that are not JSON, or not valid by the trace-event schema",
    "truncated_last_line": "last line without newline that is not complete JSON (writer died mid-line)",
    "duplicate_allocate_ids": "ALLOCATE lines repeating an id already allocated",
    "missing_ids": "ids below the largest ALLOCATE id with no ALLOCATE line: ids come from one counter "
                   "from 0, so each is a lost line (examples: the missing ranges)",
    "duplicate_drop_ids": "DROP lines repeating an id already dropped",
    "drop_without_allocate": "DROP lines whose id no ALLOCATE has",
    "drop_type_mismatch": "DROP lines whose type differs from their ALLOCATE's",
    "drop_size_mismatch": "DROP lines whose size differs from their ALLOCATE's",
    "type_more_drops_than_allocates": "types with more DROP than ALLOCATE lines",
    "undefined_sites": "site numbers used by ALLOCATE lines but defined by no SITE line",
    "site_redefined": "SITE lines giving an already defined site number a different definition",
}


@dataclass
class TypeRow:
    type: str
    allocated: int
    dropped: int
    never_dropped: int
    never_dropped_bytes: int
    share: float            # of all never-dropped bytes (0 when there are none)


@dataclass
class TypeSiteRow:
    type: str
    site: int | None        # None: the ALLOCATE lines had no site
    count: int
    bytes: int
    share: float


@dataclass
class ParseResult:
    source: str
    max_examples: int
    lines_total: int
    noise_lines: int
    malformed_lines: int
    truncated_lines: int
    events: dict[str, int]
    totals: dict[str, int]
    checks: dict[str, Tally]
    types: list[TypeRow]
    never_dropped_by_type: list[tuple[str, int]]   # the association list, bytes descending
    type_sites: list[TypeSiteRow]
    snapshots: list[dict]
    site_live: list[dict]
    sites: dict[int, dict]
    meta: list[dict]
    grows: list[dict]        # every memory.grow (GROW lines), with the index of the SNAPSHOT before it
    # Columnar collections (not in the JSON): every ALLOCATE and every DROP, type codes index type_names.
    type_names: list[str] = field(repr=False)
    allocates: dict[str, np.ndarray] = field(repr=False)
    drops: dict[str, np.ndarray] = field(repr=False)
    alloc_dropped: np.ndarray = field(repr=False)   # bool per ALLOCATE row

    @property
    def event_lines(self) -> int:
        return sum(self.events.values())

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, t in self.checks.items() if t.count]

    @property
    def ok(self) -> bool:
        return not self.failed_checks

    def never_dropped(self) -> dict[str, np.ndarray]:
        """The ALLOCATE rows that have no DROP (columns id, size, type, site, line)."""
        keep = ~self.alloc_dropped
        return {k: v[keep] for k, v in self.allocates.items()}

    def site_live_by_iteration(self) -> dict[int, dict[int, dict]]:
        """iteration -> site -> row; where several snapshots share an iteration the last one wins."""
        out: dict[int, dict[int, dict]] = {}
        for row in self.site_live:
            out.setdefault(row["iteration"], {})[row["site"]] = row
        return out

    def to_dict(self) -> dict:
        return {
            "schema": RESULT_SCHEMA_ID,
            "source": self.source,
            "ok": self.ok,
            "lines": {"total": self.lines_total, "noise": self.noise_lines, "events": self.event_lines,
                      "malformed": self.malformed_lines, "truncated": self.truncated_lines},
            "events": dict(self.events),
            "totals": dict(self.totals),
            "max_examples": self.max_examples,
            "checks": {
                name: {"description": CHECKS[name], "count": t.count, "failed": t.count > 0,
                       "examples": [{"line": e.line, "detail": e.detail} for e in t.examples]}
                for name, t in self.checks.items()
            },
            "types": [vars(r).copy() for r in self.types],
            "never_dropped_by_type": [[t, b] for t, b in self.never_dropped_by_type],
            "never_dropped_by_type_site": [vars(r).copy() for r in self.type_sites],
            "snapshots": self.snapshots,
            "site_live": self.site_live,
            "sites": [{"site": n, **info} for n, info in sorted(self.sites.items())],
            "meta": self.meta,
            "grows": self.grows,
        }


def build_result(col: Collector, source: str) -> ParseResult:
    n_ex = col.max_examples
    a, d = col.alloc.finish(), col.drop.finish()
    names = col.type_names()
    n_types = len(names)
    a_id, a_size, a_type, a_site, a_line = a["id"], a["size"], a["type"], a["site"], a["line"]
    d_id, d_size, d_type, d_line = d["id"], d["size"], d["type"], d["line"]
    m = match_ids(a_id, a_line, d_id, d_line)

    checks = {"malformed_lines": col.malformed, "truncated_last_line": col.truncated}
    checks["duplicate_allocate_ids"] = tally(
        a_line[m.dup_alloc], n_ex,
        lambda k: f"id {a_id[m.dup_alloc[k]]} already allocated at line {a_line[m.dup_alloc_first[k]]}")
    checks["missing_ids"] = _missing_ids(a_id, a_line, len(m.dup_alloc) == 0, n_ex)
    checks["duplicate_drop_ids"] = tally(
        d_line[m.dup_drop], n_ex,
        lambda k: f"id {d_id[m.dup_drop[k]]} already dropped at line {d_line[m.dup_drop_first[k]]}")
    checks["drop_without_allocate"] = tally(
        d_line[m.drop_orphan], n_ex,
        lambda k: f"id {d_id[m.drop_orphan[k]]} ({names[d_type[m.drop_orphan[k]]]})")
    pa, pd = m.pair_alloc, m.pair_drop
    for check, column_a, column_d, what in (("drop_type_mismatch", a_type, d_type, "type"),
                                            ("drop_size_mismatch", a_size, d_size, "size")):
        bad = np.flatnonzero(column_a[pa] != column_d[pd])
        ra, rd = pa[bad], pd[bad]
        show = (lambda v: names[v]) if what == "type" else (lambda v: v)
        checks[check] = tally(
            d_line[rd], n_ex,
            lambda k, ra=ra, rd=rd, ca=column_a, cd=column_d, show=show, what=what:
                f"id {d_id[rd[k]]}: DROP {what} {show(cd[rd[k]])}, "
                f"ALLOCATE (line {a_line[ra[k]]}) {what} {show(ca[ra[k]])}")
    allocated = np.bincount(a_type, minlength=n_types)
    dropped = np.bincount(d_type, minlength=n_types)
    over = np.flatnonzero(dropped > allocated)
    first_drop = np.full(n_types, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first_drop, d_type, d_line)
    checks["type_more_drops_than_allocates"] = tally(
        first_drop[over], n_ex,
        lambda k: f"{names[over[k]]}: {dropped[over[k]]} DROP, {allocated[over[k]]} ALLOCATE (first DROP shown)")
    checks["undefined_sites"] = _undefined_sites(a_site, a_line, col.sites, n_ex)
    checks["site_redefined"] = col.site_redefined

    nd = ~m.alloc_dropped
    nd_type, nd_size, nd_site = a_type[nd], a_size[nd], a_site[nd]
    nd_count = np.bincount(nd_type, minlength=n_types)
    nd_bytes = sum_by(nd_type, nd_size, n_types)
    total_nd = int(nd_bytes.sum())
    share = (lambda b: b / total_nd if total_nd else 0.0)
    order = sorted(range(n_types), key=lambda t: (-nd_bytes[t], -allocated[t], names[t]))
    types = [TypeRow(names[t], int(allocated[t]), int(dropped[t]), int(nd_count[t]), int(nd_bytes[t]),
                     share(int(nd_bytes[t]))) for t in order]

    events = {"ALLOCATE": len(a_id), "DROP": len(d_id), **col.other_events}
    totals = {"allocated_bytes": int(a_size.sum()), "paired": len(pa), "never_dropped": int(nd.sum()),
              "never_dropped_bytes": total_nd, "types": n_types, "sites_defined": len(col.sites)}
    return ParseResult(
        source=source, max_examples=n_ex, lines_total=col.lines_total, noise_lines=col.noise_lines,
        malformed_lines=col.malformed.count, truncated_lines=col.truncated.count, events=events,
        totals=totals, checks=checks, types=types,
        never_dropped_by_type=[(r.type, r.never_dropped_bytes) for r in types if r.never_dropped],
        type_sites=_by_type_site(nd_type, nd_site, nd_size, names, share),
        snapshots=col.snapshots, site_live=col.site_live, sites=col.sites, meta=col.meta, grows=col.grows,
        type_names=names, allocates=a, drops=d, alloc_dropped=m.alloc_dropped,
    )


def _missing_ids(a_id, a_line, unique: bool, n_ex: int) -> Tally:
    """Gaps in the ALLOCATE ids. Both tracers take ids from one counter from 0 under the lock that
    writes the line, so ids 0..max all appear in a complete log; a missing id is an ALLOCATE line
    that never arrived (e.g. written asynchronously by a thread that never flushed). Count: missing
    ids; one example per missing range, at the line of the first ALLOCATE after it."""
    t = Tally(n_ex)
    n = len(a_id)
    if not n:
        return t
    lo, hi = int(a_id.min()), int(a_id.max())
    if unique and lo == 0 and hi == n - 1:
        return t        # n distinct ids in 0..n-1: no gap (the usual case, no sort needed)
    order = np.lexsort((a_line, a_id))              # by id, then line: first row of each id first
    ids = a_id[order]
    first = np.ones(n, dtype=bool)
    np.not_equal(ids[1:], ids[:-1], out=first[1:])
    uid, uline = ids[first], a_line[order][first]
    prev = np.concatenate(([-1], uid[:-1]))
    at = np.flatnonzero(uid - prev > 1)              # uid[at] follows a gap
    start, end = prev[at] + 1, uid[at] - 1
    sizes = end - start + 1
    total = int(sizes.sum())
    ranges = len(at)
    for k in earliest(uline[at], n_ex):
        a, b, c = int(start[k]), int(end[k]), int(sizes[k])
        ids_txt = f"id {a}" if a == b else f"ids {a}-{b}"
        t.add(int(uline[at[k]]), f"{ids_txt} missing ({c} id{'s' if c > 1 else ''}; "
                                 f"{ranges} missing range{'s' if ranges > 1 else ''} in all)")
    t.count = total
    return t


def _undefined_sites(a_site, a_line, sites: dict, n_ex: int) -> Tally:
    used = np.unique(a_site[a_site >= 0])
    undefined = np.array([s for s in used.tolist() if s not in sites], np.int64)
    mask = np.isin(a_site, undefined)
    k = np.searchsorted(undefined, a_site[mask])
    first = np.full(len(undefined), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, k, a_line[mask])
    uses = np.bincount(k, minlength=len(undefined))
    return tally(first, n_ex, lambda i: f"site {undefined[i]}: used by {uses[i]} ALLOCATE lines (first shown)")


def _by_type_site(nd_type, nd_site, nd_size, names, share) -> list[TypeSiteRow]:
    if not len(nd_type):
        return []
    site_values, site_index = np.unique(nd_site, return_inverse=True)
    keys, key_index = np.unique(nd_type.astype(np.int64) * len(site_values) + site_index, return_inverse=True)
    counts = np.bincount(key_index, minlength=len(keys))
    sizes = sum_by(key_index, nd_size, len(keys))
    rows = []
    for key, count, size in zip(keys.tolist(), counts.tolist(), sizes.tolist()):
        site = int(site_values[key % len(site_values)])
        rows.append(TypeSiteRow(names[key // len(site_values)], None if site < 0 else site, count, size, share(size)))
    rows.sort(key=lambda r: (-r.bytes, -r.count, r.type, -1 if r.site is None else r.site))
    return rows
