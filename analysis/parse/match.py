"""Match DROPs to ALLOCATEs by object id with numpy (sort + searchsorted), and the checks on ids.

Ids are unique per process by contract. When one repeats anyway, the k-th ALLOCATE of an id (in
line order) pairs with the k-th DROP of that id, so an id reused after its drop and never dropped
again still counts as never dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.parse.collect import Tally


@dataclass
class Match:
    alloc_dropped: np.ndarray          # bool per ALLOCATE row: paired with a DROP
    pair_alloc: np.ndarray             # row indices of paired ALLOCATEs ...
    pair_drop: np.ndarray              # ... and of their DROPs
    dup_alloc: np.ndarray              # ALLOCATE rows repeating an earlier id
    dup_alloc_first: np.ndarray        # row of that id's first ALLOCATE, per dup_alloc entry
    dup_drop: np.ndarray
    dup_drop_first: np.ndarray
    drop_orphan: np.ndarray            # DROP rows whose id no ALLOCATE has


def _order(ids: np.ndarray, lines: np.ndarray):
    """Sort order by id (then line where ids repeat), sorted ids, rank within each id, first row per id."""
    if len(ids) < 2 or (ids[1:] >= ids[:-1]).all():  # ALLOCATE ids usually come in order
        order, s = np.arange(len(ids)), ids
    else:
        order = np.argsort(ids, kind="stable")  # timsort: fast on the long sorted runs of real logs
        s = ids[order]
    if len(s) > 1 and (s[1:] == s[:-1]).any():
        order = np.lexsort((lines, ids))
        s = ids[order]
        new = np.empty(len(s), dtype=bool)
        new[0] = True
        np.not_equal(s[1:], s[:-1], out=new[1:])
        heads = np.flatnonzero(new)
        head_of_row = np.repeat(heads, np.diff(np.append(heads, len(s))))
        rank = np.arange(len(s)) - head_of_row
        return order, s, rank, order[head_of_row]
    return order, s, None, None


def _found(sorted_keys: np.ndarray, keys: np.ndarray):
    """For each key: position in sorted_keys (clipped) and whether it is there."""
    pos = np.searchsorted(sorted_keys, keys)
    if not len(sorted_keys):
        return pos, np.zeros(len(keys), dtype=bool)
    np.minimum(pos, len(sorted_keys) - 1, out=pos)
    return pos, sorted_keys[pos] == keys


def match_ids(a_ids, a_lines, d_ids, d_lines) -> Match:
    # Memory matters here (millions of rows): temporaries are dropped as soon as they are used.
    oa, sa, rank_a, first_a = _order(a_ids, a_lines)
    od, sd, rank_d, first_d = _order(d_ids, d_lines)
    unique_ids = rank_a is None and rank_d is None
    if unique_ids:
        ka, kd = sa, sd
    else:
        # Pair on (id, rank): dense id number * (max rank + 1) + rank stays sorted and fits int64.
        rank_a = np.zeros(len(sa), np.int64) if rank_a is None else rank_a
        rank_d = np.zeros(len(sd), np.int64) if rank_d is None else rank_d
        universe = np.unique(np.concatenate([sa, sd]))
        width = int(max(rank_a.max(initial=0), rank_d.max(initial=0))) + 1
        ka = np.searchsorted(universe, sa) * width + rank_a
        kd = np.searchsorted(universe, sd) * width + rank_d
        del universe
    pos, hit = _found(kd, ka)
    del ka, kd
    alloc_dropped = np.zeros(len(a_ids), dtype=bool)
    alloc_dropped[oa[hit]] = True
    pair_alloc = oa[hit]
    drop_paired = pos[hit]             # positions in the sorted DROPs
    del pos, hit
    pair_drop = od[drop_paired]
    if unique_ids:  # a DROP is unpaired exactly when its id has no ALLOCATE
        unpaired = np.ones(len(sd), dtype=bool)
        unpaired[drop_paired] = False
        drop_orphan = od[unpaired]
    else:
        _, id_known = _found(sa, sd)
        drop_orphan = od[~id_known]
    del drop_paired, sa, sd
    empty = np.zeros(0, np.int64)
    dup_alloc, dup_alloc_first = (oa[rank_a > 0], first_a[rank_a > 0]) if first_a is not None else (empty, empty)
    dup_drop, dup_drop_first = (od[rank_d > 0], first_d[rank_d > 0]) if first_d is not None else (empty, empty)
    return Match(alloc_dropped, pair_alloc, pair_drop, dup_alloc, dup_alloc_first, dup_drop, dup_drop_first,
                 drop_orphan)


def earliest(lines_of_rows: np.ndarray, n: int) -> np.ndarray:
    """Positions of the n smallest line numbers, in line order."""
    pos = np.arange(len(lines_of_rows))
    if len(pos) > n:
        pos = np.argpartition(lines_of_rows, n - 1)[:n] if n > 0 else pos[:0]
    return pos[np.argsort(lines_of_rows[pos], kind="stable")]


def tally(lines_of_rows, max_examples: int, detail) -> Tally:
    """Count = number of rows; examples = the earliest rows, detail(position) -> text."""
    lines_of_rows = np.asarray(lines_of_rows, np.int64)
    t = Tally(max_examples)
    for k in earliest(lines_of_rows, max_examples):
        t.add(int(lines_of_rows[k]), detail(int(k)))
    t.count = len(lines_of_rows)
    return t


def sum_by(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of values per key in 0..n-1."""
    out = np.zeros(n, np.int64)
    np.add.at(out, keys, values)
    return out
