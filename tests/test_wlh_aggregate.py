"""Aggregate mode (issue 23): the same stream of tracer lines read by the Step 3 parser (full mode) and reduced by
aggregate mode's reader, then read back through the overlay, must give the same figures: never-dropped bytes per
type and per (type, site), created-and-never-dropped per proof, live bytes per type per snapshot with their rates,
and the same check counts, anomalies included. The streams are made here, from a seeded generator."""
import io
import json
import random

import jsonschema
import pytest

from analysis.common.paths import schema_path

from analysis.analyze.figures import figures
from analysis.parse import parse_bytes
from analysis.wlh.aggregate import overlay
from analysis.wlh.aggregate.stream import reduce_stream

TYPES = ["WasmFpPolyComm", "WasmFqPolyComm", "WasmVecVecFp", "WasmFpGate", "Leaky"]


def line(obj) -> bytes:
    return b"@" + json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def make_stream(seed: int, proofs: int = 6, anomalies: bool = False) -> bytes:
    """A program's tracer stream: sites, a compile phase, then per proof objects made and mostly dropped (some
    dropped a proof later, a few never), a SNAPSHOT (+ SITE_LIVE) after each proof; with anomalies: lost
    ALLOCATE lines, a repeated DROP, a DROP with the wrong type or size, a malformed event, an undefined site."""
    rnd = random.Random(seed)
    out = [line({"ev": "META", "route": "binary", "pid": 7})]
    for s in range(6):
        out.append(line({"ev": "SITE", "site": s, "js": f"prog.js:{s}", "rust": f"caml_fn_{s}"}))
    next_id, live, delayed = 0, {}, []

    def alloc(t=None, size=None, site=None):
        nonlocal next_id
        t = t or rnd.choice(TYPES)
        size = size if size is not None else rnd.randrange(8, 5000)
        site = site if site is not None else rnd.randrange(6)
        obj = {"ev": "ALLOCATE", "size": size, "type": t, "id": next_id, "site": site, "tid": 0}
        live[next_id] = (t, size)
        next_id += 1
        if anomalies and rnd.random() < 0.01:
            return  # the line is lost: a missing id, and its DROP an orphan
        out.append(line(obj))

    def drop(i, how="free"):
        t, size = live.pop(i)
        out.append(line({"ev": "DROP", "size": size, "type": t, "id": i, "freed": size, "how": how}))

    def snapshot(it, phase):
        out.append(line({"ev": "SNAPSHOT", "iteration": it, "phase": phase, "memory_bytes": (1 << 20) + it,
                         "live_heap_bytes": 1000 * (it + 1), "live_blocks": it + 1, "tracked_live_bytes": 10 * (it + 1)}))
        out.append(line({"ev": "SITE_LIVE", "iteration": it, "site": 1, "bytes": 100 * it + 150, "blocks": 1}))

    for _ in range(300):
        alloc()
    for i in rnd.sample(sorted(live), 200):
        drop(i, "finalizer")
    snapshot(-1, "after_compile")
    snapshot(0, "baseline")
    for p in range(1, proofs + 1):
        for _ in range(rnd.randrange(100, 200)):
            alloc()
        alloc("Leaky", 4096, 5)
        for i in delayed:
            if i in live:
                drop(i, "consumed")
        ids = [i for i in sorted(live) if live[i][0] != "Leaky"]
        keep = rnd.sample(ids, min(len(ids), 30))
        delayed = keep[:10]
        for i in ids:
            if i not in keep:
                drop(i, rnd.choice(["free", "finalizer", "rust"]))
        if anomalies and p == 2:
            i = next(iter(live))
            t, size = live[i]
            out.append(line({"ev": "DROP", "size": size + 1, "type": "Other", "id": i}))  # wrong type and size
            live.pop(i)
            out.append(line({"ev": "DROP", "size": size + 1, "type": "Other", "id": i}))  # and repeated
            out.append(b'@{"ev":"ALLOCATE","size":12,"type":"Bad"\n')                     # malformed
            out.append(line({"ev": "ALLOCATE", "size": 8, "type": "Leaky", "id": next_id, "site": 99}))
            next_id += 1
        snapshot(p, "after_proof")
    for i in rnd.sample(sorted(live), len(live) // 3):
        drop(i, "finalizer")  # after the last snapshot, e.g. at exit
    return b"".join(out)


def both(stream: bytes):
    full = parse_bytes(stream, "full")
    ff = figures("s", full, None)
    log, agg_out = io.BytesIO(), io.BytesIO()
    reduce_stream(io.BytesIO(stream), log, agg_out)
    reduced = parse_bytes(log.getvalue(), "aggregate")
    path = _write(agg_out.getvalue())
    agg = overlay.load(path)
    fa = figures("s", reduced, None, objects=overlay.apply(reduced, agg))
    return full, ff, reduced, fa, log.getvalue(), agg_out.getvalue()


_TMP = {}


def _write(data: bytes):
    p = _TMP["dir"] / f"aggregate-{len(list(_TMP['dir'].iterdir()))}.jsonl"
    p.write_bytes(data)
    return p


@pytest.fixture(autouse=True)
def _tmp(tmp_path):
    _TMP["dir"] = tmp_path


@pytest.mark.parametrize("seed,anomalies", [(1, False), (2, False), (3, True), (4, True)])
def test_aggregate_and_full_agree(seed, anomalies):
    full, ff, red, fa, log, _ = both(make_stream(seed, anomalies=anomalies))
    assert b'"ALLOCATE"' not in log and b'"DROP"' not in log
    assert {r.type: vars(r) for r in full.types} == {r.type: vars(r) for r in red.types}
    assert dict(full.never_dropped_by_type) == dict(red.never_dropped_by_type)
    assert sorted(map(vars, full.type_sites), key=str) == sorted(map(vars, red.type_sites), key=str)
    assert full.totals == red.totals
    assert {k: v for k, v in full.events.items()} == red.events
    for name, t in full.checks.items():
        assert red.checks[name].count == t.count, name
    assert not overlay.incomplete(red) and overlay.INCOMPLETE not in red.checks
    assert (anomalies and not full.ok) or (not anomalies and full.ok)
    assert [r.never_dropped_created_here for r in ff.rows] == [r.never_dropped_created_here for r in fa.rows]
    assert ff.per_proof == fa.per_proof
    assert ff.never_dropped_in_loop == fa.never_dropped_in_loop and ff.never_dropped_total == fa.never_dropped_total
    # one ranking for both sources (analysis.analyze.figures): the same rows in the same order, ties included
    assert ff.leaks_by_type_in_loop == fa.leaks_by_type_in_loop
    assert ff.type_rates == fa.type_rates
    assert ff.growth_by_site_kind == fa.growth_by_site_kind
    assert any(r["type"] == "Leaky" and r["bytes_per_proof"] >= 4096 for r in fa.leaks_by_type_in_loop)


def test_anomalies_are_counted_where_full_mode_counts_them():
    _, _, red, _, _, _ = both(make_stream(3, anomalies=True))
    failed = set(red.failed_checks)
    assert {"missing_ids", "drop_without_allocate", "drop_type_mismatch", "drop_size_mismatch",
            "duplicate_drop_ids", "malformed_lines", "undefined_sites"} <= failed


def test_records_are_deltas_and_small():
    stream = make_stream(5, proofs=30)
    _, _, _, _, log, agg = both(stream)
    records = [json.loads(x) for x in agg.splitlines()]
    assert [r["kind"] for r in records[:1] + records[-1:]] == ["start", "end"]
    validator = jsonschema.Draft202012Validator(json.loads(schema_path("wlh-aggregate").read_text()))
    for r in records:
        validator.validate(r)
    assert len(log) + len(agg) < len(stream) / 5
    # each record carries only the rows that changed since the previous one
    rows, survivors = {}, {}
    for r in records[1:]:
        for t, site, *values in r["rows"]:
            assert values[2:] != [0, 0, 0, 0] or rows.get((t, site)) != values[:2]
            rows[(t, site)] = values[:2]
        for e, t, site, *values in r["survivors"]:
            assert survivors.get((e, t, site)) != values
            survivors[(e, t, site)] = values


def test_a_reader_stopped_mid_run_keeps_its_last_snapshot():
    _, _, _, _, _, agg = both(make_stream(6))
    cut = b"".join(x + b"\n" for x in agg.splitlines()[:-1])  # no end record
    a = overlay.load(_write(cut))
    assert not a.complete
    red = parse_bytes(b"", "x")
    overlay._result(red, a)
    assert overlay.incomplete(red)


def test_truncated_last_event_is_counted_not_passed_on():
    stream = make_stream(7) + b'@{"ev":"DROP","size":1'
    full, _, red, _, log, _ = both(stream)
    assert full.checks["truncated_last_line"].count == 1 == red.checks["truncated_last_line"].count
    assert not log.endswith(b'"size":1')


def as_aggregate_run(full_run):
    """The same run as `wlh run --aggregate` would have left it: the log reduced by the reader, its records beside."""
    log, agg = io.BytesIO(), io.BytesIO()
    reduce_stream(io.BytesIO((full_run / "trace.log").read_bytes()), log, agg)
    (full_run / "trace.log").write_bytes(log.getvalue())
    (full_run / "aggregate.jsonl").write_bytes(agg.getvalue())
    record = json.loads((full_run / "run.json").read_text())
    (full_run / "run.json").write_text(json.dumps({**record, "mode": "aggregate"}))
    return full_run


def test_wlh_report_and_compare_read_an_aggregate_run_like_a_full_one(capsys, tmp_path):
    from tests.test_wlh_report import write_run
    from tests.wlh_helpers import wlh

    full = write_run(tmp_path / "full", "x", 1000)
    agg = as_aggregate_run(write_run(tmp_path / "agg", "x", 1000))
    sums = {}
    for d in (full, agg):
        code, out, err = wlh(capsys, "report", d)
        assert code == 0, err
        sums[d.name] = json.loads((d / "report.json").read_text())["summary"]
    f, a = sums["full"], sums["agg"]
    assert a["mode"] == "aggregate" and f["mode"] == "full" and a["checks_ok"]
    for key in ("never_dropped_in_loop", "never_dropped_by_type", "type_rates", "live", "proofs"):
        assert a[key] == f[key], key
    assert "aggregate (live tables" in (agg / "report.md").read_text()
    code, out, err = wlh(capsys, "compare", full, agg)
    assert code == 0 and "Verdict:" in out, err


def test_a_run_whose_reader_stopped_is_reported_with_a_failed_check(capsys, tmp_path):
    from tests.test_wlh_report import write_run
    from tests.wlh_helpers import wlh

    agg = as_aggregate_run(write_run(tmp_path / "agg", "x", 1000))
    lines = (agg / "aggregate.jsonl").read_text().splitlines()
    (agg / "aggregate.jsonl").write_text("".join(x + "\n" for x in lines[:-1]))  # no end record
    code, out, err = wlh(capsys, "report", agg)
    assert code == 0, err
    s = json.loads((agg / "report.json").read_text())["summary"]
    assert not s["checks_ok"] and "aggregate_incomplete" in s["failed_checks"]
    assert "aggregate_incomplete" in out


def test_disk_per_proof_is_steady_with_one_time_proofs_apart(tmp_path):
    from analysis.wlh.aggregate.disk import log_offsets, steady_bytes_per_proof

    sizes = {1: 5000, 2: 40_000, 3: 1000, 4: 1200, 5: 1100}  # proof 2: new sites, written once
    lines = [line({"ev": "SNAPSHOT", "iteration": 0, "phase": "proof", "memory_bytes": 1, "live_heap_bytes": 1,
                   "live_blocks": 1})]
    for k, n in sizes.items():
        lines.append(b"@" + b"x" * (n - 2) + b"\n")
        lines.append(line({"ev": "SNAPSHOT", "iteration": k, "phase": "proof", "memory_bytes": 1,
                           "live_heap_bytes": 1, "live_blocks": 1}))
    (tmp_path / "trace.log").write_bytes(b"".join(lines))
    records = [{"kind": "snapshot", "iteration": k} for k in range(6)]
    (tmp_path / "aggregate.jsonl").write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    offs = log_offsets(tmp_path / "trace.log")
    d = steady_bytes_per_proof(offs)
    snap = len(lines[0])
    rec = len(json.dumps(records[1], separators=(",", ":"))) + 1  # every record is the same length here
    assert d["by_proof"] == {k: n + snap + rec for k, n in sizes.items()}
    assert d["per_proof"] == 1150 + snap + rec and set(d["one_time"]) == {1, 2}
