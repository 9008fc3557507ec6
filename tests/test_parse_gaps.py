"""The parser's id-contiguity check (issue 15): ids come from one counter from 0, so an id below the
largest with no ALLOCATE line is a lost line. The first real run of the source route lost every line
written on the rayon worker and the parser still said every check passed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from analysis.parse import parse_bytes

ROOT = Path(__file__).resolve().parent.parent


def log(ids, dropped=()) -> bytes:
    lines = ['@{"ev":"META","route":"source"}']
    for i in ids:
        lines.append(f'@{{"ev":"ALLOCATE","size":8,"type":"WasmFpPolyComm","id":{i}}}')
    for i in dropped:
        lines.append(f'@{{"ev":"DROP","size":8,"type":"WasmFpPolyComm","id":{i}}}')
    return ("\n".join(lines) + "\n").encode()


def test_contiguous_ids_pass():
    r = parse_bytes(log(range(50), dropped=range(0, 50, 2)), "ok")
    assert r.checks["missing_ids"].count == 0
    assert r.failed_checks == []


def test_a_gap_fails_and_names_the_missing_ranges():
    # like the trial run: ids 19-20 lost (lines of the worker thread), and one more lost line later
    ids = [i for i in range(40) if i not in (19, 20, 33)]
    r = parse_bytes(log(ids, dropped=ids), "gap")
    t = r.checks["missing_ids"]
    assert t.count == 3, "count = missing ids"
    assert r.failed_checks == ["missing_ids"]
    details = [e.detail for e in t.examples]
    assert details == ["ids 19-20 missing (2 ids; 2 missing ranges in all)",
                       "id 33 missing (1 id; 2 missing ranges in all)"]
    # each example sits at the first ALLOCATE after the gap (line 1 is META)
    assert [e.line for e in t.examples] == [2 + ids.index(21), 2 + ids.index(34)]


def test_missing_start_and_out_of_order_ids():
    # the first ids lost, the rest written out of order (the binary route writes handle groups late)
    ids = [7, 5, 6, 9, 8]
    t = parse_bytes(log(ids), "start").checks["missing_ids"]
    assert t.count == 5
    assert [e.detail.split(" (")[0] for e in t.examples] == ["ids 0-4 missing"]


def test_repeated_ids_do_not_hide_a_gap():
    ids = [0, 1, 1, 3]            # n distinct ids != n rows: the cheap test must not be fooled
    r = parse_bytes(log(ids), "dup")
    assert r.checks["missing_ids"].count == 1
    assert set(r.failed_checks) == {"duplicate_allocate_ids", "missing_ids"}


def test_examples_are_capped_but_the_count_is_not():
    ids = list(range(0, 200, 2))  # every odd id missing: 99 ranges
    t = parse_bytes(log(ids), "many", max_examples=3).checks["missing_ids"]
    assert t.count == 99
    assert len(t.examples) == 3
    assert t.examples[0].detail == "id 1 missing (1 id; 99 missing ranges in all)"


def test_result_json_carries_the_check_and_validates(tmp_path):
    p = tmp_path / "gap.log"
    p.write_bytes(log([0, 1, 3]))
    out = tmp_path / "gap.json"
    r = subprocess.run([sys.executable, "-m", "analysis.parse", str(p), "--json", str(out), "--strict"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "missing_ids" in r.stderr, r.stderr
    assert "missing_ids" in r.stdout and "id 2 missing" in r.stdout
    data = json.loads(out.read_text())
    schema = json.loads((ROOT / "schemas" / "parse-result.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    c = data["checks"]["missing_ids"]
    assert c["failed"] and c["count"] == 1
    assert c["examples"][0]["detail"].startswith("id 2 missing")
    assert data["ok"] is False
