"""Expand the bindings layer's own `macro_rules!` templates into concrete Rust text.

Supported, because the real crates use exactly these forms:
- matchers that are a flat sequence of `$name:fragment` bindings and literal tokens (usually commas);
- `$name` substitution in the transcriber;
- `paste! { ... }` blocks with `[< ... >]` identifier concatenation and the case modifiers of the
  paste crate (`:lower`, `:upper`, `:snake`, `:camel`/`:upper_camel`, `:lower_camel`).
Repetitions (`$( ... )*`) are reported as unsupported rather than guessed.

The expansion keeps the template's line structure (replacements never add or remove newlines before
later text), so a row of the expanded text maps back to a line of the template.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import tree_sitter as ts

from .rust_source import text

CASE_MODIFIERS = ("lower", "upper", "snake", "camel", "upper_camel", "lower_camel")


class ExpandError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# paste's case conversions (same algorithm as the paste crate's segment.rs)


def to_snake(s: str) -> str:
    acc, prev = [], "_"
    for ch in s:
        if ch.isupper() and prev != "_":
            acc.append("_")
        acc.append(ch)
        prev = ch
    return "".join(acc).lower()


def to_camel(s: str, lower_first: bool = False) -> str:
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
    out = "".join(acc)
    if lower_first and out:
        out = out[0].lower() + out[1:]
    return out


def apply_modifier(seg: str, mod: str) -> str:
    if mod == "lower":
        return seg.lower()
    if mod == "upper":
        return seg.upper()
    if mod == "snake":
        return to_snake(seg)
    if mod in ("camel", "upper_camel"):
        return to_camel(seg)
    if mod == "lower_camel":
        return to_camel(seg, lower_first=True)
    raise ExpandError(f"unknown paste modifier :{mod}")


# --------------------------------------------------------------------------------------------
# matchers


@dataclass
class Rule:
    pattern: list[tuple[str, str, str]] | None   # [("bind", name, frag) | ("lit", text, "")]
    unsupported: str | None
    transcriber: ts.Node
    line: int


@dataclass
class MacroTemplate:
    name: str
    rules: list[Rule] = field(default_factory=list)


def _pattern(node: ts.Node) -> tuple[list | None, str | None]:
    kids = list(node.children)[1:-1]  # drop the delimiters
    out = []
    for k in kids:
        if k.type == "token_binding_pattern":
            name = text(k.child_by_field_name("name") or k.named_children[0]).lstrip("$")
            frag = text(k.child_by_field_name("type") or k.named_children[-1])
            out.append(("bind", name, frag))
        elif k.type in ("token_repetition_pattern", "token_tree_pattern"):
            return None, f"matcher uses {k.type.replace('_', ' ')}"
        elif k.type in ("line_comment", "block_comment"):
            continue
        else:
            out.append(("lit", text(k), ""))
    return out, None


def read_template(defn: ts.Node, line_of) -> MacroTemplate:
    """defn: a macro_definition node. line_of(node) -> 1-based line."""
    tpl = MacroTemplate(text(defn.child_by_field_name("name")))
    for rule in defn.named_children:
        if rule.type != "macro_rule":
            continue
        left = rule.child_by_field_name("left")
        right = rule.child_by_field_name("right")
        pat, why = _pattern(left)
        if why is None and _has_repetition(right):
            why = "transcriber uses $( ... ) repetition"
        tpl.rules.append(Rule(pat, why, right, line_of(rule)))
    return tpl


def _has_repetition(tt: ts.Node) -> bool:
    kids = list(tt.children)
    for i, k in enumerate(kids):
        if k.type == "$" and i + 1 < len(kids) and kids[i + 1].type == "token_tree":
            return True
        if k.type == "token_tree" and _has_repetition(k):
            return True
    return False


def _one_line(b: bytes) -> str:
    return re.sub(r"\s+", " ", b.decode("utf-8", "replace")).strip()


def bind(pattern: list, inv_tt: ts.Node, src: bytes) -> dict[str, str] | None:
    """Match an invocation's token tree against a flat pattern. None when it does not match."""
    toks = list(inv_tt.children)[1:-1]
    toks = [t for t in toks if t.type not in ("line_comment", "block_comment")]
    out: dict[str, str] = {}
    i = 0
    for pi, (kind, a, frag) in enumerate(pattern):
        if kind == "lit":
            if i < len(toks) and text(toks[i]) == a:
                i += 1
                continue
            return None
        if i >= len(toks):
            return None
        if frag in ("ident", "lifetime", "literal", "tt"):
            out[a] = _one_line(toks[i].text)
            i += 1
            continue
        # greedy until the next literal of the pattern at depth 0 (angle brackets count for types/paths)
        nxt = next((p[1] for p in pattern[pi + 1:] if p[0] == "lit"), None)
        start = i
        depth = 0
        while i < len(toks):
            tt = text(toks[i])
            if depth == 0 and nxt is not None and tt == nxt:
                break
            if frag in ("ty", "path"):
                depth += tt.count("<") - tt.count(">") + tt.count("->")  # '->' is not a closing angle
                depth = max(depth, 0)
            i += 1
        if i == start:
            return None
        out[a] = _one_line(src[toks[start].start_byte:toks[i - 1].end_byte])
    # a trailing comma after the last binding is tolerated only if the pattern ends with one
    if i != len(toks):
        return None
    return out


# --------------------------------------------------------------------------------------------
# transcription


def _paste_segment(tt: ts.Node, bindings: dict[str, str]) -> str:
    kids = list(tt.children)[1:-1]
    if not kids or kids[0].type != "<" or kids[-1].type != ">":
        raise ExpandError("not a paste segment")
    segs: list[str] = []
    kids = kids[1:-1]
    i = 0
    while i < len(kids):
        k = kids[i]
        if k.type == ":" and i + 1 < len(kids) and text(kids[i + 1]) in CASE_MODIFIERS:
            if not segs:
                raise ExpandError("paste modifier without a segment")
            segs[-1] = apply_modifier(segs[-1], text(kids[i + 1]))
            i += 2
            continue
        if k.type == "metavariable":
            name = text(k).lstrip("$")
            if name not in bindings:
                raise ExpandError(f"unbound ${name} in paste segment")
            segs.append(bindings[name].replace(" ", ""))
        elif k.type == "string_literal":
            segs.append(text(k)[1:-1])
        else:
            segs.append(text(k))
        i += 1
    return "".join(segs)


def _is_paste_segment(tt: ts.Node) -> bool:
    kids = list(tt.children)
    return len(kids) >= 4 and kids[0].type == "[" and kids[1].type == "<" and kids[-2].type == ">" and kids[-1].type == "]"


def _edits(tt: ts.Node, bindings: dict[str, str], in_paste: bool, out: list) -> None:
    kids = list(tt.children)
    i = 0
    while i < len(kids):
        k = kids[i]
        if k.type == "metavariable":
            name = text(k).lstrip("$")
            if name == "crate":
                out.append((k.start_byte, k.end_byte, "crate"))
            elif name in bindings:
                out.append((k.start_byte, k.end_byte, bindings[name]))
            else:
                raise ExpandError(f"unbound ${name}")
        elif k.type == "token_tree":
            if in_paste and _is_paste_segment(k):
                out.append((k.start_byte, k.end_byte, _paste_segment(k, bindings)))
            else:
                _edits(k, bindings, in_paste, out)
        elif (k.type == "identifier" and text(k) == "paste" and i + 2 < len(kids)
              and kids[i + 1].type == "!" and kids[i + 2].type == "token_tree"):
            body = kids[i + 2]
            out.append((k.start_byte, kids[i + 1].end_byte, ""))
            bk = list(body.children)
            out.append((bk[0].start_byte, bk[0].end_byte, ""))
            out.append((bk[-1].start_byte, bk[-1].end_byte, ""))
            _edits(body, bindings, True, out)
            i += 3
            continue
        i += 1


def transcribe(tt: ts.Node, src: bytes, bindings: dict[str, str], in_paste: bool = False) -> str:
    """Text of a token tree with its delimiters blanked, metavariables substituted, paste! resolved.

    Newlines are kept: a replacement that swallows newlines is followed by the same number of them.
    """
    edits: list[tuple[int, int, str]] = []
    kids = list(tt.children)
    edits.append((kids[0].start_byte, kids[0].end_byte, ""))
    edits.append((kids[-1].start_byte, kids[-1].end_byte, ""))
    _edits(tt, bindings, in_paste, edits)
    edits.sort()
    base = tt.start_byte
    chunk = src[tt.start_byte:tt.end_byte]
    pieces: list[bytes] = []
    pos = 0
    for s, e, rep in edits:
        s -= base
        e -= base
        if s < pos:
            raise ExpandError("overlapping edits")
        pieces.append(chunk[pos:s])
        removed = chunk[s:e]
        r = rep.encode()
        if not rep:
            r = b" " * min(len(removed), 1)
        pieces.append(r + b"\n" * removed.count(b"\n"))
        pos = e
    pieces.append(chunk[pos:])
    return b"".join(pieces).decode("utf-8", "replace")


def expand(tpl: MacroTemplate, inv: ts.Node, src_def: bytes, src_inv: bytes) -> tuple[str, Rule, dict]:
    """Expand one invocation. Returns (text, rule used, bindings). Raises ExpandError."""
    inv_tt = next((c for c in inv.children if c.type == "token_tree"), None)
    if inv_tt is None:
        raise ExpandError("invocation without arguments")
    reasons = []
    for rule in tpl.rules:
        if rule.pattern is None:
            reasons.append(rule.unsupported)
            continue
        b = bind(rule.pattern, inv_tt, src_inv)
        if b is None:
            reasons.append("arguments do not match the rule")
            continue
        if rule.unsupported:
            raise ExpandError(rule.unsupported)
        return transcribe(rule.transcriber, src_def, b), rule, b
    raise ExpandError("; ".join(r for r in reasons if r) or "no rule")


def expand_paste_block(inv: ts.Node, src: bytes) -> str:
    """A `paste! { ... }` written directly at item level (outside any macro_rules!)."""
    tt = next((c for c in inv.children if c.type == "token_tree"), None)
    if tt is None:
        raise ExpandError("paste! without body")
    return transcribe(tt, src, {}, in_paste=True)
