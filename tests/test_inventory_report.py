"""Step 1: the cross-check logic and the merged reports (inventory.json, TYPES_TO_LOG.md, STEP_1.md)."""
from __future__ import annotations

import json
from pathlib import Path

from analysis.inventory.crosscheck import crosscheck
from analysis.inventory.report import write_reports
from analysis.inventory.schema import validate


def src_type(tid: str, **kw) -> dict:
    crate, *mods, name = tid.split("::")
    t = {"id": tid, "name": name, "kind": "struct", "crate": crate, "crate_dir": "bind", "module": "::".join([crate] + mods),
         "file": "bind/src/lib.rs", "line": 1, "scope": "bindings", "visibility": "pub", "shape": "named",
         "generics": [], "cfg": None, "wasm_bindgen": False, "wasm_bindgen_gate": None, "js_name": None,
         "js_class": None, "derives": [], "trait_impls": [], "copy": False, "has_drop": False, "drop_at": None,
         "owns": [], "owns_heap": False, "construct_paths": [], "template": None, "alias_of": None,
         "alias_target": None}
    t.update(kw)
    return t


VEC = [{"field": "0", "type": "Vec<u8>", "kinds": ["Vec"], "shared": False}]


def source_doc(types: list[dict]) -> dict:
    return {"schema_version": 1,
            "source": {"repository": "o1-labs/proof-systems", "expected_commit": "a" * 40, "commit": "a" * 40,
                       "commit_matches": True, "crates": ["bind"], "crate_libs": {"kimchi_wasm": "bind"},
                       "dependency_crates": [], "files": 1, "parser": "tree-sitter-rust", "macros": [],
                       "unexpanded": [], "parse_errors": []},
            "types": types}


def glue_class(name: str, free: str | None = None, **kw) -> dict:
    c = {"name": name, "line": 1, "has_wrap": True, "has_free": True, "has_constructor": False,
         "has_destroy_into_raw": True, "free_export": free or f"__wbg_{name.lower()}_free", "constructor_export": None,
         "finalization_registry": f"{name}Finalization", "exported": True, "methods": ["free"], "static_methods": ["__wrap"],
         "getters": [], "setters": [], "wrap_sites": 1, "consumed_sites": 0}
    c.update(kw)
    return c


def drop_fn(t: str, count: int = 1, mentions: list[str] | None = None) -> dict:
    base = t.split("<")[0]
    return {"name": f"core::ptr::drop_in_place<{t}>::h0000000000000000", "type": t, "base": base,
            "short": base.split("::")[-1], "crate": base.split("::")[0], "count": count,
            "indices": list(range(count)), "mentions": mentions if mentions is not None else [base]}


def binary_doc(classes: list[dict], drops: list[dict], free_exports: list[str], crate: str = "plonk_wasm") -> dict:
    return {"schema_version": 1,
            "binary": {"o1js_version": "2.14.0", "glue": "dist/node/bindings/compiled/_node_bindings/plonk_wasm.cjs",
                       "wasm": "dist/node/bindings/compiled/_node_bindings/plonk_wasm_bg.wasm", "wasm_sha256": "0" * 64,
                       "wasm_bytes": 10, "bindings_crate": crate, "mangling": "legacy", "producers": {},
                       "drop_in_place_functions": sum(d["count"] for d in drops), "drop_in_place_distinct": len(drops),
                       "free_exports": free_exports, "glue_enums": []},
            "glue_classes": classes, "drop_in_place": drops}


TYPES = [
    src_type("kimchi_wasm::srs::fp::WasmFpSrs", wasm_bindgen=True, js_class="WasmFpSrs", owns=VEC, owns_heap=True),
    src_type("kimchi_wasm::RawHandle", wasm_bindgen=True, js_name="Handle", js_class="Handle"),
    src_type("kimchi_wasm::Gone", wasm_bindgen=True, js_class="Gone"),
    src_type("kimchi_wasm::proof::WasmFpProverProof", owns=VEC, owns_heap=True),
    src_type("kimchi_wasm::wasm_vector::WasmVector", generics=["T"], owns=VEC, owns_heap=True, shape="tuple"),
    src_type("kimchi_wasm::Plain", copy=True, derives=["Clone", "Copy"]),
    src_type("kimchi_wasm::Alias", kind="type_alias", shape="alias", alias_of="Vec<u8>"),
]
CLASSES = [glue_class("WasmFpSrs"), glue_class("Handle"), glue_class("Mystery")]
DROPS = [drop_fn("plonk_wasm::proof::WasmFpProverProof", 2),
         drop_fn("alloc::vec::Vec<plonk_wasm::wasm_vector::WasmVector<u8>>", 1, ["plonk_wasm::wasm_vector::WasmVector"]),
         drop_fn("plonk_wasm::Unknown")]
FREES = ["__wbg_wasmfpsrs_free", "__wbg_handle_free", "__wbg_orphan_free"]


def test_crosscheck_matches_renames_and_lists_both_sides():
    xc = crosscheck(source_doc(TYPES), binary_doc(CLASSES, DROPS, FREES))
    assert xc["matched"] == [{"js_class": "WasmFpSrs", "id": "kimchi_wasm::srs::fp::WasmFpSrs", "renamed": False},
                             {"js_class": "Handle", "id": "kimchi_wasm::RawHandle", "renamed": True}]
    assert [o["js_class"] for o in xc["only_in_glue"]] == ["Mystery"]
    assert xc["all_js_classes_matched"] is False
    only_src = {o["id"]: o["why"] for o in xc["only_in_source"]}
    assert "kimchi_wasm::Gone" in only_src and "without a class in the glue" in only_src["kimchi_wasm::Gone"]
    assert "kimchi_wasm::Plain" in only_src and "owns no heap" in only_src["kimchi_wasm::Plain"]
    assert "inlined" in only_src["kimchi_wasm::wasm_vector::WasmVector"]
    assert "kimchi_wasm::Alias" not in only_src
    dib = xc["drop_in_place_bindings"]
    # plonk_wasm (the old crate name of the binary) is mapped onto the source crate kimchi_wasm
    assert dib["with_drop_fn"] == ["kimchi_wasm::proof::WasmFpProverProof"]
    assert dib["drop_fn_without_source_type"] == ["kimchi_wasm::Unknown"]
    assert xc["free_exports_without_class"] == ["__wbg_orphan_free"]
    assert xc["classes_without_free_export"] == ["Mystery"]


def test_crosscheck_without_source():
    xc = crosscheck(None, binary_doc(CLASSES, DROPS, FREES))
    assert xc["source_run"] is False and xc["matched"] == [] and xc["all_js_classes_matched"] is None
    assert all("not run" in o["why"] for o in xc["only_in_glue"]) and len(xc["only_in_glue"]) == 3


def _write(tmp: Path, name: str, doc: dict) -> Path:
    p = tmp / name
    p.write_text(json.dumps(doc))
    return p


def test_write_reports_merges_routes(tmp_path):
    classes = CLASSES[:2]
    s = _write(tmp_path, "source.json", source_doc([t for t in TYPES if t["id"] != "kimchi_wasm::Gone"]))
    b = _write(tmp_path, "binary.json", binary_doc(classes, DROPS, FREES[:2]))
    inv = write_reports(s, b, tmp_path / "o" / "inventory.json", tmp_path / "T.md", tmp_path / "S.md")
    validate(inv)
    assert json.loads((tmp_path / "o" / "inventory.json").read_text()) == inv
    by = {t["id"]: t for t in inv["types"]}
    srs = by["kimchi_wasm::srs::fp::WasmFpSrs"]
    assert srs["route"] == "both" and srs["to_log"] and srs["route_how"]["binary"].startswith("JS handle")
    assert srs["binary_evidence"]["glue_class"] == "WasmFpSrs"
    proof = by["kimchi_wasm::proof::WasmFpProverProof"]
    assert proof["route"] == "both" and proof["binary_evidence"]["drop_in_place"] == 2
    assert "drops only" in proof["route_how"]["binary"]
    vec = by["kimchi_wasm::wasm_vector::WasmVector"]
    assert vec["route"] == "source" and vec["binary_evidence"]["drop_in_place_inside"] == 1
    plain = by["kimchi_wasm::Plain"]
    assert plain["route"] == "none" and not plain["to_log"] and "Copy" in plain["route_how"]["source_blocked"]
    handle = by["kimchi_wasm::RawHandle"]
    assert handle["route"] == "both" and handle["js_name"] == "Handle" and handle["binary_evidence"]["glue_class"] == "Handle"
    alias = by["kimchi_wasm::Alias"]
    assert alias["route"] == "none" and alias["to_log"] is False
    c = inv["counts"]
    assert c["matched_classes"] == 2 and c["only_in_glue"] == 0 and c["exported_structs"] == 2
    assert c["to_log"] == 4 and c["routes_to_log"] == {"both": 3, "binary": 0, "source": 1, "none": 0}
    types_md = (tmp_path / "T.md").read_text()
    step1_md = (tmp_path / "S.md").read_text()
    assert "## 1. Types with a JS handle (2)" in types_md
    assert "Handle (js_name of `RawHandle`)" in types_md
    assert "**Every JS class of the glue maps to a source type.**" in step1_md
    assert str(tmp_path) not in types_md + step1_md


def test_routes_follow_the_rules(tmp_path):
    s = _write(tmp_path, "source.json", source_doc(TYPES[:2] + TYPES[3:]))
    b = _write(tmp_path, "binary.json", binary_doc(CLASSES[:2], DROPS, FREES[:2]))
    inv = write_reports(s, b, tmp_path / "i.json", tmp_path / "T.md", tmp_path / "S.md")
    routes = {t["id"]: t["route"] for t in inv["types"]}
    assert routes == {
        "kimchi_wasm::srs::fp::WasmFpSrs": "both",          # JS handle + a non-Copy struct
        "kimchi_wasm::RawHandle": "both",
        "kimchi_wasm::proof::WasmFpProverProof": "both",     # drop_in_place exists + source field
        "kimchi_wasm::wasm_vector::WasmVector": "source",   # drop glue inlined
        "kimchi_wasm::Plain": "none",                       # Copy, no handle, no drop fn
        "kimchi_wasm::Alias": "none",
    }
    assert inv["counts"]["routes_to_log"] == {"both": 3, "binary": 0, "source": 1, "none": 0}


def test_write_reports_without_source(tmp_path):
    b = _write(tmp_path, "binary.json", binary_doc(CLASSES, DROPS, FREES))
    inv = write_reports(None, b, tmp_path / "i.json", tmp_path / "T.md", tmp_path / "S.md")
    validate(inv)
    assert inv["source_run"] is False and inv["types"] == [] and inv["source"] is None
    assert "not run" in (tmp_path / "T.md").read_text()
    step1 = (tmp_path / "S.md").read_text()
    assert "**Not run**" in step1 and "Mystery" in (tmp_path / "T.md").read_text()
    # a missing file counts as not run too
    inv2 = write_reports(tmp_path / "absent.json", b, tmp_path / "i2.json", tmp_path / "T2.md", tmp_path / "S2.md")
    assert inv2["source_run"] is False
