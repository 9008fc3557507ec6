"""The tracked objects behind the Step 3 figures, from either source of a run: the ALLOCATE/DROP lines of a full
trace log (LogObjects), or the tables a `wlh run --aggregate` reader kept instead (analysis.wlh.aggregate.overlay
builds the other implementation). The figures (analysis.analyze.figures) ask only these questions, by snapshot:
`k` is an index into the parse result's snapshots (every SNAPSHOT line of the log, in order), and an object is
"created between k and m" when its ALLOCATE comes after snapshot k and before snapshot m (None: open end).

    never_dropped_bytes(lo, hi)      bytes of the objects created between lo and hi and never dropped
    never_dropped_rows(lo, hi)       the same per (type, site): [(type, site or None, count, bytes)]
    live_by_type(ks)                 live bytes per type at each snapshot of ks ({} when not known)
    object_sites()                   the sites objects were created at (each site's Rust export is a boundary call)
"""
from __future__ import annotations

import numpy as np


class LogObjects:
    """Objects as the ALLOCATE/DROP lines of a full trace log give them (a ParseResult)."""

    def __init__(self, result):
        self.result = result
        self._nd = result.never_dropped()
        self._lines = [s.get("line") for s in result.snapshots]

    def _window(self, lo: int | None, hi: int | None) -> np.ndarray:
        lines = self._nd["line"]
        mask = np.ones(len(lines), dtype=bool)
        if lo is not None and self._lines[lo] is not None:
            mask &= lines > self._lines[lo]
        if hi is not None and self._lines[hi] is not None:
            mask &= lines < self._lines[hi]
        return mask

    def never_dropped_bytes(self, lo: int | None = None, hi: int | None = None) -> int | None:
        if any(k is not None and self._lines[k] is None for k in (lo, hi)):
            return None  # a snapshot without a line (a result made by hand): no time order to count by
        return int(self._nd["size"][self._window(lo, hi)].sum())

    def never_dropped_rows(self, lo: int | None, hi: int | None) -> list[tuple]:
        mask = self._window(lo, hi)
        types, sizes, sites = self._nd["type"][mask], self._nd["size"][mask], self._nd["site"][mask]
        rows = []
        for code in np.unique(types):
            sel = types == code
            for site in np.unique(sites[sel]):
                ss = sel & (sites == site)
                rows.append((self.result.type_names[int(code)], int(site) if site >= 0 else None, int(ss.sum()),
                             int(sizes[ss].sum())))
        return rows

    def live_by_type(self, ks: list[int]) -> dict[str, list[float]]:
        if any(self._lines[k] is None for k in ks):
            return {}  # snapshots without a line (a result made by hand): no time order to count by
        a = self.result.allocates
        a_line, a_size, a_type = a["line"], a["size"], a["type"]
        d_line = _drop_lines(self.result)
        out = {}
        for code in np.unique(a_type):
            sel = a_type == code
            al, dl, sz = a_line[sel], d_line[sel], a_size[sel]
            out[self.result.type_names[int(code)]] = [float(sz[(al < self._lines[k]) & (dl > self._lines[k])].sum())
                                                      for k in ks]
        return out

    def object_sites(self) -> set[int]:
        return {int(s) for s in np.unique(self.result.allocates["site"])}


def _drop_lines(result) -> np.ndarray:
    """Per ALLOCATE row, the line of its DROP (a huge number when never dropped). Ids are unique when the
    checks pass; with duplicates the first DROP of an id is used (the report then shows failed checks)."""
    a_id, d_id, d_line = result.allocates["id"], result.drops["id"], result.drops["line"]
    out = np.full(len(a_id), np.iinfo(np.int64).max, dtype=np.int64)
    if len(d_id):
        order = np.argsort(d_id, kind="stable")
        ids, lines = d_id[order], d_line[order]
        pos = np.searchsorted(ids, a_id)
        ok = pos < len(ids)
        ok[ok] = ids[pos[ok]] == a_id[ok]
        out[ok] = lines[pos[ok]]
    return out
