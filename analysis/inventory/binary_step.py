"""Step 1, binary side: what the shipped o1js package shows, independently of the Rust source.

From the installed o1js package: the wasm-bindgen glue that the Node backend loads (JS classes) and
its wasm binary (name section: drop_in_place::<T> functions, allocator entry points; export section:
the __wbg_<class>_free functions). Writes artifacts/step1/binary_inventory.json
(schema: schemas/inventory.schema.json#/$defs/binary_inventory).
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

from .schema import validate
from .glue_classes import read_glue_classes
from .wasm_names import allocator_functions, drop_in_place_functions, mangling_of, read_wasm_file

# glue files, newest layout first: o1js >= 2.15 (kimchi_wasm) and <= 2.14 (plonk_wasm, underscore folder)
GLUE_CANDIDATES = (
    "dist/node/bindings/compiled/node_bindings/kimchi_wasm.cjs",
    "dist/node/bindings/compiled/_node_bindings/plonk_wasm.cjs",
    "dist/node/bindings/compiled/node_bindings/plonk_wasm.cjs",
)
NODE_BACKENDS = ("dist/node/bindings/js/node/node-backend.js", "dist/node/bindings/js/node-backend.js")
# crates of the bindings layer whose paths we look for inside drop_in_place types (besides the main one)
HELPER_CRATES = ("wasm_types", "arkworks")


def _log(msg: str) -> None:
    print(f"[inventory:binary] {msg}", file=sys.stderr, flush=True)


def find_glue(o1js_dir: Path) -> tuple[Path, str | None]:
    """(glue path, backend file that names it or None). Prefers the file the Node backend requires."""
    for nb in NODE_BACKENDS:
        p = o1js_dir / nb
        if p.is_file():
            m = re.search(r"compiled/(_?node_bindings)/(\w+)\.cjs", p.read_text(errors="replace"))
            if m:
                g = o1js_dir / "dist/node/bindings/compiled" / m.group(1) / f"{m.group(2)}.cjs"
                if g.is_file():
                    return g, nb
    for c in GLUE_CANDIDATES:
        if (o1js_dir / c).is_file():
            return o1js_dir / c, None
    raise FileNotFoundError("no wasm-bindgen glue (kimchi_wasm.cjs / plonk_wasm.cjs) in the o1js package")


def js_side_wrappers(o1js_dir: Path) -> list[dict]:
    """Places in o1js's own JS (outside the generated glue) that make a handle object by hand:
    `Object.create(X.prototype)` followed by a `__wbg_ptr =` assignment. Objects made there bypass the
    glue's `__wrap` and FinalizationRegistry."""
    root = o1js_dir / "dist/node/bindings"
    out = []
    if not root.is_dir():
        return out
    files = sorted(p for p in root.rglob("*.js") if "compiled" not in p.relative_to(root).parts)
    texts = {p: p.read_text(errors="replace") for p in files}
    for p, txt in texts.items():
        lines = txt.splitlines()
        for i, ln in enumerate(lines):
            if "Object.create(" in ln and ".prototype" in ln and any("__wbg_ptr" in x and "=" in x
                                                                   for x in lines[i + 1:i + 4]):
                fn = None
                for j in range(i, -1, -1):
                    m = re.search(r"\bfunction\s+(\w+)\s*\(", lines[j])
                    if m:
                        fn = m.group(1)
                        break
                calls = 0
                if fn:
                    pat = re.compile(r"(?<![\w.])" + re.escape(fn) + r"\(")
                    calls = sum(len(pat.findall(t)) for t in texts.values()) - 1
                out.append({"file": p.relative_to(o1js_dir).as_posix(), "line": i + 1, "function": fn,
                            "call_sites": max(calls, 0)})
    return out


def build_binary_inventory(o1js_dir: Path, out: Path) -> dict:
    """Read the o1js package at o1js_dir (the folder with its package.json) and write binary_inventory.json."""
    o1js_dir = Path(o1js_dir)
    try:
        version = json.loads((o1js_dir / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        version = None
    glue, backend = find_glue(o1js_dir)
    stem = glue.stem                                   # kimchi_wasm | plonk_wasm
    wasm = glue.with_name(f"{stem}_bg.wasm")
    if not wasm.is_file():
        raise FileNotFoundError(f"{wasm.name} not found next to {glue.name}")
    _log(f"o1js {version}: glue {glue.relative_to(o1js_dir)}" + (f" (required by {backend})" if backend else ""))
    data = wasm.read_bytes()
    names = read_wasm_file(wasm)
    bindings_crate = stem
    drops = drop_in_place_functions(names.functions, (bindings_crate,) + HELPER_CRATES)
    _log(f"{wasm.name}: {len(data)} bytes, {len(names.functions)} named functions, "
         f"{sum(d['count'] for d in drops)} drop_in_place functions ({len(drops)} distinct names)")
    glue_info = read_glue_classes(glue.read_text(errors="replace"))
    _log(f"{glue.name}: {len(glue_info['classes'])} classes, {len(glue_info['enums'])} enums")
    free_exports = sorted(n for n, kind, _ in names.exports if kind == 0 and re.fullmatch(r"__wbg_\w+_free", n))
    result = {
        "schema_version": 1,
        "binary": {
            "o1js_version": version,
            "glue": glue.relative_to(o1js_dir).as_posix(),
            "loaded_by": backend,
            "wasm": wasm.relative_to(o1js_dir).as_posix(),
            "wasm_sha256": hashlib.sha256(data).hexdigest(),
            "wasm_bytes": len(data),
            "bindings_crate": bindings_crate,
            "mangling": mangling_of(names.functions),
            "producers": names.producers,
            "custom_sections": names.custom_sections,
            "functions": names.imported_functions + names.defined_functions,
            "imported_functions": names.imported_functions,
            "named_functions": len(names.functions),
            "drop_in_place_functions": sum(d["count"] for d in drops),
            "drop_in_place_distinct": len(drops),
            "allocator_functions": allocator_functions(names.functions),
            "free_exports": free_exports,
            "glue_enums": glue_info["enums"],
            "js_side_wrappers": js_side_wrappers(o1js_dir),
        },
        "glue_classes": glue_info["classes"],
        "drop_in_place": drops,
    }
    validate(result, "binary_inventory")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    _log(f"wrote {out.name}")
    return result
