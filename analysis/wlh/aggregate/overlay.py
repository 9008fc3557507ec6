"""Aggregate mode read back: the records of aggregate.jsonl put where the Step 3 parser and figures put what
they compute from ALLOCATE/DROP lines, so that `wlh report`, `compare` and `check` read a run of either
mode the same way.

What each figure becomes (the parser's definition, and how the records give it exactly):
- never dropped per type and per (type, site): objects live at the end of the stream, by their ALLOCATE;
- created between two snapshots and never dropped: objects of the epochs between those SNAPSHOT lines
  (an object's epoch is the number of SNAPSHOT lines before its ALLOCATE) still live at the end;
- live bytes per type at each snapshot: the (type, site) rows of the record written at that SNAPSHOT line;
- the checks on ALLOCATE/DROP lines: the counts the tracer's reader made on the stream (examples name the
  line of the stream, which is not a line of the trace log).
A run whose reader was killed has no end record: its tables are those of its last snapshot; the parse result's
meta says so ({"ev": "AGGREGATE", "complete": false}) and `wlh report` lists `aggregate_incomplete` among the
failed checks (analysis.wlh.summary).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from analysis.common.jsonl import JsonlError, read_jsonl
from analysis.parse.collect import Example, Tally
from analysis.parse.result import TypeRow, TypeSiteRow
from analysis.wlh.aggregate.stream import AGGREGATE
from analysis.wlh.aggregate.table import CHECKS
from analysis.wlh.errors import WlhError

INCOMPLETE = "aggregate_incomplete"  # the reader of the stream stopped before its end: tables end at its last snapshot


@dataclass
class Aggregate:
    path: Path
    complete: bool
    last: dict                                   # the last record (totals, checks, by_type)
    survivors: dict[tuple, tuple[int, int]]      # (epoch, type, site) -> (objects, bytes) at the end
    live_by_snapshot: dict[int, dict[str, int]] = field(default_factory=dict)  # snapshot index -> type -> bytes
    sites_used: set = field(default_factory=set)


def path_for(log: Path) -> Path:
    return log.with_name(AGGREGATE)


def load(path: Path) -> Aggregate:
    try:
        records = read_jsonl(path, strict=False).records
    except (OSError, JsonlError) as e:
        raise WlhError(f"{path}: cannot read: {e}") from None
    body = [r for r in records if r.get("kind") in ("snapshot", "end")]
    if not body:
        raise WlhError(f"{path}: no aggregate record (the run ended before its first snapshot?)")
    live: dict[tuple, int] = {}
    survivors: dict[tuple, tuple[int, int]] = {}
    by_snapshot, used = {}, set()
    for r in body:
        for t, site, n, b, *_ in r["rows"]:
            live[(t, site)] = b
            if site is not None:
                used.add(site)
        for epoch, t, site, n, b in r["survivors"]:
            survivors[(epoch, t, site)] = (n, b)
        if r["kind"] == "snapshot":
            per_type: dict[str, int] = {}
            for (t, _), b in live.items():
                per_type[t] = per_type.get(t, 0) + b
            by_snapshot[r["snapshot"]] = per_type
    survivors = {k: v for k, v in survivors.items() if v[0]}
    return Aggregate(path, body[-1]["kind"] == "end", body[-1], survivors, by_snapshot, used)


def apply(result, agg: Aggregate) -> "AggregateObjects":
    """Put the aggregate tables into a ParseResult of the reduced trace log; returns the objects to make its
    figures from (analysis.analyze.figures.figures(..., objects=...))."""
    _result(result, agg)
    return AggregateObjects(agg)


def _result(result, agg: Aggregate) -> None:
    last = agg.last
    for name in CHECKS:
        t = Tally(result.max_examples)
        parsed = result.checks.get(name)
        t.count = last["checks"][name] + (parsed.count if parsed else 0)  # malformed: both the log and the stream
        t.examples = [*(parsed.examples if parsed else []),
                      *(Example(None, f"stream {d}") for d in last["examples"].get(name, []))][:result.max_examples]
        result.checks[name] = t
    result.meta.append({"ev": "AGGREGATE", "records": agg.path.name, "complete": agg.complete,
                        "last_snapshot": last.get("snapshot")})
    nd_count: dict[str, int] = {}
    nd_bytes: dict[str, int] = {}
    by_site: dict[tuple, list[int]] = {}
    for (_, t, site), (n, b) in agg.survivors.items():
        nd_count[t] = nd_count.get(t, 0) + n
        nd_bytes[t] = nd_bytes.get(t, 0) + b
        s = by_site.setdefault((t, site), [0, 0])
        s[0] += n
        s[1] += b
    total = sum(nd_bytes.values())
    share = (lambda b: b / total if total else 0.0)
    by_type = last["by_type"]
    names = sorted(by_type, key=lambda t: (-nd_bytes.get(t, 0), -by_type[t][0], t))
    result.types = [TypeRow(t, by_type[t][0], by_type[t][1], nd_count.get(t, 0), nd_bytes.get(t, 0),
                            share(nd_bytes.get(t, 0))) for t in names]
    result.never_dropped_by_type = [(r.type, r.never_dropped_bytes) for r in result.types if r.never_dropped]
    rows = [TypeSiteRow(t, site, n, b, share(b)) for (t, site), (n, b) in by_site.items()]
    rows.sort(key=lambda r: (-r.bytes, -r.count, r.type, -1 if r.site is None else r.site))
    result.type_sites = rows
    tot = last["totals"]
    result.events.update({"ALLOCATE": tot["allocated"], "DROP": tot["dropped"]})
    result.totals.update({"allocated_bytes": tot["allocated_bytes"], "paired": tot["paired"],
                          "never_dropped": sum(nd_count.values()), "never_dropped_bytes": total, "types": len(by_type)})


def incomplete(result) -> bool:
    """Whether the tables of an aggregate-mode result end before the end of the stream."""
    return any(m.get("ev") == "AGGREGATE" and not m.get("complete") for m in result.meta)


class AggregateObjects:
    """The tracked objects of analysis.analyze.objects, from the reader's tables: an object's epoch is the number
    of SNAPSHOT lines before its ALLOCATE, so "created after snapshot k and before snapshot m" is k < epoch <= m."""

    def __init__(self, agg: Aggregate):
        self.agg = agg

    def _between(self, lo: int | None, hi: int | None):
        first = -1 if lo is None else lo
        last = float("inf") if hi is None else hi
        return ((key, v) for key, v in self.agg.survivors.items() if first < key[0] <= last)

    def never_dropped_bytes(self, lo: int | None = None, hi: int | None = None) -> int:
        return sum(b for _, (_, b) in self._between(lo, hi))

    def never_dropped_rows(self, lo: int | None, hi: int | None) -> list[tuple]:
        rows: dict[tuple, list[int]] = {}
        for (_, t, site), (n, b) in self._between(lo, hi):
            r = rows.setdefault((t, site), [0, 0])
            r[0] += n
            r[1] += b
        return [(t, site, n, b) for (t, site), (n, b) in rows.items()]

    def live_by_type(self, ks: list[int]) -> dict[str, list[float]]:
        types = sorted({t for k in ks for t in self.agg.live_by_snapshot.get(k, {})})
        return {t: [float(self.agg.live_by_snapshot.get(k, {}).get(t, 0)) for k in ks] for t in types}

    def object_sites(self) -> set[int]:
        return set(self.agg.sites_used)
