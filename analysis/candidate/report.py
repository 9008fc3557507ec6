"""The SUMMARY.md section of the candidate check, generated from the `wlh compare --json` outputs (one per
scenario) and the pack record of the candidate tarball. Every figure comes from those files."""
from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from analysis.common.units import mib, signed_mib
from analysis.forecast import short
from analysis.matrix.report import steps_cell

TITLE = "## Checking a candidate fix end to end: wlh compare"


def _rate(r: dict) -> str:
    if r.get("per_proof") is None:
        return "n/a"
    spread = f" ± {mib(r['spread'], 4)}" if r.get("spread") is not None else ""
    return signed_mib(r["per_proof"], 4) + spread


def _o1js(s: dict) -> str:
    o = s.get("o1js") or {}
    return f"{o.get('version')} ({o.get('kind')})" if o else "n/a"


def _pack_lines(pack: dict | None) -> list[str]:
    if not pack:
        return []
    files = [f"`{f['file']}`" for f in pack["files"] if f["present"]]
    t = pack["tarball"]
    return [f"The candidate `{pack['candidate']}` is o1js {pack['o1js']['version']} with our template "
            f"(`{pack['template']['file']}`) inserted before `wrap()` and called inside it, in {' and '.join(files)} "
            f"(found by an anchored pattern, exactly once per file), packed with `npm pack` "
            f"(`{Path(t['file']).name}`, {mib(t['bytes'])} MiB, sha256 `{t['sha256'][:16]}…`; "
            f"`artifacts/candidate/pack.json`). No file of o1js is committed: the generator "
            f"(`bench/candidates/{pack['candidate']}/make.py`) rebuilds it from the installed release.", ""]


def markdown(compares: dict[str, dict], pack: dict | None = None) -> list[str]:
    """compares: scenario -> the JSON `wlh compare --json` wrote (baseline, candidate, comparison, verdict)."""
    if not compares:
        return []
    md = [TITLE, "",
          "_From `doit candidate` (artifacts/candidate/): the same program (`bench/wlh-loop.mjs`, importing o1js by "
          "name) run under `wlh run` once on the release and once on the candidate tarball (`--o1js`), then "
          "`wlh compare` (its JSON and Markdown are beside the runs). Per-proof rates are least-squares slopes over "
          "proofs 1..N ± their standard error; the verdict calls a change real when it exceeds twice the combined "
          "spread._", ""]
    md += _pack_lines(pack)
    rows = []
    for scenario, c in compares.items():
        for role in ("baseline", "candidate"):
            s = c[role]
            rows.append([f"`{scenario}`", f"{role}: `{s['label']}`", _o1js(s), f"{s['proofs']}", f"{s.get('workers')}",
                         signed_mib(s["live"]["first_proof"], 3), _rate(s["live"]), steps_cell(s["bytelength"]),
                         short(s["forecast"]),
                         "ok" if s["checks_ok"] else "FAILED: " + ", ".join(s.get("failed_checks") or [])])
    md += [tabulate(rows, headers=["scenario", "run", "o1js", "proofs", "workers", "live heap, first proof MiB",
                                   "live heap per proof MiB", "byteLength steps after proof 1, MiB",
                                   "forecast (an estimate)", "parser checks"],
                    tablefmt="github", disable_numparse=True), ""]
    md += [f"- `{scenario}`: {c['verdict']}" for scenario, c in compares.items()]
    notes = [s for s, c in compares.items() if c["comparison"].get("differences")]
    if notes:
        md += ["", f"Note: in {', '.join(f'`{s}`' for s in notes)} the two runs' recorded programs or settings differ."]
    return md + [""]


def load(compare_paths: dict[str, Path], pack_path: Path | None = None) -> tuple[dict[str, dict], dict | None]:
    """The JSONs that exist (a scenario not run yet is left out)."""
    compares = {s: json.loads(Path(p).read_text()) for s, p in compare_paths.items() if Path(p).exists()}
    pack = json.loads(Path(pack_path).read_text()) if pack_path and Path(pack_path).exists() else None
    return compares, pack
