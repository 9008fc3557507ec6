"""Source route, Step 2: generate the instrumentation patch for the Rust bindings.

Input: the Step 1 inventory (``artifacts/step1/inventory.json`` or ``source_inventory.json``; the
``types`` list is used) and a checkout of o1-labs/proof-systems. Output, in ``out_dir``:

* ``bindings.patch``: a unified diff against the checkout (git-ignored: it carries upstream lines);
* ``summary.json`` / ``summary.md``: what was instrumented and skipped, with reasons and counts,
  edit counts per file and the parse checks; names, paths and line numbers only, no upstream text.

What the patch does (all code comes from ``rust-bindings-patch/``):

* adds the core crate (``wlh-trace-core/``) to the checkout and to ``kimchi-wasm/Cargo.toml`` as a
  path dependency with feature ``wasm-extern-sink``; adds ``kimchi-wasm/src/wlh_trace.rs``
  (the local ``WlhHeap`` trait and the size rules for proof-systems' types) and, in ``lib.rs``, the
  sink ``wlh_trace_sink_write`` forwarding to a JS function imported through wasm-bindgen that
  writes synchronously (``templates/wlh-trace-sink.cjs``), the exported ``wlh_trace_snapshot`` and a
  counting global allocator (unless the crates declare one);
* for every instrumented type: a field ``wlh_trace: ::wlh_trace_core::Tracked<Self>`` (skipped by
  wasm-bindgen, serde-skipped with the deserialization hook when the type derives serde), the
  ``WlhHeap``/``HeapSize``/``Traced`` impls right after the definition (inside the template for
  macro-generated types, so every expansion gets them), ``Clone``/``Default`` generated instead of
  derived (the clone is measured when made and gets a site), and at every construction site found
  with tree-sitter: struct literals and tuple-constructor calls wrapped in
  ``::wlh_trace_core::track_in/track_at(.., site)`` (site names: concrete type and function, no
  spaces), tuple constructors used as function values turned into closures, and ``..`` added to
  struct / tuple-struct patterns;
* at the top of every exported function: the export context (SITE lines name the boundary as the
  binary route does);
* ``WlhHeap`` impls for the local helper types that instrumented types own (e.g. ``WasmVector<T>``).

Types it does not instrument are listed with the reason (Copy types, enums, unit structs, types
outside kimchi-wasm, not JS classes, uses it cannot rewrite).
"""
from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter as ts

from . import rust_syntax as rs

REPO_ROOT = Path(__file__).resolve().parents[2]
PATCH_DIR = REPO_ROOT / "rust-bindings-patch"
TEMPLATES = PATCH_DIR / "templates"
CORE_DIR = PATCH_DIR / "wlh-trace-core"

CRATES = ("kimchi-wasm", "crates/wasm-types", "crates/arkworks")
TARGET_CRATE = "kimchi-wasm"
CORE_DEST = "wlh-trace-core"          # where the patch puts the core crate, relative to the checkout
FIELD = "wlh_trace"
CORE = "::wlh_trace_core"
PENDING = f"{CORE}::Tracked::pending()"
MARKER = "wlh-trace-core"

STD_GENERIC = {"Vec", "Box", "Option", "Arc", "Rc"}
PRIMITIVES = {"bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
              "i64", "i128", "isize", "f32", "f64", "String"}


def _upstream_rule_types(text: str) -> set[str]:
    """Last path segments of the types templates/wlh_trace_upstream.rs implements WlhHeap for:
    the targets of its `impl .. for T` headers and the paths listed in `wlh_no_heap!(..)`."""
    names = {m.group(1).split("::")[-1] for m in re.finditer(r"^impl\b[^{]*?\bfor\s+([\w:]+)", text, re.M)}
    for m in re.finditer(r"wlh_no_heap!\(([^)]*)\)", text):
        names |= {p.strip().split("::")[-1] for p in m.group(1).split(",") if p.strip()}
    return names - {"WlhHeap"}


# Types of the dependencies that rust-bindings-patch/templates/wlh_trace_upstream.rs has size rules for.
CURATED = _upstream_rule_types((TEMPLATES / "wlh_trace_upstream.rs").read_text())


class PatchError(Exception):
    """The patch cannot be generated (message says why)."""


# ------------------------------------------------------------------------------------------
# model

@dataclass
class Invocation:
    file: str
    line: int
    bindings: dict[str, str]
    scopes: list[dict[str, str]]          # alias maps, innermost first
    module: str = ""                      # innermost inline `mod` around the invocation (or file stem)


@dataclass
class Unit:
    """A parse context: a file's own items, or one rule body of a macro_rules! template."""
    file: str
    root: ts.Node
    masked: rs.Masked | None = None
    macro: str | None = None
    invocations: list[Invocation] = field(default_factory=list)
    file_scopes: list[tuple[int, int, dict[str, str]]] = field(default_factory=list)
    local_aliases: dict[str, str] = field(default_factory=dict)
    source: "Source | None" = None

    @property
    def offset(self) -> int:
        return self.masked.start if self.masked else 0

    def orig(self, node_or_text) -> str:
        t = node_or_text if isinstance(node_or_text, str) else rs.text(node_or_text)
        if self.masked is None:
            return t
        # replace every placeholder / masked metavariable occurring in t
        for ph, seg in self.masked.placeholders.items():
            t = t.replace(ph, seg)
        for mv in sorted(self.masked.metavars, key=len, reverse=True):
            t = re.sub(rf"(?<![A-Za-z0-9_$])_{re.escape(mv)}\b", "$" + mv, t)
        return t

    def contexts(self) -> list:
        return self.invocations if self.masked is not None else [None]

    def where(self, node: ts.Node) -> int:
        return self.offset + node.start_byte


@dataclass
class Def:
    unit: Unit
    node: ts.Node                 # struct_item (in the unit's tree)
    name: str                     # original text of the name (may be a paste segment)
    concrete: list[str]           # names it produces (one per expansion)
    shape: str                    # named | tuple | unit
    fields: list[tuple[str, ts.Node]]
    attrs: dict
    file: str
    line: int
    crate_dir: str
    status: str = "candidate"     # instrument | helper | skip
    reason: str = ""
    entries: list[dict] = field(default_factory=list)
    measured: list[str] = field(default_factory=list)
    unmeasured: list[dict] = field(default_factory=list)
    where: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def copy(self) -> bool:
        if self.entries:
            return any(e.get("copy") for e in self.entries)
        return "Copy" in self.attrs["derives"]


@dataclass
class Edit:
    start: int
    end: int
    text: str
    prio: int = 1                 # at equal offsets: 0 closers, 1 insertions, 2 openers


# ------------------------------------------------------------------------------------------
# loading

def _crate_of(rel: str) -> str:
    for c in CRATES:
        if rel == c or rel.startswith(c + "/"):
            return c
    return ""


def _rust_files(checkout: Path, crates=CRATES) -> list[str]:
    out = []
    for c in crates:
        d = checkout / c
        if d.is_dir():
            out += [p.relative_to(checkout).as_posix() for p in sorted(d.rglob("*.rs"))
                    if "target" not in p.relative_to(checkout).parts]
    return out


def _mod_scopes(root: ts.Node) -> list[tuple[int, int, dict[str, str]]]:
    """(start, end, aliases) for the file and every inline `mod { }`."""
    out = [(root.start_byte, root.end_byte, rs.scope_aliases(root))]
    for n in rs.walk(root):
        if n.type == "mod_item":
            body = n.child_by_field_name("body")
            if body is not None:
                out.append((body.start_byte, body.end_byte, rs.scope_aliases(body)))
    return out


def _module_at(node: ts.Node, rel: str) -> str:
    p = node.parent
    while p is not None:
        if p.type == "mod_item":
            return rs.text(p.child_by_field_name("name"))
        p = p.parent
    stem = Path(rel).stem
    return Path(rel).parent.name if stem == "mod" else stem


def _scopes_at(scopes, pos: int) -> list[dict[str, str]]:
    inside = [s for s in scopes if s[0] <= pos < s[1] or (s is scopes[0])]
    inside.sort(key=lambda s: s[1] - s[0])       # innermost first
    return [s[2] for s in inside]


class Source:
    """All parsed files of the checkout's bindings crates, with macro templates and invocations."""

    def __init__(self, checkout: Path, crates=CRATES):
        self.checkout = checkout
        self.files: dict[str, bytes] = {}
        self.trees: dict[str, ts.Tree] = {}
        self.units: list[Unit] = []
        self.macro_defs: dict[str, list[tuple[str, rs.MacroDef]]] = {}
        for rel in _rust_files(checkout, crates):
            src = (checkout / rel).read_bytes()
            self.files[rel] = src
            self.trees[rel] = rs.parse(src)
        file_units = {}
        for rel, tree in self.trees.items():
            u = Unit(file=rel, root=tree.root_node, file_scopes=_mod_scopes(tree.root_node))
            file_units[rel] = u
            self.units.append(u)
            for md in rs.macro_defs(self.files[rel], tree):
                self.macro_defs.setdefault(md.name, []).append((rel, md))
        # invocations of the templates, with their bindings and the aliases in scope there
        invs: dict[tuple[str, int], list[Invocation]] = {}
        for rel, tree in self.trees.items():
            for n in rs.walk(tree.root_node):
                if n.type != "macro_invocation":
                    continue
                name = rs.text(n.child_by_field_name("macro")).split("::")[-1]
                if name not in self.macro_defs:
                    continue
                tt = next((c for c in n.children if c.type == "token_tree"), None)
                if tt is None:
                    continue
                args = rs.split_args(tt, self.files[rel])
                for drel, md in self.macro_defs[name]:
                    for rule in md.rules:
                        if len(rule.metavars) == len(args):
                            binding = dict(zip(rule.metavars, args))
                            invs.setdefault((drel, md.node_start, rule.index), []).append(Invocation(
                                file=rel, line=n.start_point[0] + 1, bindings=binding,
                                scopes=_scopes_at(file_units[rel].file_scopes, n.start_byte),
                                module=_module_at(n, rel)))
                            break
        for name, lst in self.macro_defs.items():
            for drel, md in lst:
                for rule in md.rules:
                    if rule.body is None:
                        continue
                    u = Unit(file=drel, root=rule.body.tree.root_node, masked=rule.body, macro=name,
                             invocations=invs.get((drel, md.node_start, rule.index), []))
                    u.local_aliases = rs.scope_aliases(u.root, original=u.orig)
                    self.units.append(u)
        # aliases that templates define (`type WasmGateVector = [<..>];`), per expansion module:
        # (alias, module) -> concrete name, for uses of these aliases outside the template
        self.macro_aliases: dict[tuple[str, str], str] = {}
        for u in self.units:
            if u.masked is None:
                continue
            for alias in u.local_aliases:
                for inv in u.invocations:
                    c = _concrete(u, alias, inv)
                    if c and c != alias:
                        self.macro_aliases[(alias, inv.module)] = c
        for u in self.units:
            u.source = self

    def line_of(self, rel: str, offset: int) -> int:
        return self.files[rel].count(b"\n", 0, offset) + 1


# ------------------------------------------------------------------------------------------
# name resolution

def _concrete(unit: Unit, name: str, ctx: Invocation | None) -> str | None:
    """Concrete type name that `name` (original template text) denotes in one expansion."""
    seen = set()
    for _ in range(10):
        if name in seen:
            return name
        seen.add(name)
        if ctx is not None:
            if name.startswith("[<"):
                try:
                    name = rs.eval_paste(name[2:-2], ctx.bindings)
                except KeyError:
                    return None
                continue
            if name.startswith("$"):
                val = ctx.bindings.get(name[1:])
                if val is None:
                    return None
                name = rs.last_ident(val) if not val.startswith("[<") else val
                continue
            if name in unit.local_aliases:
                name = unit.local_aliases[name]
                name = name if name.startswith(("[<", "$")) else rs.last_ident(name)
                continue
            scopes = ctx.scopes
        else:
            scopes = []
        hit = next((s[name] for s in scopes if name in s), None)
        if hit is None:
            return name
        name = rs.last_ident(hit)
    return name


def _impl_type_of(node: ts.Node) -> ts.Node | None:
    p = node.parent
    while p is not None:
        if p.type == "impl_item":
            return p.child_by_field_name("type")
        p = p.parent
    return None


def _base_name_node(type_node: ts.Node) -> ts.Node:
    """`a::B<T>` -> node of `B`."""
    n = type_node
    while n.type in ("generic_type", "scoped_type_identifier", "scoped_identifier", "generic_function"):
        nxt = n.child_by_field_name("type") if n.type == "generic_type" else n.child_by_field_name("name")
        if n.type == "generic_function":
            nxt = n.child_by_field_name("function")
        if nxt is None:
            break
        n = nxt
    return n


def _strip_refs(type_node: ts.Node) -> ts.Node:
    """`&'a T` / `&mut T` -> `T`."""
    n = type_node
    while n.type == "reference_type" and n.child_by_field_name("type") is not None:
        n = n.child_by_field_name("type")
    return n


def _name_expr(unit: Unit, raw: str) -> str:
    """A Rust expression for one name in a site string: a string literal, or, for a template
    segment (`[<..>]` or `$name`), `stringify!` of it, which paste/macro expansion turns into the
    concrete identifier (one token, so no spaces)."""
    if unit.masked is not None and raw.startswith(("[<", "$")):
        return f"stringify!({raw})"
    return json.dumps(raw)


def _type_name_expr(unit: Unit, type_node: ts.Node) -> str:
    """The concrete name of a type (aliases resolved) as a site-string expression."""
    base = _base_name_node(_strip_refs(type_node))
    names = set(resolve(unit, base))
    if len(names) == 1 and None not in names:
        return json.dumps(names.pop())
    return _name_expr(unit, unit.orig(base))


# Exported functions that must not open the export context: a rayon worker's entry point runs
# for the worker's whole life (it never returns), so a context there would name every value the
# worker ever builds. The context is process-wide (see wlh-trace-core's context.rs).
NO_EXPORT_CONTEXT = {"wbg_rayon_start_worker"}

JS_CLASS_RE = re.compile(r'js_class\s*=\s*"?([A-Za-z0-9_]+)"?')


def _export_of(unit: Unit, fn: ts.Node) -> tuple[str | None, str] | None:
    """(class expression or None, name expression) of an exported function, None if `fn` is not
    exported: a `#[wasm_bindgen]` free function at item level, or a `pub` method of a
    `#[wasm_bindgen]` inherent impl. Names follow wasm-bindgen: `js_class`/`js_name` if given."""
    mods = [c for c in fn.children if c.type == "function_modifiers"]
    if any(k in rs.text(m).split() for m in mods for k in ("async", "const")):
        return None   # the guard cannot span an await; const fns cannot call it
    attrs = rs.attr_info(rs.attributes_before(fn))
    parent = fn.parent
    impl = parent.parent if parent is not None and parent.type == "declaration_list" else None
    if impl is not None and impl.type == "impl_item":
        iattrs = rs.attributes_before(impl)
        if not rs.attr_info(iattrs)["wasm_bindgen"] or impl.child_by_field_name("trait") is not None:
            return None
        if not any(c.type == "visibility_modifier" for c in fn.children):
            return None
        m = next((JS_CLASS_RE.search(rs.text(a)) for a in iattrs if JS_CLASS_RE.search(rs.text(a))), None)
        cls = json.dumps(m.group(1)) if m else _name_expr(
            unit, unit.orig(_base_name_node(impl.child_by_field_name("type"))))
        name = json.dumps(attrs["js_name"]) if attrs["js_name"] else _name_expr(
            unit, unit.orig(fn.child_by_field_name("name")))
        return cls, name
    if not attrs["wasm_bindgen"] or unit.orig(fn.child_by_field_name("name")) in NO_EXPORT_CONTEXT:
        return None
    p = fn.parent
    while p is not None:
        if p.type in ("function_item", "impl_item", "trait_item", "foreign_mod_item"):
            return None
        p = p.parent
    name = json.dumps(attrs["js_name"]) if attrs["js_name"] else _name_expr(
        unit, unit.orig(fn.child_by_field_name("name")))
    return None, name


def resolve(unit: Unit, node: ts.Node) -> list[str | None]:
    """Concrete names an identifier / type node denotes, one per context (expansion)."""
    base = _base_name_node(node)
    name = unit.orig(base)
    if name == "Self":
        it = _impl_type_of(node)
        if it is None:
            return [None for _ in unit.contexts()]
        return resolve(unit, it)
    out = []
    for ctx in unit.contexts():
        if unit.masked is None:
            scopes = _scopes_at(unit.file_scopes, node.start_byte)
            n, path = name, name
            for _ in range(10):
                hit = next((s[n] for s in scopes if n in s), None)
                if hit is None or rs.last_ident(hit) == n:
                    break
                n, path = rs.last_ident(hit), hit
            if unit.source is not None:
                # a template's alias used outside it: pick the expansion by the module in the path
                segs = [x.strip() for x in path.split("::")]
                mod = segs[-2] if len(segs) >= 2 else _module_at(node, unit.file)
                n = unit.source.macro_aliases.get((n, mod), n)
            out.append(n)
        else:
            out.append(_concrete(unit, name, ctx))
    return out


# ------------------------------------------------------------------------------------------
# discovery of definitions

def _fields(struct: ts.Node) -> tuple[str, list[tuple[str, ts.Node]]]:
    body = struct.child_by_field_name("body")
    if body is None:
        return "unit", []
    if body.type == "field_declaration_list":
        out = []
        for c in body.named_children:
            if c.type == "field_declaration":
                out.append((rs.text(c.child_by_field_name("name")), c.child_by_field_name("type")))
        return "named", out
    if body.type == "ordered_field_declaration_list":
        types = [c for c in body.named_children
                 if c.type not in ("attribute_item", "visibility_modifier", "line_comment", "block_comment")]
        return "tuple", [(str(i), t) for i, t in enumerate(types)]
    return "unit", []


def discover(src: Source) -> list[Def]:
    defs = []
    for u in src.units:
        for n in rs.walk(u.root):
            if n.type != "struct_item":
                continue
            name_node = n.child_by_field_name("name")
            shape, fields = _fields(n)
            concrete = [c for c in resolve(u, name_node) if c]
            if u.masked is not None and not u.invocations:
                concrete = []
            attrs = rs.attr_info(rs.attributes_before(n))
            off = u.where(n)
            defs.append(Def(unit=u, node=n, name=u.orig(name_node), concrete=sorted(set(concrete)),
                            shape=shape, fields=fields, attrs=attrs, file=u.file,
                            line=src.line_of(u.file, off), crate_dir=_crate_of(u.file)))
    return defs


# ------------------------------------------------------------------------------------------
# selection

def _load_inventory(inventory_json) -> list[dict] | None:
    if inventory_json is None:
        return None
    p = Path(inventory_json)
    if not p.exists():
        return None
    data = json.loads(p.read_text())
    return list(data.get("types", []))


def select(defs: list[Def], entries: list[dict] | None, include_internal: bool = False) -> list[dict]:
    """Sets status/reason of each definition; returns inventory entries not located in the source."""
    by_name: dict[str, list[Def]] = {}
    for d in defs:
        for c in d.concrete:
            by_name.setdefault(c, []).append(d)
    unlocated = []
    if entries is not None:
        for e in entries:
            if e.get("kind") != "struct":
                continue
            cands = by_name.get(e.get("name", ""), [])
            exact = [d for d in cands if d.file == e.get("file")] or cands
            if not exact:
                unlocated.append(e)
                continue
            exact[0].entries.append(e)
    for d in defs:
        d.status, d.reason = "candidate", ""
        wasm_bindgen = any(e.get("wasm_bindgen") for e in d.entries) if d.entries else d.attrs["wasm_bindgen"]
        routes = {e.get("route") for e in d.entries if e.get("route")}
        if not d.concrete:
            d.status, d.reason = "skip", "template never invoked (no expansion)"
        elif d.copy:
            d.status, d.reason = "skip", "Copy type: a Copy type cannot hold a field with Drop"
        elif d.shape == "unit":
            d.status, d.reason = "skip", "unit struct: owns nothing, and adding a field would change every use"
        elif d.crate_dir != TARGET_CRATE:
            d.status, d.reason = "skip", f"outside {TARGET_CRATE} (the patch adds the core to {TARGET_CRATE} only)"
        elif entries is not None and not d.entries:
            d.status, d.reason = "skip", "not in the inventory"
        elif routes and not (routes & {"source", "both"}):
            blocked = next((e.get("route_how", {}).get("source_blocked") for e in d.entries
                            if e.get("route_how", {}).get("source_blocked")), None)
            d.status, d.reason = "skip", f"inventory route {sorted(routes)}" + (f": {blocked}" if blocked else "")
        elif not wasm_bindgen and not include_internal:
            d.status, d.reason = "skip", "not a JS class (policy: only #[wasm_bindgen] structs are tracked)"
        elif d.attrs.get("cfg"):
            d.status, d.reason = "skip", "behind #[cfg]: not handled"
        else:
            d.status = "instrument"
    return unlocated


# ------------------------------------------------------------------------------------------
# measurement of fields

class Measure:
    def __init__(self, defs: list[Def], curated: set[str] = CURATED):
        self.defs = defs
        self.curated = curated
        self.by_name: dict[str, Def] = {}
        for d in defs:
            if d.crate_dir == TARGET_CRATE:
                for c in d.concrete:
                    self.by_name.setdefault(c, d)
        self.helpers: set[int] = set()

    def _generic_params(self, d: Def) -> set[str]:
        tp = d.node.child_by_field_name("type_parameters")
        out = set()
        if tp is not None:
            for c in tp.named_children:
                if c.type == "type_parameter":
                    nm = c.child_by_field_name("name") or next(
                        (k for k in c.children if k.type == "type_identifier"), None)
                    out.add(rs.text(nm))
                elif c.type == "type_identifier":
                    out.add(rs.text(c))
        return out

    def ok(self, d: Def, tnode: ts.Node, generics: set[str], pending: list) -> tuple[bool, str]:
        t = tnode.type
        if t in ("primitive_type", "unit_type"):
            return True, ""
        if t in ("tuple_type",):
            for c in tnode.named_children:
                good, why = self.ok(d, c, generics, pending)
                if not good:
                    return False, why
            return len(tnode.named_children) == 2, "tuple of arity other than 2"
        if t == "array_type":
            return self.ok(d, tnode.child_by_field_name("element"), generics, pending)
        if t in ("type_identifier", "scoped_type_identifier", "generic_type"):
            base = _base_name_node(tnode)
            raw = d.unit.orig(base)
            if raw in generics:
                return True, ""
            names = set(resolve(d.unit, tnode))
            if None in names:
                return False, f"cannot resolve {raw}"
            args = []
            if t == "generic_type":
                ta = tnode.child_by_field_name("type_arguments")
                args = [c for c in ta.named_children if c.type not in ("lifetime",)] if ta is not None else []
            for nm in names:
                if nm in PRIMITIVES or nm in STD_GENERIC or nm in self.curated:
                    continue
                target = self.by_name.get(nm)
                if target is None:
                    return False, f"{nm}: type of another crate without a size rule"
                if target.status not in ("instrument",):
                    pending.append(target)
            for a in args:
                good, why = self.ok(d, a, generics, pending)
                if not good:
                    return False, why
            return True, ""
        return False, f"{t} not measured"

    def plan_fields(self, d: Def) -> None:
        generics = self._generic_params(d)
        d.measured, d.unmeasured, d.where = [], [], []
        for fname, tnode in d.fields:
            pending: list[Def] = []
            good, why = self.ok(d, tnode, generics, pending)
            if not good and tnode.type == "generic_type" and \
                    resolve(d.unit, tnode) and set(resolve(d.unit, tnode)) <= {"Box", "Arc", "Vec"}:
                # the container's own block is measured; what the elements own is not
                d.measured.append((fname, f"&crate::wlh_trace::Shallow(&self.{fname})"))
                d.unmeasured.append({"field": fname, "type": d.unit.orig(tnode), "why": f"shallow: {why}"})
                continue
            if good:
                d.measured.append((fname, f"&self.{fname}"))
                if generics:
                    d.where.append(d.unit.orig(tnode))
                for h in pending:
                    if id(h) not in self.helpers and h.status != "instrument":
                        self.helpers.add(id(h))
                        if h.status == "skip":
                            h.status = "helper"
                            h.reason = (h.reason + "; " if h.reason else "") + "gets a WlhHeap impl (owned by an instrumented type)"
                        else:
                            h.status = "helper"
                        self.plan_fields(h)
            else:
                d.unmeasured.append({"field": fname, "type": d.unit.orig(tnode), "why": why})


# ------------------------------------------------------------------------------------------
# construction sites and edits

SITE_PARENTS_BAD = {"let_declaration", "assignment_expression", "return_expression", "field_initializer",
                    "array_expression", "tuple_expression", "binary_expression", "closure_expression"}


@dataclass
class SiteRec:
    kind: str
    file: str
    line: int
    type_key: str
    in_macro: str | None


class Planner:
    def __init__(self, src: Source, defs: list[Def], sites: bool = True):
        self.src = src
        self.defs = defs
        self.sites = sites
        self.by_name: dict[str, Def] = {}
        for d in defs:
            if d.status == "instrument":
                for c in d.concrete:
                    self.by_name[c] = d

    def tracked(self, unit: Unit, node: ts.Node) -> Def | None | str:
        """The instrumented definition `node` names in every expansion, None if none, or
        'mixed' when expansions disagree."""
        names = resolve(unit, node)
        hits = {id(self.by_name[n]) if n in self.by_name else None for n in names}
        if hits == {None}:
            return None
        if len(hits) > 1:
            return "mixed"
        return self.by_name[names[0]]

    @staticmethod
    def _enclosing(unit: Unit, node: ts.Node) -> tuple[str | None, ts.Node | None]:
        """(original text of the innermost fn's name, type node of the impl around that fn).
        The impl is None for a free fn and for a fn nested in another fn (`Self` is not in scope
        there); the name is "__const__" inside a const/static, None outside any fn."""
        p, fn_name = node.parent, None
        while p is not None:
            if p.type == "function_item":
                if fn_name is not None:
                    return fn_name, None
                fn_name = unit.orig(p.child_by_field_name("name"))
            if p.type in ("const_item", "static_item") and fn_name is None:
                return "__const__", None
            if p.type == "impl_item":
                return fn_name, (p.child_by_field_name("type") if fn_name is not None else None)
            p = p.parent
        return fn_name, None

    def _site_args(self, unit: Unit, node: ts.Node, file_line: int) -> tuple[str, str] | None:
        """(call opening, call closing) that register the value built by `node` with its creation
        site, or None inside a const/static. The site names the concrete type and function that
        built the value, without spaces (`kimchi_wasm::srs::fp::WasmFpSrs::from (file:line)`):
        in an impl of an instrumented type through `<Self as Traced>::SITE_BASE` (module path and
        concrete name, alias-proof), else with literal names or `stringify!` of one template
        segment (a single identifier)."""
        fn, impl_type = self._enclosing(unit, node)
        if fn == "__const__":
            return None
        if not (self.sites and fn):
            return f"{CORE}::track(", ")"
        loc = json.dumps(f" ({unit.file}:{file_line})")
        fn_expr = _name_expr(unit, fn)
        if impl_type is not None:
            base = _strip_refs(impl_type)
            d = self.tracked(unit, base)
            if isinstance(d, Def) and d.node.child_by_field_name("type_parameters") is None:
                return (f"{CORE}::track_in(",
                        f", <Self as {CORE}::Traced>::SITE_BASE, concat!(\"::\", {fn_expr}, {loc}))")
            t_expr = _type_name_expr(unit, base)
            return f"{CORE}::track_at(", f", concat!(module_path!(), \"::\", {t_expr}, \"::\", {fn_expr}, {loc}))"
        return f"{CORE}::track_at(", f", concat!(module_path!(), \"::\", {fn_expr}, {loc}))"

    def _wrap(self, unit: Unit, node: ts.Node, d: Def, edits: list[Edit], file_line: int) -> bool:
        args = self._site_args(unit, node, file_line)
        if args is None:
            return False
        s, e = unit.where(node), unit.offset + node.end_byte
        edits.append(Edit(s, s, args[0], 2))
        edits.append(Edit(e, e, args[1], 0))
        return True

    def plan_exports(self) -> tuple[dict[str, list[Edit]], list[SiteRec]]:
        """At the top of every exported (`#[wasm_bindgen]`) function: open the export context, so
        SITE lines name the JS-facing call as the binary route does (`rust`)."""
        edits: dict[str, list[Edit]] = {}
        recs: list[SiteRec] = []
        if not self.sites:
            return edits, recs
        for u in self.src.units:
            for n in rs.walk(u.root):
                if n.type != "function_item":
                    continue
                export = _export_of(u, n)
                body = n.child_by_field_name("body")
                if export is None or body is None or len(body.children) < 2:
                    continue
                cls, name = export
                call = (f"{CORE}::enter_method({cls}, {name})" if cls else f"{CORE}::enter_export({name})")
                first = body.named_children[0] if body.named_children else None
                if first is not None and first.start_point[0] > body.start_point[0]:
                    indent = " " * first.start_point[1]
                else:
                    indent = " " * (n.start_point[1] + 4)
                p = u.offset + body.children[0].end_byte
                edits.setdefault(u.file, []).append(Edit(p, p, f"\n{indent}let _wlh_export = {call};", 1))
                recs.append(SiteRec("export_context", u.file, self.src.line_of(u.file, u.where(n)), "", u.macro))
        return edits, recs

    @staticmethod
    def _last_before_close(container: ts.Node) -> tuple[ts.Node | None, ts.Node]:
        close = container.children[-1]
        inner = [c for c in container.children[1:-1]]
        return (inner[-1] if inner else None), close

    def plan(self) -> tuple[dict[str, list[Edit]], list[SiteRec], dict[str, str]]:
        edits: dict[str, list[Edit]] = {}
        recs: list[SiteRec] = []
        bad: dict[str, str] = {}           # def key -> reason

        def add(unit, kind, node, d, es):
            edits.setdefault(unit.file, []).extend(es)
            recs.append(SiteRec(kind, unit.file, self.src.line_of(unit.file, unit.where(node)), d.key, unit.macro))

        for u in self.src.units:
            for n in rs.walk(u.root):
                t = n.type
                if t == "struct_expression":
                    d = self.tracked(u, n.child_by_field_name("name"))
                    if d is None:
                        continue
                    if d == "mixed":
                        continue
                    body = n.child_by_field_name("body")
                    es: list[Edit] = []
                    base = next((c for c in body.named_children if c.type == "base_field_initializer"), None)
                    line = self.src.line_of(u.file, u.where(n))
                    if base is not None:
                        p = u.where(base)
                        es.append(Edit(p, p, f"{FIELD}: {PENDING}, ", 1))
                    else:
                        last, close = self._last_before_close(body)
                        multiline = close.start_point[0] != (last.end_point[0] if last else body.start_point[0])
                        if last is None:
                            p = u.where(close)
                            es.append(Edit(p, p, f"{FIELD}: {PENDING} ", 1))
                        else:
                            p = u.offset + last.end_byte
                            comma = "" if last.type == "," else ","
                            if multiline:
                                indent = " " * (last.start_point[1] if last.type != "," else
                                                (last.prev_sibling.start_point[1] if last.prev_sibling else 4))
                                es.append(Edit(p, p, f"{comma}\n{indent}{FIELD}: {PENDING},", 1))
                            else:
                                es.append(Edit(p, p, f"{comma} {FIELD}: {PENDING}", 1))
                    if not self._wrap(u, n, d, es, line):
                        bad.setdefault(d.key, f"struct literal in a const/static ({u.file}:{line})")
                        continue
                    add(u, "struct_literal", n, d, es)
                elif t == "call_expression":
                    fnode = n.child_by_field_name("function")
                    if fnode is None or fnode.type not in ("identifier", "scoped_identifier", "self"):
                        continue
                    d = self.tracked(u, fnode)
                    if d is None or d == "mixed" or d.shape != "tuple":
                        continue
                    args = n.child_by_field_name("arguments")
                    last, close = self._last_before_close(args)
                    p = u.offset + (last.end_byte if last is not None else args.children[0].end_byte)
                    if last is None:
                        txt = PENDING
                    elif last.type == ",":
                        txt = f" {PENDING}"
                    else:
                        txt = f", {PENDING}"
                    es = [Edit(p, p, txt, 1)]
                    line = self.src.line_of(u.file, u.where(n))
                    if not self._wrap(u, n, d, es, line):
                        bad.setdefault(d.key, f"constructor call in a const/static ({u.file}:{line})")
                        continue
                    add(u, "tuple_call", n, d, es)
                elif t == "identifier" and n.parent is not None and n.parent.type == "arguments":
                    d = self.tracked(u, n)
                    if d is None or d == "mixed" or d.shape != "tuple":
                        continue
                    k = len(d.fields)
                    params = ", ".join(f"__wlh{i}" for i in range(k))
                    name = u.orig(n)
                    s, e = u.where(n), u.offset + n.end_byte
                    args = self._site_args(u, n, self.src.line_of(u.file, s))
                    if args is None:
                        bad.setdefault(d.key, f"constructor used as a value in a const/static ({u.file})")
                        continue
                    txt = f"|{params}| {args[0]}{name}({params}{', ' if k else ''}{PENDING}){args[1]}"
                    add(u, "fn_value", n, d, [Edit(s, e, txt, 1)])
                elif t == "identifier" and n.parent is not None and n.parent.type in SITE_PARENTS_BAD:
                    d = self.tracked(u, n)
                    if d is not None and d != "mixed" and d.shape == "tuple":
                        bad.setdefault(d.key, f"tuple constructor used as a value in a {n.parent.type} "
                                              f"({u.file}:{self.src.line_of(u.file, u.where(n))})")
                elif t in ("struct_pattern", "tuple_struct_pattern"):
                    tnode = n.child_by_field_name("type") or n.children[0]
                    d = self.tracked(u, tnode)
                    if d is None or d == "mixed":
                        continue
                    if any(c.type == "remaining_field_pattern" for c in n.children):
                        continue
                    last, close = self._last_before_close(n)
                    if t == "struct_pattern":
                        # children: type, '{', ..., '}'
                        inner = [c for c in n.children if c.start_byte > tnode.start_byte][1:-1]
                        last = inner[-1] if inner else None
                    else:
                        inner = [c for c in n.children if c.start_byte > tnode.start_byte][1:-1]
                        last = inner[-1] if inner else None
                    if last is None:
                        p, txt = u.where(close), ".."
                    elif last.type == ",":
                        p, txt = u.offset + last.end_byte, " .."
                    else:
                        p, txt = u.offset + last.end_byte, ", .."
                    add(u, t, n, d, [Edit(p, p, txt, 1)])
                elif t == "macro_invocation":
                    # constructions hidden in macro arguments (vec![..], assert!(..)) cannot be seen
                    tt = next((c for c in n.children if c.type == "token_tree"), None)
                    if tt is None:
                        continue
                    for k in rs.walk(tt, skip_token_trees=False):
                        if k.type != "identifier" or k.next_sibling is None or k.next_sibling.type != "token_tree":
                            continue
                        if not rs.text(k.next_sibling).startswith(("(", "{")):
                            continue
                        d = self.tracked(u, k)
                        if d is not None and d != "mixed":
                            bad.setdefault(d.key, f"constructed inside a macro argument "
                                                  f"({u.file}:{self.src.line_of(u.file, u.where(k))})")
                # expansions disagree
                if t in ("struct_expression", "call_expression") and n.type == t:
                    pass
        # types whose name resolves to instrumented and non-instrumented types across expansions
        for u in self.src.units:
            for n in rs.walk(u.root):
                if n.type in ("struct_expression",):
                    d = self.tracked(u, n.child_by_field_name("name"))
                elif n.type == "call_expression":
                    f = n.child_by_field_name("function")
                    d = self.tracked(u, f) if f is not None and f.type in ("identifier", "scoped_identifier") else None
                else:
                    continue
                if d == "mixed":
                    names = resolve(u, n.child_by_field_name("name") if n.type == "struct_expression"
                                    else n.child_by_field_name("function"))
                    for nm in names:
                        if nm in self.by_name:
                            bad.setdefault(self.by_name[nm].key, f"a construction site in template {u.macro} "
                                                                 f"builds it in one expansion and another type in the other "
                                                                 f"({u.file}:{self.src.line_of(u.file, u.where(n))})")
        return edits, recs, bad


# ------------------------------------------------------------------------------------------
# definitions: field + impls

def _tpl(name: str) -> str:
    return (TEMPLATES / name).read_text()


def _fill(tpl: str, **kw) -> str:
    for k, v in kw.items():
        tpl = tpl.replace("{{" + k + "}}", v)
    return tpl


def _impl_generics(d: Def) -> tuple[str, str]:
    tp = d.node.child_by_field_name("type_parameters")
    if tp is None:
        return "", ""
    params, names = [], []
    for c in tp.named_children:
        if c.type == "type_parameter":
            nm = c.child_by_field_name("name") or next((k for k in c.children if k.type == "type_identifier"), None)
            bounds = c.child_by_field_name("bounds") or next((k for k in c.children if k.type == "trait_bounds"), None)
            params.append(d.unit.orig(nm) + (d.unit.orig(bounds) if bounds is not None else ""))
            names.append(d.unit.orig(nm))
        elif c.type in ("lifetime", "lifetime_parameter"):
            params.append(d.unit.orig(c))
            names.append(d.unit.orig(c).split(":")[0].strip())
        elif c.type == "const_parameter":
            params.append(d.unit.orig(c).split("=")[0].strip())
            names.append(d.unit.orig(c.child_by_field_name("name")))
        elif c.type == "type_identifier":
            params.append(d.unit.orig(c))
            names.append(d.unit.orig(c))
    return "<" + ", ".join(params) + ">", "<" + ", ".join(names) + ">"


def _where(d: Def, extra: list[str] = ()) -> str:
    preds = []
    wc = next((c for c in d.node.children if c.type == "where_clause"), None)
    if wc is not None:
        preds += [d.unit.orig(c) for c in wc.named_children if c.type == "where_predicate"]
    preds += [f"{t}: crate::wlh_trace::WlhHeap" for t in d.where]
    preds += list(extra)
    return ("\nwhere\n    " + ",\n    ".join(preds) + ",\n") if preds else ""


def _field_refs(d: Def, measured: list[tuple[str, str]]) -> str:
    return ", ".join(expr for _, expr in measured)


def definition_edits(d: Def, src: Source, sites: bool = True) -> list[Edit]:
    u, n = d.unit, d.node
    es: list[Edit] = []
    g_impl, g_names = _impl_generics(d)
    self_ty = d.name + g_names
    if d.status == "instrument":
        skip_attr = "#[wasm_bindgen(skip)] " if d.attrs["wasm_bindgen"] else ""
        serde = ""
        if "Deserialize" in d.attrs["derives"]:
            serde = f'#[serde(skip, default = "{CORE}::Tracked::deserialized")] '
        elif "Serialize" in d.attrs["derives"]:
            serde = "#[serde(skip)] "
        body = n.child_by_field_name("body")
        last = body.children[-2] if len(body.children) >= 2 else None
        if d.shape == "named":
            fields = [c for c in body.named_children if c.type == "field_declaration"]
            if fields:
                lastf = fields[-1]
                after = lastf.next_sibling
                p = u.offset + (after.end_byte if after is not None and after.type == "," else lastf.end_byte)
                comma = "" if after is not None and after.type == "," else ","
                # indentation: column of the first attribute of the last field, else of the field
                indent = " " * lastf.start_point[1]
                prev = lastf.prev_sibling
                while prev is not None and prev.type == "attribute_item":
                    indent = " " * prev.start_point[1]
                    prev = prev.prev_sibling
                if body.children[-1].start_point[0] == lastf.end_point[0]:
                    es.append(Edit(p, p, f"{comma} {skip_attr}{serde}pub {FIELD}: {CORE}::Tracked<Self>", 1))
                else:
                    lines = [a for a in (skip_attr.strip(), serde.strip()) if a]
                    txt = "".join(f"\n{indent}{a}" for a in lines) + f"\n{indent}pub {FIELD}: {CORE}::Tracked<Self>,"
                    es.append(Edit(p, p, comma + txt, 1))
            else:
                p = u.offset + body.children[0].end_byte
                es.append(Edit(p, p, f" {skip_attr}{serde}pub {FIELD}: {CORE}::Tracked<Self> ", 1))
            tracker = FIELD
        else:
            p = u.offset + (last.end_byte if last is not None else body.children[0].end_byte)
            lead = "" if last is None or last.type == "(" else (" " if last.type == "," else ", ")
            if last is not None and last.type == "(":
                lead = ""
            es.append(Edit(p, p, f"{lead}{skip_attr}{serde}pub {CORE}::Tracked<Self>", 1))
            tracker = str(len(d.fields))
        tname = f'"{d.entries[0]["js_name"]}"' if d.entries and d.entries[0].get("js_name") else \
            (f"stringify!({d.name})" if u.masked is not None else f'"{d.name}"')
        impl = _fill(_tpl("traced_impls.rs.tpl"), DISPLAY=", ".join(d.concrete), IMPL_GENERICS=g_impl,
                     SELF_TY=self_ty, WHERE=_where(d), FIELDS=_field_refs(d, d.measured), TYPE_NAME=tname,
                     TRACKER=tracker, RUST_NAME=_name_expr(u, d.name))
        es += _derive_edits(d)
        for trait in ("Clone", "Default"):
            if trait in d.attrs["derives"]:
                impl += "\n" + _derived_impl(d, trait, g_impl, self_ty, sites)
    else:
        untracked = "".join(f" + crate::wlh_trace::WlhHeap::wlh_untracked_heap({e})" for _, e in d.measured)
        inline = "".join(f" + crate::wlh_trace::WlhHeap::wlh_tracked_inline({e})" for _, e in d.measured)
        impl = _fill(_tpl("helper_impl.rs.tpl"), DISPLAY=", ".join(d.concrete), IMPL_GENERICS=g_impl,
                     SELF_TY=self_ty, WHERE=_where(d), FIELDS=_field_refs(d, d.measured),
                     UNTRACKED=untracked, INLINE=inline)
    indent = " " * n.start_point[1]
    impl = "\n".join((indent + line) if line.strip() else "" for line in impl.strip("\n").split("\n"))
    end = u.offset + n.end_byte
    es.append(Edit(end, end, "\n\n" + impl, 1))
    return es


# Clone and Default are generated instead of derived: a derived impl would clone the tracker,
# which cannot see the new value (it copied the source's size, so shared blocks were counted
# again and the clone had no site). The generated impl builds the value field by field and
# registers it like any construction: measured now, with a site.
DERIVE_ATTR_RE = re.compile(r"derive\s*\(([^)]*)\)")
REPLACED_DERIVES = {"Clone", "Default"}


def _derive_edits(d: Def) -> list[Edit]:
    """Removes Clone and Default from the definition's derive attributes (`#[derive()]` stays
    when nothing is left: valid, and line numbers do not move)."""
    u, out = d.unit, []
    for a in rs.attributes_before(d.node):
        t = u.orig(a)
        m = DERIVE_ATTR_RE.search(t)
        if m is None:
            continue
        kept = [x.strip() for x in m.group(1).split(",")
                if x.strip() and x.strip().split("::")[-1] not in REPLACED_DERIVES]
        if len(kept) == len([x for x in m.group(1).split(",") if x.strip()]):
            continue
        new = t[:m.start(1)] + ", ".join(kept) + t[m.end(1):]
        out.append(Edit(u.where(a), u.offset + a.end_byte, new, 1))
    return out


def _derived_impl(d: Def, trait: str, g_impl: str, self_ty: str, sites: bool = True) -> str:
    call = "::core::clone::Clone::clone(&self.{f})" if trait == "Clone" else "::core::default::Default::default()"
    if d.shape == "named":
        inits = [f"{f}: {call.format(f=f)}" for f, _ in d.fields] + [f"{FIELD}: {PENDING}"]
        build = "Self { " + ", ".join(inits) + " }"
    else:
        build = "Self(" + ", ".join([call.format(f=f) for f, _ in d.fields] + [PENDING]) + ")"
    bound = "::core::clone::Clone" if trait == "Clone" else "::core::default::Default"
    extra = [f"{d.unit.orig(t)}: {bound}" for _, t in d.fields] if g_impl else []
    rest = json.dumps(f"::{trait.lower()} ({d.file}:{d.line})")
    text = _fill(_tpl(f"{trait.lower()}_impl.rs.tpl"), DISPLAY=", ".join(d.concrete), IMPL_GENERICS=g_impl,
                 SELF_TY=self_ty, WHERE=_where(d, extra), BUILD=build, REST=rest)
    if not sites:   # --no-sites: registered without a site, like every other construction
        text = re.sub(r"::wlh_trace_core::track_in\(\n(\s*)(.*),\n\s*<Self as ::wlh_trace_core::Traced>::SITE_BASE,"
                      r"\n\s*.*,\n(\s*)\)", r"::wlh_trace_core::track(\n\1\2,\n\3)", text)
    return text


# ------------------------------------------------------------------------------------------
# crate-level edits

def _existing_allocator(src: Source) -> str | None:
    """file:line of a `#[global_allocator]` already in the patched crates (a second one would not
    compile: then the counting allocator is not added and SNAPSHOT lines say so)."""
    for rel, data in sorted(src.files.items()):
        i = data.find(b"#[global_allocator]")
        if i >= 0:
            return f"{rel}:{src.line_of(rel, i)}"
    return None


def _lib_edit(src: Source) -> tuple[str, str, str | None]:
    """(lib.rs path, text appended to it, existing global allocator or None)."""
    rel = f"{TARGET_CRATE}/src/lib.rs"
    if rel not in src.files:
        raise PatchError(f"{rel} not found in the checkout")
    existing = _existing_allocator(src)
    allocator = "" if existing else _tpl("allocator.rs.tpl")
    return rel, _fill(_tpl("sink.rs.tpl"), ALLOCATOR=allocator), existing


def _cargo_edit(text_: str, core_path: str) -> str:
    lines = text_.split("\n")
    dep = _fill(_tpl("cargo_dep.toml.tpl"), CORE_PATH=core_path).rstrip("\n")
    for i, line in enumerate(lines):
        if line.strip() == "[dependencies]":
            return "\n".join(lines[:i + 1] + dep.split("\n") + lines[i + 1:])
    return text_.rstrip("\n") + "\n\n[dependencies]\n" + dep + "\n"


NOT_COUNTED_RE = re.compile(r"((?:^///.*\n)+)(?:^(?!///).*\n)*?^impl\b[^{]*?\bfor\s+([\w:]+)", re.M)


def _size_notes() -> list[dict]:
    """What the size rules for proof-systems' types leave out, from their doc comments in
    templates/wlh_trace_upstream.rs (one source of truth): [{type, note}] for each rule whose
    comment says **Not counted**."""
    out = []
    for m in NOT_COUNTED_RE.finditer(_tpl("wlh_trace_upstream.rs")):
        doc = " ".join(line[3:].strip() for line in m.group(1).splitlines())
        if "Not counted" in doc:
            out.append({"type": m.group(2).split("::")[-1], "note": doc})
    return out


def core_files() -> dict[str, str]:
    out = {f"{CORE_DEST}/Cargo.toml": (CORE_DIR / "Cargo.toml").read_text()}
    for p in sorted((CORE_DIR / "src").glob("*.rs")):
        out[f"{CORE_DEST}/src/{p.name}"] = p.read_text()
    return out


# ------------------------------------------------------------------------------------------
# applying, checking, diffing

def apply_edits(src: bytes, edits: list[Edit]) -> bytes:
    edits = sorted(edits, key=lambda e: (e.start, e.prio, -e.end))
    out, pos = [], 0
    for e in edits:
        if e.start < pos:
            raise PatchError(f"overlapping edits at byte {e.start}")
        out.append(src[pos:e.start])
        out.append(e.text.encode())
        pos = e.end
    out.append(src[pos:])
    return b"".join(out)


def _masked_errors(src: bytes) -> int:
    tree = rs.parse(src)
    n = 0
    for md in rs.macro_defs(src, tree):
        for r in md.rules:
            if r.body is not None:
                n += rs.error_count(r.body.tree.root_node)
    return n


def _edition(checkout: Path, rel: str) -> str:
    crate = _crate_of(rel)
    toml = checkout / crate / "Cargo.toml" if crate else None
    if toml and toml.exists():
        m = re.search(r'^edition\s*=\s*"(\d{4})"', toml.read_text(), re.M)
        if m:
            return m.group(1)
        ws = checkout / "Cargo.toml"
        if ws.exists():
            m = re.search(r'^edition\s*=\s*"(\d{4})"', ws.read_text(), re.M)
            if m:
                return m.group(1)
    return "2021"


def rustfmt_check(code: bytes, edition: str) -> dict:
    """Runs rustfmt on the text through stdin (out-of-line modules are not followed).
    parse: rustfmt could parse it; unchanged: --check found nothing to reformat."""
    exe = shutil.which("rustfmt")
    if exe is None:
        return {"ran": False, "why": "rustfmt not found"}
    try:
        # neutral cwd: a rust-toolchain.toml of the checkout must not select another toolchain
        p = subprocess.run([exe, "--edition", edition, "--emit", "stdout"], input=code,
                           capture_output=True, timeout=60, cwd=tempfile.gettempdir())
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"ran": False, "why": str(e)}
    # with stdin, `rustfmt --check` exits 0 even when it prints a diff: compare the output instead
    return {"ran": True, "edition": edition, "parse": p.returncode == 0,
            "unchanged": p.returncode == 0 and p.stdout == code,
            "error": p.stderr.decode(errors="replace")[-400:] if p.returncode else ""}


def check_file(rel: str, before: bytes | None, after: bytes, edition: str) -> dict:
    res = {"file": rel,
           "tree_sitter_errors_before": None if before is None else rs.error_count(rs.parse(before).root_node),
           "tree_sitter_errors_after": rs.error_count(rs.parse(after).root_node)}
    if rel.endswith(".rs"):
        res["template_errors_before"] = None if before is None else _masked_errors(before)
        res["template_errors_after"] = _masked_errors(after)
        rf_after = rustfmt_check(after, edition)
        rf_before = rustfmt_check(before, edition) if before is not None else None
        res["rustfmt"] = {"after": rf_after, "before": rf_before}
        # template bodies are compared with the original file; a new file (our own code) may use
        # `$(..)*` repetitions, which the masked parse does not model: only whole-file checks there
        templates_ok = before is None or res["template_errors_after"] <= res["template_errors_before"]
        ok = (res["tree_sitter_errors_after"] == 0 and templates_ok
              and (not rf_after.get("ran") or rf_after.get("parse")))
    else:
        ok = True
    res["ok"] = ok
    return res


def unified_diff(rel: str, before: str | None, after: str) -> str:
    a = [] if before is None else before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    lines = list(difflib.unified_diff(a, b, fromfile="/dev/null" if before is None else f"a/{rel}",
                                      tofile=f"b/{rel}", n=3))
    out = []
    for ln in lines:
        if not ln.endswith("\n"):
            ln += "\n\\ No newline at end of file\n"
        out.append(ln)
    head = f"diff --git a/{rel} b/{rel}\n" + ("new file mode 100644\n" if before is None else "")
    return head + "".join(out) if out else ""


def _git_head(checkout: Path) -> str | None:
    try:
        r = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                           timeout=30)
        return r.stdout.strip() or None if r.returncode == 0 else None
    except OSError:
        return None


def patch_applies(patch: Path, checkout: Path) -> dict:
    """`git apply --check` of the patch in the checkout (read-only)."""
    if shutil.which("git") is None:
        return {"ran": False, "why": "git not found"}
    r = subprocess.run(["git", "apply", "--check", "--verbose", str(patch.resolve())], cwd=checkout,
                       capture_output=True, text=True, timeout=120)
    return {"ran": True, "ok": r.returncode == 0, "stderr": r.stderr[-800:]}


# ------------------------------------------------------------------------------------------
# the entry point

def generate_patch(inventory_json, checkout, out_dir, *, include_internal: bool = False,
                   sites: bool = True, expected_commit: str | None = None,
                   upstream_rules: bool = True) -> dict:
    """Writes out_dir/bindings.patch, summary.json and summary.md; returns the summary dict.

    inventory_json: Step 1 inventory (merged or source); None or a missing file -> the generator's
    own discovery of #[wasm_bindgen] structs is used (recorded in the summary).
    checkout: proof-systems checkout (unpatched). out_dir: created if needed.
    upstream_rules: include the size rules for proof-systems' own types
    (templates/wlh_trace_upstream.rs); tests on small fixtures without those crates turn it off.
    """
    checkout = Path(checkout)
    out_dir = Path(out_dir)
    if not (checkout / TARGET_CRATE / "Cargo.toml").exists():
        raise PatchError(f"{checkout}: not a proof-systems checkout ({TARGET_CRATE}/Cargo.toml missing)")
    if MARKER in (checkout / TARGET_CRATE / "Cargo.toml").read_text():
        raise PatchError(f"{checkout}: {TARGET_CRATE}/Cargo.toml already depends on {MARKER}: the checkout is "
                         f"already patched; give an unpatched checkout (e.g. `git checkout -- .` there)")
    entries = _load_inventory(inventory_json)
    src = Source(checkout)
    defs = discover(src)
    unlocated = select(defs, entries, include_internal)

    # plan until no type has a use the generator cannot rewrite
    blocked: dict[str, str] = {}
    for _ in range(10):
        planner = Planner(src, defs, sites)
        site_edits, recs, bad = planner.plan()
        new = {k: v for k, v in bad.items() if k not in blocked}
        if not new:
            break
        blocked.update(new)
        for d in defs:
            if d.key in new and d.status == "instrument":
                d.status, d.reason = "skip", f"use the generator cannot rewrite: {new[d.key]}"
    meas = Measure(defs, CURATED if upstream_rules else set())
    for d in defs:
        if d.status == "instrument":
            meas.plan_fields(d)

    edits: dict[str, list[Edit]] = {k: list(v) for k, v in site_edits.items()}
    export_edits, export_recs = planner.plan_exports()
    for rel, es in export_edits.items():
        edits.setdefault(rel, []).extend(es)
    recs = recs + export_recs
    for d in defs:
        if d.status in ("instrument", "helper"):
            edits.setdefault(d.file, []).extend(definition_edits(d, src, sites))
            if d.status == "instrument":
                for trait in sorted(REPLACED_DERIVES & set(d.attrs["derives"])):
                    recs.append(SiteRec(f"{trait.lower()}_impl", d.file, d.line, d.key, d.unit.macro))
    lib_rel, lib_add, existing_alloc = _lib_edit(src)

    new_texts: dict[str, tuple[str | None, str]] = {}
    for rel, es in sorted(edits.items()):
        before = src.files[rel]
        after = apply_edits(before, es)
        if rel == lib_rel:
            after = after.rstrip(b"\n") + b"\n" + lib_add.encode()
        new_texts[rel] = (before.decode(), after.decode())
    if lib_rel not in new_texts:
        before = src.files[lib_rel].decode()
        new_texts[lib_rel] = (before, before.rstrip("\n") + "\n" + lib_add)
    # every crate whose code now calls the core depends on it (export contexts reach the helper crates too;
    # the first wasm32 build of this patch failed on crates/arkworks without it)
    for crate in sorted({TARGET_CRATE} | {_crate_of(rel) for rel in new_texts} - {""}):
        cargo_rel = f"{crate}/Cargo.toml"
        cargo_before = (checkout / cargo_rel).read_text()
        depth = len(Path(crate).parts)
        new_texts[cargo_rel] = (cargo_before, _cargo_edit(cargo_before, "../" * depth + CORE_DEST))
    module = _tpl("wlh_trace.rs") + ("\n" + _tpl("wlh_trace_upstream.rs") if upstream_rules else "")
    new_texts[f"{TARGET_CRATE}/src/wlh_trace.rs"] = (None, module)
    for rel, content in core_files().items():
        new_texts[rel] = (None, content)

    checks = []
    diff_parts = []
    for rel in sorted(new_texts):
        before, after = new_texts[rel]
        if rel.endswith(".rs"):
            checks.append(check_file(rel, None if before is None else before.encode(), after.encode(),
                                     _edition(checkout, rel) if not rel.startswith(CORE_DEST) else "2021"))
        diff_parts.append(unified_diff(rel, before, after))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ".gitignore").write_text("# generated: carries upstream lines, never commit\n*.patch\nwork/\n")
    patch_path = out_dir / "bindings.patch"
    patch_path.write_text("".join(diff_parts))

    head = _git_head(checkout)
    summary = _summary(defs, entries, unlocated, recs, new_texts, checks, head, expected_commit, sites,
                       include_internal, inventory_json)
    summary["options"]["upstream_rules"] = upstream_rules
    summary["runtime"] = {
        "sink": "JS function imported through wasm-bindgen (global __wlh_trace_sink.write, defined by "
                "rust-bindings-patch/templates/wlh-trace-sink.cjs): fs.writeSync to the file named by "
                "WLH_TRACE_LOG, one descriptor shared by every thread",
        "snapshot_export": "wlh_trace_snapshot(iteration, phase)",
        "export_context": "opened at the top of every exported function except "
                          + ", ".join(sorted(NO_EXPORT_CONTEXT)) + " (a worker's entry point: never returns)",
        "counting_allocator": ("not added: the crates already declare a #[global_allocator] at "
                               f"{existing_alloc}; SNAPSHOT lines report allocator_counted false")
                              if existing_alloc else "added to lib.rs (CountingAlloc around std's System)",
    }
    summary["size_notes"] = _size_notes() if upstream_rules else []
    summary["patch_applies"] = patch_applies(patch_path, checkout) if head else {"ran": False, "why": "not a git work tree"}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
    (out_dir / "summary.md").write_text(summary_markdown(summary))
    return summary


def _summary(defs, entries, unlocated, recs, new_texts, checks, head, expected_commit, sites,
             include_internal, inventory_json) -> dict:
    inst = [d for d in defs if d.status == "instrument"]
    helpers = [d for d in defs if d.status == "helper"]
    skipped = [d for d in defs if d.status == "skip"]
    kinds: dict[str, int] = {}
    for r in recs:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    per_type_sites: dict[str, dict[str, int]] = {}
    for r in recs:
        per_type_sites.setdefault(r.type_key, {}).setdefault(r.kind, 0)
        per_type_sites[r.type_key][r.kind] += 1

    def drec(d: Def) -> dict:
        return {"names": d.concrete, "template": d.unit.macro, "file": d.file, "line": d.line,
                "shape": d.shape, "reason": d.reason or None,
                "sites": per_type_sites.get(d.key, {}),
                "measured_fields": [f for f, _ in d.measured], "unmeasured_fields": d.unmeasured}

    other_entries = []
    if entries is not None:
        for e in entries:
            if e.get("kind") != "struct":
                why = {"enum": "enum: not instrumented (a tracking field in every variant would change all "
                               "matches; C-like wasm-bindgen enums own nothing)",
                       "type_alias": "type alias: instrumented through the type it names"}.get(e.get("kind"), "not a struct")
                other_entries.append({"name": e.get("name"), "kind": e.get("kind"), "file": e.get("file"),
                                      "reason": why})
    files_touched = sorted(rel for rel, (b, a) in new_texts.items() if b is not None and b != a)
    files_added = sorted(rel for rel, (b, a) in new_texts.items() if b is None)
    n_inst_names = sum(len(d.concrete) for d in inst)
    return {
        "schema": "wasm-leak-hunt/source-patch-summary/1",
        "inventory": ("generator discovery (no inventory file)" if entries is None
                      else Path(inventory_json).name),
        "checkout_commit": head,
        "expected_commit": expected_commit,
        "commit_matches": (head == expected_commit) if (head and expected_commit) else None,
        "options": {"sites": sites, "include_internal": include_internal},
        "counts": {
            "definitions_seen": len(defs),
            "instrumented_definitions": len(inst),
            "instrumented_types": n_inst_names,
            "helper_definitions": len(helpers),
            "skipped_definitions": len(skipped),
            "skipped_types": sum(len(d.concrete) or 1 for d in skipped),
            "inventory_non_structs": len(other_entries),
            "inventory_unlocated": len(unlocated),
            "sites": kinds,
            "files_touched": len(files_touched),
            "files_added": len(files_added),
            "unmeasured_fields": sum(len(d.unmeasured) for d in inst),
        },
        "instrumented": [drec(d) for d in sorted(inst, key=lambda d: (d.file, d.line))],
        "helpers": [drec(d) for d in sorted(helpers, key=lambda d: (d.file, d.line))],
        "skipped": [drec(d) for d in sorted(skipped, key=lambda d: (d.file, d.line))],
        "inventory_other": other_entries,
        "inventory_unlocated": [{"name": e.get("name"), "file": e.get("file"), "line": e.get("line")}
                                for e in unlocated],
        "files_touched": files_touched,
        "files_added": files_added,
        "parse_checks": checks,
        "parse_ok": all(c["ok"] for c in checks),
        "checks_done": sorted({"tree-sitter (whole file, ERROR/MISSING nodes)",
                               "tree-sitter (masked macro_rules! bodies)"} |
                              ({"rustfmt --emit stdout via stdin (parse; unchanged = output equals input)"}
                               if any(c.get("rustfmt", {}).get("after", {}).get("ran") for c in checks) else set())),
    }


def summary_markdown(s: dict) -> str:
    c = s["counts"]
    out = ["# Source-route patch: what was instrumented", "",
           f"Inventory: {s['inventory']}. Checkout commit: `{s['checkout_commit']}`"
           + (f" (expected `{s['expected_commit']}`: {'match' if s['commit_matches'] else 'MISMATCH'})"
              if s.get("expected_commit") else "") + ".", "",
           "| what | count |", "| --- | --- |"]
    for k in ("definitions_seen", "instrumented_definitions", "instrumented_types", "helper_definitions",
              "skipped_definitions", "skipped_types", "inventory_non_structs", "inventory_unlocated",
              "files_touched", "files_added", "unmeasured_fields"):
        out.append(f"| {k.replace('_', ' ')} | {c[k]} |")
    for k, v in sorted(c["sites"].items()):
        out.append(f"| sites: {k.replace('_', ' ')} | {v} |")
    out += ["", "## Instrumented", "", "| types | template | file:line | sites | unmeasured fields |",
            "| --- | --- | --- | --- | --- |"]
    for d in s["instrumented"]:
        sites = ", ".join(f"{k} {v}" for k, v in sorted(d["sites"].items())) or "none found"
        um = ", ".join(f"`{u['field']}` ({u['why']})" for u in d["unmeasured_fields"]) or "-"
        out.append(f"| {', '.join(d['names'])} | {d['template'] or '-'} | {d['file']}:{d['line']} | {sites} | {um} |")
    out += ["", "## Helpers (WlhHeap impl only)", ""]
    out += [f"- {', '.join(d['names'])} ({d['file']}:{d['line']})" for d in s["helpers"]] or ["- none"]
    out += ["", "## Skipped", "", "| types | file:line | reason |", "| --- | --- | --- |"]
    for d in s["skipped"]:
        out.append(f"| {', '.join(d['names']) or '(template ' + str(d['template']) + ')'} | {d['file']}:{d['line']} | {d['reason']} |")
    for e in s["inventory_other"]:
        out.append(f"| {e['name']} ({e['kind']}) | {e['file']} | {e['reason']} |")
    for e in s["inventory_unlocated"]:
        why = ("type of a dependency crate exported to JS: outside the patched crates"
               if not _crate_of(e.get("file") or "") else "inventory entry not found in the checkout")
        out.append(f"| {e['name']} | {e['file']}:{e['line']} | {why} |")
    out += ["", "## Parse checks", "", f"Checks done: {'; '.join(s['checks_done'])}. All ok: **{s['parse_ok']}**.", "",
            "| file | tree-sitter errors (before → after) | template-body errors (before → after) | rustfmt parse | rustfmt --check unchanged (before → after) |",
            "| --- | --- | --- | --- | --- |"]
    for ch in s["parse_checks"]:
        rf = ch.get("rustfmt", {})
        a, b = rf.get("after") or {}, rf.get("before") or {}
        out.append(f"| {ch['file']} | {ch['tree_sitter_errors_before']} → {ch['tree_sitter_errors_after']} | "
                   f"{ch.get('template_errors_before')} → {ch.get('template_errors_after')} | "
                   f"{a.get('parse') if a.get('ran') else 'not run'} | "
                   f"{b.get('unchanged') if b.get('ran') else '-'} → {a.get('unchanged') if a.get('ran') else '-'} |")
    rt = s.get("runtime") or {}
    if rt:
        out += ["", "## Runtime", ""] + [f"- {k.replace('_', ' ')}: {v}" for k, v in rt.items()]
    if s.get("size_notes"):
        out += ["", "## What the size rules leave out", "", "| type | note |", "| --- | --- |"]
        out += [f"| {n['type']} | {n['note']} |" for n in s["size_notes"]]
    pa = s.get("patch_applies", {})
    out += ["", f"`git apply --check` on the checkout: {pa.get('ok') if pa.get('ran') else 'not run (' + str(pa.get('why')) + ')'}.", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    import argparse
    import sys
    ap = argparse.ArgumentParser(description="Generate the source-route instrumentation patch.")
    ap.add_argument("--inventory", default=None, help="Step 1 inventory JSON (default: generator discovery)")
    ap.add_argument("--checkout", required=True, help="proof-systems checkout (unpatched)")
    ap.add_argument("--out", required=True, help="output folder (bindings.patch, summary.json, summary.md)")
    ap.add_argument("--expected-commit", default=None)
    ap.add_argument("--no-sites", action="store_true", help="track() instead of track_at(): no SITE lines")
    args = ap.parse_args(argv)
    try:
        s = generate_patch(args.inventory, args.checkout, args.out, sites=not args.no_sites,
                           expected_commit=args.expected_commit)
    except PatchError as e:
        print(f"source patch: {e}", file=sys.stderr)
        return 1
    print(json.dumps(s["counts"], indent=2))
    return 0 if s["parse_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
