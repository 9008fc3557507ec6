"""The source-route patch generator (analysis/source_patch) on small Rust fixtures written here,
shaped like the real bindings layer: macro_rules! templates expanded for Fp and Fq (with paste! and
with plain `$name:ident`), tuple structs, #[wasm_bindgen] getters returning clones, Clone derives,
Copy types, aliases through `use .. as ..`, struct patterns and tuple constructors used as
functions. One fixture is compiled and run for real (cargo, offline) against stub wasm-bindgen
crates written by this test."""
from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from analysis.source_patch import build as sp_build
from analysis.source_patch import generator as gen
from analysis.source_patch import rust_syntax as rs

CARGO = shutil.which("cargo")
GIT = shutil.which("git")


def write(root: Path, files: dict[str, str]) -> None:
    for rel, body in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(body).lstrip("\n"))


def apply(patch: Path, checkout: Path) -> None:
    r = subprocess.run([GIT, "apply", str(patch.resolve())], cwd=checkout, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


CARGO_TOML = """
[package]
name = "kimchi_wasm"
version = "0.1.0"
edition = "2018"

[dependencies]
paste = "1"
wasm-bindgen = "0.2"
"""

# ---------------------------------------------------------------------------------------------
# fixture 1: paste!-templates like the real layer (checked edit by edit, not compiled)

PASTE_FILES = {
    "kimchi-wasm/Cargo.toml": CARGO_TOML,
    "kimchi-wasm/src/lib.rs": """
        use wasm_bindgen::prelude::*;
        pub mod poly_comm;
        pub mod srs;
        pub mod vec;

        #[wasm_bindgen]
        extern "C" {
            #[wasm_bindgen(js_namespace = console)]
            fn log(s: &str);
        }

        #[wasm_bindgen]
        #[derive(Clone, Copy, Debug)]
        pub struct WasmGVesta {
            pub x: u64,
            pub infinity: bool,
        }
    """,
    "kimchi-wasm/src/poly_comm.rs": """
        use paste::paste;
        macro_rules! impl_poly_comm {
            ( $WasmG: ty, $field_name: ident ) => {
                paste! {
                    #[wasm_bindgen]
                    #[derive(Clone)]
                    pub struct [<Wasm $field_name:camel PolyComm>] {
                        #[wasm_bindgen(skip)]
                        pub unshifted: Vec<$WasmG>,
                        pub shifted: Option<$WasmG>,
                    }

                    type WasmPolyComm = [<Wasm $field_name:camel PolyComm>];

                    #[wasm_bindgen]
                    impl [<Wasm $field_name:camel PolyComm>] {
                        #[wasm_bindgen(constructor)]
                        pub fn new(unshifted: Vec<$WasmG>, shifted: Option<$WasmG>) -> Self {
                            WasmPolyComm { unshifted, shifted }
                        }

                        #[wasm_bindgen(getter)]
                        pub fn unshifted(&self) -> Vec<$WasmG> {
                            self.unshifted.clone()
                        }
                    }

                    impl From<Vec<$WasmG>> for WasmPolyComm {
                        fn from(x: Vec<$WasmG>) -> Self {
                            Self {
                                unshifted: x,
                                shifted: None
                            }
                        }
                    }

                    impl From<WasmPolyComm> for Vec<$WasmG> {
                        fn from(x: WasmPolyComm) -> Self {
                            let WasmPolyComm {unshifted, shifted} = x;
                            assert!(shifted.is_none());
                            unshifted
                        }
                    }
                }
            };
        }

        pub mod fp {
            use crate::WasmGVesta;
            use wasm_bindgen::prelude::*;
            impl_poly_comm!(WasmGVesta, Fp);
        }

        pub mod fq {
            use crate::WasmGVesta as WasmG;
            use wasm_bindgen::prelude::*;
            impl_poly_comm!(WasmG, Fq);
        }
    """,
    "kimchi-wasm/src/srs.rs": """
        use std::sync::Arc;
        use wasm_bindgen::prelude::*;

        #[wasm_bindgen]
        pub struct WasmFpSrs(#[wasm_bindgen(skip)] pub Arc<Vec<u64>>);

        pub fn create(depth: usize) -> WasmFpSrs {
            WasmFpSrs(Arc::new(vec![0; depth]))
        }

        pub fn maybe(v: Option<Arc<Vec<u64>>>) -> Option<WasmFpSrs> {
            v.map(WasmFpSrs)
        }

        pub fn size(s: WasmFpSrs) -> usize {
            let WasmFpSrs(inner) = s;
            inner.len()
        }
    """,
    "kimchi-wasm/src/vec.rs": """
        use paste::paste;
        use wasm_bindgen::prelude::*;
        macro_rules! impl_vec_vec_fp {
            ( $F:ty ) => {
                paste! {
                    #[wasm_bindgen]
                    pub struct [<WasmVecVec $F:camel>](#[wasm_bindgen(skip)] pub Vec<Vec<$F>>);

                    #[wasm_bindgen]
                    impl [<WasmVecVec $F:camel>] {
                        #[wasm_bindgen(constructor)]
                        pub fn create(n: i32) -> Self {
                            [<WasmVecVec $F:camel>](Vec::with_capacity(n as usize))
                        }

                        pub fn push(&mut self, x: Vec<$F>) {
                            self.0.push(x)
                        }
                    }
                }
            };
        }
        pub mod fp {
            use super::*;
            impl_vec_vec_fp!(u64);
        }
    """,
}


@pytest.fixture
def paste_checkout(tmp_path) -> Path:
    co = tmp_path / "checkout"
    write(co, PASTE_FILES)
    return co


def test_paste_fixture_exact_edits(paste_checkout, tmp_path):
    out = tmp_path / "out"
    s = gen.generate_patch(None, paste_checkout, out, upstream_rules=False)
    names = sorted(n for d in s["instrumented"] for n in d["names"])
    assert names == ["WasmFpPolyComm", "WasmFpSrs", "WasmFqPolyComm", "WasmVecVecU64"]
    not_tracked = {n: d["reason"] for d in s["skipped"] + s["helpers"] for n in d["names"]}
    assert "Copy type" in not_tracked["WasmGVesta"]
    assert "WlhHeap impl" in not_tracked["WasmGVesta"]   # owned by WasmFpPolyComm: sized, not tracked
    assert s["parse_ok"], json.dumps(s["parse_checks"], indent=1)
    patch = (out / "bindings.patch").read_text()
    assert "/work/" not in patch and str(paste_checkout) not in patch
    if GIT is None:
        pytest.skip("git not installed: cannot apply the patch")
    apply(out / "bindings.patch", paste_checkout)
    pc = (paste_checkout / "kimchi-wasm/src/poly_comm.rs").read_text()
    # the field, skipped by wasm-bindgen, at the end of the template's struct
    assert ("                pub shifted: Option<$WasmG>,\n"
            "                #[wasm_bindgen(skip)]\n"
            "                pub wlh_trace: ::wlh_trace_core::Tracked<Self>,\n"
            "            }") in pc
    # impls inside the template (every expansion gets them), type name from the paste segment
    assert "impl ::wlh_trace_core::Traced for [<Wasm $field_name:camel PolyComm>] {" in pc
    assert "const TYPE_NAME: &'static str = stringify!([<Wasm $field_name:camel PolyComm>]);" in pc
    assert "crate::wlh_trace::own_size_of::<Self>(&[&self.unshifted, &self.shifted])" in pc
    # the constructor through the template alias, with a creation site
    assert ("::wlh_trace_core::track_at(WasmPolyComm { unshifted, shifted, wlh_trace: "
            "::wlh_trace_core::Tracked::pending() }, concat!(module_path!(), \"::\", "
            "stringify!([<Wasm $field_name:camel PolyComm>]::new), \" (kimchi-wasm/src/poly_comm.rs:") in pc
    # `Self { .. }` in a From impl, multi-line, trailing comma added
    assert ("                    ::wlh_trace_core::track_at(Self {\n"
            "                        unshifted: x,\n"
            "                        shifted: None,\n"
            "                        wlh_trace: ::wlh_trace_core::Tracked::pending(),\n"
            "                    }, concat!(") in pc
    # destructuring pattern gets `..`
    assert "let WasmPolyComm {unshifted, shifted, ..} = x;" in pc
    # getters that clone stay as they are (Clone of the tracker takes a new id)
    assert "self.unshifted.clone()" in pc

    srs = (paste_checkout / "kimchi-wasm/src/srs.rs").read_text()
    assert ("pub struct WasmFpSrs(#[wasm_bindgen(skip)] pub Arc<Vec<u64>>, "
            "#[wasm_bindgen(skip)] pub ::wlh_trace_core::Tracked<Self>);") in srs
    assert ("::wlh_trace_core::track_at(WasmFpSrs(Arc::new(vec![0; depth]), "
            "::wlh_trace_core::Tracked::pending()), concat!(module_path!(), \"::\", stringify!(create)") in srs
    assert ("v.map(|__wlh0| ::wlh_trace_core::track_at(WasmFpSrs(__wlh0, ::wlh_trace_core::Tracked::pending()), "
            "concat!(module_path!(), \" (kimchi-wasm/src/srs.rs:") in srs
    assert "let WasmFpSrs(inner, ..) = s;" in srs
    assert "&mut self.1" in srs
    assert 'const TYPE_NAME: &\'static str = "WasmFpSrs";' in srs

    vec = (paste_checkout / "kimchi-wasm/src/vec.rs").read_text()
    assert ("::wlh_trace_core::track_at([<WasmVecVec $F:camel>](Vec::with_capacity(n as usize), "
            "::wlh_trace_core::Tracked::pending()), ") in vec

    lib = (paste_checkout / "kimchi-wasm/src/lib.rs").read_text()
    assert "pub fn wlh_trace_sink_write(line: &str) {\n    wlh_console_log(line);\n}" in lib
    assert "#[wasm_bindgen(js_namespace = console, js_name = log)]\n    fn wlh_console_log(s: &str);" in lib
    assert "pub mod wlh_trace;" in lib
    cargo = (paste_checkout / "kimchi-wasm/Cargo.toml").read_text()
    assert 'wlh-trace-core = { path = "../wlh-trace-core", features = ["wasm-extern-sink"] }' in cargo
    assert (paste_checkout / "wlh-trace-core/src/tracked.rs").exists()
    assert (paste_checkout / "kimchi-wasm/src/wlh_trace.rs").exists()
    # every touched file still parses (tree-sitter, whole file and masked template bodies)
    for rel in s["files_touched"] + s["files_added"]:
        if rel.endswith(".rs"):
            src = (paste_checkout / rel).read_bytes()
            assert rs.error_count(rs.parse(src).root_node) == 0, rel


def test_summary_is_committable_and_counts_add_up(paste_checkout, tmp_path):
    out = tmp_path / "out"
    s = gen.generate_patch(None, paste_checkout, out, upstream_rules=False)
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["counts"] == s["counts"]
    c = s["counts"]
    assert c["instrumented_definitions"] + c["helper_definitions"] + c["skipped_definitions"] == c["definitions_seen"]
    assert c["sites"] == {"struct_literal": 2, "tuple_call": 2, "fn_value": 1,
                          "struct_pattern": 1, "tuple_struct_pattern": 1}
    text = (out / "summary.json").read_text() + (out / "summary.md").read_text()
    assert "wlh_trace_core::track" not in text, "no patch text in the committed summary"
    assert str(tmp_path) not in text, "no absolute path of this machine"
    assert (out / ".gitignore").read_text().count("*.patch") == 1


def test_already_patched_checkout_is_refused(paste_checkout, tmp_path):
    if GIT is None:
        pytest.skip("git not installed")
    gen.generate_patch(None, paste_checkout, tmp_path / "out", upstream_rules=False)
    apply(tmp_path / "out" / "bindings.patch", paste_checkout)
    with pytest.raises(gen.PatchError, match="already patched"):
        gen.generate_patch(None, paste_checkout, tmp_path / "out2", upstream_rules=False)


def test_inventory_drives_selection(paste_checkout, tmp_path):
    inv = {"schema_version": 1, "types": [
        {"name": "WasmFpPolyComm", "kind": "struct", "file": "kimchi-wasm/src/poly_comm.rs", "copy": False,
         "wasm_bindgen": True, "js_name": None, "route": "both"},
        {"name": "WasmFqPolyComm", "kind": "struct", "file": "kimchi-wasm/src/poly_comm.rs", "copy": False,
         "wasm_bindgen": True, "js_name": None, "route": "both"},
        {"name": "WasmFpSrs", "kind": "struct", "file": "kimchi-wasm/src/srs.rs", "copy": False,
         "wasm_bindgen": True, "js_name": "Srs", "route": "binary",
         "route_how": {"binary": "glue", "source": None, "source_blocked": "test says no"}},
        {"name": "GateType", "kind": "enum", "file": "kimchi-wasm/src/x.rs"},
        {"name": "Missing", "kind": "struct", "file": "kimchi-wasm/src/nowhere.rs", "line": 3},
    ]}
    p = tmp_path / "inventory.json"
    p.write_text(json.dumps(inv))
    s = gen.generate_patch(p, paste_checkout, tmp_path / "out", upstream_rules=False)
    names = sorted(n for d in s["instrumented"] for n in d["names"])
    assert names == ["WasmFpPolyComm", "WasmFqPolyComm"]
    reasons = {n: d["reason"] for d in s["skipped"] for n in d["names"]}
    assert "test says no" in reasons["WasmFpSrs"]
    assert reasons["WasmVecVecU64"] == "not in the inventory"
    assert [e["name"] for e in s["inventory_other"]] == ["GateType"]
    assert [e["name"] for e in s["inventory_unlocated"]] == ["Missing"]


def test_paste_case_modifiers():
    assert rs.eval_paste("Wasm $f:camel PolyComm", {"f": "Fp"}) == "WasmFpPolyComm"
    assert rs.eval_paste("caml_pasta_ $n:snake _create", {"n": "fp"}) == "caml_pasta_fp_create"
    assert rs.eval_paste("WasmVecVec $F:camel", {"F": "mina_curves::pasta::FQ"}) == "WasmVecVecFq"
    assert rs.to_snake("WasmFpSrs") == "wasm_fp_srs"


def test_masking_keeps_offsets():
    src = b"struct [<Wasm $x:camel Srs>] { a: $T }"
    masked, ph = rs.mask(src, {"x", "T"})
    assert len(masked) == len(src)
    assert list(ph.values()) == ["[<Wasm $x:camel Srs>]"]
    assert b"_T" in masked


# ---------------------------------------------------------------------------------------------
# fixture 2: compiled and run (no paste; stub wasm-bindgen; the core from this repo)

STUB_MACRO = r'''
extern crate proc_macro;
use proc_macro::{Delimiter, Group, TokenStream, TokenTree};

fn strip(ts: TokenStream) -> TokenStream {
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if let TokenTree::Punct(p) = &toks[i] {
            if p.as_char() == '#' {
                if let Some(TokenTree::Group(g)) = toks.get(i + 1) {
                    if g.delimiter() == Delimiter::Bracket {
                        if let Some(TokenTree::Ident(id)) = g.stream().into_iter().next() {
                            if id.to_string() == "wasm_bindgen" {
                                i += 2;
                                continue;
                            }
                        }
                    }
                }
            }
        }
        match &toks[i] {
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), strip(g.stream()));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            t => out.push(t.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// `extern "C" { fn f(..); }` becomes `fn f(..) {}`: imports do nothing natively.
fn externs(ts: TokenStream) -> TokenStream {
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    if !toks.iter().any(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "extern")) {
        return toks.into_iter().collect();
    }
    let body = toks.iter().rev().find_map(|t| match t {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => Some(g.stream()),
        _ => None,
    }).unwrap();
    let mut out = String::new();
    let mut cur: Vec<TokenTree> = Vec::new();
    for t in body {
        if let TokenTree::Punct(p) = &t {
            if p.as_char() == ';' {
                let s: TokenStream = cur.drain(..).collect();
                out.push_str(&format!("#[allow(unused_variables, dead_code)] {} {{}}\n", s));
                continue;
            }
        }
        cur.push(t);
    }
    out.parse().unwrap()
}

#[proc_macro_attribute]
pub fn wasm_bindgen(_attr: TokenStream, item: TokenStream) -> TokenStream {
    externs(strip(item))
}
'''

RUN_FILES = {
    "stubs/wasm-bindgen-macro-stub/Cargo.toml": """
        [package]
        name = "wasm-bindgen-macro-stub"
        version = "0.1.0"
        edition = "2021"
        [lib]
        proc-macro = true
    """,
    "stubs/wasm-bindgen/Cargo.toml": """
        [package]
        name = "wasm-bindgen"
        version = "0.2.100"
        edition = "2021"
        [dependencies]
        wasm-bindgen-macro-stub = { path = "../wasm-bindgen-macro-stub" }
    """,
    "stubs/wasm-bindgen/src/lib.rs": """
        pub use wasm_bindgen_macro_stub::wasm_bindgen;
        pub mod prelude {
            pub use wasm_bindgen_macro_stub::wasm_bindgen;
        }
    """,
    "kimchi-wasm/Cargo.toml": """
        [package]
        name = "kimchi_wasm"
        version = "0.1.0"
        edition = "2018"

        [dependencies]
        wasm-bindgen = { path = "../stubs/wasm-bindgen" }
    """,
    "kimchi-wasm/src/lib.rs": """
        use wasm_bindgen::prelude::*;
        pub mod poly_comm;
        pub mod proof;
        pub mod srs;
        pub mod wasm_vector;

        /// A field element: Copy, owns no heap (gets a helper size impl).
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct Fp(pub [u64; 4]);

        #[wasm_bindgen]
        #[derive(Clone, Copy, Debug)]
        pub struct WasmGVesta {
            pub x: Fp,
            pub infinity: bool,
        }
    """,
    "kimchi-wasm/src/wasm_vector.rs": """
        use wasm_bindgen::prelude::*;

        #[derive(Clone, Debug)]
        pub struct WasmVector<T>(Vec<T>);

        impl<T> From<Vec<T>> for WasmVector<T> {
            fn from(x: Vec<T>) -> Self {
                WasmVector(x)
            }
        }

        impl<T> core::ops::Deref for WasmVector<T> {
            type Target = Vec<T>;
            fn deref(&self) -> &Vec<T> {
                &self.0
            }
        }

        macro_rules! impl_vec_vec_fp {
            ( $name:ident, $F:ty ) => {
                #[wasm_bindgen]
                pub struct $name(#[wasm_bindgen(skip)] pub Vec<Vec<$F>>);

                #[wasm_bindgen]
                impl $name {
                    #[wasm_bindgen(constructor)]
                    pub fn create(n: i32) -> Self {
                        $name(Vec::with_capacity(n as usize))
                    }
                }
            };
        }

        pub mod fp {
            use super::*;
            use crate::Fp;
            impl_vec_vec_fp!(WasmVecVecFp, Fp);
        }
    """,
    "kimchi-wasm/src/poly_comm.rs": """
        use crate::wasm_vector::WasmVector;
        macro_rules! impl_poly_comm {
            ( $name:ident, $WasmG:ty ) => {
                use wasm_bindgen::prelude::*;

                #[wasm_bindgen]
                #[derive(Clone)]
                pub struct $name {
                    #[wasm_bindgen(skip)]
                    pub unshifted: WasmVector<$WasmG>,
                    pub shifted: Option<$WasmG>,
                }

                type WasmPolyComm = $name;

                #[wasm_bindgen]
                impl $name {
                    #[wasm_bindgen(constructor)]
                    pub fn new(unshifted: WasmVector<$WasmG>, shifted: Option<$WasmG>) -> Self {
                        WasmPolyComm { unshifted, shifted }
                    }

                    #[wasm_bindgen(getter)]
                    pub fn unshifted(&self) -> WasmVector<$WasmG> {
                        self.unshifted.clone()
                    }
                }

                impl From<WasmPolyComm> for Vec<$WasmG> {
                    fn from(x: WasmPolyComm) -> Self {
                        let WasmPolyComm { unshifted, shifted } = x;
                        assert!(shifted.is_none());
                        unshifted.to_vec()
                    }
                }
            };
        }

        pub mod fp {
            use super::*;
            use crate::WasmGVesta as WasmG;
            impl_poly_comm!(WasmFpPolyComm, WasmG);
        }
    """,
    "kimchi-wasm/src/proof.rs": """
        use crate::poly_comm::fp::WasmFpPolyComm as WasmPolyComm;
        use wasm_bindgen::prelude::*;

        #[wasm_bindgen]
        #[derive(Clone)]
        pub struct WasmFpProverCommitments {
            #[wasm_bindgen(skip)]
            pub w_comm: Vec<WasmPolyComm>,
            #[wasm_bindgen(skip)]
            pub lookup: Option<WasmPolyComm>,
        }

        impl WasmFpProverCommitments {
            pub fn new(w_comm: Vec<WasmPolyComm>, lookup: Option<WasmPolyComm>) -> Self {
                WasmFpProverCommitments { w_comm, lookup }
            }
        }
    """,
    "kimchi-wasm/src/srs.rs": """
        use std::sync::Arc;
        use wasm_bindgen::prelude::*;

        #[wasm_bindgen]
        pub struct WasmFpSrs(#[wasm_bindgen(skip)] pub Arc<Vec<crate::Fp>>);

        pub fn create(depth: usize) -> WasmFpSrs {
            WasmFpSrs(Arc::new(vec![crate::Fp::default(); depth]))
        }

        pub fn wrap(v: Option<Arc<Vec<crate::Fp>>>) -> Option<WasmFpSrs> {
            v.map(WasmFpSrs)
        }

        pub fn depth(s: WasmFpSrs) -> usize {
            let WasmFpSrs(inner) = s;
            inner.len()
        }
    """,
}

RUN_TEST = """
    //! Runs the patched fixture and reads what the core logged.
    use kimchi_wasm::{poly_comm::fp::WasmFpPolyComm, proof::WasmFpProverCommitments, srs, wasm_vector::fp::WasmVecVecFp};
    use kimchi_wasm::{Fp, WasmGVesta};

    fn g() -> WasmGVesta {
        WasmGVesta { x: Fp([1; 4]), infinity: false }
    }

    #[test]
    fn lifecycle_is_logged() {
        wlh_trace_core::set_sink(wlh_trace_core::Sink::Capture);
        {
            let pc = WasmFpPolyComm::new(vec![g(), g(), g()].into(), None);
            let _copy = pc.unshifted();                      // clone of a helper, not tracked
            let twin = pc.clone();                           // Clone: new id
            let pts: Vec<WasmGVesta> = twin.into();          // consumed through a pattern
            assert_eq!(pts.len(), 3);
            let comms = WasmFpProverCommitments::new(vec![pc], Some(WasmFpPolyComm::new(vec![g()].into(), None)));
            drop(comms);
            let w = WasmVecVecFp::create(15);
            drop(w);
            let s = srs::create(8);
            assert_eq!(srs::depth(s), 8);
            let wrapped = srs::wrap(Some(std::sync::Arc::new(vec![])));
            drop(wrapped);
        }
        let text = wlh_trace_core::take_captured();
        let mut alloc = std::collections::HashMap::new();
        let mut drops = 0;
        let mut types = std::collections::BTreeSet::new();
        for line in text.lines() {
            assert!(line.starts_with("@{"), "{}", line);
            if line.contains("\\"ev\\":\\"ALLOCATE\\"") {
                let id: u64 = line.split("\\"id\\":").nth(1).unwrap().split([',', '}']).next().unwrap().parse().unwrap();
                let size: u64 = line.split("\\"size\\":").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
                let ty = line.split("\\"type\\":\\"").nth(1).unwrap().split('"').next().unwrap().to_string();
                types.insert(ty);
                alloc.insert(id, size);
            } else if line.contains("\\"ev\\":\\"DROP\\"") {
                let id: u64 = line.split("\\"id\\":").nth(1).unwrap().split([',', '}']).next().unwrap().parse().unwrap();
                let size: u64 = line.split("\\"size\\":").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
                assert_eq!(alloc.get(&id), Some(&size), "DROP without matching ALLOCATE: {}", line);
                drops += 1;
            }
        }
        assert_eq!(drops, alloc.len(), "every object dropped once:\\n{}", text);
        assert_eq!(alloc.len(), 7, "{}", text);
        let want: std::collections::BTreeSet<String> = ["WasmFpPolyComm", "WasmFpProverCommitments", "WasmFpSrs", "WasmVecVecFp"]
            .iter().map(|s| s.to_string()).collect();
        assert_eq!(types, want);
        // the first WasmFpPolyComm: its struct plus the WasmVector buffer of 3 points
        let first = text.lines().find(|l| l.contains("WasmFpPolyComm") && l.contains("ALLOCATE")).unwrap();
        let size: usize = first.split("\\"size\\":").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
        assert_eq!(size, std::mem::size_of::<WasmFpPolyComm>() + 3 * std::mem::size_of::<WasmGVesta>());
        assert!(text.contains("\\"ev\\":\\"SITE\\""), "creation sites are logged");
    }
"""


@pytest.mark.skipif(CARGO is None or GIT is None, reason="cargo and git are needed to compile the patched fixture")
def test_patched_fixture_compiles_and_logs(tmp_path):
    co = tmp_path / "checkout"
    write(co, RUN_FILES)
    (co / "stubs/wasm-bindgen-macro-stub/src").mkdir(parents=True)
    (co / "stubs/wasm-bindgen-macro-stub/src/lib.rs").write_text(STUB_MACRO)
    s = gen.generate_patch(None, co, tmp_path / "out", upstream_rules=False)
    names = sorted(n for d in s["instrumented"] for n in d["names"])
    assert names == ["WasmFpPolyComm", "WasmFpProverCommitments", "WasmFpSrs", "WasmVecVecFp"]
    assert {n for d in s["helpers"] for n in d["names"]} >= {"Fp", "WasmVector", "WasmGVesta"}
    assert s["parse_ok"]
    apply(tmp_path / "out" / "bindings.patch", co)
    (co / "kimchi-wasm/tests").mkdir()
    (co / "kimchi-wasm/tests/log.rs").write_text(textwrap.dedent(RUN_TEST))
    r = subprocess.run([CARGO, "test", "--offline", "--quiet"], cwd=co / "kimchi-wasm",
                       capture_output=True, text=True, timeout=900,
                       env={**__import__("os").environ, "CARGO_TARGET_DIR": str(tmp_path / "target")})
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]


# ---------------------------------------------------------------------------------------------
# the build step

def test_check_toolchain_lists_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(sp_build.shutil, "which", lambda name: None)
    missing = sp_build.check_toolchain({"source_route": {"toolchain": "nightly-2025-12-11", "wasm_pack": "0.12.1",
                                                        "checkout": str(tmp_path / "nope")}},
                                       probe_network=False)
    text = "\n".join(missing)
    assert "rustup" in text and "wasm-pack 0.12.1" in text and "node" in text
    assert "checkout" in text


def test_build_stops_before_doing_anything(tmp_path, monkeypatch):
    monkeypatch.setattr(sp_build, "check_toolchain", lambda cfg, checkout=None, **kw: ["wasm-pack 0.12.1 (not on PATH)"])
    with pytest.raises(sp_build.BuildError, match="wasm-pack 0.12.1"):
        sp_build.build({"source_route": {}}, tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_build_command_fails_fast_on_this_machine():
    """The real prerequisites are not all here (no pinned nightly, no wasm-pack, no crates.io)."""
    import sys
    r = subprocess.run([sys.executable, "-m", "analysis.source_patch.build", "--check-only", "--no-network-probe"],
                       cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
    if r.returncode == 0:
        pytest.skip("this machine has every prerequisite of the upstream build")
    assert r.returncode == 2
    assert "missing prerequisites" in r.stderr
