"""The Step 3 trace-log parser on small logs written here, with exact expected numbers."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import jsonschema
import numpy as np
import pytest

from analysis.parse import collect as logparse_collect
from analysis.parse import (CHECKS, MixedLogError, format_checks, format_table, format_type_sites, parse_bytes,
                            parse_file, parse_stream)
from analysis.parse.events import FAST_LINE, check_event
from analysis.common.paths import ROOT, schema_path

RESULT_SCHEMA = jsonschema.Draft202012Validator(json.loads(schema_path("parse-result").read_text()))


def line(**fields) -> str:
    """'@' + compact JSON with the keys in the order given (schema order = the fast path)."""
    return "@" + json.dumps(fields, separators=(",", ":"))


def A(id, size, type="T", site=None, **extra):
    f = dict(ev="ALLOCATE", size=size, type=type, id=id)
    if site is not None:
        f["site"] = site
    return line(**f, **extra)


def D(id, size, type="T", **extra):
    return line(ev="DROP", size=size, type=type, id=id, **extra)


def SITE(n, js="a.js:1", rust="f"):
    return line(ev="SITE", site=n, js=js, rust=rust, alloc_fn=None)


def log(*lines: str, end: str = "\n") -> bytes:
    return ("\n".join(lines) + end).encode()


def parse(*lines: str, end: str = "\n", **kw):
    r = parse_bytes(log(*lines, end=end), **kw)
    RESULT_SCHEMA.validate(r.to_dict())
    assert r.noise_lines + r.event_lines + r.malformed_lines + r.truncated_lines == r.lines_total
    return r


def counts(r) -> dict:
    # The logs here pick ids for the check under test (many start at 1, some skip): the id
    # contiguity check ("missing_ids") is left out of these counts and tested in test_parse_gaps.py.
    return {name: t.count for name, t in r.checks.items() if t.count and name != "missing_ids"}


def lines_of(r, check) -> list:
    return [e.line for e in r.checks[check].examples]


# --- the collections and the tables ---------------------------------------------------------------

def test_clean_log_tables():
    r = parse(
        line(ev="META", route="binary"),
        SITE(1), SITE(2),
        "node: some noise",
        A(0, 100, "WasmA", 1), A(1, 50, "WasmB", 2), A(2, 30, "WasmA", 2), A(3, 7, "WasmC"),
        D(1, 50, "WasmB", how="free"), D(3, 7, "WasmC", freed=7, how="rust", tid=1),
        "",
    )
    assert r.ok and counts(r) == {}
    assert (r.lines_total, r.noise_lines, r.event_lines) == (11, 2, 9)
    assert r.events == {"ALLOCATE": 4, "DROP": 2, "SITE": 2, "SNAPSHOT": 0, "SITE_LIVE": 0, "GROW": 0, "META": 1}
    assert r.never_dropped_by_type == [("WasmA", 130)]
    assert [(t.type, t.allocated, t.dropped, t.never_dropped, t.never_dropped_bytes, t.share) for t in r.types] == [
        ("WasmA", 2, 0, 2, 130, 1.0), ("WasmB", 1, 1, 0, 0, 0.0), ("WasmC", 1, 1, 0, 0, 0.0)]
    assert [(s.type, s.site, s.count, s.bytes) for s in r.type_sites] == [("WasmA", 1, 1, 100), ("WasmA", 2, 1, 30)]
    assert r.totals == {"allocated_bytes": 187, "paired": 2, "never_dropped": 2, "never_dropped_bytes": 130,
                        "types": 3, "sites_defined": 2}
    nd = r.never_dropped()
    assert sorted(nd["id"].tolist()) == [0, 2] and sorted(nd["line"].tolist()) == [5, 7]
    assert r.allocates["id"].tolist() == [0, 1, 2, 3] and r.drops["id"].tolist() == [1, 3]
    assert r.meta == [{"ev": "META", "route": "binary"}]
    assert r.sites[1] == {"js": "a.js:1", "rust": "f", "alloc_fn": None}
    table = format_table(r)
    assert re.search(r"WasmA\s+2\s+0\s+2\s+130\s+100\.0 %", table)
    assert re.search(r"TOTAL\s+4\s+2\s+2\s+130\s+100\.0 %", table)
    assert "a.js:1 / f" in format_type_sites(r)
    assert "ok   duplicate_allocate_ids: 0" in format_checks(r)


def test_snapshots_site_live_and_meta_are_collected():
    snap = dict(ev="SNAPSHOT", phase="after-proof", memory_bytes=1000, live_heap_bytes=600, live_blocks=9,
                tracked_live_objects=3, tracked_live_bytes=300, extra_field="kept")
    r = parse(
        line(ev="META", route="source", o1js="2.15.0"),
        line(**{**snap, "iteration": -1}),
        line(ev="SITE_LIVE", iteration=-1, site=4, bytes=10, blocks=1),
        line(**{**snap, "iteration": 0}),
        line(ev="SITE_LIVE", iteration=0, site=4, bytes=20, blocks=2, owned_bytes=5),
        line(ev="SITE_LIVE", iteration=0, site=5, bytes=30, blocks=3, owned_bytes=0),
        line(**{**snap, "iteration": 0, "phase": "after-gc"}),
        line(ev="SITE_LIVE", iteration=0, site=4, bytes=15, blocks=1),
    )
    assert r.ok and r.events["SNAPSHOT"] == 3 and r.events["SITE_LIVE"] == 4
    assert [s["iteration"] for s in r.snapshots] == [-1, 0, 0] and r.snapshots[0]["extra_field"] == "kept"
    assert [row["snapshot"] for row in r.site_live] == [0, 1, 1, 2]
    assert r.site_live[1] == {"iteration": 0, "site": 4, "bytes": 20, "blocks": 2, "owned_bytes": 5, "snapshot": 1}
    by_it = r.site_live_by_iteration()
    assert by_it[0][4]["bytes"] == 15 and by_it[0][5]["bytes"] == 30 and by_it[-1][4]["owned_bytes"] is None


def test_empty_input():
    r = parse_bytes(b"")
    assert (r.lines_total, r.ok, r.types, r.type_sites) == (0, True, [], [])
    RESULT_SCHEMA.validate(r.to_dict())


# --- every check ----------------------------------------------------------------------------------

def test_duplicate_allocate_id_pairs_kth_allocate_with_kth_drop():
    r = parse(A(7, 10), D(7, 10), A(7, 10), A(8, 1), A(8, 1))
    assert counts(r) == {"duplicate_allocate_ids": 2}
    assert lines_of(r, "duplicate_allocate_ids") == [3, 5]
    assert r.checks["duplicate_allocate_ids"].examples[0].detail == "id 7 already allocated at line 1"
    # the re-allocated id 7 was not dropped again; both ALLOCATEs of id 8 are live
    assert sorted(r.never_dropped()["line"].tolist()) == [3, 4, 5]
    assert r.totals["paired"] == 1


def test_duplicate_drop_id():
    r = parse(A(1, 5), D(1, 5), D(1, 5), D(1, 5))
    assert counts(r) == {"duplicate_drop_ids": 2, "type_more_drops_than_allocates": 1}
    assert lines_of(r, "duplicate_drop_ids") == [3, 4]
    assert r.checks["duplicate_drop_ids"].examples[0].detail == "id 1 already dropped at line 2"
    assert r.totals["never_dropped"] == 0


def test_drop_without_allocate():
    r = parse(A(1, 5, "X"), D(2, 5, "X"), D(1, 5, "X"), D(9, 1, "Y"))
    assert counts(r) == {"drop_without_allocate": 2, "type_more_drops_than_allocates": 2}
    assert lines_of(r, "drop_without_allocate") == [2, 4]
    assert [e.detail for e in r.checks["drop_without_allocate"].examples] == ["id 2 (X)", "id 9 (Y)"]


def test_drop_type_and_size_mismatch():
    r = parse(A(1, 5, "X"), A(2, 6, "X"), A(3, 7, "X"), D(1, 5, "Y"), D(2, 60, "X"), D(3, 70, "Z"))
    assert counts(r) == {"drop_type_mismatch": 2, "drop_size_mismatch": 2, "type_more_drops_than_allocates": 2}
    assert lines_of(r, "drop_type_mismatch") == [4, 6]
    assert lines_of(r, "drop_size_mismatch") == [5, 6]
    assert r.checks["drop_type_mismatch"].examples[0].detail == "id 1: DROP type Y, ALLOCATE (line 1) type X"
    assert r.checks["drop_size_mismatch"].examples[0].detail == "id 2: DROP size 60, ALLOCATE (line 2) size 6"
    assert r.totals["never_dropped"] == 0  # paired by id whatever the type says


def test_type_with_more_drops_than_allocates():
    r = parse(A(1, 1, "X"), D(1, 1, "X"), A(2, 1, "Y"), D(2, 1, "Z"), D(3, 1, "Z"))
    c = r.checks["type_more_drops_than_allocates"]
    assert c.count == 1 and c.examples[0].line == 4 and c.examples[0].detail.startswith("Z: 2 DROP, 0 ALLOCATE")


def test_undefined_sites():
    r = parse(SITE(1), A(1, 1, site=1), A(2, 1, site=5), A(3, 1, site=5), A(4, 1, site=9), A(5, 1))
    assert counts(r) == {"undefined_sites": 2}
    assert lines_of(r, "undefined_sites") == [3, 5]
    assert r.checks["undefined_sites"].examples[0].detail == "site 5: used by 2 ALLOCATE lines (first shown)"


def test_site_redefined_keeps_the_first():
    r = parse(SITE(1, js="a.js:1"), SITE(1, js="a.js:1"), SITE(1, js="b.js:2"), A(1, 1, site=1))
    assert counts(r) == {"site_redefined": 1} and lines_of(r, "site_redefined") == [3]
    assert r.sites[1]["js"] == "a.js:1"


MALFORMED = [
    ("@", "bad JSON"),
    ("@{bad", "bad JSON"),
    ('@{"ev":"ALLOCATE","size":01,"type":"T","id":1}', "bad JSON"),              # leading zero
    ('@{"ev":"DROP","size":1,"type":"T","id":1} x', "bad JSON"),                   # trailing text
    ("@[1,2]", "not a JSON object"),
    ('@{"size":1}', "no 'ev' key"),
    ('@{"ev":"FREE"}', "unknown ev"),
    ('@{"ev":"ALLOCATE","size":1,"type":"T"}', "missing 'id'"),
    ('@{"ev":"ALLOCATE","size":-1,"type":"T","id":1}', "'size' must be an integer >= 0"),
    ('@{"ev":"ALLOCATE","size":1.5,"type":"T","id":1}', "'size' must be"),
    ('@{"ev":"ALLOCATE","size":true,"type":"T","id":1}', "'size' must be"),
    ('@{"ev":"ALLOCATE","size":1,"type":"","id":1}', "'type' must be"),
    ('@{"ev":"ALLOCATE","size":1,"type":"","id":1}', "'type' must be"),
    ('@{"ev":"ALLOCATE","size":1,"type":"T","id":1,"extra":1}', "unknown key"),
    ('@{"ev":"DROP","size":1,"type":"T","id":1,"how":"gc"}', "'how' must be"),
    ('@{"ev":"DROP","size":1,"type":"T","id":1,"site":3}', "unknown key"),
    ('@{"ev":"ALLOCATE","size":1,"type":"T","id":9223372036854775808}', "beyond the parser's range"),
    # near misses of the fast path's shape (checked partly in numpy)
    ('@{"ev":"ALLOCATE","size":1,"type":"T","id":007}', "bad JSON"),
    ('@{"ev":"ALLOCATE","size":1,"type":"T","id":1,"site":01}', "bad JSON"),
    ('@{"ev":"DROP","size":1,"type":"T","id":1,"tid":0,"ptr":5}', "unknown key"),
    ('@{"ev":"DROP","size":1,"type":"T","id":1,"ptr":5}', "unknown key"),
    ('@{"ev":"ALLOCATE","size":1,"type":"T","id":1,"freed":5}', "unknown key"),
    ('@{"ev":"ALLOCATE","size":1,"type":"T","id":1,"how":"free","tid":0}', "unknown key"),
    ('@{"ev":"ALLOCATE","size":1,"type":"T","id":1,"tid":0,"site":1}', "ALLOCATE"),   # valid, slow path
    ('@{"ev":"DROP","size":1,"type":"T","id":1,"tid":0,"how":"free"}', "DROP"),       # valid, slow path
    ('@{"ev":"SITE"}', "missing 'site'"),
    ('@{"ev":"SITE","site":1,"stack":[1]}', "'stack' must be"),
    ('@{"ev":"SNAPSHOT","iteration":-2,"phase":"p","memory_bytes":1,"live_heap_bytes":1,"live_blocks":1}',
     "'iteration' must be an integer >= -1"),
    ('@{"ev":"SITE_LIVE","iteration":0,"site":1,"bytes":1,"blocks":1,"x":0}', "unknown key"),
]


@pytest.mark.parametrize("text,reason", MALFORMED)
def test_malformed_line_is_counted_with_its_number_and_the_run_goes_on(text, reason):
    r = parse("noise", A(1, 1), text, D(1, 1))
    if reason in ("ALLOCATE", "DROP"):  # keys out of order: valid, taken by the slow path
        assert r.malformed_lines == 0 and r.events[reason] == 2
        return
    assert counts(r) == {"malformed_lines": 1}
    ex = r.checks["malformed_lines"].examples[0]
    assert ex.line == 3 and reason in ex.detail
    assert r.events["ALLOCATE"] == r.events["DROP"] == 1 and r.malformed_lines == 1


def test_valid_but_unusual_lines_take_the_slow_path_and_count():
    r = parse(
        '@{"id":1,"type":"T","size":5,"ev":"ALLOCATE"}',                          # key order
        '@{ "ev" : "ALLOCATE", "size" : 5, "type" : "T", "id" : 2 }',              # spaces
        '@{"ev":"ALLOCATE","size":5.0,"type":"T","id":3,"site":1e0}',               # integral floats
        '@{"ev":"ALLOCATE","size":5,"type":"Wasm\\u00e9","id":4}',                  # escape, non-ASCII
        '@{"ev":"ALLOCATE","size":5,"type":"T","id":1234567890123456789}',          # 19 digits
        '@{"ev":"DROP","size":5,"type":"T","id":1}\r',                             # CRLF
        line(ev="ALLOCATE", size=0, type="k::P<F,G>", id=5, site=0, tid=3, ptr=99),
        line(ev="DROP", size=0, type="k::P<F,G>", id=5, freed=9, how="finalizer", tid=3),
        SITE(1), SITE(0),
    )
    assert counts(r) == {}
    assert sorted(r.allocates["id"].tolist()) == [1, 2, 3, 4, 5, 1234567890123456789]
    assert r.never_dropped_by_type == [("T", 15), ("Wasmé", 5)]  # ids 2, 3 and the 19-digit one
    assert r.allocates["site"][r.allocates["id"] == 3].tolist() == [1]
    assert r.allocates["site"][r.allocates["id"] == 5].tolist() == [0]


def test_fast_path_reads_the_same_values_as_the_slow_path():
    rows = [(i * 7919 % 1000, (i * 104729) % 10**(1 + i % 18), f"T{i % 5}", i % 4 - 1) for i in range(300)]
    fast = [A(i, s, t, None if site < 0 else site) for i, s, t, site in rows]
    slow = [line(id=i, type=t, size=s, ev="ALLOCATE", **({} if site < 0 else {"site": site})) for i, s, t, site in rows]
    assert all(FAST_LINE.findall((x + "\n").encode()) != [b""] for x in fast)
    assert all(FAST_LINE.findall((x + "\n").encode()) == [b""] for x in slow)
    rf, rs = parse(*fast), parse(*slow)
    for col in ("id", "size", "site", "line"):
        assert rf.allocates[col].tolist() == rs.allocates[col].tolist() == \
            [[i, s, site, n + 1][("id", "size", "site", "line").index(col)] for n, (i, s, t, site) in enumerate(rows)]
    assert [rf.type_names[c] for c in rf.allocates["type"]] == [t for _, _, t, _ in rows]


def test_out_of_order_ids_and_drops_before_allocates():
    ids = [5, 3, 99, 0, 42, 7]
    r = parse(*[D(i, i + 1) for i in ids[:3]], *[A(i, i + 1) for i in reversed(ids)], D(0, 1))
    assert counts(r) == {}
    assert sorted(r.never_dropped()["id"].tolist()) == [7, 42]
    assert r.never_dropped_by_type == [("T", 43 + 8)]


# --- truncated last line ----------------------------------------------------------------------------

def test_truncated_last_line_is_reported_not_fatal():
    r = parse(A(1, 5), D(1, 5), '@{"ev":"ALLOCATE","size":12,"ty', end="")
    assert counts(r) == {"truncated_last_line": 1}
    assert r.truncated_lines == 1 and r.malformed_lines == 0 and r.lines_total == 3
    assert lines_of(r, "truncated_last_line") == [3]


def test_unterminated_last_line_that_parses_is_an_event():
    r = parse(A(1, 5), D(1, 5), A(2, 6), end="")
    assert counts(r) == {} and r.events["ALLOCATE"] == 2 and r.lines_total == 3


def test_unterminated_last_noise_line_is_noise_and_bad_event_is_malformed():
    assert parse(A(1, 5), "partial noi", end="").noise_lines == 1
    r = parse(A(1, 5), '@{"ev":"DROP"}', end="")
    assert counts(r) == {"malformed_lines": 1} and r.truncated_lines == 0


def test_truncated_line_in_the_middle_is_malformed():
    r = parse(A(1, 5), '@{"ev":"ALLOCATE","si', D(1, 5))
    assert counts(r) == {"malformed_lines": 1} and lines_of(r, "malformed_lines") == [2]


# --- streaming ----------------------------------------------------------------------------------------

def sample_log() -> bytes:
    body = [line(ev="META", x=1), SITE(3)]
    for i in range(400):
        body.append(A(i, i * 3 + 1, f"W{i % 7}", 3 if i % 2 else None))
        if i % 3:
            body.append(D(i, i * 3 + 1, f"W{i % 7}", how="free"))
        if i % 50 == 0:
            body += ["noise " * (i % 4), '@{"id":%d,"type":"W","size":1,"ev":"ALLOCATE"}' % (10000 + i), "@{oops"]
    return log(*body) + b'@{"ev":"DROP","si'


@pytest.mark.parametrize("block", [1, 7, 64, 1000, 1 << 20])
def test_block_size_does_not_change_the_result(block):
    data = sample_log()
    ref = parse_bytes(data).to_dict()
    got = parse_bytes(data, block_bytes=block).to_dict()
    assert got == ref
    assert ref["lines"] == {"total": 693, "noise": 8, "events": 676, "malformed": 8, "truncated": 1}


def test_fallback_when_the_regex_disagrees_on_the_line_count(monkeypatch):
    data = sample_log()
    ref = parse_bytes(data).to_dict()
    monkeypatch.setattr(logparse_collect, "FAST_LINE", re.compile(rb"(?!)"))  # finds nothing
    assert parse_bytes(data).to_dict() == ref


def test_max_examples_and_progress():
    seen = []
    r = parse_stream(io.BytesIO(log(*["@x"] * 30)), max_examples=3, progress=seen.append, block_bytes=16)
    assert r.checks["malformed_lines"].count == 30 and lines_of(r, "malformed_lines") == [1, 2, 3]
    assert seen == []  # fewer lines than the 5-million progress step
    parse_stream(io.BytesIO(log(*["@x"] * 30)), progress=seen.append, progress_every=10, block_bytes=16)
    assert len(seen) == 3 and seen == sorted(seen) and seen[0] >= 10 and seen[-1] == 30


def test_parse_file_reads_a_path_and_stdin(tmp_path, monkeypatch):
    p = tmp_path / "t.log"
    p.write_bytes(log(A(1, 5), D(1, 5), A(2, 9)))
    assert parse_file(p).totals["never_dropped_bytes"] == 9
    with open(p, "rb") as f:
        monkeypatch.setattr(sys, "stdin", type("S", (), {"buffer": f})())
        r = parse_file("-")
    assert r.source == "<stdin>" and r.totals["never_dropped_bytes"] == 9
    with pytest.raises(FileNotFoundError):
        parse_file(tmp_path / "missing.log")


# --- the CLI ------------------------------------------------------------------------------------------

def cli(*args, input: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "analysis.parse", *args], cwd=ROOT, input=input,
                          capture_output=True)


def test_cli_stdin_json_and_strict(tmp_path):
    out = tmp_path / "r.json"
    p = cli("--json", str(out), "--strict", input=log(SITE(1), A(0, 5, "X", 1), A(1, 9, "X", 1), D(0, 5, "X")))
    assert p.returncode == 0, p.stderr
    assert b"<stdin>: 4 lines" in p.stdout and b"never-dropped bytes" in p.stdout
    doc = json.loads(out.read_text())
    RESULT_SCHEMA.validate(doc)
    assert doc["never_dropped_by_type"] == [["X", 9]] and doc["ok"] is True

    bad = log(A(1, 5), D(1, 6), "@nope")
    assert cli(input=bad).returncode == 0
    p = cli("-", "--strict", "--max-examples", "0", input=bad)
    assert p.returncode == 1
    assert b"malformed_lines" in p.stderr and b"drop_size_mismatch" in p.stderr
    assert b"line 3" not in p.stdout  # no examples asked for


def test_cli_missing_file_is_one_line_and_exit_2(tmp_path):
    p = cli(str(tmp_path / "nope.log"))
    assert p.returncode == 2 and p.stdout == b""
    assert p.stderr.decode().strip().count("\n") == 0 and "no such file" in p.stderr.decode()


def test_a_log_two_processes_wrote_is_refused_with_the_line_of_the_second(tmp_path):
    meta = lambda pid: f'@{{"ev":"META","route":"binary","pid":{pid}}}'
    one = log(meta(7), A(0, 5, "X"), meta(7), D(0, 5, "X"))  # one process may write META again: not mixed
    assert parse_bytes(one).ok
    mixed = log(meta(7), A(0, 5, "X"), meta(8), A(0, 5, "X"))
    with pytest.raises(MixedLogError, match=r"^3: a second process \(pid 8\) .* pid 7 started at line 1"):
        parse_bytes(mixed)
    path = tmp_path / "mixed.log"
    path.write_bytes(mixed)
    p = cli(str(path))
    assert p.returncode == 2 and p.stdout == b""
    err = p.stderr.decode().strip()
    assert err.count("\n") == 0 and err.startswith(f"parse: error: {path}:3: a second process (pid 8)")


def test_result_json_matches_schema_and_names_every_check():
    doc = parse_bytes(sample_log()).to_dict()
    RESULT_SCHEMA.validate(doc)
    assert list(doc["checks"]) == list(CHECKS)
    assert doc["lines"]["total"] == sum(doc["lines"][k] for k in ("noise", "events", "malformed", "truncated"))


HAND_EVENTS = [
    {"ev": "META"}, {"ev": "META", "x": [1, {"y": None}]}, {"ev": "meta"}, {}, [], "ALLOCATE", None,
    {"ev": "ALLOCATE", "size": 1, "type": "T", "id": 0, "site": 0, "tid": 0, "ptr": 0},
    {"ev": "ALLOCATE", "size": 1, "type": "T", "id": 0, "how": "free"},
    {"ev": "ALLOCATE", "size": 1, "type": "T", "id": 0, "site": None},
    {"ev": "ALLOCATE", "size": 1, "type": "T", "id": 0, "site": -1},
    {"ev": "ALLOCATE", "size": 1.0, "type": "T", "id": 2.0},
    {"ev": "ALLOCATE", "size": 1, "type": "x\n", "id": 0},
    {"ev": "ALLOCATE", "size": 1, "type": "\nx", "id": 0},
    {"ev": "ALLOCATE", "size": 1, "type": "a\u00a0b", "id": 0},
    {"ev": "ALLOCATE", "size": 1, "type": ["T"], "id": 0},
    {"ev": "DROP", "size": 1, "type": "T", "id": 0, "freed": 0, "how": "unknown", "tid": 1},
    {"ev": "DROP", "size": 1, "type": "T", "id": 0, "how": None},
    {"ev": "DROP", "size": 1, "type": "T", "id": 0, "ptr": 1},
    {"ev": "DROP", "size": 1, "type": "T"},
    {"ev": "SITE", "site": 0, "js": None, "rust": "r", "alloc_fn": None, "stack": ["a"]},
    {"ev": "SITE", "site": 0, "js": 1}, {"ev": "SITE", "site": 0, "js": True}, {"ev": "SITE", "site": 0, "stack": [1]},
    {"ev": "SITE", "site": 0, "stack": []}, {"ev": "SITE", "site": 0, "stack": None}, {"ev": "SITE", "site": 0, "x": 1},
    {"ev": "SNAPSHOT", "iteration": -1, "phase": "", "memory_bytes": 0, "live_heap_bytes": 0, "live_blocks": 0},
    {"ev": "SNAPSHOT", "iteration": -1, "phase": "", "memory_bytes": 0, "live_heap_bytes": 0, "live_blocks": 0,
     "anything": [1], "alloc_calls": 3},
    {"ev": "SNAPSHOT", "iteration": 0, "phase": "", "memory_bytes": 0, "live_heap_bytes": 0, "live_blocks": 0,
     "free_calls": -1},
    {"ev": "SNAPSHOT", "iteration": 0, "phase": None, "memory_bytes": 0, "live_heap_bytes": 0, "live_blocks": 0},
    {"ev": "SNAPSHOT", "iteration": 0, "phase": "", "memory_bytes": 0, "live_heap_bytes": 0},
    {"ev": "SITE_LIVE", "iteration": -1, "site": 0, "bytes": 0, "blocks": 0, "owned_bytes": 0},
    {"ev": "SITE_LIVE", "iteration": -1, "site": 0, "bytes": 0, "blocks": 0, "owned_bytes": None},
    {"ev": "SITE_LIVE", "iteration": 0.5, "site": 0, "bytes": 0, "blocks": 0},
]


@pytest.mark.parametrize("obj", HAND_EVENTS)
def test_check_event_agrees_with_jsonschema_on_hand_made_events(obj):
    schema = jsonschema.Draft202012Validator(json.loads(schema_path("trace-event").read_text()))
    assert (check_event(obj) is None) == schema.is_valid(obj)


def test_check_event_examples():
    assert check_event({"ev": "META"}) is None
    assert check_event({"ev": "ALLOCATE", "size": 1, "type": "T", "id": 0, "site": 0, "tid": 0, "ptr": 0}) is None
    assert check_event({"ev": "ALLOCATE", "size": 1, "type": "T", "id": 0, "how": "free"}) is not None
    assert check_event({"ev": "SITE", "site": 0, "js": None, "rust": "r", "alloc_fn": None, "stack": ["a"]}) is None


def test_columns_are_compact():
    r = parse_bytes(sample_log())
    assert r.allocates["id"].dtype == np.int64 and r.allocates["type"].dtype == np.int32


def test_any_non_empty_type_name_is_accepted():
    """Rust type names with generics (spaces, commas, escaped quotes) take the slow path and parse; an empty one
    does not."""
    log = (b'@{"ev":"ALLOCATE","size":10,"type":"ProverIndex<Fp, SRS<G>>","id":0,"tid":0}\n'
           b'@{"ev":"DROP","size":10,"type":"ProverIndex<Fp, SRS<G>>","id":0,"tid":0}\n'
           b'@{"ev":"ALLOCATE","size":7,"type":"Vec<(u8, \\"x\\")>","id":1,"tid":0}\n'
           b'@{"ev":"ALLOCATE","size":7,"type":"","id":2,"tid":0}\n')
    r = parse_bytes(log)
    assert sorted(t.type for t in r.types) == ["ProverIndex<Fp, SRS<G>>", 'Vec<(u8, "x")>']
    assert r.never_dropped_by_type == [('Vec<(u8, "x")>', 7)]
    assert r.checks["malformed_lines"].count == 1
