"""The two routes compared (analysis/source_patch/compare.py) and the build record of a source-route run
(analysis/source_patch/runs.py), on parsed results and wasm bytes the tests make themselves."""
import json

import pytest

from analysis.parse import parse_bytes
from analysis.source_patch import compare as cmp
from analysis.source_patch import runs


def _log(route, objects, drops):
    """A small trace log: `objects` = [(type, size)], ids from 0; `drops` = ids dropped."""
    lines = ["@" + json.dumps({"ev": "META", "route": route, "o1js_version": "2.15.0"})]
    for i, (t, size) in enumerate(objects):
        lines.append("@" + json.dumps({"ev": "ALLOCATE", "id": i, "type": t, "size": size}))
    for i in drops:
        t, size = objects[i]
        lines.append("@" + json.dumps({"ev": "DROP", "id": i, "type": t, "size": size}))
    lines.append("@" + json.dumps({"ev": "SNAPSHOT", "iteration": 2, "phase": "after_proof", "memory_bytes": 65536,
                                   "live_heap_bytes": 10, "live_blocks": 1}))
    return parse_bytes(("\n".join(lines) + "\n").encode()).to_dict()


def test_rows_match_by_type_and_name_what_one_route_did_not_see():
    binary = _log("binary", [("WasmFpPolyComm", 100), ("WasmFpPolyComm", 100), ("WasmGateVector", 8)], [1, 2])
    source = _log("source", [("WasmFpPolyComm", 96), ("WasmFpPolyComm", 96), ("WasmFpPolyComm", 96),
                             ("ProverIndex", 50)], [1, 2])
    c = cmp.compare({"trivial": binary}, {"trivial": source})["scenarios"]["trivial"]
    rows = {r["type"]: r for r in c["rows"]}
    assert rows["WasmFpPolyComm"]["binary"] == {"allocated": 2, "dropped": 1, "never_dropped": 1,
                                                "never_dropped_bytes": 100}
    assert rows["WasmFpPolyComm"]["source"]["never_dropped"] == 1
    assert rows["WasmFpPolyComm"]["never_dropped_equal"] is True
    assert rows["WasmGateVector"]["source"] is None and rows["ProverIndex"]["binary"] is None
    assert (c["types_both"], c["types_binary_only"], c["types_source_only"]) == (1, 1, 1)
    assert c["rows"][0]["type"] == "WasmFpPolyComm"          # largest never-dropped bytes first
    assert c["binary"]["route"] == "binary" and c["source"]["route"] == "source"
    assert c["source"]["ok"] is True and c["source"]["last_iteration"] == 2
    assert {(r["type"], r["export"], r["binary"], r["source"]) for r in c["never_dropped_by_export"]} == {
        ("WasmFpPolyComm", "(no site)", 1, 1), ("ProverIndex", "(no site)", 0, 1)}


def test_never_dropped_objects_are_matched_by_the_export_that_made_them():
    def log(route, objects, drops):
        lines = ["@" + json.dumps({"ev": "SITE", "site": 0, "rust": "caml_read_from_ptr"}),
                 "@" + json.dumps({"ev": "SITE", "site": 1, "rust": "wasmevals_new"})]
        lines += ["@" + json.dumps({"ev": "ALLOCATE", "id": i, "type": t, "size": 8, "site": site})
                  for i, (t, site) in enumerate(objects)]
        lines += ["@" + json.dumps({"ev": "DROP", "id": i, "type": objects[i][0], "size": 8}) for i in drops]
        return parse_bytes(("\n".join(lines) + "\n").encode()).to_dict()
    binary = log("binary", [("PolyComm", 0), ("PolyComm", 0), ("Evals", 1)], [])
    source = log("source", [("PolyComm", 0), ("PolyComm", 0), ("PolyComm", 1), ("Evals", 1)], [])
    rows = cmp.compare({"t": binary}, {"t": source})["scenarios"]["t"]["never_dropped_by_export"]
    assert [(r["type"], r["export"], r["binary"], r["source"]) for r in rows] == [
        ("PolyComm", "caml_read_from_ptr", 2, 2), ("Evals", "wasmevals_new", 1, 1), ("PolyComm", "wasmevals_new", 0, 1)]


def test_unequal_counts_and_failed_checks_are_reported():
    binary = _log("binary", [("A", 1), ("A", 1)], [])
    lossy = _log("source", [("A", 1), ("A", 1)], [0])
    lossy["checks"]["missing_ids"] = {"count": 3, "failed": True, "examples": []}
    lossy["ok"] = False
    c = cmp.compare({"recursive": binary, "trivial": binary}, {"recursive": lossy})
    assert list(c["scenarios"]) == ["recursive"]                 # only scenarios both routes ran
    sc = c["scenarios"]["recursive"]
    assert sc["rows"][0]["never_dropped_equal"] is False
    assert sc["source"]["failed_checks"] == ["missing_ids"] and sc["source"]["missing_ids"] == 3
    text = "\n".join(cmp.markdown(c))
    assert "FAILED: missing_ids" in text and "| A " in text


def test_write_compare_skips_absent_source_results_and_keeps_the_build(tmp_path):
    b = tmp_path / "b.json"
    b.write_text(json.dumps(_log("binary", [("A", 1)], [])))
    s = tmp_path / "s.json"
    s.write_text(json.dumps(_log("source", [("A", 2)], [])))
    build = tmp_path / "build.json"
    build.write_text(json.dumps({"rustc": "1.96.0", "wasm_bindgen": "0.2.100", "wasm_bytes": 1234,
                                 "wasm_sha256": "ab" * 32}))
    out = tmp_path / "out" / "compare.json"
    c = cmp.write_compare({"trivial": b, "recursive": b}, {"trivial": s, "recursive": tmp_path / "none.json"},
                          out, build)
    assert list(c["scenarios"]) == ["trivial"] and json.loads(out.read_text())["build"]["rustc"] == "1.96.0"
    assert "rustc 1.96.0; wasm-bindgen 0.2.100; wasm 1,234 B" in "\n".join(cmp.markdown(c))


def _leb(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s):
    return _leb(len(s)) + s.encode()


def _producers_module(fields):
    body = _str("producers") + _leb(len(fields))
    for f, vals in fields.items():
        body += _str(f) + _leb(len(vals)) + b"".join(_str(k) + _str(v) for k, v in vals.items())
    type_section = b"\x01" + _leb(1) + b"\x00"                   # a section the reader must skip
    return b"\0asm\x01\0\0\0" + type_section + b"\x00" + _leb(len(body)) + body


def test_build_record_reads_the_installed_copy(tmp_path):
    d = tmp_path / "o1js" / runs.GLUE_DIR
    d.mkdir(parents=True)
    (d / "kimchi_wasm_bg.wasm").write_bytes(_producers_module({"processed-by": {"rustc": "1.96.0"}}))
    patch = tmp_path / "bindings.patch"
    patch.write_text("a\nb\n")
    rec = runs.build_record(tmp_path / "o1js", patch, 10)
    assert rec["rustc"] == "1.96.0" and rec["wasm_bindgen"] is None and rec["patch_lines"] == 2
    assert rec["iterations"] == 10 and len(rec["wasm_sha256"]) == 64


def test_runs_refuses_a_copy_without_the_trace_sink(tmp_path, monkeypatch):
    d = tmp_path / "o1js" / runs.GLUE_DIR
    d.mkdir(parents=True)
    (d / "kimchi_wasm.cjs").write_text("module.exports = {};\n")
    (d / "kimchi_wasm_bg.wasm").write_bytes(b"\0asm\x01\0\0\0")
    with pytest.raises(SystemExit, match="not a source-route build"):
        runs.run_scenarios({"trace": {"iterations": 1}}, tmp_path / "o1js", ["trivial"], tmp_path)


def test_reports_claim_a_source_run_only_when_one_is_recorded():
    from analysis.summary.report import source_route_lines
    from analysis.trace.report import _source_verified
    assert "no source-route run is recorded" in _source_verified(None)
    assert "No source-route run is recorded" in "\n".join(source_route_lines({"schema": cmp.SCHEMA, "scenarios": {}}))
    c = cmp.compare({"trivial": _log("binary", [("A", 8)], [])}, {"trivial": _log("source", [("A", 8)], [])})
    c["build"] = {"rustc": "1.96.0", "wasm_bindgen": "0.2.100"}
    text = _source_verified(c)
    assert "1.96.0" in text and "trivial (2 proofs)" in text
    lines = "\n".join(source_route_lines(c))
    assert "`trivial`: 1 types logged by both routes, never-dropped counts equal for 1" in lines
    assert "the largest group of never-dropped objects, `A` made in `(no site)`: 1 (binary route), 1 (source route)" in lines


def test_runs_command_line_errors_are_one_line(tmp_path, capsys):
    assert runs.main(["--o1js", str(tmp_path / "none")]) == 2
    assert runs.main(["--o1js", str(tmp_path), "--scenario", "nosuch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].endswith("none: no such file or folder") and "unknown scenario 'nosuch'" in err[1]


def test_exports_that_are_one_wasm_function_are_matched_as_one(tmp_path):
    """o1js 2.15.0's glue calls caml_pasta_fp_plonk_gate_vector_create for the Fq vector too: the two exports are
    one folded function, so the binary route names the Fp export where the source route names the Fq one."""
    from tests.test_inventory_binary import build_wasm
    wasm = tmp_path / "kimchi_wasm_bg.wasm"
    wasm.write_bytes(build_wasm(["imp", "create", "other"],
                                {"fp_create": 1, "fq_create": 1, "other": 2, "memory_like": 2}))
    assert cmp.shared_function_exports([("a", 0, 5), ("b", 0, 5), ("c", 2, 5), ("d", 0, 6)]) == [["a", "b"]]

    def log(route, export):
        lines = ["@" + json.dumps({"ev": "SITE", "site": 0, "rust": export}),
                 "@" + json.dumps({"ev": "ALLOCATE", "id": 0, "type": "WasmFqGateVector", "size": 8, "site": 0})]
        return parse_bytes(("\n".join(lines) + "\n").encode()).to_dict()
    b, s = tmp_path / "b.json", tmp_path / "s.json"
    b.write_text(json.dumps(log("binary", "fp_create")))
    s.write_text(json.dumps(log("source", "fq_create")))
    plain = cmp.write_compare({"t": b}, {"t": s}, tmp_path / "plain.json")
    assert len(plain["scenarios"]["t"]["never_dropped_by_export"]) == 2 and not plain["shared_exports"]
    c = cmp.write_compare({"t": b}, {"t": s}, tmp_path / "c.json", binary_wasm=wasm)
    assert [(r["export"], r["binary"], r["source"]) for r in c["scenarios"]["t"]["never_dropped_by_export"]] == [
        ("fp_create = fq_create", 1, 1)]
    assert c["shared_exports"] == [["fp_create", "fq_create"]]   # "other = memory_like" made no row: not listed
    assert "`fp_create` = `fq_create`" in "\n".join(cmp.markdown(c))
