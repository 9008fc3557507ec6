"""Step 1 source side: tree-sitter scan, macro_rules!/paste! expansion, resolution, ownership, construction paths.

Every test writes its own small Rust crate into tmp_path.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from analysis.inventory import macro_expand as mx
from analysis.inventory.rust_source import Where, norm_type, scan_text
from analysis.inventory.schema import validate
from analysis.inventory.source_step import build_source_inventory

LIB_RS = '''\
use paste::paste;
use wasm_bindgen::prelude::*;

pub mod wasm_vector;

macro_rules! impl_things {
    ($name: ident, $F: ty, $field_name: ident) => {
        paste! {
            #[wasm_bindgen]
            #[derive(Clone)]
            pub struct [<Wasm $field_name:camel Thing>] {
                #[wasm_bindgen(skip)]
                pub items: Vec<$F>,
                pub n: u32,
            }
            pub type WasmThing = [<Wasm $field_name:camel Thing>];

            #[wasm_bindgen]
            impl [<Wasm $field_name:camel Thing>] {
                #[wasm_bindgen(constructor)]
                pub fn new(n: u32) -> Self {
                    Self { items: Vec::new(), n }
                }

                #[wasm_bindgen(getter)]
                pub fn copy_of(&self) -> WasmThing {
                    self.clone()
                }
            }

            #[wasm_bindgen]
            pub fn [<caml_ $name:snake _thing_create>]() -> WasmThing {
                WasmThing { items: vec![], n: 0 }
            }
        }
    };
}

pub mod fp {
    use super::*;
    impl_things!(PastaFp, u64, fp);
}

pub mod fq {
    use super::*;
    impl_things!(PastaFq, u32, Fq);
}

/// A renamed export that owns a box and has a hand-written Drop.
#[wasm_bindgen(js_name = Handle)]
pub struct RawHandle(#[wasm_bindgen(skip)] pub Box<[u8]>, pub u8);

impl Drop for RawHandle {
    fn drop(&mut self) {}
}

#[wasm_bindgen]
pub fn make_handle() -> RawHandle {
    RawHandle(Box::new([1u8]), 1)
}

#[derive(Clone, Copy, Default, Debug, serde::Serialize, serde::Deserialize)]
pub struct Point<T: Copy> {
    pub x: T,
    pub y: T,
}

pub enum Shape {
    Circle(Box<f64>),
    Rect { w: Vec<u8> },
    Empty,
}

pub type Bytes = Vec<u8>;

pub struct Holder {
    pub b: Bytes,
    pub inner: fp::WasmFpThing,
    pub idx: Option<Box<ProverIndex<u8>>>,
    pub shared: std::sync::Arc<Vec<u8>>,
}

impl Clone for Holder {
    fn clone(&self) -> Self {
        todo!()
    }
}

#[cfg(test)]
mod tests {
    pub struct OnlyInTests(Vec<u8>);
}
'''

WASM_VECTOR_RS = '''\
pub struct WasmVector<T>(Vec<T>);

impl<T> From<Vec<T>> for WasmVector<T> {
    fn from(x: Vec<T>) -> Self {
        WasmVector(x)
    }
}

pub fn wrap_all<T>(v: Vec<Vec<T>>) -> Vec<WasmVector<T>> {
    v.into_iter().map(WasmVector).collect()
}
'''


def _write_crate(root: Path, files: dict[str, str], cargo: str) -> None:
    for rel, body in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body)
    (root / "Cargo.toml").write_text(cargo)


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    co = tmp_path / "checkout"
    _write_crate(co / "bind", {"src/lib.rs": LIB_RS, "src/wasm_vector.rs": WASM_VECTOR_RS},
                 '[package]\nname = "my-bind"\n\n[dependencies]\ndep = { workspace = true, features = ["wasm_types"] }\n')
    _write_crate(co / "dep", {"src/lib.rs": textwrap.dedent('''\
        pub mod wires {
            #[cfg_attr(feature = "wasm_types", wasm_bindgen::prelude::wasm_bindgen)]
            #[cfg_attr(test, derive(proptest_derive::Arbitrary))]
            #[derive(Clone, Copy, Debug)]
            pub struct Wire {
                pub row: usize,
            }

            #[cfg_attr(feature = "other", wasm_bindgen::prelude::wasm_bindgen)]
            pub struct NotExported(Vec<u8>);

            pub struct Plain(Vec<u8>);
        }
    ''')}, '[package]\nname = "dep"\n\n[features]\ndefault = []\nwasm_types = []\nother = []\n')
    (co / "Cargo.toml").write_text('[workspace]\nmembers = ["bind", "dep"]\n\n[workspace.dependencies]\n'
                                   'dep = { path = "dep" }\n')
    return co


@pytest.fixture()
def inventory(checkout: Path, tmp_path: Path) -> dict:
    out = tmp_path / "out" / "source_inventory.json"
    res = build_source_inventory(checkout, ["bind"], out, expected_commit="0" * 40)
    assert json.loads(out.read_text()) == res
    validate(res, "source_inventory")
    return res


def _by_id(inv: dict) -> dict:
    return {t["id"]: t for t in inv["types"]}


def _line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


# ------------------------------------------------------------------ paste / macro units


@pytest.mark.parametrize("seg,mod,expected", [
    ("fp", "camel", "Fp"), ("FP", "camel", "Fp"), ("caml_fp_srs", "camel", "CamlFpSrs"),
    ("PastaFp", "snake", "pasta_fp"), ("caml_fp_srs", "snake", "caml_fp_srs"), ("Fq", "lower", "fq"),
    ("fq", "upper", "FQ"), ("caml_fp", "lower_camel", "camlFp"), ("fp", "upper_camel", "Fp"),
])
def test_paste_case_modifiers(seg, mod, expected):
    assert mx.apply_modifier(seg, mod) == expected


def test_template_expansion_keeps_template_lines():
    src = textwrap.dedent('''\
        macro_rules! m {
            ($n: ident, $T: ty) => {
                paste! {
                    pub struct [<Wasm $n:camel Vec>](pub Vec<$T>);
                    pub type [<Alias $n:upper>] = Vec<Option<$T>>;
                }
            };
        }
        m!(fp, Box<u8>);
    ''').encode()
    scan = scan_text(src, Where(file="x.rs"))
    tpl = mx.read_template(scan.macros[0].node, scan.macros[0].where.line)
    body, rule, binds = mx.expand(tpl, scan.invocations[0].node, src, src)
    assert binds == {"n": "fp", "T": "Box<u8>"}
    sub = scan_text(body.encode(), Where(file="x.rs", row_offset=rule.transcriber.start_point.row))
    got = {(t.name, t.kind, t.line) for t in sub.types}
    assert got == {("WasmFpVec", "struct", 4), ("AliasFP", "type_alias", 5)}
    assert [f.type_text for f in sub.types[0].fields] == ["Vec<Box<u8>>"]


def test_macro_arguments_that_do_not_match_are_reported():
    src = b"macro_rules! m { ($a: ident, $b: ident) => { struct $a; }; }\nm!(x);\n"
    scan = scan_text(src, Where(file="x.rs"))
    tpl = mx.read_template(scan.macros[0].node, scan.macros[0].where.line)
    with pytest.raises(mx.ExpandError):
        mx.expand(tpl, scan.invocations[0].node, src, src)


def test_repetition_is_unsupported_not_guessed():
    src = b"macro_rules! m { ($($a: ident),*) => { $(struct $a;)* }; }\nm!(x, y);\n"
    scan = scan_text(src, Where(file="x.rs"))
    tpl = mx.read_template(scan.macros[0].node, scan.macros[0].where.line)
    assert tpl.rules[0].unsupported
    with pytest.raises(mx.ExpandError):
        mx.expand(tpl, scan.invocations[0].node, src, src)


def test_norm_type():
    assert norm_type("Vec < Vec<Fp> >") == "Vec<Vec<Fp>>"
    assert norm_type("* mut  WasmVector<X>") == "*mut WasmVector<X>"
    assert norm_type("ProverIndex<A,\n  B,\n>") == "ProverIndex<A, B>"


# ------------------------------------------------------------------ the inventory of a fixture crate


def test_exact_type_list(inventory):
    ids = {(t["id"], t["kind"]) for t in inventory["types"]}
    assert ids == {
        ("my_bind::fp::WasmFpThing", "struct"), ("my_bind::fp::WasmThing", "type_alias"),
        ("my_bind::fq::WasmFqThing", "struct"), ("my_bind::fq::WasmThing", "type_alias"),
        ("my_bind::RawHandle", "struct"), ("my_bind::Point", "struct"), ("my_bind::Shape", "enum"),
        ("my_bind::Bytes", "type_alias"), ("my_bind::Holder", "struct"),
        ("my_bind::wasm_vector::WasmVector", "struct"),
        ("dep::wires::Wire", "struct"),           # exported through an enabled cfg_attr feature
    }
    src = inventory["source"]
    assert src["commit"] is None and src["commit_matches"] is None   # not a git work tree
    assert src["expected_commit"] == "0" * 40
    assert src["crate_libs"] == {"my_bind": "bind", "dep": "dep"}
    assert src["dependency_crates"] == ["dep"]
    assert src["unexpanded"] == [] and src["parse_errors"] == []


def test_template_generated_structs(inventory):
    t = _by_id(inventory)
    fp, fq = t["my_bind::fp::WasmFpThing"], t["my_bind::fq::WasmFqThing"]
    struct_line = _line_of(LIB_RS, "pub struct [<Wasm $field_name:camel Thing>]")
    for x, inv_line in ((fp, _line_of(LIB_RS, "impl_things!(PastaFp")), (fq, _line_of(LIB_RS, "impl_things!(PastaFq"))):
        assert x["file"] == "bind/src/lib.rs" and x["line"] == struct_line
        assert x["template"] == {"macro": "impl_things", "defined_at": f"bind/src/lib.rs:{_line_of(LIB_RS, 'macro_rules!')}",
                                 "invocation": f"bind/src/lib.rs:{inv_line}", "args": x["template"]["args"]}
        assert x["wasm_bindgen"] and x["js_class"] == x["name"] and x["js_name"] is None
        assert x["derives"] == ["Clone"] and not x["copy"] and not x["has_drop"]
        assert x["shape"] == "named" and x["generics"] == []
    assert fp["template"]["args"] == {"name": "PastaFp", "F": "u64", "field_name": "fp"}
    assert fp["owns"] == [{"field": "items", "type": "Vec<u64>", "kinds": ["Vec"], "shared": False}]
    assert fq["owns"] == [{"field": "items", "type": "Vec<u32>", "kinds": ["Vec"], "shared": False}]
    hows = sorted((p["how"], p.get("detail", "")) for p in fp["construct_paths"])
    assert hows == sorted([
        ("clone", ""),
        ("wasm_bindgen_constructor", "WasmFpThing::new -> Self"),
        ("fn_return", "WasmFpThing::copy_of -> WasmThing"),
        ("fn_return", "caml_pasta_fp_thing_create -> WasmThing"),     # [<caml_ $name:snake _thing_create>]
        ("wrap", fp["construct_paths"][[p["how"] for p in fp["construct_paths"]].index("wrap")]["detail"]),
        ("literal", "struct_expr"), ("literal", "struct_expr"),
    ])
    getter = next(p for p in fp["construct_paths"] if p.get("detail", "").startswith("WasmFpThing::copy_of"))
    assert getter["self_method"] is True and getter["invocation"].startswith("bind/src/lib.rs:")
    lit_lines = sorted(p["line"] for p in fp["construct_paths"] if p["how"] == "literal")
    assert lit_lines == [_line_of(LIB_RS, "Self { items: Vec::new(), n }"), _line_of(LIB_RS, "WasmThing { items: vec![], n: 0 }")]


def test_generated_aliases_resolve_per_module(inventory):
    t = _by_id(inventory)
    assert t["my_bind::fp::WasmThing"]["alias_of"] == "WasmFpThing"
    assert t["my_bind::fp::WasmThing"]["alias_target"] == "my_bind::fp::WasmFpThing"
    assert t["my_bind::fq::WasmThing"]["alias_target"] == "my_bind::fq::WasmFqThing"
    assert t["my_bind::Bytes"]["alias_of"] == "Vec<u8>" and t["my_bind::Bytes"]["alias_target"] is None


def test_renamed_export_tuple_struct_with_drop(inventory):
    h = _by_id(inventory)["my_bind::RawHandle"]
    assert h["js_name"] == "Handle" and h["js_class"] == "Handle" and h["wasm_bindgen"]
    assert h["shape"] == "tuple" and h["has_drop"] and h["drop_at"] == f"bind/src/lib.rs:{_line_of(LIB_RS, 'impl Drop for RawHandle')}"
    assert h["owns"] == [{"field": "0", "type": "Box<[u8]>", "kinds": ["Box"], "shared": False}]
    assert "Drop" in h["trait_impls"]
    hows = sorted(p["how"] for p in h["construct_paths"])
    assert hows == ["fn_return", "literal", "wrap"]
    assert next(p for p in h["construct_paths"] if p["how"] == "literal")["detail"] == "tuple_call"


def test_generics_derives_copy_enum_and_transitive_ownership(inventory):
    t = _by_id(inventory)
    p = t["my_bind::Point"]
    assert p["generics"] == ["T: Copy"] and p["copy"]
    assert p["derives"] == ["Clone", "Copy", "Default", "Debug", "Serialize", "Deserialize"]
    assert p["owns"] == [] and not p["owns_heap"] and not p["wasm_bindgen"] and p["js_class"] is None
    assert sorted(x["how"] for x in p["construct_paths"]) == ["clone", "copy", "default", "deserialize"]
    s = t["my_bind::Shape"]
    assert s["shape"] == "enum"
    assert s["owns"] == [{"field": "Circle.0", "type": "Box<f64>", "kinds": ["Box"], "shared": False},
                         {"field": "Rect.w", "type": "Vec<u8>", "kinds": ["Vec"], "shared": False}]
    h = t["my_bind::Holder"]
    owns = {o["field"]: o for o in h["owns"]}
    assert owns["b"] == {"field": "b", "type": "Bytes", "kinds": ["Vec"], "resolved": "Vec<u8>", "shared": False}
    assert owns["inner"]["kinds"] == ["Vec"] and owns["inner"]["via"] == ["my_bind::fp::WasmFpThing"]
    assert owns["idx"]["kinds"] == ["Box", "ProverIndex"]
    assert owns["shared"]["kinds"] == ["Arc", "Vec"] and owns["shared"]["shared"] is True
    assert [x for x in h["construct_paths"] if x["how"] == "clone"][0]["derived"] is False


def test_generic_tuple_struct_in_submodule(inventory):
    v = _by_id(inventory)["my_bind::wasm_vector::WasmVector"]
    assert v["file"] == "bind/src/wasm_vector.rs" and v["line"] == 1 and v["generics"] == ["T"]
    kinds = sorted((p["how"], p.get("detail")) for p in v["construct_paths"])
    assert ("from_impl", "impl From<Vec<T>> for WasmVector<T>") in kinds
    assert ("literal", "tuple_call") in kinds and ("literal", "fn_value") in kinds   # .map(WasmVector)


def test_dependency_exports_only_when_feature_enabled(inventory):
    w = _by_id(inventory)["dep::wires::Wire"]
    assert w["scope"] == "dependency_export" and w["wasm_bindgen_gate"] == 'feature = "wasm_types"'
    assert w["derives"] == ["Clone", "Copy", "Debug"]      # cfg_attr(test, derive(..)) is off
    assert w["js_class"] == "Wire"


def test_expected_commit_is_checked_against_git_head(checkout, tmp_path):
    import subprocess
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q", str(checkout)], check=True, env=env)
    subprocess.run(["git", "-C", str(checkout), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(checkout), "commit", "-q", "-m", "x"], check=True, env=env)
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    res = build_source_inventory(checkout, ["bind"], tmp_path / "a.json", expected_commit=head)
    assert res["source"]["commit"] == head and res["source"]["commit_matches"] is True
    assert res["source"]["dirty_files"] == []
    res = build_source_inventory(checkout, ["bind"], tmp_path / "b.json", expected_commit="f" * 40)
    assert res["source"]["commit_matches"] is False


def test_no_absolute_paths_in_output(inventory, checkout):
    assert str(checkout) not in json.dumps(inventory)
