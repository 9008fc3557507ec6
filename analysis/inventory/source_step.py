"""Step 1, source side: inventory every struct, enum and type alias of the bindings crates.

Reads a proof-systems checkout (never writes to it), parses every .rs file of the configured crates
with tree-sitter, expands the crates' own macro_rules! templates per invocation, and lists also the
types of workspace dependencies (e.g. kimchi) that the bindings export to JS. Writes
artifacts/step1/source_inventory.json (schema: schemas/inventory.schema.json#/$defs/source_inventory).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from . import macro_expand as mx
from .schema import validate
from .model import CrateInfo, Index, cfg_enabled, cfg_of, exported, fn_exported, strip_generics
from .rust_source import PARSER_NAME, Scan, TypeRec, Where, derives_of, module_of_file, scan_text, text

MAX_EXPANSION_DEPTH = 4
REPOSITORY = "o1-labs/proof-systems"


def _log(msg: str) -> None:
    print(f"[inventory:source] {msg}", file=sys.stderr, flush=True)


def git_head(checkout: Path) -> str | None:
    try:
        r = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def git_dirty(checkout: Path, paths: list[str]) -> list[str] | None:
    try:
        r = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--", *paths],
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    return [ln[3:] for ln in r.stdout.splitlines() if ln.strip()]


# ------------------------------------------------------------------ crates


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def crate_lib_name(crate_dir: Path) -> str:
    data = _toml(crate_dir / "Cargo.toml")
    lib = (data.get("lib") or {}).get("name")
    name = lib or (data.get("package") or {}).get("name") or crate_dir.name
    return name.replace("-", "_")


def workspace_path_deps(checkout: Path, crates: list[str]) -> dict[str, tuple[str, set[str]]]:
    """Workspace (path) dependencies of the configured crates: dep dir -> (lib name, enabled features)."""
    root = _toml(checkout / "Cargo.toml")
    wdeps = (root.get("workspace") or {}).get("dependencies") or {}
    out: dict[str, tuple[str, set[str]]] = {}
    configured = {str(Path(c)) for c in crates}
    for c in crates:
        data = _toml(checkout / c / "Cargo.toml")
        for name, spec in (data.get("dependencies") or {}).items():
            spec = spec if isinstance(spec, dict) else {"version": spec}
            feats = set(spec.get("features") or [])
            path = spec.get("path")
            if spec.get("workspace"):
                ws = wdeps.get(name)
                ws = ws if isinstance(ws, dict) else {}
                path = path or ws.get("path")
                feats |= set(ws.get("features") or [])
                default = ws.get("default-features", True) and spec.get("default-features", True)
            else:
                default = spec.get("default-features", True)
            if not path:
                continue
            rel = str(((checkout / c / path) if not spec.get("workspace") else (checkout / path)).resolve()
                      .relative_to(checkout.resolve()))
            if rel in configured:
                continue
            dep_toml = _toml(checkout / rel / "Cargo.toml")
            if default:
                feats |= set((dep_toml.get("features") or {}).get("default") or [])
            lib = crate_lib_name(checkout / rel)
            prev = out.get(rel, (lib, set()))[1]
            out[rel] = (lib, prev | feats)
    return out


def crate_files(checkout: Path, crate_dir: str) -> list[Path]:
    src = checkout / crate_dir / "src"
    files = []
    for p in sorted(src.rglob("*.rs")):
        rel = p.relative_to(src).as_posix()
        if rel.startswith("bin/") or rel == "main.rs":
            continue
        files.append(p)
    return files


# ------------------------------------------------------------------ scanning + expansion


class _Expander:
    def __init__(self, checkout: Path):
        self.checkout = checkout
        self.templates: dict[tuple[str, str], tuple] = {}   # (crate, name) -> (MacroTemplate, MacroDefRec)
        self.macro_uses: dict[tuple[str, str], list[dict]] = {}
        self.unexpanded: list[dict] = []
        self.generated: dict[tuple[str, str], int] = {}

    def register(self, scan: Scan) -> None:
        for m in scan.macros:
            tpl = mx.read_template(m.node, m.where.line)
            self.templates.setdefault((m.crate, m.name), (tpl, m))

    def expand_all(self, scan: Scan, crate: str, depth: int = 0) -> Scan:
        out = Scan()
        for inv in scan.invocations:
            where_inv = f"{inv.where.file}:{inv.line}"
            try:
                if (crate, inv.name) in self.templates:
                    tpl, defn = self.templates[(crate, inv.name)]
                    body, rule, binds = mx.expand(tpl, inv.node, defn.src, inv.src)
                    tt = rule.transcriber
                    template = {"macro": inv.name, "defined_at": f"{defn.where.file}:{defn.line}",
                                "invocation": where_inv, "args": binds}
                    where = Where(file=defn.where.file, row_offset=tt.start_point.row + defn.where.row_offset,
                                  invocation=where_inv, template=template)
                    self.macro_uses.setdefault((crate, inv.name), []).append({"at": where_inv, "args": binds})
                elif inv.name == "paste":
                    body = mx.expand_paste_block(inv.node, inv.src)
                    tt = next(c for c in inv.node.children if c.type == "token_tree")
                    where = Where(file=inv.where.file, row_offset=tt.start_point.row + inv.where.row_offset,
                                  invocation=inv.where.invocation, template=inv.where.template)
                else:
                    self.unexpanded.append({"macro": inv.name, "at": where_inv,
                                            "why": "not a macro_rules! of the scanned crates (item-level invocation)"})
                    continue
            except mx.ExpandError as e:
                self.unexpanded.append({"macro": inv.name, "at": where_inv, "why": str(e)})
                continue
            sub = scan_text(body.encode(), where, module=inv.module)
            sub.set_crate(crate)
            if inv.name != "paste":
                self.generated[(crate, inv.name)] = self.generated.get((crate, inv.name), 0) + len(sub.types)
            self.register(sub)
            if depth < MAX_EXPANSION_DEPTH and sub.invocations:
                nested = self.expand_all(sub, crate, depth + 1)
                sub.invocations = []
                out.extend(nested)
            out.extend(sub)
        return out


def scan_crate(checkout: Path, crate_dir: str, lib: str, expander: _Expander | None,
               only_with: bytes | None = None) -> Scan:
    scan = Scan()
    src_dir = checkout / crate_dir / "src"
    for p in crate_files(checkout, crate_dir):
        data = p.read_bytes()
        if only_with is not None and only_with not in data:
            # still record the module so paths through it resolve
            scan.modules.add(module_of_file(p.relative_to(src_dir).as_posix()))
            continue
        rel = p.relative_to(checkout).as_posix()
        s = scan_text(data, Where(file=rel), module=module_of_file(p.relative_to(src_dir).as_posix()))
        s.set_crate(lib)
        scan.extend(s)
    if expander is not None:
        expander.register(scan)
        expanded = expander.expand_all(scan, lib)
        scan.extend(expanded)
    return scan


# ------------------------------------------------------------------ entries


def _derived_paths(t: TypeRec) -> list[dict]:
    paths: list[dict] = []
    derives = derives_of(t.attrs)
    for d, how in (("Clone", "clone"), ("Copy", "copy"), ("Default", "default"), ("Deserialize", "deserialize")):
        if d in derives:
            paths.append({"how": how, "derived": True, "file": t.where.file, "line": t.line,
                          **({"invocation": t.where.invocation} if t.where.invocation else {})})
    return paths


def _loc(rec) -> dict:
    d = {"file": rec.where.file, "line": rec.line}
    if rec.where.invocation:
        d["invocation"] = rec.where.invocation
    return d


def build_entries(idx: Index, crates: dict[str, CrateInfo]) -> list[dict]:
    scan = idx.scan
    for t in scan.types:
        t.attrs = [a for a in t.attrs if cfg_enabled(a.gate, crates[t.crate])]
    # impls by concrete self type
    impls_for: dict[str, list] = {}
    for im in scan.impls:
        t = idx.resolve_concrete(im.self_path, im.crate, im.module)
        if t is not None:
            impls_for.setdefault(idx.tid(t), []).append(im)
    # exported functions returning each type
    returns_for: dict[str, list] = {}
    all_fns = list(scan.fns) + [f for im in scan.impls for f in im.fns]
    for f in all_fns:
        ok, opts = fn_exported(f)
        if not ok or not f.ret_refs:
            continue
        for path, name in f.ret_refs:
            p = f.impl_self if (name == "Self" and f.impl_self) else path
            if p is None:
                continue
            t = idx.resolve_concrete(strip_generics(p), f.crate, f.module)
            if t is not None:
                returns_for.setdefault(idx.tid(t), []).append((f, opts))
    # literal sites
    sites_for: dict[str, list] = {}
    for s in scan.sites:
        p = s.name_path
        if p == "Self" or p.startswith("Self::"):
            if not s.impl_self:
                continue
            p = s.impl_self
        t = idx.resolve_concrete(strip_generics(p), s.crate, s.module)
        if t is None or t.kind == "type_alias":
            continue
        if s.kind in ("tuple_call", "fn_value") and t.kind == "struct" and t.shape != "tuple":
            continue
        if t.kind == "enum":
            continue  # Variant(...) calls name the variant, not the enum
        sites_for.setdefault(idx.tid(t), []).append(s)

    entries = []
    for tid, t in sorted(idx.by_id.items()):
        crate = crates[t.crate]
        if not cfg_enabled(cfg_of(t), crate):
            continue
        is_exp, js_name, gate = exported(t, crate)
        if crate.scope == "dependency_export" and not is_exp:
            continue
        derives = derives_of(t.attrs)
        trait_impls = []
        has_drop, drop_at = False, None
        paths = _derived_paths(t)
        for im in impls_for.get(tid, []):
            if im.trait_name is None:
                for f in im.fns:
                    if f.has_self:
                        continue
                    rets = {n for _, n in f.ret_refs}
                    ret_types = {idx.resolve_concrete(strip_generics(p if n != "Self" else (f.impl_self or "")),
                                                      f.crate, f.module) for p, n in f.ret_refs}
                    if "Self" in rets or t in ret_types:
                        ok, opts = fn_exported(f)
                        how = "wasm_bindgen_constructor" if opts.get("constructor") else "assoc_fn"
                        paths.append({"how": how, "detail": f"{t.name}::{f.name} -> {f.ret_text}", **_loc(f)})
                continue
            trait_impls.append(im.trait_text)
            tn = im.trait_name
            if tn == "Drop":
                has_drop, drop_at = True, f"{im.where.file}:{im.line}"
            how = {"Clone": "clone", "Copy": "copy", "Default": "default", "Deserialize": "deserialize",
                   "FromWasmAbi": "from_wasm_abi", "From": "from_impl", "FromIterator": "from_impl",
                   "TryFrom": "from_impl"}.get(tn)
            if how:
                paths.append({"how": how, "detail": f"impl {im.trait_text} for {im.self_text}", "derived": False,
                              **_loc(im)})
        seen_locs = {(p.get("file"), p.get("line"), p.get("invocation")) for p in paths}
        for f, opts in returns_for.get(tid, []):
            loc = _loc(f)
            if opts.get("constructor") or (loc["file"], loc["line"], loc.get("invocation")) in seen_locs:
                continue
            seen_locs.add((loc["file"], loc["line"], loc.get("invocation")))
            owner = f"{strip_generics(f.impl_self)}::" if f.impl_self else ""
            paths.append({"how": "fn_return", "detail": f"{owner}{f.name} -> {f.ret_text}",
                          "self_method": f.has_self, **loc})
        if is_exp and t.kind == "struct":
            paths.append({"how": "wrap", "detail": f"{t.name}.__wrap(ptr) in the JS glue: a JS handle for every "
                                                   f"{t.name} a Rust function returns to JS (see fn_return)"})
        for s in sites_for.get(tid, []):
            paths.append({"how": "literal", "detail": s.kind, "in_fn": s.in_fn, **_loc(s)})
        owns = idx.owns(t) if t.kind != "type_alias" else []
        alias_target = None
        if t.kind == "type_alias":
            tgt = idx.deref_alias(t)
            alias_target = idx.tid(tgt) if tgt is not None else None
        entry = {
            "id": tid, "name": t.name, "kind": t.kind, "crate": t.crate, "crate_dir": crate.dir,
            "module": "::".join((t.crate,) + t.module), "file": t.where.file, "line": t.line,
            "scope": crate.scope, "visibility": t.visibility, "shape": t.shape, "generics": t.generics,
            "cfg": cfg_of(t),
            "wasm_bindgen": is_exp, "wasm_bindgen_gate": gate, "js_name": js_name,
            "js_class": (js_name or t.name) if (is_exp and t.kind == "struct") else None,
            "derives": derives, "trait_impls": sorted(set(x for x in trait_impls if x)),
            "copy": "Copy" in derives or any(im.trait_name == "Copy" for im in impls_for.get(tid, [])),
            "has_drop": has_drop, "drop_at": drop_at,
            "owns": owns, "owns_heap": bool(owns),
            "construct_paths": paths,
            "template": t.where.template,
            "alias_of": t.alias_text if t.kind == "type_alias" else None,
            "alias_target": alias_target,
        }
        entries.append(entry)
    return entries


def build_source_inventory(checkout: Path, crates: list[str], out: Path, expected_commit: str | None = None,
                           dependency_exports: bool = True) -> dict:
    """Parse the configured crates of a proof-systems checkout and write source_inventory.json.

    checkout: the proof-systems work tree; crates: crate folders relative to it (kimchi-wasm, ...);
    out: the JSON file to write; expected_commit: recorded and compared with the checkout's HEAD
    (a mismatch is recorded and reported on stderr, not fatal). dependency_exports: also list the
    types of workspace dependencies (kimchi, ...) that carry #[wasm_bindgen] (only those).
    """
    checkout = Path(checkout)
    if not (checkout / crates[0]).is_dir():
        raise FileNotFoundError(f"checkout has no {crates[0]}/ (checkout={checkout.name})")
    head = git_head(checkout)
    matches = (head == expected_commit) if (head and expected_commit) else None
    _log(f"checkout HEAD {head or 'unknown (not a git work tree)'}; expected {expected_commit}")
    if matches is False:
        _log("WARNING: checkout HEAD differs from expected_commit; recorded in the output")
    crate_infos: dict[str, CrateInfo] = {}
    crate_modules: dict[str, set] = {}
    scan = Scan()
    expander = _Expander(checkout)
    nfiles = 0
    for c in crates:
        lib = crate_lib_name(checkout / c)
        crate_infos[lib] = CrateInfo(lib, c, "bindings")
        s = scan_crate(checkout, c, lib, expander)
        crate_modules[lib] = set(s.modules)
        nfiles += len(crate_files(checkout, c))
        _log(f"{c}: {len(crate_files(checkout, c))} files, {len(s.types)} type items (after expansion)")
        scan.extend(s)
    deps = workspace_path_deps(checkout, crates) if dependency_exports else {}
    dep_names = []
    for d, (lib, feats) in sorted(deps.items()):
        if lib in crate_infos:
            continue
        crate_infos[lib] = CrateInfo(lib, d, "dependency_export", feats)
        s = scan_crate(checkout, d, lib, None, only_with=b"wasm_bindgen")
        crate_modules[lib] = set(s.modules)
        dep_names.append(d)
        scan.extend(s)
        _log(f"dependency {d}: scanned files mentioning wasm_bindgen ({len(s.types)} type items)")
    idx = Index(crate_infos, scan)
    for lib, ci in crate_infos.items():
        src = checkout / ci.dir / "src"
        idx.add_modules(lib, [module_of_file(p.relative_to(src).as_posix()) for p in crate_files(checkout, ci.dir)])
    for r in scan.types + scan.fns + scan.impls:
        idx.add_modules(r.crate, [r.module])
    for lib, mods in crate_modules.items():
        idx.add_modules(lib, mods)
    entries = build_entries(idx, crate_infos)
    raw_ptr = []
    handle_vectors = []
    exported_ids = {e["id"] for e in entries if e.get("js_class")}
    for f in list(scan.fns) + [f for im in scan.impls for f in im.fns]:
        if crate_infos[f.crate].scope != "bindings" or not fn_exported(f)[0]:
            continue
        rp = [p for p in f.params if p.startswith("*")]
        if (f.ret_text or "").startswith("*") or rp:
            raw_ptr.append({"fn": f.name, "returns": f.ret_text, "raw_params": rp,
                            "into_raw": f.calls_into_raw, "from_raw": f.calls_from_raw, **_loc(f)})
        for direction, refs, txt in [("return", f.ret_refs, f.ret_text)] + \
                [("param", r, t) for r, t in zip(f.param_refs, f.params)]:
            names = [n for _, n in refs]
            if not refs or not txt or txt.startswith("&"):
                continue
            vec_head = idx.resolve_concrete(refs[0][0], f.crate, f.module) if names else None
            if vec_head is None or vec_head.name != "WasmVector":
                continue
            for path, name in refs[1:]:
                el = idx.resolve_concrete(path if name != "Self" else (f.impl_self or ""), f.crate, f.module)
                if el is not None and idx.tid(el) in exported_ids:
                    owner = f"{strip_generics(f.impl_self)}::" if f.impl_self else ""
                    handle_vectors.append({"fn": owner + f.name, "direction": direction, "type": txt,
                                           "element": idx.tid(el), **_loc(f)})
                    break
    raw_ptr.sort(key=lambda d: (d["file"], d["line"], d.get("invocation") or ""))
    handle_vectors.sort(key=lambda d: (d["file"], d["line"], d.get("invocation") or "", d["direction"]))
    macros = []
    for (crate, name), (tpl, defn) in sorted(expander.templates.items()):
        macros.append({"name": name, "crate": crate, "defined_at": f"{defn.where.file}:{defn.line}",
                       "invocations": [u["at"] for u in expander.macro_uses.get((crate, name), [])],
                       "invocation_args": expander.macro_uses.get((crate, name), []),
                       "generated_items": expander.generated.get((crate, name), 0),
                       "rules": len(tpl.rules),
                       "unsupported_rules": [r.unsupported for r in tpl.rules if r.unsupported]})
    result = {
        "schema_version": 1,
        "source": {
            "repository": REPOSITORY,
            "expected_commit": expected_commit,
            "commit": head,
            "commit_matches": matches,
            "dirty_files": git_dirty(checkout, crates) if head else None,
            "crates": list(crates),
            "crate_libs": {ci.lib: ci.dir for ci in crate_infos.values()},
            "dependency_crates": dep_names,
            "files": nfiles,
            "parser": f"{PARSER_NAME} (tree-sitter {_ts_version()}, tree-sitter-rust {_tsr_version()})",
            "macros": macros,
            "unexpanded": expander.unexpanded,
            "parse_errors": scan.errors,
            "duplicate_ids": idx.duplicates,
            "raw_pointer_fns": raw_ptr,
            "handle_vectors": handle_vectors,
        },
        "types": entries,
    }
    validate(result, "source_inventory")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n")
    _log(f"wrote {out.name}: {len(entries)} types")
    return result


def _ts_version() -> str:
    from importlib.metadata import version
    try:
        return version("tree-sitter")
    except Exception:  # noqa: BLE001
        return "?"


def _tsr_version() -> str:
    from importlib.metadata import version
    try:
        return version("tree-sitter-rust")
    except Exception:  # noqa: BLE001
        return "?"
