"""The one forecaster: does a run reach a memory ceiling, and in which proof? Used by `wlh report`,
`wlh compare`, `wlh check`, the crash horizon and the reports wherever a proofs-to-ceiling figure appears.

- With the live heap (traced runs): the model of `ceiling.py` (steady live-heap slope plus what a proof needs
  above the live heap, and how that drifts with fragmentation). A live heap that does not grow levels off.
- With byteLength alone (untraced runs): the steps of `steps.py`; a proofs-to-ceiling figure only when the
  steps recur (then the least-squares rate of byteLength is a fair rate), never from one-time steps.

`forecast()` returns a JSON-ready dict; `headline()` its one line, `reasoning()` the lines that say why.
Inputs are {iteration: bytes}, iteration 0 the baseline snapshot before the first proof, k after proof k."""
from __future__ import annotations

import math

from analysis.common.units import mib, signed_mib
from analysis.forecast.ceiling import crash_forecast
from analysis.forecast.steps import bytelength_growth, steps_text

CEILING = 4 * 2 ** 30
FORECAST_VERSION = 1


def forecast(bytelength: dict, live: dict | None = None, ceiling: int = CEILING) -> dict:
    g = bytelength_growth(bytelength)
    out = {"forecast_version": FORECAST_VERSION, "ceiling_bytes": ceiling, "bytelength": g, "proofs": g["proofs"]}
    if g["last_bytes"] is not None and g["last_bytes"] > ceiling:
        return out | {"model": "measured", "verdict": "crash", "crash_proof": None}
    if live and any(int(k) >= 1 for k in live):
        c = out | {"model": "live_heap", **{k: v for k, v in crash_forecast(bytelength, live, ceiling).items()
                                              if k != "ceiling_bytes"}}
        if c["verdict"] == "levels_off" and g["kind"] == "steady" and g["per_proof"] > 0:
            # byteLength keeps growing in recurring steps although nothing stays alive: free space that cannot
            # be reused (fragmentation) is what would reach the ceiling
            return c | _steady_steps(g, ceiling) | {"fragmentation_only": True}
        return c
    out["model"] = "bytelength"
    if g["kind"] == "steady" and g["per_proof"] > 0:
        return out | _steady_steps(g, ceiling)
    if g["kind"] == "levels_off":
        return out | {"verdict": "levels_off"}
    return out | {"verdict": "not_enough_proofs", "more_proofs_needed": g["more_proofs_needed"]}


def _steady_steps(g: dict, ceiling: int) -> dict:
    """The proof in which recurring byteLength steps pass the ceiling (their least-squares rate)."""
    k = g["proofs"] + max(0, math.floor((ceiling - g["last_bytes"]) / g["per_proof"])) + 1
    return {"verdict": "crash", "crash_proof": k, "crash_proof_latest": k, "proofs_left": k - g["proofs"] - 1}


def _ceiling_name(fc: dict) -> str:
    c = fc["ceiling_bytes"]
    return "the 4 GiB ceiling" if c == CEILING else f"the {mib(c, 0)} MiB cap"


def crash_range(fc: dict) -> str:
    a, b = fc.get("crash_proof"), fc.get("crash_proof_latest")
    return f"proof {a:,}" if b in (None, a) else f"proof {a:,} (at the latest {b:,})"


def short(fc: dict) -> str:
    """A few words: 'levels off', 'reaches the 4 GiB ceiling in proof 760', 'not enough proofs to tell'."""
    v, name = fc["verdict"], _ceiling_name(fc)
    if fc["model"] == "measured":
        return f"is already above {name}"
    if v == "levels_off":
        return (f"levels off (no crash at {name} forecast)" if fc["model"] == "live_heap"
                else f"byteLength levels off (no crash at {name} forecast from byteLength alone)")
    if v == "not_enough_proofs":
        return f"cannot be forecast yet ({fc['more_proofs_needed']} more proofs needed)"
    return f"reaches {name} in {crash_range(fc)}"


def _proofs(n: int) -> str:
    return f"{n:,} more proof" + ("" if n == 1 else "s")


def headline(fc: dict) -> str:
    """One line: does it reach the ceiling, and when (an estimate, said so)."""
    v, name = fc["verdict"], _ceiling_name(fc)
    if fc["model"] == "measured":
        return f"byteLength is already above {name}."
    if v == "levels_off" and fc["model"] == "live_heap":
        return f"levels off: the live heap does not grow after proof 1, so no crash at {name} is forecast."
    if v == "levels_off":
        return (f"byteLength levels off over these proofs (no growth since proof {fc['bytelength']['since_proof']}), so "
                f"byteLength alone forecasts no crash at {name}; a live heap that grows would fill the free space and "
                "grow it again, and only a traced run measures the live heap.")
    if v == "not_enough_proofs":
        what = "live-heap slope" if fc["model"] == "live_heap" else "byteLength growth"
        return (f"not enough proofs to tell ({fc['more_proofs_needed']} more needed for the {what}); "
                f"no forecast for {name}.")
    basis = ("recurring byteLength steps; the live heap does not grow: free space that cannot be reused"
             if fc.get("fragmentation_only") else
             "live-heap model" if fc["model"] == "live_heap" else "recurring byteLength steps")
    return (f"reaches {name} in {crash_range(fc)}, i.e. after about {_proofs(fc['proofs_left'])} "
            f"(an estimate from the {basis}).")


def reasoning(fc: dict, bytelength: bool = True) -> list[str]:
    """Why: the figures the forecast used, in words (bytelength=False leaves out the byteLength steps, for a
    report that shows them already)."""
    g = fc["bytelength"]
    lines = []
    first = f"one-time growth in proof 1: {signed_mib(g['first_proof'], 2)} MiB; " if g["first_proof"] is not None else ""
    kind = {"steady": (f"they recur (every {g.get('longest_gap', 1)} proof(s) at most): "
                       f"{signed_mib(g['per_proof'], 3)} ± {mib(g['spread'] or 0, 3)} MiB per proof over proofs 1..{g['proofs']}"),
            "levels_off": f"none since proof {g['since_proof']}: it levels off",
            "not_enough_proofs": (f"not enough proofs to tell whether they recur ({g['more_proofs_needed']} more flat "
                                  "proofs would show that it levels off)")}[g["kind"]]
    if bytelength:
        lines.append(f"byteLength (a high-water mark, grows in steps): {first}steps after proof 1: {steps_text(g)}; {kind}.")
    if fc["model"] == "live_heap":
        r, n = fc["live"], fc["need"]
        if r["per_proof"] is not None:
            spread = f" ± {mib(r['spread'], 4)}" if r["spread"] is not None else " (spread needs 3+ proofs)"
            lines.append(f"live heap (steady, proof 1 excluded): {signed_mib(r['per_proof'], 4)}{spread} MiB per proof"
                         + ("" if r["grows"] else ": no growth beyond its spread") + ".")
        if n["need"] is not None and fc["verdict"] == "crash":
            drift = (f"it drifts by {signed_mib(n['drift'], 3)} MiB per proof over {n['drift_grows']} grows after proof 1 "
                     "(fragmentation)" if n["drift_grows"] >= 3 else
                     f"its drift cannot be measured ({n['drift_grows']} grows after proof 1, 3 needed): taken as 0")
            lines.append(f"a proof needs up to {mib(n['need'], 2)} MiB above the live heap it starts with (byteLength "
                         f"after proof {n['measured_in']} minus live heap before it); {drift}.")
            lines.append(f"proof k fails when live heap before it + that need exceeds {_ceiling_name(fc)}: "
                         f"{crash_range(fc)}; the later figure assumes fragmentation stops worsening. An estimate, "
                         "not a measurement.")
    elif fc["verdict"] == "crash":
        lines.append("no live-heap data (an untraced run): the forecast extends the recurring byteLength steps; an "
                     "estimate, not a measurement.")
    return lines
