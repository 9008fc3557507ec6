"""Read the JS classes of a wasm-bindgen glue file (kimchi_wasm.cjs / plonk_wasm.cjs).

A small JS tokenizer (strings, template literals, comments, regex literals) finds top-level
`class X { ... }` declarations and their members; regexes on the token-free text would be fooled by
braces inside strings. For each class we record whether it has `static __wrap`, `free()`,
`constructor`, `__destroy_into_raw`, which wasm exports its free()/constructor call, its
FinalizationRegistry, whether it is exported, and how often the rest of the glue wraps it
(`X.__wrap(...)`) or consumes a handle by value (`_assertClass(v, X)` then `v.__destroy_into_raw()`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_REGEX_PREV = set("(,=:[!&|?{};+-*%<>~^") | {"return", "typeof", "case", "do", "else", "in", "of", "new",
                                              "delete", "void", "throw", "=>", None}


@dataclass
class Tok:
    kind: str      # ident | punct | str | num | regex
    text: str
    pos: int


def tokenize(src: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(src)
    prev_sig: str | None = None
    tmpl_depth: list[int] = []   # brace depth at which a template literal's ${ started
    brace = 0
    while i < n:
        c = src[i]
        if c in " \t\r\n":
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            toks.append(Tok("str", src[i + 1:j], i))
            i = j + 1
            prev_sig = "str"
            continue
        if c == "`" or (c == "}" and tmpl_depth and tmpl_depth[-1] == brace):
            if c == "}":
                tmpl_depth.pop()
            j = i + 1
            while j < n and src[j] != "`":
                if src[j] == "\\":
                    j += 2
                    continue
                if src.startswith("${", j):
                    break
                j += 1
            if j < n and src.startswith("${", j):
                tmpl_depth.append(brace)
                i = j + 2
            else:
                i = j + 1
            toks.append(Tok("str", "`template`", i))
            prev_sig = "str"
            continue
        if c == "/" and (prev_sig in _REGEX_PREV):
            j = i + 1
            in_class = False
            while j < n:
                ch = src[j]
                if ch == "\\":
                    j += 2
                    continue
                if ch == "[":
                    in_class = True
                elif ch == "]":
                    in_class = False
                elif ch == "/" and not in_class:
                    break
                elif ch == "\n":
                    break
                j += 1
            j += 1
            while j < n and src[j].isalpha():
                j += 1
            toks.append(Tok("regex", src[i:j], i))
            i = j
            prev_sig = "regex"
            continue
        if c.isalpha() or c in "_$":
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] in "_$"):
                j += 1
            word = src[i:j]
            toks.append(Tok("ident", word, i))
            i = j
            prev_sig = word if word in _REGEX_PREV else "ident"
            continue
        if c.isdigit():
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] in "._"):
                j += 1
            toks.append(Tok("num", src[i:j], i))
            i = j
            prev_sig = "num"
            continue
        if src.startswith("=>", i):
            toks.append(Tok("punct", "=>", i))
            i += 2
            prev_sig = "=>"
            continue
        if c == "{":
            brace += 1
        elif c == "}":
            brace -= 1
        toks.append(Tok("punct", c, i))
        i += 1
        prev_sig = c if c not in ")]" else "ident"
    return toks


def _line(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


def read_glue_classes(src: str) -> dict:
    """{"classes": [...], "enums": [...], "exports": [...]} for one glue file's text."""
    toks = tokenize(src)
    classes = []
    depth = 0
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "punct" and t.text == "{":
            depth += 1
        elif t.kind == "punct" and t.text == "}":
            depth -= 1
        elif depth == 0 and t.kind == "ident" and t.text == "class" and i + 1 < len(toks) and toks[i + 1].kind == "ident":
            name = toks[i + 1].text
            j = i + 2
            while j < len(toks) and not (toks[j].kind == "punct" and toks[j].text == "{"):
                j += 1
            body_start = j
            d = 0
            k = j
            while k < len(toks):
                if toks[k].kind == "punct" and toks[k].text == "{":
                    d += 1
                elif toks[k].kind == "punct" and toks[k].text == "}":
                    d -= 1
                    if d == 0:
                        break
                k += 1
            classes.append(_class_info(src, toks, name, toks[i].pos, body_start, k))
            i = k + 1
            continue
        i += 1
    names = {c["name"] for c in classes}
    exported = set(re.findall(r"^module\.exports\.(\w+)\s*=\s*(\w+);", src, re.M))
    exported_names = {a for a, b in exported if a == b} | set(re.findall(r"^export class (\w+)", src, re.M))
    enums = sorted({a or b for a, b in re.findall(
        r"^(?:module\.exports\.(\w+)|export const (\w+))\s*=\s*Object\.freeze\(", src, re.M)})
    for c in classes:
        c["exported"] = c["name"] in exported_names
        c["wrap_sites"] = len(re.findall(r"(?<![\w.])" + re.escape(c["name"]) + r"\.__wrap\(", src))
        c["consumed_sites"] = len(re.findall(
            r"_assertClass\((\w+),\s*" + re.escape(c["name"]) + r"\);\s*(?:var|let|const)\s+\w+\s*=\s*\1\.__destroy_into_raw\(\)",
            src))
    return {"classes": classes, "enums": enums, "class_names": sorted(names)}


def _class_info(src: str, toks: list[Tok], name: str, pos: int, start: int, end: int) -> dict:
    methods, statics, getters, setters = [], [], [], []
    member_bodies: dict[str, tuple[int, int]] = {}
    d = 0
    k = start
    while k <= end:
        t = toks[k]
        if t.kind == "punct" and t.text == "{":
            d += 1
        elif t.kind == "punct" and t.text == "}":
            d -= 1
        elif d == 1 and t.kind in ("ident", "str") and k + 1 <= end and toks[k + 1].text == "(":
            prev = toks[k - 1].text if k > start else "{"
            mname = t.text
            if mname in ("static", "get", "set", "async"):
                k += 1
                continue
            # find the member body
            p = k + 1
            pd = 0
            while p <= end:
                if toks[p].text == "(":
                    pd += 1
                elif toks[p].text == ")":
                    pd -= 1
                    if pd == 0:
                        break
                p += 1
            if p + 1 <= end and toks[p + 1].text == "{":
                bstart = p + 1
                bd = 0
                q = bstart
                while q <= end:
                    if toks[q].text == "{":
                        bd += 1
                    elif toks[q].text == "}":
                        bd -= 1
                        if bd == 0:
                            break
                    q += 1
                if prev == "static":
                    statics.append(mname)
                elif prev == "get":
                    getters.append(mname)
                elif prev == "set":
                    setters.append(mname)
                else:
                    methods.append(mname)
                member_bodies.setdefault(("static " if prev == "static" else "") + mname, (bstart, q))
                k = q + 1
                continue
        k += 1

    def wasm_calls(member: str) -> list[str]:
        if member not in member_bodies:
            return []
        a, b = member_bodies[member]
        out = []
        for x in range(a, b):
            if toks[x].text == "wasm" and x + 2 <= b and toks[x + 1].text == "." and toks[x + 2].kind == "ident":
                out.append(toks[x + 2].text)
        return out

    body_text = src[toks[start].pos:toks[end].pos]
    reg = re.search(r"\b(\w+Finalization)\.(?:register|unregister)\(", body_text)
    free_calls = [c for c in wasm_calls("free") if c.endswith("_free")]
    if not free_calls:
        m = re.search(r"wasm\.(__wbg_\w+_free)\(", body_text)
        free_calls = [m.group(1)] if m else []
    ctor_calls = [c for c in wasm_calls("constructor") if not c.startswith("__wbindgen")]
    return {
        "name": name,
        "line": _line(src, pos),
        "has_wrap": "__wrap" in statics,
        "has_free": "free" in methods,
        "has_constructor": "constructor" in methods,
        "has_destroy_into_raw": "__destroy_into_raw" in methods,
        "free_export": free_calls[0] if free_calls else None,
        "constructor_export": ctor_calls[-1] if ctor_calls else None,
        "finalization_registry": reg.group(1) if reg else None,
        "exported": False,
        "methods": sorted(m for m in methods if m not in ("constructor",)),
        "static_methods": sorted(statics),
        "getters": sorted(set(getters)),
        "setters": sorted(set(setters)),
        "wrap_sites": 0,
        "consumed_sites": 0,
    }
