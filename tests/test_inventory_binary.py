"""Step 1 binary side: the wasm name-section reader (on a module built byte by byte), drop_in_place
parsing (v0 and legacy demangling), the glue class reader (on a small JS text) and build_binary_inventory."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.inventory.binary_step import build_binary_inventory
from analysis.inventory.glue_classes import read_glue_classes, tokenize
from analysis.inventory.schema import validate
from analysis.inventory.wasm_names import (WasmFormatError, drop_in_place_functions, drop_in_place_type,
                                           read_wasm_names, strip_hashes, type_base)


# ------------------------------------------------------------------ a tiny wasm, byte by byte


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def name(s: str) -> bytes:
    b = s.encode()
    return uleb(len(b)) + b


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def build_wasm(fn_names: list[str], exports: dict[str, int], imports: int = 1) -> bytes:
    """imports function imports, then len(fn_names) - imports defined functions, all of type () -> ()."""
    ndef = len(fn_names) - imports
    mod = b"\0asm\x01\0\0\0"
    mod += section(1, vec([b"\x60\x00\x00"]))
    mod += section(2, vec([name("env") + name(f"f{i}") + b"\x00" + uleb(0) for i in range(imports)]
                          + [name("env") + name("memory") + b"\x02\x03" + uleb(1) + uleb(65536)]))  # shared memory
    mod += section(3, vec([uleb(0)] * ndef))
    mod += section(7, vec([name(n) + b"\x00" + uleb(i) for n, i in exports.items()]))
    mod += section(10, vec([uleb(2) + b"\x00\x0b"] * ndef))
    names = section(1, vec([uleb(i) + name(n) for i, n in enumerate(fn_names)]))
    mod += section(0, name("name") + section(0, name("tiny")) + names)
    prod = vec([name("processed-by") + vec([name("rustc") + name("1.0"), name("wasm-bindgen") + name("0.2.100")])])
    mod += section(0, name("producers") + prod)
    return mod


V0_DROP = "core[56cb65ee1434da58]::ptr::drop_in_place::<my_bind[f6b30211f47c0301]::fp::WasmFpThing>"
V0_DROP_VEC = ("core[56cb65ee1434da58]::ptr::drop_in_place::<alloc[e4f3d144e99f0649]::vec::Vec<"
               "my_bind[f6b30211f47c0301]::wasm_vector::WasmVector<u8>>>")
LEGACY_DROP = "core::ptr::drop_in_place<plonk_wasm::plonk_proof::fp::WasmFpProverProof>::h0123456789abcdef"

FN_NAMES = ["env_f0", V0_DROP, V0_DROP, V0_DROP_VEC,
            "__rustc[b1c156c3cad71f26]::__rust_alloc", "__rustc[b1c156c3cad71f26]::__rust_dealloc",
            "__wbg_thing_free"]


def test_name_section_reader():
    data = build_wasm(FN_NAMES, {"__wbg_thing_free": 6, "__wbg_ghost_free": 5})
    w = read_wasm_names(data)
    assert w.functions == dict(enumerate(FN_NAMES))
    assert w.module_name == "tiny"
    assert w.imported_functions == 1 and w.defined_functions == 6
    assert ("__wbg_thing_free", 0, 6) in w.exports
    assert w.producers == {"processed-by": {"rustc": "1.0", "wasm-bindgen": "0.2.100"}}
    assert w.custom_sections == ["name", "producers"]


def test_reader_rejects_non_wasm():
    with pytest.raises(WasmFormatError):
        read_wasm_names(b"not wasm at all")
    with pytest.raises(WasmFormatError):
        read_wasm_names(b"\0asm\x01\0\0\0" + b"\x01\x10\x00")   # section overruns the file


def test_drop_in_place_type_both_manglings():
    assert drop_in_place_type(V0_DROP) == "my_bind::fp::WasmFpThing"
    assert drop_in_place_type(LEGACY_DROP) == "plonk_wasm::plonk_proof::fp::WasmFpProverProof"
    assert drop_in_place_type(V0_DROP_VEC) == "alloc::vec::Vec<my_bind::wasm_vector::WasmVector<u8>>"
    closure = "core[1]::ptr::drop_in_place::<<a[2]::X<u8>>::f::{closure#0}>"
    assert drop_in_place_type(closure) == "<a::X<u8>>::f::{closure#0}"
    assert drop_in_place_type("core[1]::ptr::drop_in_place::<fn() -> u8>") == "fn() -> u8"
    assert drop_in_place_type("my_bind::something_else") is None
    assert strip_hashes("a[0123abcd]::b::c::h0123456789abcdef") == "a::b::c"


@pytest.mark.parametrize("t,expected", [
    ("my_bind::fp::WasmFpThing", ("my_bind::fp::WasmFpThing", "WasmFpThing", "my_bind")),
    ("alloc::vec::Vec<my_bind::X>", ("alloc::vec::Vec", "Vec", "alloc")),
    ("[kimchi::proof::PointEvaluations<u8>; 15usize]", ("[]", "[]", None)),
    ("(u8, alloc::string::String)", ("()", "()", None)),
    ("&mut [u8]", ("&", "&", None)),
])
def test_type_base(t, expected):
    assert type_base(t) == expected


def test_drop_in_place_grouping_and_mentions():
    names = dict(enumerate(FN_NAMES))
    groups = drop_in_place_functions(names, ("my_bind",))
    assert [(g["base"], g["count"], g["indices"], g["mentions"]) for g in groups] == [
        ("alloc::vec::Vec", 1, [3], ["my_bind::wasm_vector::WasmVector"]),
        ("my_bind::fp::WasmFpThing", 2, [1, 2], ["my_bind::fp::WasmFpThing"]),
    ]


# ------------------------------------------------------------------ the glue


GLUE = r'''
const builtIn = /\[object ([^\]]+)\]/.exec("x");
function f(a) { return `a ${ {x: a}.x } } and {`; }
const s = "class Fake {";
// class Commented {
const ThingFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_thing_free(ptr >>> 0, 1));

class Thing {

    static __wrap(ptr) {
        ptr = ptr >>> 0;
        const obj = Object.create(Thing.prototype);
        obj.__wbg_ptr = ptr;
        ThingFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }

    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        ThingFinalization.unregister(this);
        return ptr;
    }

    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_thing_free(ptr, 0);
    }
    get n() {
        const ret = wasm.__wbg_get_thing_n(this.__wbg_ptr);
        return ret;
    }
    set n(arg0) {
        wasm.__wbg_set_thing_n(this.__wbg_ptr, arg0);
    }
    static deserialize(bytes) {
        const ret = wasm.thing_deserialize(bytes);
        return Thing.__wrap(ret);
    }
    constructor(n) {
        const ret = wasm.thing_new(n);
        this.__wbg_ptr = ret >>> 0;
        ThingFinalization.register(this, this.__wbg_ptr, this);
        return this;
    }
}
module.exports.Thing = Thing;

module.exports.make = function() {
    const ret = wasm.make();
    return Thing.__wrap(ret);
};

module.exports.take = function(x) {
    _assertClass(x, Thing);
    var ptr0 = x.__destroy_into_raw();
    wasm.take(ptr0);
};

class Internal {
    method() { return { a: 1 }; }
}

module.exports.Kind = Object.freeze({
    A: 0, "0": "A",
});
'''


def test_tokenizer_skips_strings_templates_regex_and_comments():
    toks = tokenize(GLUE)
    idents = [t.text for t in toks if t.kind == "ident"]
    assert "Fake" not in idents and "Commented" not in idents
    assert any(t.kind == "regex" for t in toks)


def test_glue_classes():
    g = read_glue_classes(GLUE)
    assert [c["name"] for c in g["classes"]] == ["Thing", "Internal"]
    assert g["enums"] == ["Kind"]
    thing, internal = g["classes"]
    assert thing == {
        "name": "Thing", "line": GLUE.splitlines().index("class Thing {") + 1,
        "has_wrap": True, "has_free": True, "has_constructor": True, "has_destroy_into_raw": True,
        "free_export": "__wbg_thing_free", "constructor_export": "thing_new",
        "finalization_registry": "ThingFinalization", "exported": True,
        "methods": ["__destroy_into_raw", "free"], "static_methods": ["__wrap", "deserialize"],
        "getters": ["n"], "setters": ["n"], "wrap_sites": 2, "consumed_sites": 1,
    }
    assert internal["exported"] is False and internal["has_free"] is False and internal["methods"] == ["method"]


# ------------------------------------------------------------------ build_binary_inventory on a fake package


def fake_o1js(root: Path, layout: str = "legacy") -> Path:
    """layout legacy: o1js <= 2.14 (_node_bindings/plonk_wasm.cjs); new: node_bindings/kimchi_wasm.cjs with a backend."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps({"name": "o1js", "version": "9.9.9"}))
    if layout == "legacy":
        d = root / "dist/node/bindings/compiled/_node_bindings"
        stem = "plonk_wasm"
        names = ["env_f0", LEGACY_DROP, LEGACY_DROP, "__rust_alloc", "__wbg_thing_free"]
    else:
        d = root / "dist/node/bindings/compiled/node_bindings"
        stem = "kimchi_wasm"
        names = FN_NAMES
        nb = root / "dist/node/bindings/js/node/node-backend.js"
        nb.parent.mkdir(parents=True, exist_ok=True)
        nb.write_text("let p = '../../compiled/node_bindings/kimchi_wasm.cjs';\n")
        conv = root / "dist/node/bindings/crypto/bindings/conversion-core.js"
        conv.parent.mkdir(parents=True, exist_ok=True)
        conv.write_text("function wrap(ptr, Class) {\n    const obj = Object.create(Class.prototype);\n"
                        "    obj.__wbg_ptr = ptr;\n    return obj;\n}\nlet a = wrap(1, X);\n")
        # a stale leftover next to it must not be picked
        (d / "plonk_wasm.cjs").parent.mkdir(parents=True, exist_ok=True)
        (d / "plonk_wasm.cjs").write_text("class Stale {}\n")
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{stem}.cjs").write_text(GLUE)
    (d / f"{stem}_bg.wasm").write_bytes(build_wasm(names, {"__wbg_thing_free": len(names) - 1}))
    return root


def test_build_binary_inventory_legacy_layout(tmp_path):
    o1js = fake_o1js(tmp_path / "o1js")
    out = tmp_path / "a" / "binary_inventory.json"
    res = build_binary_inventory(o1js, out)
    validate(res, "binary_inventory")
    assert json.loads(out.read_text()) == res
    b = res["binary"]
    assert b["o1js_version"] == "9.9.9" and b["bindings_crate"] == "plonk_wasm" and b["mangling"] == "legacy"
    assert b["glue"] == "dist/node/bindings/compiled/_node_bindings/plonk_wasm.cjs" and b["loaded_by"] is None
    assert b["drop_in_place_functions"] == 2 and b["drop_in_place_distinct"] == 1
    assert b["free_exports"] == ["__wbg_thing_free"]
    assert b["allocator_functions"] == {"__rust_alloc": [3]}
    assert res["drop_in_place"][0]["mentions"] == ["plonk_wasm::plonk_proof::fp::WasmFpProverProof"]
    assert [c["name"] for c in res["glue_classes"]] == ["Thing", "Internal"]
    assert str(tmp_path) not in out.read_text()


def test_build_binary_inventory_new_layout_follows_the_backend(tmp_path):
    o1js = fake_o1js(tmp_path / "o1js", layout="new")
    res = build_binary_inventory(o1js, tmp_path / "b.json")
    b = res["binary"]
    assert b["glue"] == "dist/node/bindings/compiled/node_bindings/kimchi_wasm.cjs"
    assert b["loaded_by"] == "dist/node/bindings/js/node/node-backend.js"
    assert b["mangling"] == "v0" and b["bindings_crate"] == "kimchi_wasm"
    assert b["allocator_functions"] == {"__rust_alloc": [4], "__rust_dealloc": [5]}
    assert b["js_side_wrappers"] == [{"file": "dist/node/bindings/crypto/bindings/conversion-core.js", "line": 2,
                                      "function": "wrap", "call_sites": 1}]


def test_missing_glue_is_an_error(tmp_path):
    (tmp_path / "package.json").write_text("{}")
    with pytest.raises(FileNotFoundError):
        build_binary_inventory(tmp_path, tmp_path / "x.json")
