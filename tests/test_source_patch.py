"""The source-route patch generator (analysis/source_patch) on small Rust fixtures written here,
shaped like the real bindings layer: macro_rules! templates expanded for Fp and Fq (with paste! and
with plain `$name:ident`), tuple structs, #[wasm_bindgen] getters returning clones, Clone derives,
Copy types, aliases through `use .. as ..`, struct patterns and tuple constructors used as
functions. One fixture is compiled and run for real (cargo, offline) against stub wasm-bindgen
crates written by this test."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import jsonschema
import pytest

from analysis.source_patch import build as sp_build
from analysis.source_patch import generator as gen
from analysis.source_patch import rust_syntax as rs

ROOT = Path(__file__).resolve().parent.parent
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
    # the constructor through the template alias: the site names the concrete type through
    # `<Self as Traced>::SITE_BASE` (module path + concrete name), never the alias, and no
    # `stringify!` of a path (which would put spaces around `::`)
    assert ("::wlh_trace_core::track_in(WasmPolyComm { unshifted, shifted, wlh_trace: "
            "::wlh_trace_core::Tracked::pending() }, <Self as ::wlh_trace_core::Traced>::SITE_BASE, "
            "concat!(\"::\", \"new\", \" (kimchi-wasm/src/poly_comm.rs:19)\"))") in pc
    assert ("const SITE_BASE: &'static str = concat!(module_path!(), \"::\", "
            "stringify!([<Wasm $field_name:camel PolyComm>]));") in pc
    assert "::new)" not in pc and "stringify!(WasmPolyComm" not in pc
    # `Self { .. }` in a From impl, multi-line, trailing comma added
    assert ("                    ::wlh_trace_core::track_in(Self {\n"
            "                        unshifted: x,\n"
            "                        shifted: None,\n"
            "                        wlh_trace: ::wlh_trace_core::Tracked::pending(),\n"
            "                    }, <Self as ::wlh_trace_core::Traced>::SITE_BASE, concat!(\"::\", \"from\", ") in pc
    # Clone is generated instead of derived: built field by field, measured, with a site
    assert "#[derive()]\n            pub struct [<Wasm $field_name:camel PolyComm>]" in pc
    assert ("impl ::core::clone::Clone for [<Wasm $field_name:camel PolyComm>] {\n"
            "                fn clone(&self) -> Self {\n"
            "                    ::wlh_trace_core::track_in(\n"
            "                        Self { unshifted: ::core::clone::Clone::clone(&self.unshifted), "
            "shifted: ::core::clone::Clone::clone(&self.shifted), wlh_trace: ::wlh_trace_core::Tracked::pending() },\n"
            "                        <Self as ::wlh_trace_core::Traced>::SITE_BASE,\n"
            "                        \"::clone (kimchi-wasm/src/poly_comm.rs:7)\",") in pc
    # exported methods open the export context, named as wasm-bindgen names the export
    assert ("pub fn new(unshifted: Vec<$WasmG>, shifted: Option<$WasmG>) -> Self {\n"
            "                    let _wlh_export = ::wlh_trace_core::enter_method("
            "stringify!([<Wasm $field_name:camel PolyComm>]), \"new\");\n") in pc
    assert pc.count("let _wlh_export") == 2          # new and the getter; From impls are not exports
    # destructuring pattern gets `..`
    assert "let WasmPolyComm {unshifted, shifted, ..} = x;" in pc
    # getters that clone stay as they are (Clone of the tracker takes a new id)
    assert "self.unshifted.clone()" in pc

    srs = (paste_checkout / "kimchi-wasm/src/srs.rs").read_text()
    assert ("pub struct WasmFpSrs(#[wasm_bindgen(skip)] pub Arc<Vec<u64>>, "
            "#[wasm_bindgen(skip)] pub ::wlh_trace_core::Tracked<Self>);") in srs
    assert ("::wlh_trace_core::track_at(WasmFpSrs(Arc::new(vec![0; depth]), "
            "::wlh_trace_core::Tracked::pending()), concat!(module_path!(), \"::\", \"create\", "
            "\" (kimchi-wasm/src/srs.rs:8)\"))") in srs
    assert ("v.map(|__wlh0| ::wlh_trace_core::track_at(WasmFpSrs(__wlh0, ::wlh_trace_core::Tracked::pending()), "
            "concat!(module_path!(), \"::\", \"maybe\", \" (kimchi-wasm/src/srs.rs:12)\")))") in srs
    assert "let WasmFpSrs(inner, ..) = s;" in srs
    assert "&mut self.1" in srs
    assert 'const TYPE_NAME: &\'static str = "WasmFpSrs";' in srs

    vec = (paste_checkout / "kimchi-wasm/src/vec.rs").read_text()
    assert ("::wlh_trace_core::track_in([<WasmVecVec $F:camel>](Vec::with_capacity(n as usize), "
            "::wlh_trace_core::Tracked::pending()), <Self as ::wlh_trace_core::Traced>::SITE_BASE, "
            "concat!(\"::\", \"create\", \" (kimchi-wasm/src/vec.rs:13)\"))") in vec

    lib = (paste_checkout / "kimchi-wasm/src/lib.rs").read_text()
    # the sink: a JS function imported through wasm-bindgen that writes synchronously, not console.log
    assert "pub fn wlh_trace_sink_write(line: &str) {\n    wlh_trace_sink_js(line);\n}" in lib
    assert ("#[wasm_bindgen(js_namespace = __wlh_trace_sink, js_name = write)]\n"
            "    fn wlh_trace_sink_js(line: &str);") in lib
    added = lib[lib.index("wasm-leak-hunt"):]
    code = [ln for ln in added.splitlines() if not ln.lstrip().startswith("//")]
    assert not [ln for ln in code if "console" in ln], "the sink must not use console.log"
    # SNAPSHOT export and the counting allocator
    assert "pub fn wlh_trace_snapshot(iteration: i32, phase: &str) {" in lib
    assert ("#[global_allocator]\nstatic WLH_TRACE_ALLOC: ::wlh_trace_core::CountingAlloc<::std::alloc::System> =") in lib
    assert "pub mod wlh_trace;" in lib
    assert s["runtime"]["counting_allocator"].startswith("added")
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
                          "struct_pattern": 1, "tuple_struct_pattern": 1,
                          "export_context": 4, "clone_impl": 1}
    text = (out / "summary.json").read_text() + (out / "summary.md").read_text()
    assert "wlh_trace_core::track" not in text, "no patch text in the committed summary"
    assert str(tmp_path) not in text, "no absolute path of this machine"
    assert (out / ".gitignore").read_text().count("*.patch") == 1


def test_every_crate_that_calls_the_core_depends_on_it(paste_checkout, tmp_path):
    # the first wasm32 build of the generated patch failed in crates/arkworks: its exports got an export
    # context, but only kimchi-wasm depended on the core crate
    write(paste_checkout, {
        "crates/arkworks/Cargo.toml": """
            [package]
            name = "arkworks"
            version = "0.1.0"

            [dependencies]
            wasm-bindgen = "0.2"
            """,
        "crates/arkworks/src/lib.rs": """
            use wasm_bindgen::prelude::*;
            #[wasm_bindgen]
            pub fn caml_bigint_256_num_limbs() -> i32 {
                4
            }
            """,
        "crates/wasm-types/Cargo.toml": "[package]\nname = \"wasm-types\"\nversion = \"0.1.0\"\n",
        "crates/wasm-types/src/lib.rs": "pub fn untouched() {}\n",
    })
    out = tmp_path / "out"
    gen.generate_patch(None, paste_checkout, out, upstream_rules=False)
    patch = (out / "bindings.patch").read_text()
    assert 'enter_export("caml_bigint_256_num_limbs")' in patch
    touched = [line[6:] for line in patch.splitlines() if line.startswith("+++ b/") and line.endswith("Cargo.toml")]
    assert touched == ["crates/arkworks/Cargo.toml", "kimchi-wasm/Cargo.toml", "wlh-trace-core/Cargo.toml"]
    assert 'wlh-trace-core = { path = "../../wlh-trace-core"' in patch
    if GIT is not None:
        apply(out / "bindings.patch", paste_checkout)


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


def test_no_sites_registers_without_sites_or_export_contexts(paste_checkout, tmp_path):
    if GIT is None:
        pytest.skip("git not installed")
    s = gen.generate_patch(None, paste_checkout, tmp_path / "out", upstream_rules=False, sites=False)
    assert "export_context" not in s["counts"]["sites"]
    apply(tmp_path / "out" / "bindings.patch", paste_checkout)
    for rel in ("kimchi-wasm/src/poly_comm.rs", "kimchi-wasm/src/srs.rs", "kimchi-wasm/src/vec.rs"):
        text = (paste_checkout / rel).read_text()
        assert "::wlh_trace_core::track(" in text, rel
        assert not any(k in text for k in ("track_at(", "track_in(", "enter_export(", "enter_method(")), rel


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
                #[derive(Default)]
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
        use crate::poly_comm::fp::WasmFpPolyComm;
        use std::sync::Arc;
        use wasm_bindgen::prelude::*;

        #[wasm_bindgen]
        #[derive(Clone)]
        pub struct WasmFpSrs(#[wasm_bindgen(skip)] pub Arc<Vec<crate::Fp>>);

        #[wasm_bindgen]
        pub fn caml_fp_srs_create(depth: usize) -> WasmFpSrs {
            WasmFpSrs(Arc::new(vec![crate::Fp::default(); depth]))
        }

        pub fn wrap(v: Option<Arc<Vec<crate::Fp>>>) -> Option<WasmFpSrs> {
            v.map(WasmFpSrs)
        }

        pub fn depth(s: WasmFpSrs) -> usize {
            let WasmFpSrs(inner) = s;
            inner.len()
        }

        /// Like caml_fp_srs_lagrange_commitments_whole_domain_read_from_ptr: returns clones.
        #[wasm_bindgen]
        pub fn caml_fp_srs_lagrange_commitments_read(v: &Vec<WasmFpPolyComm>) -> Vec<WasmFpPolyComm> {
            v.clone()
        }
    """,
}

RUN_TEST = """
    //! Runs the patched fixture, checks the sizes Rust can know, and writes the log for the
    //! Python side (schema, ids, sites, snapshots, the Step 3 parser).
    use kimchi_wasm::{poly_comm::fp::WasmFpPolyComm, proof::WasmFpProverCommitments, srs, wasm_vector::fp::WasmVecVecFp};
    use kimchi_wasm::{Fp, WasmGVesta};
    use std::mem::size_of;
    use wlh_trace_core::TRACKER_BYTES;

    fn g() -> WasmGVesta {
        WasmGVesta { x: Fp([1; 4]), infinity: false }
    }

    /// Shaped like o1-utils' LazyCache Debug: the size rule reads the cache only when the probe
    /// says it is filled; formatting must stop as soon as the probe knows.
    struct Lazy(Option<u64>);
    impl std::fmt::Debug for Lazy {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self.0 {
                None => f.write_str("LazyCache(<uninitialized>)"),
                Some(v) => {
                    f.write_str("LazyCache(")?;
                    write!(f, "{v}")?;
                    unreachable!("the probe must stop the formatting at the first differing byte")
                }
            }
        }
    }

    #[test]
    fn lazy_cache_probe() {
        use kimchi_wasm::wlh_trace::debug_starts_with;
        assert!(debug_starts_with(&Lazy(None), "LazyCache(<uninitialized>)"));
        assert!(!debug_starts_with(&Lazy(Some(7)), "LazyCache(<uninitialized>)"));
        assert!(!debug_starts_with(&Lazy(None), "LazyCache(<uninitialized>) and more"));
    }

    #[test]
    fn lifecycle_is_logged() {
        wlh_trace_core::set_sink(wlh_trace_core::Sink::Capture);
        kimchi_wasm::wlh_trace_snapshot(0, "after_compile");
        {
            let pc = WasmFpPolyComm::new(vec![g(), g(), g()].into(), None);
            // its struct without the tracker, plus the WasmVector buffer of 3 points
            assert_eq!(pc.wlh_trace.size() as usize,
                       size_of::<WasmFpPolyComm>() - TRACKER_BYTES + 3 * size_of::<WasmGVesta>());
            let _copy = pc.unshifted();                      // clone of a helper, not tracked
            let twin = pc.clone();                           // generated Clone: new id, measured
            assert_eq!(twin.wlh_trace.size(), pc.wlh_trace.size());
            let pts: Vec<WasmGVesta> = twin.into();          // consumed through a pattern
            assert_eq!(pts.len(), 3);
            let comms = WasmFpProverCommitments::new(vec![pc], Some(WasmFpPolyComm::new(vec![g()].into(), None)));
            drop(comms);
            let w = WasmVecVecFp::create(15);
            drop(w);
            let d = WasmVecVecFp::default();                 // generated Default
            assert_eq!(d.1.size() as usize, size_of::<WasmVecVecFp>() - TRACKER_BYTES);
            drop(d);
            let s = srs::caml_fp_srs_create(8);
            let s2 = s.clone();                              // shares the Arc: counted once
            let arc_block = 2 * size_of::<usize>() + size_of::<Vec<Fp>>() + 8 * size_of::<Fp>();
            assert_eq!(s.1.size() as usize, size_of::<srs::WasmFpSrs>() - TRACKER_BYTES + arc_block);
            assert_eq!(s2.1.size() as usize, size_of::<srs::WasmFpSrs>() - TRACKER_BYTES);
            assert_eq!(srs::depth(s), 8);
            drop(s2);
            let wrapped = srs::wrap(Some(std::sync::Arc::new(vec![])));
            drop(wrapped);
            let base = vec![WasmFpPolyComm::new(vec![g(); 2].into(), None),
                            WasmFpPolyComm::new(vec![g(); 5].into(), None)];
            let leaked = srs::caml_fp_srs_lagrange_commitments_read(&base);
            std::mem::forget(leaked);                        // left alive, as o1js leaks them
            drop(base);
        }
        kimchi_wasm::wlh_trace_snapshot(1, "after_prove");
        std::fs::write(std::env::var("WLH_TEST_OUT").unwrap(), wlh_trace_core::take_captured()).unwrap();
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
    log = tmp_path / "fixture.log"
    r = subprocess.run([CARGO, "test", "--offline", "--quiet"], cwd=co / "kimchi-wasm",
                       capture_output=True, text=True, timeout=900,
                       env={**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target"), "WLH_TEST_OUT": str(log)})
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    text = log.read_text()
    objs = [json.loads(ln[1:]) for ln in text.splitlines()]
    validator = jsonschema.Draft202012Validator(json.loads((ROOT / "schemas/trace-event.schema.json").read_text()))
    for o in objs:
        assert not list(validator.iter_errors(o)), o
    allocs = [o for o in objs if o["ev"] == "ALLOCATE"]
    drops = {o["id"]: o for o in objs if o["ev"] == "DROP"}
    sites = {o["site"]: o for o in objs if o["ev"] == "SITE"}
    assert [a["id"] for a in allocs] == list(range(len(allocs)))
    assert {a["type"] for a in allocs} == {"WasmFpPolyComm", "WasmFpProverCommitments", "WasmFpSrs", "WasmVecVecFp"}
    # every construction path has a site; site names have no spaces and name the concrete type
    assert all("site" in a for a in allocs), [a for a in allocs if "site" not in a]
    for site in sites.values():
        assert " " not in site["alloc_fn"].split(" (")[0], site
        assert "WasmPolyComm::" not in site["alloc_fn"] and "WasmG::" not in site["alloc_fn"], site
    by_site = {(sites[a["site"]]["rust"], sites[a["site"]]["alloc_fn"].split(" (")[0]) for a in allocs}
    assert (("wasmfppolycomm_new", "kimchi_wasm::poly_comm::fp::WasmFpPolyComm::new") in by_site)
    assert ((None, "kimchi_wasm::poly_comm::fp::WasmFpPolyComm::clone") in by_site)   # pc.clone() in the test
    assert (("caml_fp_srs_create", "kimchi_wasm::srs::caml_fp_srs_create") in by_site)
    assert ((None, "kimchi_wasm::srs::WasmFpSrs::clone") in by_site)
    assert ((None, "kimchi_wasm::wasm_vector::fp::WasmVecVecFp::default") in by_site)
    # the leak: clones made inside the export, named as the binary route names it
    left = [a for a in allocs if a["id"] not in drops]
    assert len(left) == 2 and {a["type"] for a in left} == {"WasmFpPolyComm"}
    for a in left:
        assert sites[a["site"]]["rust"] == "caml_fp_srs_lagrange_commitments_read"
        assert sites[a["site"]]["alloc_fn"].startswith("kimchi_wasm::poly_comm::fp::WasmFpPolyComm::clone (")
    for i, d in drops.items():
        a = allocs[i]
        assert (a["size"], a["type"]) == (d["size"], d["type"])
    # SNAPSHOT lines from the exported function, with the counting allocator installed
    snaps = [o for o in objs if o["ev"] == "SNAPSHOT"]
    assert [(o["iteration"], o["phase"]) for o in snaps] == [(0, "after_compile"), (1, "after_prove")]
    assert all(o["allocator_counted"] and o["live_heap_bytes"] > 0 for o in snaps)
    assert snaps[1]["tracked_live_objects"] == 2
    assert snaps[1]["tracked_live_bytes"] == sum(a["size"] for a in left)
    # and the Step 3 parser reads it with every check passing
    from analysis.parse import parse_bytes
    result = parse_bytes(text.encode(), "fixture")
    assert result.failed_checks == [], result.failed_checks
    assert dict(result.never_dropped_by_type) == {"WasmFpPolyComm": sum(a["size"] for a in left)}


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


# ---------------------------------------------------------------------------------------------
# the install step: glue post-processing, the synchronous trace sink, the o1js copy

NODE = shutil.which("node")

# The shape of wasm-bindgen's Node glue where the post-processing applies (no real wasm: the
# "exports" are JS functions that call the sink import as the Rust core would).
FAKE_GLUE = r"""
let imports = {};
imports['__wbindgen_placeholder__'] = module.exports;
let wasm;
imports.wbg = { memory: new WebAssembly.Memory({initial:1,maximum:16,shared:true}) };
module.exports.memory = imports.wbg.memory;
module.exports.emit = function (n, tag) {
    for (let i = 0; i < n; i++) __wlh_trace_sink.write(`@{"ev":"META","tag":"${tag}","i":${i}}`);
};
module.exports.wlh_trace_snapshot = function (iteration, phase) {
    __wlh_trace_sink.write('@' + JSON.stringify({ ev: 'SNAPSHOT', iteration, phase,
        memory_bytes: imports.wbg.memory.buffer.byteLength, live_heap_bytes: 0, live_blocks: 0 }));
};
wasm = { __wbindgen_start: (size) => { module.exports.thread_stack = size; } };
module.exports.__wasm = wasm;
wasm.__wbindgen_start();
"""

# An ES module importing the copied o1js the way a user program does, with worker threads that
# load the same glue (as o1js's node backend does), write many lines and then block for ever, as a
# rayon worker does inside the pool; the main thread exits while they are blocked. A sink writing
# through console.log loses the workers' lines here (Node forwards them asynchronously).
DRIVER = r"""
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const [o1js, glueFile] = process.argv.slice(2);
if (isMainThread) {
  await import(o1js);                       // resolves o1js's own dependency through node_modules
  const glue = require(glueFile);
  new Uint8Array(glue.memory.buffer)[0] = 42;
  glue.emit(100, 'main');
  const done = new Int32Array(new SharedArrayBuffer(4));
  for (const k of [0, 1, 2]) {
    new Worker(new URL(import.meta.url), { argv: [o1js, glueFile], workerData: { memory: glue.memory, k, done } });
  }
  while (Atomics.load(done, 0) < 3) await new Promise((ok) => setTimeout(ok, 5));
  globalThis.__wlhSample({ iteration: 1, phase: 'after_prove', wasm_memory_bytes: 0 });
  if (glue.thread_stack !== 1048576) throw new Error(`thread stack ${glue.thread_stack}`);
  process.exit(0);                           // the workers are still blocked
} else {
  const glue = require(glueFile);
  const seen = new Uint8Array(glue.memory.buffer)[0];
  glue.emit(1000, `w${workerData.k}-shared${seen}`);
  Atomics.add(workerData.done, 0, 1);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);   // like a rayon worker: never returns
}
"""


def _fake_o1js(root: Path) -> Path:
    """node_modules/{o1js, fakedep}: an o1js whose entry point needs a dependency installed beside it."""
    write(root, {
        "node_modules/fakedep/package.json": '{"name": "fakedep", "version": "1.0.0", "main": "index.js"}',
        "node_modules/fakedep/index.js": "module.exports = { ok: true };",
        "node_modules/o1js/package.json": '{"name": "o1js", "version": "9.9.9", "type": "module"}',
        "node_modules/o1js/dist/node/index.js": "import dep from 'fakedep';\nexport const ok = dep.ok;\n",
        "node_modules/o1js/dist/node/bindings/compiled/node_bindings/kimchi_wasm.cjs": "// shipped glue\n",
        "node_modules/o1js/dist/node/bindings/compiled/node_bindings/kimchi_wasm_bg.wasm": "shipped",
    })
    return root / "node_modules" / "o1js"


def test_postprocess_glue_edits_apply_once_and_fail_loudly():
    out = sp_build.postprocess_glue(FAKE_GLUE)
    assert out.startswith("require('./wlh-trace-sink.cjs');")
    assert "__wlhMain ? new WebAssembly.Memory({initial:1,maximum:16,shared:true}) : __wlhData.memory" in out
    assert "wasm.__wbindgen_start(Number(process.env.O1JS_WASM_THREAD_STACK_SIZE ?? 1048576));" in out
    assert out.rstrip().endswith("require('./wlh-trace-sink.cjs').attach(module.exports); // wasm-leak-hunt: SNAPSHOT hook")
    with pytest.raises(sp_build.BuildError, match="already post-processed"):
        sp_build.postprocess_glue(out)
    # wasm-bindgen copies the snapshot export's doc comment, which names the sink file, into the glue
    doc = "/**\n * calls it at each iteration boundary (which `wlh-trace-sink.cjs` sets).\n */\n"
    assert sp_build.postprocess_glue(doc + FAKE_GLUE).count("require('./wlh-trace-sink.cjs')") == 2
    with pytest.raises(sp_build.BuildError, match="unknown glue layout"):
        sp_build.postprocess_glue(FAKE_GLUE.replace("imports.wbg = { memory:", "imports.wbg = { mem:"))
    with pytest.raises(sp_build.BuildError, match="found 0 times"):
        sp_build.postprocess_glue(FAKE_GLUE.replace("wasm.__wbindgen_start();", ""))


@pytest.mark.skipif(NODE is None, reason="node is needed to run the installed glue")
def test_install_copy_imports_and_sink_loses_no_worker_line(tmp_path):
    src = _fake_o1js(tmp_path / "pkgs")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/kimchi_wasm.js").write_text(FAKE_GLUE)
    (tmp_path / "pkg/kimchi_wasm_bg.wasm").write_bytes(b"\0asm-new")
    res = sp_build.install(tmp_path / "pkg/kimchi_wasm.js", tmp_path / "pkg/kimchi_wasm_bg.wasm",
                           tmp_path / "out", o1js_dir=src)
    copy = Path(res["o1js"])
    assert (copy / "node_modules").is_symlink()
    # the original package is untouched (the copy is hard links: files were replaced, not written through)
    assert (src / "dist/node/bindings/compiled/node_bindings/kimchi_wasm.cjs").read_text() == "// shipped glue\n"
    assert (src / "dist/node/bindings/compiled/node_bindings/kimchi_wasm_bg.wasm").read_text() == "shipped"
    (tmp_path / "driver.mjs").write_text(DRIVER)
    log = tmp_path / "trace.log"
    r = subprocess.run([NODE, str(tmp_path / "driver.mjs"), str(copy / "dist/node/index.js"), res["glue"]],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "WLH_TRACE_LOG": str(log)})
    assert r.returncode == 0, r.stderr
    objs = [json.loads(ln[1:]) for ln in log.read_text().splitlines()]
    assert objs[0]["ev"] == "META" and objs[0]["route"] == "source" and objs[0]["o1js_version"] == "9.9.9"
    tags = [o.get("tag") for o in objs[1:] if o["ev"] == "META"]
    assert tags.count("main") == 100
    for k in range(3):   # every worker line arrived, and the workers saw the main thread's memory
        assert tags.count(f"w{k}-shared42") == 1000, (k, len(tags))
    snap = objs[-1]
    assert snap["ev"] == "SNAPSHOT" and (snap["iteration"], snap["phase"]) == (1, "after_prove")
    assert snap["memory_bytes"] == 65536


def test_install_refuses_missing_inputs(tmp_path):
    with pytest.raises(sp_build.BuildError, match="glue not found"):
        sp_build.install(tmp_path / "nope.js", tmp_path / "nope.wasm", tmp_path / "out",
                         o1js_dir=_fake_o1js(tmp_path / "pkgs"))
