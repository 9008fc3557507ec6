"""Name resolution over scanned crates, and the per-type facts of the inventory.

Resolution is deliberately small: items of a module, `use` renames and globs (`use super::*`),
`crate::`/`self::`/`super::` paths, child modules, and other scanned crates by lib name. That covers
how the bindings layer names its own types (including aliases such as `type WasmPolyComm = ...`
generated once per template invocation, and `use ... as WasmPolyComm` in the fp/fq modules).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .rust_source import FnRec, ImplRec, Scan, SiteRec, TypeRec, derives_of, wasm_bindgen_args

# std/alloc containers that own heap memory, by last path segment -> kind
STD_HEAP = {
    "Vec": "Vec", "Box": "Box", "Arc": "Arc", "Rc": "Rc", "String": "String",
    "HashMap": "HashMap", "BTreeMap": "BTreeMap", "HashSet": "HashSet", "BTreeSet": "BTreeSet",
    "VecDeque": "VecDeque", "BinaryHeap": "BinaryHeap", "LinkedList": "LinkedList",
    "Sender": "Channel", "Receiver": "Channel",          # spmc / mpsc channels: Arc-shared queues
}
SHARED = {"Arc", "Rc", "Channel"}
# JS values: a slot in wasm-bindgen's externref/heap table, not linear memory
JS_HEAP = {"JsValue": "JsValue", "JsString": "JsValue", "Promise": "JsValue", "Object": "JsValue",
           "Array": "JsValue", "Function": "JsValue"}
# large types of kimchi / poly-commitment / ark-poly that own heap data (defined outside the scanned crates)
EXTERNAL_HEAP = {
    "ProverIndex", "VerifierIndex", "ProverProof", "SRS", "CircuitGate", "ConstraintSystem",
    "ProofEvaluations", "PointEvaluations", "PolyComm", "LookupTable", "RuntimeTable", "RuntimeTableCfg",
    "OpeningProof", "DensePolynomial", "Evaluations", "LookupCommitments", "ProverCommitments",
    "RecursionChallenge", "LookupVerifierIndex", "LookupConstraintSystem", "HashMapCache",
    "ThreadPool", "ThreadBuilder", "Circuit",
}


def strip_generics(path: str) -> str:
    out, depth = [], 0
    for ch in path:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(ch)
    return "".join(out).strip()


@dataclass
class CrateInfo:
    lib: str
    dir: str
    scope: str                       # bindings | dependency_export
    features: set[str] = field(default_factory=set)


class Index:
    def __init__(self, crates: dict[str, CrateInfo], scan: Scan):
        self.crates = crates
        self.scan = scan
        self.modules: set[tuple[str, tuple]] = set()
        self.items: dict[tuple[str, tuple], dict[str, TypeRec]] = {}
        self.renames: dict[tuple[str, tuple], dict[str, str]] = {}
        self.globs: dict[tuple[str, tuple], list[str]] = {}
        self.ids: dict[int, str] = {}
        self.by_id: dict[str, TypeRec] = {}
        self.duplicates: list[str] = []
        for r in scan.types:
            if r.in_cfg_test:
                continue
            key = (r.crate, r.module)
            self.modules.add(key)
            tid = "::".join((r.crate,) + r.module + (r.name,))
            if tid in self.by_id:
                self.duplicates.append(tid)
                n = 2
                while f"{tid}#{n}" in self.by_id:
                    n += 1
                tid = f"{tid}#{n}"
            self.ids[id(r)] = tid
            self.by_id[tid] = r
            self.items.setdefault(key, {}).setdefault(r.name, r)
        for u in scan.uses:
            key = (u.crate, u.module)
            self.renames.setdefault(key, {}).update(u.renames)
            self.globs.setdefault(key, []).extend(u.globs)
        self._mods_by_crate: dict[str, set[tuple]] = {}
        for r in scan.types + [x for x in scan.impls] + scan.fns:
            self._mods_by_crate.setdefault(r.crate, set()).add(r.module)
        for u in scan.uses:
            self._mods_by_crate.setdefault(u.crate, set()).add(u.module)
        self._kinds_memo: dict[str, tuple[frozenset, frozenset]] = {}

    def add_modules(self, crate: str, modules) -> None:
        for m in modules:
            for i in range(len(m) + 1):
                self._mods_by_crate.setdefault(crate, set()).add(tuple(m[:i]))

    def tid(self, r: TypeRec) -> str:
        return self.ids[id(r)]

    # ---------------------------------------------------------------- resolution
    def _is_module(self, crate: str, mod: tuple) -> bool:
        return mod in self._mods_by_crate.get(crate, set())

    def module_of_path(self, path: str, crate: str, module: tuple) -> tuple[str, tuple] | None:
        segs = [s for s in path.split("::") if s]
        if not segs:
            return (crate, module)
        c, mod = crate, module
        first = segs[0]
        if first == "crate":
            mod, segs = (), segs[1:]
        elif first == "self":
            segs = segs[1:]
        elif first == "super":
            while segs and segs[0] == "super":
                mod = mod[:-1]
                segs = segs[1:]
        elif self._is_module(crate, module + (first,)):
            mod, segs = module + (first,), segs[1:]
        elif first in self.crates:
            c, mod, segs = first, (), segs[1:]
        else:
            ren = self.renames.get((crate, module), {}).get(first)
            if ren and ren != path:
                base = self.module_of_path(ren, crate, module)
                if base is None:
                    return None
                c, mod, segs = base[0], base[1], segs[1:]
            else:
                return None
        for s in segs:
            if self._is_module(c, mod + (s,)):
                mod = mod + (s,)
            else:
                return None
        return (c, mod)

    def resolve(self, path: str, crate: str, module: tuple, _seen=None) -> TypeRec | None:
        path = strip_generics(path.strip())
        if not path or path.startswith("<") or path.startswith("&") or path.startswith("["):
            return None
        seen = _seen if _seen is not None else set()
        segs = path.split("::")
        if len(segs) == 1:
            return self.lookup(segs[0], crate, module, seen)
        m = self.module_of_path("::".join(segs[:-1]), crate, module)
        if m is None:
            return None
        return self.lookup(segs[-1], m[0], m[1], seen)

    def lookup(self, name: str, crate: str, module: tuple, seen: set) -> TypeRec | None:
        key = (crate, module, name)
        if key in seen:
            return None
        seen.add(key)
        t = self.items.get((crate, module), {}).get(name)
        if t is not None:
            return t
        ren = self.renames.get((crate, module), {}).get(name)
        if ren is not None:
            r = self.resolve(ren, crate, module, seen)
            if r is not None:
                return r
        for g in self.globs.get((crate, module), []):
            m = self.module_of_path(g, crate, module)
            if m is not None:
                r = self.lookup(name, m[0], m[1], seen)
                if r is not None:
                    return r
        return None

    def deref_alias(self, t: TypeRec | None, depth: int = 0) -> TypeRec | None:
        """Follow type aliases to the struct/enum they name (None if it is not a scanned type)."""
        while t is not None and t.kind == "type_alias" and depth < 10:
            base = strip_generics(t.alias_text or "")
            nxt = self.resolve(base, t.crate, t.module)
            if nxt is None or nxt is t:
                return None
            t, depth = nxt, depth + 1
        return t

    def resolve_concrete(self, path: str, crate: str, module: tuple) -> TypeRec | None:
        return self.deref_alias(self.resolve(path, crate, module))

    # ---------------------------------------------------------------- ownership
    def _refs_kinds(self, refs, crate, module, stack) -> tuple[set, set, dict]:
        kinds, via, renames = set(), set(), {}
        for path, name in refs:
            t = self.resolve(path, crate, module)
            if t is not None:
                conc = self.deref_alias(t)
                if t.kind == "type_alias" and t.alias_text:
                    renames[path] = t.alias_text
                    k2, v2, _ = self._refs_kinds(t.alias_refs, t.crate, t.module, stack)
                    kinds |= k2
                    via |= v2
                    continue
                if conc is not None:
                    if conc.name != name:
                        renames[path] = conc.name
                    k2, v2 = self.type_kinds(conc, stack)
                    if k2:
                        kinds |= k2
                        via |= {self.tid(conc)} | v2
                    continue
            if name in STD_HEAP:
                kinds.add(STD_HEAP[name])
            elif name in JS_HEAP:
                kinds.add(JS_HEAP[name])
            elif name in EXTERNAL_HEAP:
                kinds.add(name)
            else:
                ren = self.renames.get((crate, module), {}).get(name)
                if ren is not None:
                    last = ren.split("::")[-1]
                    if last != name:
                        renames[path] = last
                    if last in STD_HEAP:
                        kinds.add(STD_HEAP[last])
                    elif last in EXTERNAL_HEAP:
                        kinds.add(last)
        return kinds, via, renames

    def type_kinds(self, t: TypeRec, stack=None) -> tuple[frozenset, frozenset]:
        tid = self.tid(t) if id(t) in self.ids else None
        if tid in self._kinds_memo:
            return self._kinds_memo[tid]
        stack = stack or set()
        if tid in stack:
            return frozenset(), frozenset()
        stack = stack | {tid}
        kinds, via = set(), set()
        if t.kind == "type_alias":
            k, v, _ = self._refs_kinds(t.alias_refs, t.crate, t.module, stack)
            kinds |= k
            via |= v
        else:
            for f in t.fields:
                k, v, _ = self._refs_kinds(f.refs, t.crate, t.module, stack)
                kinds |= k
                via |= v
        res = (frozenset(kinds), frozenset(via))
        if tid is not None:
            self._kinds_memo[tid] = res
        return res

    def owns(self, t: TypeRec) -> list[dict]:
        out = []
        for f in t.fields:
            kinds, via, renames = self._refs_kinds(f.refs, t.crate, t.module, {self.tid(t)})
            if not kinds:
                continue
            entry = {"field": f.name, "type": f.type_text, "kinds": sorted(kinds)}
            resolved = f.type_text
            for old, new in sorted(renames.items(), key=lambda kv: -len(kv[0])):
                resolved = re.sub(r"(?<![\w:])" + re.escape(old) + r"(?!\w)", new, resolved)
            if resolved != f.type_text:
                entry["resolved"] = resolved
            if via:
                entry["via"] = sorted(via)
            entry["shared"] = self._field_shared(resolved, t)
            out.append(entry)
        return out

    def _field_shared(self, resolved: str, owner: TypeRec, depth: int = 0) -> bool:
        """All heap of the field sits behind an Arc/Rc (dropping the value may free nothing)."""
        inner = resolved.strip()
        while True:
            m = re.fullmatch(r"(?:[\w:]*::)?Option<(.*)>", inner)
            if not m:
                break
            inner = m.group(1).strip()
        if re.match(r"(?:[\w:]*::)?(Arc|Rc)<", inner):
            return True
        if depth < 5 and re.fullmatch(r"[\w:]+", inner):
            t = self.resolve_concrete(inner, owner.crate, owner.module)
            if t is not None and t.kind == "struct":
                fields = self.owns(t) if depth == 0 else []
                return bool(fields) and all(f["shared"] for f in fields)
        return False


# ------------------------------------------------------------------ per-type facts


def cfg_enabled(pred: str | None, crate: CrateInfo) -> bool:
    """Evaluate a cfg predicate for the wasm build: `test` is off; `feature = "x"` of a dependency is on
    when the bindings enable it (features of the bindings crates themselves are taken as on);
    not/all/any combine; any other predicate (target_arch, ...) is taken as on."""
    if pred is None:
        return True
    p = pred.strip()
    m = re.fullmatch(r"(not|all|any)\s*\((.*)\)", p, re.S)
    if m:
        parts, depth, cur = [], 0, ""
        for ch in m.group(2):
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur.strip():
            parts.append(cur)
        vals = [cfg_enabled(x, crate) for x in parts]
        return (not vals[0]) if m.group(1) == "not" else (all(vals) if m.group(1) == "all" else any(vals))
    if p in ("test", "doctest", "debug_assertions"):
        return False
    m = re.fullmatch(r'feature\s*=\s*"([^"]+)"', p)
    if m and crate.scope != "bindings":
        return m.group(1) in crate.features
    return True


def exported(t: TypeRec, crate: CrateInfo) -> tuple[bool, str | None, str | None]:
    """(exported to JS, js_name if renamed, gate)."""
    present, opts, gate = wasm_bindgen_args(t.attrs)
    if not present:
        return False, None, None
    if not cfg_enabled(gate, crate):
        return False, None, gate
    js = opts.get("js_name")
    return True, (js if isinstance(js, str) and js != t.name else None), gate


def cfg_of(t: TypeRec) -> str | None:
    c = [a.args[0] for a in t.attrs if a.path == "cfg" and a.args]
    return c[0] if c else None


def fn_exported(f: FnRec) -> tuple[bool, dict]:
    present, opts, _ = wasm_bindgen_args(f.attrs)
    if present:
        return True, opts
    if f.impl_wasm_bindgen and f.is_pub and f.impl_trait is None:
        return True, opts
    return False, opts
