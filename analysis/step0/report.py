"""Step 0 report: STEP_0.md, a memory plot and a summary JSON, generated from benchmark runs.

Input: JSON Lines files written by bench/prove-loop.mjs (schemas/bench-event.schema.json).
Every figure in the report is computed here from those files; the prose only states what holds
for any data (what byteLength means) or is generated from the figures.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
from tabulate import tabulate

from analysis.common.jsonl import read_jsonl
from analysis.common.paths import schema_path
from analysis.common.stats import linear_fit
from analysis.common.units import MiB, mib, signed_mib
from analysis.forecast import forecast, headline
from analysis.forecast.steps import steps_text


@dataclass
class Run:
    path: Path
    start: dict
    samples: list[dict]
    verify: dict | None
    ended: bool
    error: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def proofs(self) -> list[dict]:
        return [s for s in self.samples if s["phase"] == "after_proof"]

    def at(self, iteration: int) -> dict | None:
        return next((s for s in self.samples if s["iteration"] == iteration), None)


def load_run(path: Path) -> Run:
    read = read_jsonl(path, strict=False)
    validator = jsonschema.Draft202012Validator(json.loads(schema_path("bench-event").read_text()))
    problems = list(read.problems)
    for i, rec in enumerate(read.records):
        for err in validator.iter_errors(rec):
            problems.append(f"{path}: record {i + 1}: {err.message}")
    starts = [r for r in read.records if r.get("event") == "start"]
    if not starts:
        raise ValueError(f"{path}: no 'start' event: not a benchmark run")
    errors = [r["message"] for r in read.records if r.get("event") == "error"]
    return Run(path=path, start=starts[0],
               samples=[r for r in read.records if r.get("event") == "sample"],
               verify=next((r for r in read.records if r.get("event") == "verify"), None),
               ended=any(r.get("event") == "end" for r in read.records),
               error=errors[0] if errors else None, problems=problems)


@dataclass
class Growth:
    first_proof: int | None          # wasm bytes added by proof 1 (from after_compile)
    per_proof_mean: float | None     # mean delta over proofs 2..N
    per_proof_min: int | None
    per_proof_max: int | None
    slope: float | None              # least-squares bytes per proof over the samples after proofs 1..N
    slope_stderr: float | None
    total: int | None                # after_compile -> last proof


def growth(run: Run, key: str = "wasm_memory_bytes") -> Growth:
    compiled = run.at(0)
    proofs = [p for p in run.proofs if p.get(key) is not None]
    if not proofs or compiled is None or compiled.get(key) is None:
        return Growth(None, None, None, None, None, None, None)
    first = proofs[0][key] - compiled[key]
    later = proofs[1:]
    deltas = [b[key] - a[key] for a, b in zip(proofs, later)]
    # growth after the first proof: the fit starts at proof 1's sample, like the deltas
    fit = linear_fit([p["iteration"] for p in proofs], [p[key] for p in proofs]) if len(proofs) >= 3 else None
    return Growth(
        first_proof=first,
        per_proof_mean=(sum(deltas) / len(deltas)) if deltas else None,
        per_proof_min=min(deltas) if deltas else None,
        per_proof_max=max(deltas) if deltas else None,
        slope=fit.slope if fit else None,
        slope_stderr=fit.slope_stderr if fit else None,
        total=proofs[-1][key] - compiled[key],
    )


def iteration_table(run: Run) -> str:
    rows = []
    for s in run.samples:
        rows.append([
            s["iteration"], s["phase"], mib(s["wasm_memory_bytes"]), signed_mib(s["wasm_memory_delta"]),
            mib(s["js_heap_used"]), mib(s["rss"]), mib(s["external"]),
            f"{s['prove_seconds']:.1f}" if "prove_seconds" in s else (f"{s['compile_seconds']:.1f} (compile)" if "compile_seconds" in s else ""),
            s["handles_live"], "/".join(str(x) for x in s["finalized_per_round"]), "yes" if s["settled"] else "NO",
        ])
    return tabulate(rows, headers=["iter", "phase", "WASM MiB", "Δ MiB", "JS heap MiB", "RSS MiB", "external MiB",
                                   "seconds", "live handles", "finalized per GC round", "settled"],
                    tablefmt="github", disable_numparse=True)


def variation_table(runs: list[Run]) -> str:
    rows = []
    for r in runs:
        g = growth(r)
        last = r.proofs[-1] if r.proofs else None
        prove = [p["prove_seconds"] for p in r.proofs]
        rows.append([r.path.name, len(r.proofs), mib(r.at(0)["wasm_memory_bytes"]) if r.at(0) else "n/a",
                     mib(last["wasm_memory_bytes"]) if last else "n/a", signed_mib(g.first_proof),
                     signed_mib(g.per_proof_max, 2), mib(last["rss"]) if last else "n/a",
                     f"{sum(prove) / len(prove):.1f}" if prove else "n/a",
                     "yes" if r.verify and r.verify.get("ok") else "no"])
    return tabulate(rows, headers=["run", "proofs", "WASM after compile MiB", "WASM after last proof MiB",
                                   "first proof Δ MiB", "largest Δ of a later proof MiB", "RSS at end MiB",
                                   "mean prove s", "last proof verified"], tablefmt="github", disable_numparse=True)


def same_memory_figures(runs: list[Run]) -> bool:
    seqs = [[s["wasm_memory_bytes"] for s in r.samples] for r in runs]
    return len(seqs) > 1 and all(s == seqs[0] for s in seqs)


def plot(runs_by_scenario: dict[str, list[Run]], out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs_by_scenario), figsize=(6.5 * len(runs_by_scenario), 4.5), squeeze=False)
    for ax, (scenario, runs) in zip(axes[0], runs_by_scenario.items()):
        for k, r in enumerate(runs):
            pts = [s for s in r.samples if s["wasm_memory_bytes"] is not None]
            it = [s["iteration"] for s in pts]
            ax.plot(it, [s["wasm_memory_bytes"] / MiB for s in pts], marker="o", label=f"WASM memory, {r.path.stem}",
                    color="C0", alpha=1 - 0.35 * k)
            ax.plot([s["iteration"] for s in r.samples], [s["rss"] / MiB for s in r.samples], marker=".",
                    linestyle="--", label=f"RSS, {r.path.stem}", color="C1", alpha=1 - 0.35 * k)
            ax.plot([s["iteration"] for s in r.samples], [s["js_heap_used"] / MiB for s in r.samples], marker=".",
                    linestyle=":", label=f"JS heap, {r.path.stem}", color="C2", alpha=1 - 0.35 * k)
        ax.set_title(f"{scenario}: memory per iteration (0 = after compile)")
        ax.set_xlabel("iteration (proofs done)")
        ax.set_ylabel("MiB")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def summary(runs_by_scenario: dict[str, list[Run]]) -> dict:
    """Machine-readable figures for later steps (the Step 3 sanity check reads this)."""
    out = {}
    for scenario, runs in runs_by_scenario.items():
        out[scenario] = []
        for r in runs:
            g = growth(r)
            out[scenario].append({
                "run": r.path.name, "o1js_version": r.start["o1js_version"], "workers": r.start["workers"],
                "cache": r.start["cache"], "complete": r.ended, "verified": bool(r.verify and r.verify.get("ok")),
                "wasm_memory_by_iteration": {str(s["iteration"]): s["wasm_memory_bytes"] for s in r.samples},
                "growth": g.__dict__,
            })
    return out


def _findings(scenario: str, runs: list[Run]) -> list[str]:
    """Statements generated from the data, so they stay true when it changes."""
    lines = []
    r = runs[0]
    g = growth(r)
    if g.first_proof is not None:
        lines.append(f"The first proof grows WASM memory by {mib(g.first_proof)} MiB "
                     f"({mib(r.at(0)['wasm_memory_bytes'])} → {mib(r.proofs[0]['wasm_memory_bytes'])} MiB).")
    if g.per_proof_mean is not None:
        fc = forecast({p["iteration"]: p["wasm_memory_bytes"] for p in [r.at(0) or {}, *r.proofs] if "iteration" in p})
        st = fc["bytelength"]
        lines.append(f"After proof 1, byteLength (a high-water mark) grows in steps: {steps_text(st)} "
                     f"(min {signed_mib(g.per_proof_min, 2)}, max {signed_mib(g.per_proof_max, 2)} MiB per proof). "
                     + {"steady": f"They recur, so a rate is fair: least-squares {signed_mib(st['per_proof'], 2)} "
                                  f"± {mib(st['spread'] or 0, 2)} MiB/proof over proofs 1..{st['proofs']}.",
                        "levels_off": f"None since proof {st['since_proof']}: it levels off over these proofs.",
                        "not_enough_proofs": "Too few proofs to tell whether they recur: no rate."}[st["kind"]])
        lines.append(f"Forecast from byteLength alone (`analysis/forecast`): {headline(fc)}"
                     + ("" if fc["verdict"] == "levels_off" else " Step 3 measures the live heap, which decides "
                        "whether the growth goes on."))
    unsettled = [(x.path.name, s["iteration"]) for x in runs for s in x.samples if not s["settled"]]
    if unsettled:
        lines.append(f"GC settling was NOT enough at {len(unsettled)} sample(s) ({unsettled[:3]}...): the last GC "
                     "round still ran FinalizationRegistry callbacks.")
    else:
        used = [len(s["finalized_per_round"]) for x in runs for s in x.samples]
        needed = f"{min(used)}" if min(used) == max(used) else f"{min(used)} to {max(used)}"
        lines.append(f"GC settling was enough at every sample of every run: each ended with a GC + task-turn round "
                     f"that ran no FinalizationRegistry callback ({needed} rounds per sample; "
                     "column 'finalized per GC round').")
    handles = [s["handles_live"] for s in r.samples if s["iteration"] >= 0]
    if handles:
        lines.append(f"Live wasm-bindgen JS handles after settling: {min(handles)} to {max(handles)} "
                     "(registered − unregistered − finalized): "
                     + ("they do not grow, so the growth is not JS handles kept alive by JS."
                        if handles[-1] <= handles[0] else "they grow with the proofs."))
    if len(runs) > 1:
        lines.append("WASM memory figures are identical in every run, byte for byte." if same_memory_figures(runs)
                     else "WASM memory figures differ between runs (see the variation table).")
    return lines


def write_report(runs_by_scenario: dict[str, list[Run]], report: Path, plot_path: Path, summary_path: Path,
                 overrides: dict | None = None) -> None:
    plot(runs_by_scenario, plot_path)
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary_path.write_text(json.dumps(summary(runs_by_scenario), indent=1) + "\n")
    any_run = next(iter(runs_by_scenario.values()))[0]
    st = any_run.start
    rel_plot = os.path.relpath(plot_path, report.parent)
    md = [
        "# Step 0 — WASM memory of o1js while proving in a loop",
        "",
        "_Generated by `doit step0_report` from the benchmark runs in `artifacts/step0/`; do not edit by hand._",
        "",
        f"o1js **{st['o1js_version']}**, backend **{st['backend']}** (forced), key cache **{st['cache']}** "
        f"(compile is cold: nothing read from or written to `~/.cache/o1js`), **{st['workers']}** rayon worker(s), "
        f"Node {st['node']}, {st['cpus']} CPUs. After each proof: rounds of gc, task turn, gc, task turn until "
        f"a round runs no FinalizationRegistry callback (at most {st['settle_turns']} rounds).",
    ]
    if overrides:
        md += ["", f"**Config overrides in force for these runs:** `{json.dumps(overrides, sort_keys=True)}`"]
    md += [
        "",
        "## What `byteLength` can and cannot show",
        "",
        "The figure sampled as *WASM memory* is `memory.buffer.byteLength` of the one shared `WebAssembly.Memory`.",
        "WebAssembly memory never shrinks and the Rust allocator (dlmalloc) never returns memory to it, so this is a",
        "**high-water mark**: it shows the most the heap ever needed, not what is alive now. A rise means the heap",
        "needed more room than ever before; a flat line does **not** prove that nothing leaks (a leak can fill free",
        "space left by earlier peaks before it shows). Live bytes are measured by the Step 2 tracer's heap",
        "snapshots, and compared with these figures in Step 3.",
        "",
        f"![memory per iteration]({rel_plot})",
        "",
    ]
    for scenario, runs in runs_by_scenario.items():
        r = runs[0]
        md += [f"## Scenario `{scenario}`", ""]
        rows = r.at(0).get("method_rows") if r.at(0) else None
        desc = {"trivial": "a ZkProgram with one method of chained multiplications, proved afresh each iteration",
                "recursive": "a ZkProgram whose `step` method verifies the previous proof (SelfProof); iteration 1 "
                             "is the base proof, each later iteration extends the previous proof"}[scenario]
        md += [f"Workload: {desc}. Circuit rows per method (`analyzeMethods`): `{json.dumps(rows)}`.", ""]
        md += ["### Findings (generated from the data)", ""] + [f"- {x}" for x in _findings(scenario, runs)] + [""]
        for x in runs:
            if not x.ended:
                md += [f"- **Run {x.path.name} did not finish**" + (f": {x.error.splitlines()[0]}" if x.error else "")
                       + f"; samples up to iteration {x.samples[-1]['iteration'] if x.samples else 'none'} are shown.", ""]
            if x.problems:
                md += [f"- Problems reading {x.path.name}: " + "; ".join(x.problems[:3]), ""]
        md += [f"### Per iteration ({r.path.name})", "", iteration_table(r), "",
               "### Run-to-run variation", "", variation_table(runs), ""]
        if len(runs) < 2:
            md += ["Only one run: run-to-run variation is not shown (set `bench.runs` ≥ 2).", ""]
    report.write_text("\n".join(md))
