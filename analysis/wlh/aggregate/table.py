"""The live tables of `wlh run --aggregate`: ALLOCATE/DROP events reduced, as they arrive, to counts per
(type, creation site), per snapshot interval, and the parser's id checks made on the stream.

Full mode writes one line per event and the Step 3 parser matches them afterwards; aggregate mode keeps
only what the reports read from those lines:
- per (type, site): live objects and bytes at each snapshot, objects allocated and dropped since the last;
- per (epoch, type, site): objects still live, where an object's epoch is the number of SNAPSHOT lines
  before its ALLOCATE (the parser's "created between two snapshot lines"), so that never-dropped bytes
  per proof and "created in the loop and never dropped" come out exactly as the parser computes them;
- the parser's checks that need the ALLOCATE/DROP lines (analysis.parse.result.CHECKS), as counts with
  a few examples. Memory is bounded by the live objects, not by the events.

Records (schemas/wlh-aggregate.schema.json) carry only the (type, site) and (epoch, type, site) rows that
changed since the previous record; a reader keeps the latest value of each.
"""
from __future__ import annotations

import bisect
from collections import defaultdict

# The checks made here; the others (malformed SNAPSHOT/SITE lines, site_redefined...) stay with the parser,
# which reads the lines aggregate mode still writes.
CHECKS = ("malformed_lines", "truncated_last_line", "duplicate_allocate_ids", "missing_ids", "duplicate_drop_ids",
          "drop_without_allocate", "drop_type_mismatch", "drop_size_mismatch", "type_more_drops_than_allocates",
          "undefined_sites")
MAX_EXAMPLES = 5


class Gaps:
    """Ids below the next expected one that no ALLOCATE has had yet, as sorted disjoint ranges [a, b]."""

    def __init__(self):
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.total = 0

    def add(self, a: int, b: int) -> None:  # always above every range held (ids only grow past next_id)
        self.starts.append(a)
        self.ends.append(b)
        self.total += b - a + 1

    def _index(self, i: int) -> int:
        k = bisect.bisect_right(self.starts, i) - 1
        return k if k >= 0 and i <= self.ends[k] else -1

    def __contains__(self, i: int) -> bool:
        return self._index(i) >= 0

    def take(self, i: int) -> bool:
        """Remove id i from the gaps; False when it was not missing."""
        k = self._index(i)
        if k < 0:
            return False
        a, b = self.starts[k], self.ends[k]
        self.total -= 1
        if a == b:
            del self.starts[k], self.ends[k]
        elif i == a:
            self.starts[k] = a + 1
        elif i == b:
            self.ends[k] = b - 1
        else:
            self.ends[k] = i - 1
            self.starts.insert(k + 1, i + 1)
            self.ends.insert(k + 1, b)
        return True


class Checks:
    def __init__(self):
        self.counts = dict.fromkeys(CHECKS, 0)
        self.examples: dict[str, list[str]] = {k: [] for k in CHECKS}

    def add(self, name: str, detail: str) -> None:
        self.counts[name] += 1
        if len(self.examples[name]) < MAX_EXAMPLES:
            self.examples[name].append(detail)


class LiveTable:
    def __init__(self):
        self.epoch = 0                     # SNAPSHOT lines seen
        self.live: dict[int, list] = {}    # id -> [type, site, size, epoch]
        self.extra: dict[int, list] = {}   # id -> further live entries of a repeated id (k-th ALLOCATE pairs k-th DROP)
        self.orphans: dict[int, list] = {}  # id -> [(type, size, line)] DROPs that no ALLOCATE has had yet
        self.next_id = 0
        self.gaps = Gaps()
        self.checks = Checks()
        self.sites_used: set[int] = set()
        self.sites_defined: set[int] = set()
        self.allocated_by_type: dict[str, int] = defaultdict(int)
        self.dropped_by_type: dict[str, int] = defaultdict(int)
        self.allocated_bytes = 0
        self.paired = 0
        # (type, site) -> [live, live_bytes, allocated, allocated_bytes, dropped, dropped_bytes] (the last four
        # since the previous record)
        self.rows: dict[tuple, list[int]] = {}
        self.rows_dirty: set[tuple] = set()
        self.survivors: dict[tuple, list[int]] = {}   # (epoch, type, site) -> [live, live_bytes]
        self.survivors_dirty: set[tuple] = set()

    # -- events -----------------------------------------------------------------------------------
    def allocate(self, t: str, size: int, i: int, site: int | None, line: int) -> None:
        self.allocated_by_type[t] += 1
        self.allocated_bytes += size
        if site is not None:
            self.sites_used.add(site)
        if i == self.next_id:
            self.next_id += 1
        elif i > self.next_id:
            self.gaps.add(self.next_id, i - 1)
            self.next_id = i + 1
        elif not self.gaps.take(i):
            self.checks.add("duplicate_allocate_ids", f"line {line}: id {i} already allocated")
        row = self._row((t, site))
        row[2] += 1
        row[3] += size
        waiting = self.orphans.get(i)
        if waiting:  # its DROP came first: the pair is complete, the object never was live
            dt, dsize, dline = waiting[0]
            del self.orphans[i]  # further DROPs of this id were counted as repeated; its id is now known
            self._pair_checks(i, t, size, dt, dsize, dline)
            row[4] += 1
            row[5] += size
            return
        entry = [t, site, size, self.epoch]
        if i in self.live:
            self.extra.setdefault(i, []).append(entry)
        else:
            self.live[i] = entry
        row[0] += 1
        row[1] += size
        self._survivor(entry, 1)

    def drop(self, t: str, size: int, i: int, line: int) -> None:
        self.dropped_by_type[t] += 1
        entry = self.live.pop(i, None)
        if entry is None:
            if i >= self.next_id or i in self.gaps:  # its ALLOCATE has not arrived (yet)
                if i in self.orphans:
                    self.checks.add("duplicate_drop_ids", f"line {line}: id {i} already dropped")
                self.orphans.setdefault(i, []).append((t, size, line))
            else:
                self.checks.add("duplicate_drop_ids", f"line {line}: id {i} already dropped")
            return
        more = self.extra.get(i)
        if more:
            self.live[i] = more.pop(0)
            if not more:
                del self.extra[i]
        et, site, esize, _ = entry
        self._pair_checks(i, et, esize, t, size, line)
        row = self._row((et, site))
        row[0] -= 1
        row[1] -= esize
        row[4] += 1
        row[5] += esize
        self._survivor(entry, -1)

    def site_defined(self, site: int) -> None:
        self.sites_defined.add(site)

    def snapshot(self) -> None:
        self.epoch += 1

    # -- records ----------------------------------------------------------------------------------
    def record(self) -> dict:
        """The changes since the previous record, and the checks so far (counts are totals)."""
        rows = []
        for key in sorted(self.rows_dirty, key=_key_order):
            r = self.rows[key]
            rows.append([key[0], key[1], *r])
            r[2:] = [0, 0, 0, 0]
        self.rows_dirty.clear()
        survivors = []
        for key in sorted(self.survivors_dirty, key=lambda k: (k[0], *_key_order(k[1:]))):
            survivors.append([*key, *self.survivors[key]])
            if self.survivors[key][0] == 0:
                del self.survivors[key]  # written as 0 once; a reader keeps the latest value
        self.survivors_dirty.clear()
        return {"rows": rows, "survivors": survivors, "checks": self.check_counts(),
                "examples": {k: v for k, v in self.checks.examples.items() if v},
                "totals": {"allocated": sum(self.allocated_by_type.values()), "dropped": sum(self.dropped_by_type.values()),
                           "allocated_bytes": self.allocated_bytes, "paired": self.paired, "live": len(self.live) +
                           sum(len(v) for v in self.extra.values())},
                "by_type": {t: [n, self.dropped_by_type.get(t, 0)] for t, n in sorted(self.allocated_by_type.items())}
                | {t: [0, n] for t, n in sorted(self.dropped_by_type.items()) if t not in self.allocated_by_type}}

    def check_counts(self) -> dict[str, int]:
        c = dict(self.checks.counts)
        c["missing_ids"] = self.gaps.total
        c["drop_without_allocate"] = sum(len(v) for v in self.orphans.values())
        c["type_more_drops_than_allocates"] = sum(1 for t, n in self.dropped_by_type.items()
                                                  if n > self.allocated_by_type.get(t, 0))
        c["undefined_sites"] = len(self.sites_used - self.sites_defined)
        return c

    # -- helpers ----------------------------------------------------------------------------------
    def _row(self, key: tuple) -> list[int]:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0, 0, 0, 0, 0, 0]
        self.rows_dirty.add(key)
        return row

    def _survivor(self, entry: list, sign: int) -> None:
        key = (entry[3], entry[0], entry[1])
        s = self.survivors.get(key)
        if s is None:
            s = self.survivors[key] = [0, 0]
        s[0] += sign
        s[1] += sign * entry[2]
        self.survivors_dirty.add(key)

    def _pair_checks(self, i: int, at: str, asize: int, dt: str, dsize: int, line: int) -> None:
        self.paired += 1
        if at != dt:
            self.checks.add("drop_type_mismatch", f"line {line}: id {i}: DROP type {dt}, ALLOCATE type {at}")
        if asize != dsize:
            self.checks.add("drop_size_mismatch", f"line {line}: id {i}: DROP size {dsize}, ALLOCATE size {asize}")


def _key_order(key: tuple) -> tuple:
    t, site = key
    return (t, -1 if site is None else site)
