"""Leak budgets for `wlh check`: load one (a small YAML or JSON file in the user's repository, or flags) and
judge a run summary (analysis.wlh.summary) against it. Like pytest-memray's `limit_leaks`, a failure names
the limit and by how much it was passed."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from analysis.common.paths import schema_path
from analysis.common.units import MiB, mib, signed_mib
from analysis.forecast import CEILING, forecast, short
from analysis.wlh.errors import WlhError


def load(path: Path) -> dict:
    try:
        text = path.read_text()
    except OSError as e:
        raise WlhError(f"{path}: cannot read the budget: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise WlhError(f"{path}{where}: not YAML or JSON: {getattr(e, 'problem', e)}") from None
    return validate(data, str(path))


def validate(data, origin: str) -> dict:
    validator = jsonschema.Draft202012Validator(json.loads(schema_path("wlh-budget").read_text()))
    err = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.path))), None)
    if err is not None:
        where = "/".join(str(p) for p in err.path)
        raise WlhError(f"{origin}{': ' + where if where else ''}: {err.message}")
    return data


def judge(summary: dict, budget: dict) -> list[dict]:
    """One row per limit: {limit, ok, text}; text says the measured value, the limit and by how much."""
    rows = []
    if "live_mib_per_proof" in budget:
        r, limit = summary["live"], budget["live_mib_per_proof"] * MiB
        if r["per_proof"] is None:
            rows.append({"limit": "live_mib_per_proof", "ok": False,
                         "text": "live-heap growth per proof: not measured (needs 2 proofs after the first)"})
        else:
            ok = r["per_proof"] <= limit
            spread = f" ± {mib(r['spread'], 4)}" if r["spread"] is not None else ""
            rows.append({"limit": "live_mib_per_proof", "ok": ok,
                         "text": f"live-heap growth {signed_mib(r['per_proof'], 4)}{spread} MiB/proof "
                                 + (f"within {mib(limit, 4)}" if ok else
                                    f"over the budget {mib(limit, 4)} by {mib(r['per_proof'] - limit, 4)}")})
    per_type = budget.get("never_dropped_mib_per_proof") or {}
    if per_type:
        seen = {r["type"]: r["bytes_per_proof"] or 0 for r in summary["never_dropped_in_loop"]}
        for t in sorted(set(seen) | (set(per_type) - {"*"})):
            if t not in per_type and "*" not in per_type:
                continue
            limit, value = per_type.get(t, per_type.get("*")) * MiB, seen.get(t, 0)
            ok = value <= limit
            rows.append({"limit": f"never_dropped_mib_per_proof.{t}", "ok": ok,
                         "text": f"`{t}` never dropped {mib(value, 4)} MiB/proof "
                                 + (f"within {mib(limit, 4)}" if ok else
                                    f"over the budget {mib(limit, 4)} by {mib(value - limit, 4)}")})
    if "min_proofs_to_ceiling" in budget or "ceiling_mib" in budget:
        ceiling = int(budget.get("ceiling_mib", CEILING / MiB) * MiB)
        fc = forecast(summary["bytelength_by_iteration"], summary["live_by_iteration"], ceiling)
        need = budget.get("min_proofs_to_ceiling", 0)
        if fc["verdict"] == "crash":
            left = fc.get("proofs_left")
            ok = left is not None and left >= need
            rows.append({"limit": "min_proofs_to_ceiling", "ok": ok,
                         "text": f"forecast: {short(fc)}, about {left if left is not None else 0:,} more proofs "
                                 + (f"(at least {need:,} asked)" if ok else f"(budget {need:,}: short by {need - (left or 0):,})")})
        else:
            ok = fc["verdict"] == "levels_off"
            rows.append({"limit": "min_proofs_to_ceiling", "ok": ok, "text": f"forecast: {short(fc)}"})
    return rows
