"""Rust syntax helpers for the source-route patch generator (tree-sitter based).

The bindings types are mostly defined inside `macro_rules!` templates, whose bodies tree-sitter
sees only as token trees. To find struct definitions, struct expressions, constructor calls and
patterns *inside* a template, its body is **masked** and parsed as items:

* each paste segment `[< ... >]` is replaced by an identifier of exactly the same byte length
  (``__wP<k>`` padded with ``_``), identical segments getting identical placeholders;
* each metavariable `$name` becomes `_name` (same length).

Because every replacement keeps the byte length, node offsets in the masked parse are offsets in
the real file: edits found there are applied to the original text, where the template keeps its
`$` and `[< >]` syntax. `paste`'s case modifiers are evaluated here to know which concrete types
an expansion produces (same rules as the paste crate).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import tree_sitter as ts
import tree_sitter_rust as tsr

LANGUAGE = ts.Language(tsr.language())
_PARSER = ts.Parser(LANGUAGE)

PASTE_RE = re.compile(rb"\[<([^\[\]<>]*?)>\]")
METAVAR_RE = re.compile(rb"\$([A-Za-z_][A-Za-z0-9_]*)")


def parse(src: bytes) -> ts.Tree:
    return _PARSER.parse(src)


def text(node: ts.Node | None) -> str:
    return "" if node is None else node.text.decode("utf-8", "replace")


def error_count(node: ts.Node) -> int:
    """ERROR and MISSING nodes under `node`."""
    n = 0
    stack = [node]
    while stack:
        cur = stack.pop()
        if cur.type == "ERROR" or cur.is_missing:
            n += 1
        if cur.has_error or cur.type == "ERROR":
            stack.extend(cur.children)
    return n


def walk(node: ts.Node, skip_token_trees: bool = True):
    """Pre-order walk; token trees (macro bodies/arguments) are not entered when asked."""
    stack = [node]
    while stack:
        cur = stack.pop()
        yield cur
        if skip_token_trees and cur.type in ("token_tree", "token_tree_pattern", "macro_definition"):
            continue
        stack.extend(reversed(cur.children))


# ------------------------------------------------------------------------------------------
# paste case modifiers (paste crate, segment.rs)

def to_snake(s: str) -> str:
    acc, prev = [], "_"
    for ch in s:
        if ch.isupper() and prev != "_":
            acc.append("_")
        acc.append(ch)
        prev = ch
    return "".join(acc).lower()


def to_camel(s: str) -> str:
    acc, prev = [], "_"
    for ch in s:
        if ch != "_":
            if prev == "_":
                acc.append(ch.upper())
            elif prev.isupper():
                acc.append(ch.lower())
            else:
                acc.append(ch)
        prev = ch
    return "".join(acc)


def apply_modifier(value: str, mod: str | None) -> str:
    if mod is None:
        return value
    if mod == "lower":
        return value.lower()
    if mod == "upper":
        return value.upper()
    if mod == "snake":
        return to_snake(value)
    if mod in ("camel", "upper_camel"):
        return to_camel(value)
    if mod == "lower_camel":
        c = to_camel(value)
        return c[:1].lower() + c[1:]
    raise ValueError(f"unknown paste modifier :{mod}")


_PIECE_RE = re.compile(r'\$([A-Za-z_][A-Za-z0-9_]*)(?:\s*:\s*([a-z_]+))?|"([^"]*)"|([A-Za-z0-9_]+)(?:\s*:\s*([a-z_]+))?')


def eval_paste(segment: str, bindings: dict[str, str]) -> str:
    """Evaluates the inside of `[< ... >]` with metavariable bindings (values as written)."""
    out = []
    for m in _PIECE_RE.finditer(segment):
        var, vmod, lit, word, wmod = m.groups()
        if var is not None:
            if var not in bindings:
                raise KeyError(var)
            out.append(apply_modifier(last_ident(bindings[var]), vmod))
        elif lit is not None:
            out.append(lit)
        else:
            out.append(apply_modifier(word, wmod))
    return "".join(out)


def last_ident(path_text: str) -> str:
    """`a::b::C<T>` -> `C`; `C` -> `C`."""
    t = path_text.strip()
    depth, cut = 0, len(t)
    for i, ch in enumerate(t):
        if ch == "<":
            if depth == 0:
                cut = i
                break
            depth += 1
    t = t[:cut].strip()
    return t.split("::")[-1].strip()


# ------------------------------------------------------------------------------------------
# masking

@dataclass
class Masked:
    """A region of a file (a template body) parsed with paste segments and `$` masked."""
    start: int                      # byte offset of the region in the file
    end: int
    tree: ts.Tree
    placeholders: dict[str, str]    # placeholder identifier -> original paste segment text '[< .. >]'
    metavars: set[str]              # names bound by the rule's matcher
    masked_bytes: bytes

    def original(self, ident: str) -> str:
        """Original template text of a masked identifier."""
        if ident in self.placeholders:
            return self.placeholders[ident]
        if ident.startswith("_") and ident[1:] in self.metavars:
            return "$" + ident[1:]
        return ident


def mask(region: bytes, metavars: set[str]) -> tuple[bytes, dict[str, str]]:
    placeholders: dict[str, str] = {}
    by_text: dict[bytes, bytes] = {}
    out = bytearray(region)
    for m in PASTE_RE.finditer(region):
        seg = m.group(0)
        if seg not in by_text:
            tag = f"__wP{len(by_text)}".encode()
            if len(tag) > len(seg):
                continue
            ph = tag + b"_" * (len(seg) - len(tag))
            by_text[seg] = ph
            placeholders[ph.decode()] = seg.decode()
        out[m.start():m.end()] = by_text[seg]
    for m in METAVAR_RE.finditer(bytes(out)):
        out[m.start()] = ord("_")
    # `$( ... )*` repetitions leave a bare `$`: turn it into a space
    masked = bytes(out).replace(b"$", b" ")
    return masked, placeholders


@dataclass
class MacroRule:
    macro: str
    index: int
    metavars: list[str]             # in matcher order
    body: Masked | None             # None when the body could not be located


@dataclass
class MacroDef:
    name: str
    node_start: int
    line: int                       # 1-based line of `macro_rules!`
    rules: list[MacroRule] = field(default_factory=list)


def _rule_parts(rule: ts.Node) -> tuple[ts.Node | None, ts.Node | None]:
    left = right = None
    seen_arrow = False
    for c in rule.children:
        if c.type == "=>":
            seen_arrow = True
        elif c.type in ("token_tree_pattern", "token_tree"):
            if seen_arrow:
                right = c
            else:
                left = c
    return left, right


def _body_region(right: ts.Node) -> tuple[int, int]:
    """Byte range of the items of a rule body: inside `paste! { .. }` when the body is one."""
    kids = right.children[1:-1]  # without the outer delimiters
    named = [k for k in kids if k.type not in ("{", "}", "(", ")", "[", "]")]
    if len(named) >= 3 and named[0].type == "identifier" and text(named[0]) == "paste" \
            and named[1].type == "!" and named[2].type == "token_tree":
        inner = named[2]
        return inner.children[0].end_byte, inner.children[-1].start_byte
    return right.children[0].end_byte, right.children[-1].start_byte


def macro_defs(src: bytes, tree: ts.Tree) -> list[MacroDef]:
    out = []
    for node in walk(tree.root_node, skip_token_trees=False):
        if node.type != "macro_definition":
            continue
        name = text(node.child_by_field_name("name")) or next(
            (text(c) for c in node.children if c.type == "identifier"), "")
        md = MacroDef(name=name, node_start=node.start_byte, line=node.start_point[0] + 1)
        for i, rule in enumerate(c for c in node.children if c.type == "macro_rule"):
            left, right = _rule_parts(rule)
            mv = [m.decode() for m in METAVAR_RE.findall(left.text)] if left is not None else []
            body = None
            if right is not None and right.child_count >= 2:
                s, e = _body_region(right)
                masked, ph = mask(src[s:e], set(mv))
                body = Masked(start=s, end=e, tree=parse(masked), placeholders=ph,
                              metavars=set(mv), masked_bytes=masked)
            md.rules.append(MacroRule(macro=name, index=i, metavars=mv, body=body))
        out.append(md)
    return out


def split_args(tt: ts.Node, src: bytes) -> list[str]:
    """Top-level comma-separated arguments of a macro invocation's token tree, as text.
    Angle brackets are balanced so `Foo<A, B>` stays one argument."""
    inner = src[tt.children[0].end_byte: tt.children[-1].start_byte].decode("utf-8", "replace")
    args, depth, cur = [], 0, []
    i = 0
    while i < len(inner):
        ch = inner[i]
        if ch in "([{<":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ">" and not (i > 0 and inner[i - 1] == "-"):
            depth -= 1
        if ch == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    if "".join(cur).strip():
        args.append("".join(cur).strip())
    return args


# ------------------------------------------------------------------------------------------
# use / type aliases

def use_aliases(use_node: ts.Node) -> dict[str, str]:
    """Names a `use` declaration brings in -> the path they name (last segment kept whole)."""
    out: dict[str, str] = {}

    def rec(n: ts.Node, prefix: str) -> None:
        t = n.type
        if t == "use_as_clause":
            path = n.child_by_field_name("path")
            alias = n.child_by_field_name("alias")
            out[text(alias)] = (prefix + text(path)) if path is not None else ""
        elif t == "scoped_use_list":
            path = n.child_by_field_name("path")
            lst = n.child_by_field_name("list")
            p = prefix + (text(path) + "::" if path is not None else "")
            if lst is not None:
                rec(lst, p)
        elif t == "use_list":
            for c in n.named_children:
                rec(c, prefix)
        elif t in ("scoped_identifier", "identifier"):
            full = prefix + text(n)
            out[full.split("::")[-1]] = full
        elif t == "use_wildcard":
            pass

    arg = use_node.child_by_field_name("argument")
    if arg is not None:
        rec(arg, "")
    return out


def scope_aliases(container: ts.Node, original=lambda s: s) -> dict[str, str]:
    """`use` renames and `type` aliases declared directly in a source file / declaration list."""
    out: dict[str, str] = {}
    for c in container.named_children:
        if c.type == "use_declaration":
            for k, v in use_aliases(c).items():
                if last_ident(v) != k:
                    out[k] = v
        elif c.type == "type_item":
            name = c.child_by_field_name("name")
            ty = c.child_by_field_name("type")
            if name is not None and ty is not None:
                out[original(text(name))] = original(text(ty))
    return out


def attributes_before(node: ts.Node) -> list[ts.Node]:
    """attribute_item siblings directly before `node` (and comments between them)."""
    out = []
    prev = node.prev_sibling
    while prev is not None and prev.type in ("attribute_item", "line_comment", "block_comment"):
        if prev.type == "attribute_item":
            out.append(prev)
        prev = prev.prev_sibling
    return list(reversed(out))


DERIVE_RE = re.compile(r"derive\s*\(([^)]*)\)")


def attr_info(attrs: list[ts.Node]) -> dict:
    wasm_bindgen, js_name, derives, cfg = False, None, [], None
    for a in attrs:
        t = text(a)
        inner = t[2:-1].strip() if t.startswith("#[") else t
        if inner.startswith("wasm_bindgen"):
            wasm_bindgen = True
            m = re.search(r'js_name\s*=\s*"?([A-Za-z0-9_]+)"?', inner)
            if m:
                js_name = m.group(1)
        for m in DERIVE_RE.finditer(inner):
            derives += [d.strip().split("::")[-1] for d in m.group(1).split(",") if d.strip()]
        if inner.startswith("cfg(") or inner.startswith("cfg ("):
            cfg = inner
    return {"wasm_bindgen": wasm_bindgen, "js_name": js_name, "derives": derives, "cfg": cfg}
