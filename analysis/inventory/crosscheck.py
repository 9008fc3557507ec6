"""Cross-check the source inventory against the binary inventory.

- every JS class of the glue must map to an exported source type (js_name renames considered);
- every exported source struct should have a glue class;
- free exports (__wbg_<class>_free) versus glue classes;
- bindings-crate types versus drop_in_place functions (which have one, which are inlined and why).
"""
from __future__ import annotations


def _rename_crate(path: str, binary_crate: str, source_crate: str | None) -> str:
    if source_crate and binary_crate != source_crate and path.startswith(binary_crate + "::"):
        return source_crate + path[len(binary_crate):]
    return path


def drop_index(binary: dict, source_crate: str | None) -> tuple[dict[str, int], dict[str, int], list[dict]]:
    """(direct drop fn count by source-style path, count of drop fns mentioning a path inside, binding drops)."""
    bcrate = binary["binary"]["bindings_crate"]
    direct: dict[str, int] = {}
    inside: dict[str, int] = {}
    bindings = []
    for d in binary["drop_in_place"]:
        base = _rename_crate(d["base"], bcrate, source_crate)
        mentions = [_rename_crate(m, bcrate, source_crate) for m in d.get("mentions", [])]
        if d["crate"] is not None and base in mentions:
            direct[base] = direct.get(base, 0) + d["count"]
            bindings.append({**d, "base": base})
        for m in set(mentions) - {base}:
            inside[m] = inside.get(m, 0) + d["count"]
    return direct, inside, bindings


def crosscheck(source: dict | None, binary: dict) -> dict:
    """source: the source_inventory dict (or None when not run); binary: the binary_inventory dict."""
    classes = binary["glue_classes"]
    free_exports = set(binary["binary"].get("free_exports", []))
    class_free = {c["free_export"] for c in classes if c.get("free_export")}
    result = {
        "source_run": source is not None,
        "glue_classes": len(classes),
        "matched": [],
        "only_in_glue": [],
        "only_in_source": [],
        "free_exports_without_class": sorted(free_exports - class_free),
        "classes_without_free_export": sorted(c["name"] for c in classes
                                              if not c.get("free_export") or c["free_export"] not in free_exports),
        "drop_in_place_bindings": {"with_drop_fn": [], "inlined": [], "drop_fn_without_source_type": []},
        "all_js_classes_matched": None,
    }
    if source is None:
        for c in classes:
            result["only_in_glue"].append({"js_class": c["name"], "why": "source part not run (no checkout configured)"})
        return result

    types = source["types"]
    libs = source["source"].get("crate_libs", {})
    crates = source["source"].get("crates", [])
    source_crate = next((lib for lib, d in libs.items() if crates and d == crates[0]), None)
    by_js: dict[str, dict] = {}
    for t in types:
        if t.get("js_class"):
            by_js.setdefault(t["js_class"], t)
    glue_names = {c["name"] for c in classes}
    for c in classes:
        t = by_js.get(c["name"])
        if t is not None:
            result["matched"].append({"js_class": c["name"], "id": t["id"], "renamed": bool(t.get("js_name"))})
            continue
        same_name = [x for x in types if x["name"] == c["name"]]
        if same_name:
            why = (f"source type {same_name[0]['id']} has the same name but is not exported "
                   f"(no active #[wasm_bindgen]{', or renamed with js_name' if same_name[0].get('js_name') else ''})")
        else:
            why = ("no exported type with this JS name in the scanned crates or their workspace dependencies "
                   "(different source version, or a crate outside the scan)")
        result["only_in_glue"].append({"js_class": c["name"], "why": why})
    for t in types:
        if t.get("js_class") and t["js_class"] not in glue_names:
            result["only_in_source"].append({"id": t["id"], "why": "exported struct without a class in the glue "
                                                                   "(cfg-gated out of this build, or another source version)"})
    direct, inside, bindings = drop_index(binary, source_crate)
    ids = {t["id"] for t in types}
    for t in types:
        if t["kind"] == "type_alias" or t["scope"] != "bindings":
            continue
        if direct.get(t["id"]):
            result["drop_in_place_bindings"]["with_drop_fn"].append(t["id"])
            continue
        why = _why_no_drop_fn(t, inside.get(t["id"], 0))
        result["drop_in_place_bindings"]["inlined"].append({"id": t["id"], "why": why})
        if not t.get("js_class"):
            result["only_in_source"].append({"id": t["id"], "why": "not exported to JS and no drop_in_place function: " + why})
    for b in bindings:
        if b["base"] not in ids:
            result["drop_in_place_bindings"]["drop_fn_without_source_type"].append(b["base"])
    result["drop_in_place_bindings"]["drop_fn_without_source_type"] = sorted(
        set(result["drop_in_place_bindings"]["drop_fn_without_source_type"]))
    result["all_js_classes_matched"] = not result["only_in_glue"]
    return result


def _why_no_drop_fn(t: dict, inside: int) -> str:
    if t.get("copy") or not t.get("owns_heap"):
        base = "owns no heap data: dropping it is a no-op, no drop glue is emitted"
        if t.get("js_class"):
            base += " (its JS handle's block is freed by __wbg_*_free)"
        return base
    if inside:
        return f"drop glue inlined; also dropped inside {inside} drop_in_place function(s) of containing types"
    return "drop glue inlined at every drop site (no standalone drop_in_place function survives)"
