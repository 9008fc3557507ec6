"""Scan Rust source text with the tree-sitter Rust grammar.

One `scan_text` call walks the items of one text (a real file, or the expansion of a macro template)
and returns plain records: type declarations (struct/enum/type alias) with their attributes and field
type references, impl blocks, functions (return types, wasm_bindgen attributes), `use` renames and
globs per module, macro_rules! definitions, item-level macro invocations and construction sites
(struct expressions, tuple-constructor calls, tuple constructors used as function values).

Nothing here resolves names across modules; `model.py` does that on these records.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import tree_sitter as ts
import tree_sitter_rust as tsr

LANGUAGE = ts.Language(tsr.language())
PARSER_NAME = "tree-sitter-rust"


def parse(src: bytes) -> ts.Tree:
    return ts.Parser(LANGUAGE).parse(src)


def text(node: ts.Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def norm_type(t: str) -> str:
    """Canonical one-line spelling of a type: `Vec < Vec<Fp> >` -> `Vec<Vec<Fp>>`."""
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"\s*([<>\[\]()])\s*", r"\1", t)
    t = re.sub(r"\s*::\s*", "::", t)
    t = re.sub(r"\s*,\s*", ", ", t)
    t = re.sub(r"\s*;\s*", "; ", t)
    t = re.sub(r"\bas\b", " as ", t)
    t = re.sub(r"\bdyn\b", "dyn ", t)
    t = re.sub(r"\bmut\b", " mut ", t)
    t = re.sub(r"\s+", " ", t).replace("& mut", "&mut").replace("< ", "<").replace(" >", ">")
    t = re.sub(r"\*\s*(mut|const)\s+", r"*\1 ", t)
    t = re.sub(r",\s*>", ">", t)
    t = re.sub(r",\s*\)", ")", t)
    return t.strip()


# --------------------------------------------------------------------------------------------
# records


@dataclass(eq=False)
class Where:
    """Where a text came from: a file (relative path), a row offset, and for expansions the template."""
    file: str
    row_offset: int = 0
    invocation: str | None = None          # "file:line" of the macro invocation, for expansions
    template: dict | None = None           # {"macro", "defined_at", "invocation", "args"}

    def line(self, node: ts.Node) -> int:
        return node.start_point.row + self.row_offset + 1


@dataclass(eq=False)
class Attr:
    path: str                  # last segment of the attribute path: derive, wasm_bindgen, cfg, ...
    full_path: str
    args: list[str]            # top-level comma-separated argument texts (normalized)
    gate: str | None = None    # the predicate when this attribute came out of cfg_attr(pred, ...)


@dataclass(eq=False)
class FieldRec:
    name: str
    type_text: str
    refs: list[tuple[str, str]]  # (path as written, last segment) of every type named in the field type
    attrs: list[Attr] = field(default_factory=list)


@dataclass(eq=False)
class TypeRec:
    name: str
    kind: str                  # struct | enum | type_alias
    module: tuple[str, ...]
    where: Where
    line: int
    visibility: str
    generics: list[str]
    attrs: list[Attr]
    shape: str                 # named | tuple | unit | enum | alias
    fields: list[FieldRec]
    alias_text: str | None = None
    alias_refs: list[tuple[str, str]] = field(default_factory=list)
    in_cfg_test: bool = False
    crate: str = ""


@dataclass(eq=False)
class FnRec:
    name: str
    module: tuple[str, ...]
    where: Where
    line: int
    attrs: list[Attr]
    is_pub: bool
    has_self: bool
    ret_text: str | None
    ret_refs: list[tuple[str, str]]
    params: list[str] = field(default_factory=list)   # parameter types as written (self excluded)
    param_refs: list[list[tuple[str, str]]] = field(default_factory=list)
    calls_into_raw: bool = False   # body mentions Box::into_raw (hands out an owning raw pointer)
    calls_from_raw: bool = False   # body mentions Box::from_raw (takes ownership back)
    impl_self: str | None = None          # self type text of the enclosing impl
    impl_trait: str | None = None
    impl_wasm_bindgen: bool = False        # enclosing impl block carries #[wasm_bindgen]
    crate: str = ""


@dataclass(eq=False)
class ImplRec:
    self_text: str             # e.g. WasmFpGate, FlatVector<T>
    self_name: str             # last path segment without generics
    self_path: str             # path as written, without generics
    trait_text: str | None     # e.g. From<CoreGate<Fp>>, wasm_bindgen::convert::FromWasmAbi
    trait_name: str | None     # last segment without generics: From, Drop, Clone, ...
    module: tuple[str, ...]
    where: Where
    line: int
    attrs: list[Attr]
    fns: list[FnRec]
    crate: str = ""


@dataclass(eq=False)
class SiteRec:
    name_path: str             # type path as written in the expression (may be Self or an alias)
    kind: str                  # struct_expr | tuple_call | fn_value
    module: tuple[str, ...]
    where: Where
    line: int
    in_fn: str
    impl_self: str | None      # for Self
    crate: str = ""


@dataclass(eq=False)
class UseRec:
    module: tuple[str, ...]
    renames: dict[str, str]    # local name -> path text
    globs: list[str]           # glob paths
    crate: str = ""


@dataclass(eq=False)
class MacroDefRec:
    name: str
    module: tuple[str, ...]
    where: Where
    line: int
    node: ts.Node              # the macro_definition node (its tree is kept alive by the scan)
    src: bytes
    crate: str = ""


@dataclass(eq=False)
class InvocationRec:
    name: str
    module: tuple[str, ...]
    where: Where
    line: int
    node: ts.Node              # the macro_invocation node
    src: bytes
    crate: str = ""


@dataclass(eq=False)
class Scan:
    types: list[TypeRec] = field(default_factory=list)
    impls: list[ImplRec] = field(default_factory=list)
    fns: list[FnRec] = field(default_factory=list)
    sites: list[SiteRec] = field(default_factory=list)
    uses: list[UseRec] = field(default_factory=list)
    macros: list[MacroDefRec] = field(default_factory=list)
    invocations: list[InvocationRec] = field(default_factory=list)
    modules: set[tuple[str, ...]] = field(default_factory=set)
    errors: list[dict] = field(default_factory=list)
    trees: list[ts.Tree] = field(default_factory=list)

    def set_crate(self, crate: str) -> None:
        for k in ("types", "impls", "fns", "sites", "uses", "macros", "invocations"):
            for r in getattr(self, k):
                r.crate = crate
        for i in self.impls:
            for f in i.fns:
                f.crate = crate

    def extend(self, other: "Scan") -> None:
        for k in ("types", "impls", "fns", "sites", "uses", "macros", "invocations", "errors", "trees"):
            getattr(self, k).extend(getattr(other, k))
        self.modules |= other.modules


# --------------------------------------------------------------------------------------------
# attributes


def split_top_commas(tt: ts.Node) -> list[list[ts.Node]]:
    """Children of a token tree (without its delimiters), split at top-level commas."""
    kids = list(tt.children)
    if kids and kids[0].type in ("(", "[", "{"):
        kids = kids[1:-1]
    groups: list[list[ts.Node]] = [[]]
    for k in kids:
        if k.type == ",":
            groups.append([])
        else:
            groups[-1].append(k)
    return [g for g in groups if g]


def _group_text(src_nodes: list[ts.Node]) -> str:
    if not src_nodes:
        return ""
    first, last = src_nodes[0], src_nodes[-1]
    full = first.text if first is last else None
    if full is None:
        # rebuild from the common source bytes
        root = first
        while root.parent is not None:
            root = root.parent
        full = root.text[first.start_byte - root.start_byte:last.end_byte - root.start_byte]
    return re.sub(r"\s+", " ", full.decode("utf-8", "replace")).strip()


def parse_attribute(attr_node: ts.Node) -> list[Attr]:
    """One `attribute` node -> Attr records (cfg_attr expands to the attributes it gates)."""
    path_node = None
    args_node = None
    for c in attr_node.children:
        if c.type in ("identifier", "scoped_identifier") and path_node is None:
            path_node = c
        elif c.type == "token_tree":
            args_node = c
    full = text(path_node)
    last = full.split("::")[-1]
    args = [_group_text(g) for g in split_top_commas(args_node)] if args_node is not None else []
    if last == "cfg_attr" and args_node is not None:
        groups = split_top_commas(args_node)
        if not groups:
            return []
        pred = _group_text(groups[0])
        out = []
        for g in groups[1:]:
            gpath = "".join(text(n) for n in g if n.type in ("identifier", "::"))
            gtt = next((n for n in g if n.type == "token_tree"), None)
            gargs = [_group_text(x) for x in split_top_commas(gtt)] if gtt is not None else []
            if gpath.split("::")[-1] == "derive":
                gargs = [x.split("::")[-1].strip() for x in gargs]
            out.append(Attr(path=gpath.split("::")[-1], full_path=gpath, args=gargs, gate=pred))
        return out
    if last == "derive" and args_node is not None:
        args = [a.split("::")[-1].strip() for a in args]
    return [Attr(path=last, full_path=full, args=args)]


def attrs_of(nodes: list[ts.Node]) -> list[Attr]:
    out: list[Attr] = []
    for n in nodes:
        for c in n.children:
            if c.type == "attribute":
                out.extend(parse_attribute(c))
    return out


def wasm_bindgen_args(attrs: list[Attr]) -> tuple[bool, dict, str | None]:
    """(present, {key: value or True}, gate) for #[wasm_bindgen(...)] among attrs."""
    present, opts, gate = False, {}, None
    for a in attrs:
        if a.path == "wasm_bindgen":
            present = True
            gate = gate or a.gate
            for arg in a.args:
                if "=" in arg:
                    k, v = arg.split("=", 1)
                    opts[k.strip()] = v.strip().strip('"')
                elif arg:
                    opts[arg.strip()] = True
    return present, opts, gate


def derives_of(attrs: list[Attr]) -> list[str]:
    out: list[str] = []
    for a in attrs:
        if a.path == "derive":
            out.extend(x for x in a.args if x)
    return out


# --------------------------------------------------------------------------------------------
# types


def type_refs(node: ts.Node | None) -> list[tuple[str, str]]:
    """Every named type inside a type node: (path as written, last segment)."""
    out: list[tuple[str, str]] = []

    def walk(n: ts.Node) -> None:
        t = n.type
        if t == "type_identifier":
            out.append((text(n), text(n)))
            return
        if t == "scoped_type_identifier":
            name = n.child_by_field_name("name")
            path = n.child_by_field_name("path")
            p = norm_type(text(path)) if path is not None else ""
            # a qualified path such as <A as B>::C names only C (an associated type, not A or B)
            out.append(((p + "::" if p else "") + text(name), text(name)))
            return
        if t == "scoped_identifier":  # inside bracketed/qualified types
            name = n.child_by_field_name("name")
            out.append((norm_type(text(n)), text(name)))
            return
        for c in n.children:
            walk(c)

    if node is not None:
        walk(node)
    return out


def generics_of(node: ts.Node) -> list[str]:
    tp = node.child_by_field_name("type_parameters")
    if tp is None:
        return []
    return [norm_type(text(c)) for c in tp.named_children if c.type not in ("comment",)]


def visibility_of(node: ts.Node) -> str:
    for c in node.children:
        if c.type == "visibility_modifier":
            return re.sub(r"\s+", "", text(c))
    return "private"


def _fields_of(body: ts.Node | None, prefix: str = "") -> tuple[str, list[FieldRec]]:
    if body is None:
        return "unit", []
    fields: list[FieldRec] = []
    pending: list[ts.Node] = []
    if body.type == "field_declaration_list":
        for c in body.named_children:
            if c.type == "attribute_item":
                pending.append(c)
            elif c.type == "field_declaration":
                ty = c.child_by_field_name("type")
                fields.append(FieldRec(prefix + text(c.child_by_field_name("name")), norm_type(text(ty)),
                                       type_refs(ty), attrs_of(pending)))
                pending = []
        return "named", fields
    if body.type == "ordered_field_declaration_list":
        i = 0
        for c in body.named_children:
            if c.type == "attribute_item":
                pending.append(c)
            elif c.type in ("visibility_modifier", "comment"):
                continue
            else:
                fields.append(FieldRec(prefix + str(i), norm_type(text(c)), type_refs(c), attrs_of(pending)))
                pending = []
                i += 1
        return "tuple", fields
    return "unit", []


# --------------------------------------------------------------------------------------------
# use declarations


def _use_tree(node: ts.Node, prefix: str, renames: dict, globs: list) -> None:
    t = node.type
    if t in ("identifier", "scoped_identifier", "self", "crate", "super"):
        p = norm_type(text(node))
        full = f"{prefix}::{p}" if prefix else p
        name = p.split("::")[-1]
        if name == "self":  # use a::b::{self} -> b
            full = full.rsplit("::", 1)[0]
            name = full.split("::")[-1]
        renames[name] = full
    elif t == "use_as_clause":
        path = node.child_by_field_name("path")
        alias = node.child_by_field_name("alias")
        p = norm_type(text(path))
        full = f"{prefix}::{p}" if prefix else p
        if full.endswith("::self"):
            full = full[:-6]
        renames[text(alias)] = full
    elif t == "use_wildcard":
        p = norm_type(text(node))[:-3].rstrip(":")
        globs.append(f"{prefix}::{p}" if prefix and p else (p or prefix))
    elif t == "scoped_use_list":
        path = node.child_by_field_name("path")
        lst = node.child_by_field_name("list")
        p = norm_type(text(path)) if path is not None else ""
        newp = f"{prefix}::{p}" if prefix and p else (p or prefix)
        if lst is not None:
            _use_tree(lst, newp, renames, globs)
    elif t == "use_list":
        for c in node.named_children:
            _use_tree(c, prefix, renames, globs)


def parse_use(node: ts.Node) -> tuple[dict, list]:
    renames: dict[str, str] = {}
    globs: list[str] = []
    arg = node.child_by_field_name("argument")
    if arg is not None:
        _use_tree(arg, "", renames, globs)
    return renames, globs


# --------------------------------------------------------------------------------------------
# the walk


def _is_cfg_test(attrs: list[Attr]) -> bool:
    return any(a.path == "cfg" and a.args and re.fullmatch(r"test|all\(test.*", a.args[0]) for a in attrs)


class _Walker:
    def __init__(self, src: bytes, where: Where, scan: Scan):
        self.src = src
        self.where = where
        self.scan = scan

    def items(self, container: ts.Node, module: tuple[str, ...], in_test: bool) -> None:
        self.scan.modules.add(module)
        pending: list[ts.Node] = []
        for c in container.named_children:
            t = c.type
            if t == "attribute_item":
                pending.append(c)
                continue
            if t in ("line_comment", "block_comment", "inner_attribute_item"):
                continue
            attrs = attrs_of(pending)
            pending = []
            if t in ("struct_item", "enum_item", "type_item", "union_item"):
                self.type_item(c, attrs, module, in_test)
            elif t == "mod_item":
                body = c.child_by_field_name("body")
                name = text(c.child_by_field_name("name"))
                if body is not None:
                    self.items(body, module + (name,), in_test or _is_cfg_test(attrs))
                else:
                    self.scan.modules.add(module + (name,))
            elif t == "impl_item":
                self.impl_item(c, attrs, module)
            elif t == "function_item":
                self.scan.fns.append(self.fn_item(c, attrs, module, None))
            elif t == "use_declaration":
                renames, globs = parse_use(c)
                self.scan.uses.append(UseRec(module, renames, globs))
            elif t == "macro_definition":
                self.scan.macros.append(MacroDefRec(text(c.child_by_field_name("name")), module, self.where,
                                                    self.where.line(c), c, self.src))
            elif t == "macro_invocation":
                self.invocation(c, module)
            elif t == "expression_statement" and c.named_child_count and c.named_children[0].type == "macro_invocation":
                self.invocation(c.named_children[0], module)
            elif t == "ERROR":
                self.scan.errors.append({"file": self.where.file, "line": self.where.line(c),
                                         "invocation": self.where.invocation})
            # const/static/extern blocks/foreign items: not types

    def invocation(self, node: ts.Node, module) -> None:
        mac = node.child_by_field_name("macro")
        name = text(mac).split("::")[-1]
        self.scan.invocations.append(InvocationRec(name, module, self.where, self.where.line(node), node, self.src))

    def type_item(self, node: ts.Node, attrs: list[Attr], module, in_test: bool) -> None:
        t = node.type
        name = text(node.child_by_field_name("name"))
        rec = TypeRec(name=name, kind={"struct_item": "struct", "union_item": "struct", "enum_item": "enum",
                                       "type_item": "type_alias"}[t],
                      module=module, where=self.where, line=self.where.line(node), visibility=visibility_of(node),
                      generics=generics_of(node), attrs=attrs, shape="named", fields=[], in_cfg_test=in_test)
        if t in ("struct_item", "union_item"):
            body = node.child_by_field_name("body")
            rec.shape, rec.fields = _fields_of(body)
        elif t == "enum_item":
            rec.shape = "enum"
            body = node.child_by_field_name("body")
            for v in (body.named_children if body is not None else []):
                if v.type != "enum_variant":
                    continue
                vname = text(v.child_by_field_name("name"))
                _, vf = _fields_of(v.child_by_field_name("body"), prefix=vname + ".")
                rec.fields.extend(vf)
        else:
            rec.shape = "alias"
            ty = node.child_by_field_name("type")
            rec.alias_text = norm_type(text(ty))
            rec.alias_refs = type_refs(ty)
        self.scan.types.append(rec)

    def impl_item(self, node: ts.Node, attrs: list[Attr], module) -> None:
        ty = node.child_by_field_name("type")
        tr = node.child_by_field_name("trait")
        self_text = norm_type(text(ty))
        base = ty
        if base is not None and base.type == "generic_type":
            base = base.child_by_field_name("type")
        self_path = norm_type(text(base))
        self_name = self_path.split("::")[-1]
        trait_text = norm_type(text(tr)) if tr is not None else None
        trait_name = None
        if tr is not None:
            tb = tr.child_by_field_name("type") if tr.type == "generic_type" else tr
            trait_name = norm_type(text(tb)).split("::")[-1]
        wb, _, _ = wasm_bindgen_args(attrs)
        rec = ImplRec(self_text, self_name, self_path, trait_text, trait_name, module, self.where,
                      self.where.line(node), attrs, [])
        body = node.child_by_field_name("body")
        pending: list[ts.Node] = []
        for c in (body.named_children if body is not None else []):
            if c.type == "attribute_item":
                pending.append(c)
                continue
            if c.type == "function_item":
                f = self.fn_item(c, attrs_of(pending), module, rec)
                f.impl_wasm_bindgen = wb
                rec.fns.append(f)
            if c.type not in ("line_comment", "block_comment"):
                pending = []
        self.scan.impls.append(rec)

    def fn_item(self, node: ts.Node, attrs: list[Attr], module, impl: ImplRec | None) -> FnRec:
        name = text(node.child_by_field_name("name"))
        params = node.child_by_field_name("parameters")
        has_self = params is not None and any(c.type == "self_parameter" for c in params.named_children)
        ret = node.child_by_field_name("return_type")
        ptypes, prefs = [], []
        for c in (params.named_children if params is not None else []):
            if c.type == "parameter":
                ptypes.append(norm_type(text(c.child_by_field_name("type"))))
                prefs.append(type_refs(c.child_by_field_name("type")))
        f = FnRec(name=name, module=module, where=self.where, line=self.where.line(node), attrs=attrs,
                  is_pub=visibility_of(node).startswith("pub"), has_self=has_self,
                  ret_text=norm_type(text(ret)) if ret is not None else None, ret_refs=type_refs(ret),
                  params=ptypes, param_refs=prefs,
                  impl_self=impl.self_text if impl else None, impl_trait=impl.trait_name if impl else None)
        body = node.child_by_field_name("body")
        if body is not None:
            btxt = re.sub(r"\s+", "", text(body))
            f.calls_into_raw = "Box::into_raw" in btxt or "Box::<" in btxt and "::into_raw" in btxt
            f.calls_from_raw = "Box::from_raw" in btxt
            self.sites(body, module, name, impl.self_text if impl else None)
        return f

    def sites(self, node: ts.Node, module, fn_name: str, impl_self: str | None) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            t = n.type
            if t == "struct_expression":
                nm = n.child_by_field_name("name")
                if nm is not None:
                    base = nm
                    if base.type == "generic_type_with_turbofish":
                        base = base.child_by_field_name("type")
                    self.scan.sites.append(SiteRec(norm_type(text(base)), "struct_expr", module, self.where,
                                                   self.where.line(n), fn_name, impl_self))
            elif t == "call_expression":
                fn = n.child_by_field_name("function")
                if fn is not None and fn.type in ("identifier", "scoped_identifier", "self") and \
                        re.match(r"^[A-Z]", text(fn).split("::")[-1]):
                    self.scan.sites.append(SiteRec(norm_type(text(fn)), "tuple_call", module, self.where,
                                                   self.where.line(n), fn_name, impl_self))
            elif t == "arguments":
                for a in n.named_children:
                    if a.type in ("identifier", "scoped_identifier") and re.match(r"^[A-Z]\w*[a-z]", text(a).split("::")[-1]):
                        self.scan.sites.append(SiteRec(norm_type(text(a)), "fn_value", module, self.where,
                                                       self.where.line(a), fn_name, impl_self))
            elif t == "function_item":
                # nested fn: sites belong to it
                self.scan.fns.append(self.fn_item(n, [], module, None))
                continue
            elif t == "macro_invocation":
                # macro arguments are token trees: parse `vec![X(..)]`-style bodies is out of reach; skip
                pass
            stack.extend(reversed(n.children))


def scan_text(src: bytes, where: Where, module: tuple[str, ...] = (), in_test: bool = False) -> Scan:
    tree = parse(src)
    scan = Scan()
    scan.trees.append(tree)
    _Walker(src, where, scan).items(tree.root_node, module, in_test)
    if tree.root_node.has_error and not scan.errors:
        bad = _first_error(tree.root_node)
        if bad is not None:
            scan.errors.append({"file": where.file, "line": where.line(bad), "invocation": where.invocation})
    return scan


def _first_error(node: ts.Node) -> ts.Node | None:
    if node.type == "ERROR" or node.is_missing:
        return node
    for c in node.children:
        if c.has_error or c.is_missing:
            r = _first_error(c)
            if r is not None:
                return r
    return None


def module_of_file(rel_in_src: str) -> tuple[str, ...]:
    """Module path of a file given its path relative to the crate's src/ folder."""
    parts = rel_in_src.split("/")
    last = parts[-1][:-3] if parts[-1].endswith(".rs") else parts[-1]
    parts = parts[:-1] + ([] if last in ("lib", "mod", "main") else [last])
    return tuple(parts)
