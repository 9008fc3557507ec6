"""Read a wasm binary's function names (the `name` custom section) and find drop_in_place functions.

The binary format is parsed directly: magic + version, then sections (id byte, LEB128 size). We read
the import section (to count imported functions), the function section (to count defined functions),
the export section, the `name` custom section (subsection 1: function names) and `producers`.

Rust symbol names come already demangled in the name section, in either form:
- v0:     core[56cb65ee1434da58]::ptr::drop_in_place::<kimchi_wasm[f6b3..]::plonk_proof::fp::WasmFpProverProof>
- legacy: core::ptr::drop_in_place<plonk_wasm::plonk_proof::fp::WasmFpProverProof>::h0123456789abcdef
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

WASM_MAGIC = b"\0asm"
HASH_RE = re.compile(r"\[[0-9a-f]{1,16}\]")
LEGACY_HASH_RE = re.compile(r"::h[0-9a-f]{16}$")
ALLOCATOR_NAMES = ("__rust_alloc", "__rust_dealloc", "__rust_realloc", "__rust_alloc_zeroed")
DLMALLOC_NAMES = ("malloc", "free", "realloc", "memalign", "calloc")


class WasmFormatError(Exception):
    pass


def _leb_u(b: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(b):
            raise WasmFormatError("truncated LEB128")
        x = b[i]
        i += 1
        result |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            return result, i


def _name(b: bytes, i: int) -> tuple[str, int]:
    n, i = _leb_u(b, i)
    if i + n > len(b):
        raise WasmFormatError("truncated name")
    return b[i:i + n].decode("utf-8", "replace"), i + n


@dataclass
class WasmNames:
    functions: dict[int, str] = field(default_factory=dict)     # function index -> name
    module_name: str | None = None
    imported_functions: int = 0
    defined_functions: int = 0
    exports: list[tuple[str, int, int]] = field(default_factory=list)  # (name, kind, index)
    producers: dict[str, dict[str, str]] = field(default_factory=dict)
    custom_sections: list[str] = field(default_factory=list)


def _skip_limits(b: bytes, i: int) -> int:
    flags = b[i]
    i += 1
    _, i = _leb_u(b, i)
    if flags & 1:
        _, i = _leb_u(b, i)
    return i


def read_wasm_names(data: bytes) -> WasmNames:
    """Parse the sections we need. Raises WasmFormatError on a malformed module."""
    if data[:4] != WASM_MAGIC:
        raise WasmFormatError("not a wasm module (bad magic)")
    if data[4:8] != b"\x01\0\0\0":
        raise WasmFormatError("unsupported wasm version")
    out = WasmNames()
    i = 8
    while i < len(data):
        sid = data[i]
        size, j = _leb_u(data, i + 1)
        end = j + size
        if end > len(data):
            raise WasmFormatError(f"section {sid} overruns the file")
        if sid == 0:
            nm, k = _name(data, j)
            out.custom_sections.append(nm)
            if nm == "name":
                _read_name_section(data, k, end, out)
            elif nm == "producers":
                _read_producers(data, k, end, out)
        elif sid == 2:  # imports
            n, k = _leb_u(data, j)
            for _ in range(n):
                _, k = _name(data, k)
                _, k = _name(data, k)
                kind = data[k]
                k += 1
                if kind == 0:
                    out.imported_functions += 1
                    _, k = _leb_u(data, k)
                elif kind == 1:  # table: reftype + limits
                    k = _skip_limits(data, k + 1)
                elif kind == 2:  # memory
                    k = _skip_limits(data, k)
                elif kind == 3:  # global: valtype + mut
                    k += 2
                elif kind == 4:  # tag
                    k += 1
                    _, k = _leb_u(data, k)
                else:
                    raise WasmFormatError(f"unknown import kind {kind}")
        elif sid == 3:  # function section
            out.defined_functions, _ = _leb_u(data, j)
        elif sid == 7:  # exports
            n, k = _leb_u(data, j)
            for _ in range(n):
                nm, k = _name(data, k)
                kind = data[k]
                idx, k = _leb_u(data, k + 1)
                out.exports.append((nm, kind, idx))
        i = end
    return out


def _read_name_section(b: bytes, i: int, end: int, out: WasmNames) -> None:
    while i < end:
        sub = b[i]
        size, i = _leb_u(b, i + 1)
        send = i + size
        if sub == 0:
            out.module_name, _ = _name(b, i)
        elif sub == 1:
            n, k = _leb_u(b, i)
            for _ in range(n):
                idx, k = _leb_u(b, k)
                nm, k = _name(b, k)
                out.functions[idx] = nm
        i = send


def _read_producers(b: bytes, i: int, end: int, out: WasmNames) -> None:
    try:
        n, i = _leb_u(b, i)
        for _ in range(n):
            fname, i = _name(b, i)
            m, i = _leb_u(b, i)
            vals = {}
            for _ in range(m):
                k, i = _name(b, i)
                v, i = _name(b, i)
                vals[k] = v
            out.producers[fname] = vals
    except (WasmFormatError, IndexError):
        pass


def read_wasm_file(path: Path) -> WasmNames:
    return read_wasm_names(Path(path).read_bytes())


# ------------------------------------------------------------------ symbol names


def strip_hashes(name: str) -> str:
    """Remove crate disambiguators ([56cb65ee1434da58]) and a legacy trailing ::h<hash>."""
    return LEGACY_HASH_RE.sub("", HASH_RE.sub("", name))


def _angle_body(s: str, start: int) -> int:
    """Index of the '>' closing the '<' at s[start]; '->' is not a closing bracket."""
    depth = 0
    i = start
    while i < len(s):
        ch = s[i]
        if ch == "<":
            depth += 1
        elif ch == ">" and not (i > 0 and s[i - 1] == "-"):
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced angle brackets")


def drop_in_place_type(name: str) -> str | None:
    """The T of `core::ptr::drop_in_place::<T>` (v0) or `core::ptr::drop_in_place<T>` (legacy), hashes removed."""
    clean = strip_hashes(name)
    m = re.search(r"(?:^|::)ptr::drop_in_place(::)?<", clean)
    if not m:
        return None
    start = m.end() - 1
    try:
        close = _angle_body(clean, start)
    except ValueError:
        return None
    return clean[start + 1:close].strip()


def strip_generic_args(path: str) -> str:
    out, depth, i = [], 0, 0
    while i < len(path):
        ch = path[i]
        if ch == "<":
            depth += 1
        elif ch == ">" and not (i > 0 and path[i - 1] == "-"):
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(ch)
        i += 1
    s = "".join(out)
    return s[:-2] if s.endswith("::") else s


def type_base(t: str) -> tuple[str, str, str | None]:
    """(base, short, crate) of a dropped type: the path without generic args, its last segment, its crate.

    Non-path types get a shape as base: [T] / [T; N] -> "[]", tuples -> "()", references -> "&",
    qualified/closure paths (<X as Y>::..., ...::{closure#0}) keep their stripped text.
    """
    t = t.strip()
    if t.startswith("["):
        return "[]", "[]", None
    if t.startswith("("):
        return "()", "()", None
    if t.startswith("&") or t.startswith("*"):
        return "&", "&", None
    if t.startswith("dyn "):
        base = strip_generic_args(t[4:])
        return "dyn " + base, base.split("::")[-1], base.split("::")[0] if "::" in base else None
    base = strip_generic_args(t)
    if t.startswith("<"):
        return base, base.split("::")[-1], None
    crate = base.split("::")[0] if "::" in base else None
    return base, base.split("::")[-1], crate


def type_paths_in(t: str, crates: tuple[str, ...]) -> list[str]:
    """Paths of the given crates named anywhere in a type (generic args included), without generics."""
    if not crates:
        return []
    pat = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in crates) + r")(?:::[A-Za-z_][A-Za-z0-9_]*)+")
    return sorted(set(pat.findall(t)))


def mangling_of(names: dict[int, str]) -> str:
    sample = [n for n in names.values() if "::" in n][:2000]
    if any(HASH_RE.search(n) for n in sample):
        return "v0"
    if any(LEGACY_HASH_RE.search(n) for n in sample):
        return "legacy"
    return "unknown"


def drop_in_place_functions(names: dict[int, str], bindings_crates: tuple[str, ...]) -> list[dict]:
    """Group drop_in_place functions by exact name (same-named copies are counted)."""
    groups: dict[str, dict] = {}
    for idx in sorted(names):
        n = names[idx]
        if "drop_in_place" not in n:
            continue
        t = drop_in_place_type(n)
        if t is None:
            continue
        g = groups.get(n)
        if g is None:
            base, short, crate = type_base(t)
            g = groups[n] = {"name": n, "type": t, "base": base, "short": short, "crate": crate, "count": 0,
                             "indices": [], "mentions": type_paths_in(t, bindings_crates)}
        g["count"] += 1
        g["indices"].append(idx)
    return sorted(groups.values(), key=lambda g: (g["base"], g["type"]))


def allocator_functions(names: dict[int, str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for idx, n in names.items():
        clean = strip_hashes(n)
        last = clean.split("::")[-1]
        if last in ALLOCATOR_NAMES:
            out.setdefault(last, []).append(idx)
        elif last in DLMALLOC_NAMES and "dlmalloc" in clean:
            out.setdefault("dlmalloc::" + last, []).append(idx)
    return {k: sorted(v) for k, v in sorted(out.items())}
