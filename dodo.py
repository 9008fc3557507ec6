"""The investigation as a doit pipeline. `doit list` is its table of contents.

This file only declares the steps (inputs, parameters, outputs, docs); the logic lives in analysis/ and bench/.
Whether a step is up to date comes from the committed lock (config paths.lock, `pipeline-lock.json`):
content hashes of its inputs and code, the parameters it read, the hashes of what it made
(analysis/pipeline/). So a fresh clone whose inputs match the lock reruns nothing; `doit -n 2` runs
independent steps in parallel; `python -m analysis.pipeline status` says why a step is stale.
Config: config.yaml (validated), quick overrides via WLH_SET="bench.iterations=2 ...".
"""
import sys
from pathlib import Path

from analysis.analyze import steps as step3_steps
from analysis.browser import report as browser_report
from analysis.browser import tasks as browser_tasks
from analysis.browser.runs import browser_runs, run_dir as browser_run_dir, summary_path as browser_summary_path
from analysis.candidate import paths as candidate_paths
from analysis.candidate import tasks as candidate_tasks
from analysis.common import config as config_mod
from analysis.common.paths import ROOT, rel_path
from analysis.crash import report as crash_report
from analysis.crash import run as crash_run
from analysis.crash import tasks as crash_tasks
from analysis.crash.cells import crash_cells
from analysis.inventory.binary_step import build_binary_inventory
from analysis.longrun import summary as longrun_summary
from analysis.inventory.report import write_reports
from analysis.inventory.source_step import build_source_inventory
from analysis.matrix import cells as matrix_cells
from analysis.matrix import report as matrix_report
from analysis.matrix import steps as matrix_steps
from analysis.matrix import tasks as matrix_tasks
from analysis.pipeline.errors import load_config_or_exit
from analysis.pipeline.graph import Graph, Step, relative_command
from analysis.source_patch import compare as routes_compare
from analysis.source_patch import runs as source_runs
from analysis.source_patch.build import GLUE_DIR
from analysis.step0 import steps as step0_steps
from analysis.summary.report import write_from_files as write_summary
from analysis.trace import report as step2_report
from analysis.trace import steps as step2_steps

DOIT_CONFIG = {"default_verbosity": 2, "action_string_formatting": "new"}

CFG = load_config_or_exit(config_mod.load)
G = Graph(ROOT, CFG.lock, ROOT / ".wlh-cache" / "hashes.json")
BENCH = Path("bench")
NODE_LOCK = str(BENCH / "package-lock.json")
NODE_MODULES = BENCH / "node_modules" / ".package-lock.json"


def r(p) -> str:
    return rel_path(p, ROOT)


def files(*patterns: str) -> list[str]:
    """Repo-relative files matching glob patterns (the code a step runs), sorted for a stable lock."""
    return sorted({str(p.relative_to(ROOT)) for pat in patterns for p in ROOT.glob(pat) if p.is_file()})


def cmd(c: list[str]) -> list[str]:
    return relative_command(c, ROOT)


BENCH_JS = files("bench/prove-loop.mjs", "bench/lib/*.mjs", "bench/wlh/sampler.mjs", "bench/wlh/settle.mjs")  # one sampler with wlh run
INSTRUMENTER = [r(p) for p in step2_steps.INSTRUMENTER]
PARSER = files("analysis/parse/*.py", "analysis/analyze/*.py", "schemas/trace-event.schema.json")
REPORTS = CFG.reports
BENCHMARK_CODE = ["analysis/common/benchmark.py"]  # what the four benchmarks share (alternating runs, main)
OVERHEAD = CFG.artifacts / "step2" / "overhead.json"


def task_node_deps():
    """Install the pinned Node packages (o1js, binaryen) with npm ci from bench/package-lock.json."""
    def installed():
        return NODE_MODULES.exists() and NODE_MODULES.stat().st_mtime >= Path(NODE_LOCK).stat().st_mtime
    return {"actions": ["cd bench && npm ci --no-audit --no-fund"], "uptodate": [installed], "verbosity": 2}


# ---------------------------------------------------------------- Step 0
b = CFG["bench"]
for scenario in b["scenarios"]:
    for k in range(1, b["runs"] + 1):
        G.add(Step(f"step0:{scenario}-run{k}", [(step0_steps.run_one, [CFG, scenario, k])],
                   doc=f"prove the {scenario} circuit {b['iterations']} times, sample memory after each proof",
                   inputs=[NODE_LOCK, *BENCH_JS], params={"command": cmd(step0_steps.run_command(CFG, scenario, k))},
                   outputs=[r(step0_steps.run_path(CFG, scenario, k))], after=["node_deps"]))
STEP0 = step0_steps.report_paths(CFG)
G.add(Step("step0_report", [(step0_steps.report, [CFG])],
           doc="Step 0 report: STEP_0.md with per-iteration table, memory plot and run-to-run variation",
           inputs=[*(r(step0_steps.run_path(CFG, s, k)) for s in b["scenarios"] for k in range(1, b["runs"] + 1)),
                   *files("analysis/step0/report.py", "analysis/forecast/*.py", "schemas/bench-event.schema.json")],
           params={"overrides": CFG.overrides}, outputs=[r(p) for p in STEP0.values()]))

# ---------------------------------------------------------------- Step 1
INV = CFG["inventory"]
STEP1 = CFG.artifacts / "step1"
INVENTORY_CODE = files("analysis/inventory/*.py", "schemas/inventory.schema.json")


def _checkout(section: str):
    c = CFG[section]["checkout"]
    return Path(c).expanduser() if c else None


def _write_step1_reports():
    src = STEP1 / "source_inventory.json"
    write_reports(src if src.is_file() else None, STEP1 / "binary_inventory.json", STEP1 / "inventory.json",
                  REPORTS / "TYPES_TO_LOG.md", REPORTS / "STEP_1.md")


CHECKOUT = _checkout("inventory")
if CHECKOUT is not None:  # the source side runs only where a checkout is configured; its JSON is committed
    G.add(Step("inventory:source",
               [(build_source_inventory, [CHECKOUT, list(INV["crates"]), STEP1 / "source_inventory.json",
                                          INV["expected_commit"]])],
               doc="Step 1, source side: the bindings crates of the configured checkout",
               inputs=INVENTORY_CODE, params={"inventory": {k: v for k, v in INV.items() if k != "checkout"}},
               outputs=[r(STEP1 / "source_inventory.json")]))
O1JS = step2_steps.installed_o1js()
G.add(Step("inventory:binary", [(build_binary_inventory, [O1JS, STEP1 / "binary_inventory.json"])],
           doc="Step 1, binary side: classes of the glue and names of the wasm",
           inputs=[NODE_LOCK, *INVENTORY_CODE], outputs=[r(STEP1 / "binary_inventory.json")], after=["node_deps"]))
SOURCE_INV = STEP1 / "source_inventory.json"
G.add(Step("inventory:report", [_write_step1_reports], doc="Step 1 reports: TYPES_TO_LOG.md, STEP_1.md",
           inputs=[r(STEP1 / "binary_inventory.json"), *([r(SOURCE_INV)] if SOURCE_INV.exists() or CHECKOUT else []),
                   *INVENTORY_CODE],
           outputs=[r(STEP1 / "inventory.json"), r(REPORTS / "TYPES_TO_LOG.md"), r(REPORTS / "STEP_1.md")]))

# ---------------------------------------------------------------- Step 2, binary route
TRACED_MARK = r(step2_steps.traced_dir(CFG) / "o1js" / "package.json")
INSTRUMENT_REPORT = r(step2_steps.instrument_report(CFG))
G.add(Step("instrument", [(step2_steps.make_traced_copy, [CFG])],
           doc="Step 2: copy o1js and rewrite its wasm so the allocator and JS handles call the tracer",
           inputs=[NODE_LOCK, *INSTRUMENTER], params={"command": cmd(step2_steps.instrument_command(CFG))},
           outputs=[INSTRUMENT_REPORT], intermediates=[TRACED_MARK], after=["node_deps"]))
T = CFG["trace"]
for scenario in T["scenarios"]:
    command, env = step2_steps.trace_command(CFG, scenario)
    G.add(Step(f"trace:{scenario}", [(step2_steps.trace_run, [CFG, scenario])],
               doc=f"Step 2: the {scenario} benchmark on the instrumented copy, with its trace log",
               inputs=[INSTRUMENT_REPORT, *BENCH_JS], requires=[TRACED_MARK],
               params={"command": cmd(command), "env": {k: cmd([v])[0] for k, v in sorted(env.items())}},
               outputs=[r(step2_steps.bench_path(CFG, scenario))], intermediates=[r(step2_steps.log_path(CFG, scenario))]))
G.add(Step("trace_overhead",
           [f"{sys.executable} -m analysis.trace.overhead --pairs {T['overhead_pairs']} "
            f"--iterations {T['overhead_iterations']} --out {r(OVERHEAD)}"],
           doc="Step 2 benchmark: prove time traced / untraced, alternating runs in one pipeline run",
           inputs=[INSTRUMENT_REPORT, *BENCH_JS, *BENCHMARK_CODE, "analysis/trace/overhead.py"], requires=[TRACED_MARK],
           params={"bench": {k: b[k] for k in ("workers", "cache", "circuit_rows", "settle_turns")},
                   "pairs": T["overhead_pairs"], "iterations": T["overhead_iterations"]},
           outputs=[r(OVERHEAD)]))

GUARD_OVERHEAD = CFG.artifacts / "guard" / "overhead.json"
G.add(Step("guard_overhead",
           [f"{sys.executable} -m analysis.guard.overhead --pairs {T['overhead_pairs']} "
            f"--iterations {T['overhead_iterations'] + 1} --out {r(GUARD_OVERHEAD)}"],
           doc="Guard benchmark: prove time with the guard / without, alternating runs in one pipeline run",
           inputs=[*BENCH_JS, *BENCHMARK_CODE, *files("bench/guard/*.cjs", "analysis/guard/overhead.py")],
           params={"bench": {k: b[k] for k in ("workers", "cache", "circuit_rows", "settle_turns")},
                   "pairs": T["overhead_pairs"], "iterations": T["overhead_iterations"] + 1},
           outputs=[r(GUARD_OVERHEAD)], after=["node_deps"]))

# ---------------------------------------------------------------- Step 3 and the Step 2 report
RESULTS = {s: step3_steps.result_path(CFG, s) for s in T["scenarios"]}
G.add(Step("analyze", [(step3_steps.analyze, [CFG])],
           doc="Step 3: parse the trace logs, check them, rank types by bytes never dropped -> STEP_3.md",
           inputs=[*(r(step2_steps.log_path(CFG, s)) for s in T["scenarios"]), r(STEP0["summary"]), *PARSER],
           params={"overrides": CFG.overrides, "trace": {"iterations": T["iterations"]}, "route": CFG["route"]},
           outputs=[r(REPORTS / "STEP_3.md"), r(step3_steps.figures_path(CFG)), r(step3_steps.decomposition_plot(CFG)),
                    r(step3_steps.fragmentation_plot(CFG)),
                    *map(r, RESULTS.values())]))

# ---------------------------------------------------------------- Step 2, source route (opt-in)
SOURCE_SUMMARY = CFG.artifacts / "source_patch" / "summary.json"
SOURCE_CHECKOUT = _checkout("source_route")
if SOURCE_CHECKOUT is not None:
    from analysis.source_patch.generator import generate_patch
    G.add(Step("source_patch", [(generate_patch, [STEP1 / "inventory.json", SOURCE_CHECKOUT, SOURCE_SUMMARY.parent],
                                 {"expected_commit": INV["expected_commit"]})],
               doc="Step 2 source route: generate the Rust patch for the configured bindings checkout",
               inputs=[r(STEP1 / "inventory.json"), *files("analysis/source_patch/__init__.py", "analysis/source_patch/generator.py",
                                                          "analysis/source_patch/rust_syntax.py", "rust-bindings-patch/templates/*",
                                                          "rust-bindings-patch/wlh-trace-core/Cargo.toml",
                                                          "rust-bindings-patch/wlh-trace-core/src/*.rs")],
               params={"source_route": {k: v for k, v in CFG["source_route"].items() if k != "checkout"}},
               outputs=[r(SOURCE_SUMMARY), r(SOURCE_SUMMARY.with_suffix(".md"))]))

# ---------------------------------------------------------------- Release matrix and what-if runs
MATRIX_CELLS = matrix_cells.cells(CFG)
MATRIX_CODE = {"instrument": INSTRUMENTER, "run": BENCH_JS, "parse": [*PARSER, *files("analysis/matrix/summary.py")]}
for step in matrix_tasks.steps_for(CFG, MATRIX_CELLS, matrix_steps, code=MATRIX_CODE, root=ROOT, main_install="node_deps"):
    G.add(step)
MATRIX_COMPARISON = CFG.artifacts / "matrix" / "comparison.json"
CELL_FILES = [r(matrix_steps.summary_path(CFG, c)) for c in MATRIX_CELLS]
G.add(Step("matrix_report", [(matrix_report.write_comparison, [CELL_FILES, MATRIX_COMPARISON])],
           doc="Release matrix compared: per-cell figures and each what-if cell against its plain cell",
           inputs=[*CELL_FILES, *files("analysis/matrix/report.py", "analysis/forecast/steps.py")], outputs=[r(MATRIX_COMPARISON)]))
OLDER = [r(matrix_steps.summary_path(CFG, c)) for c in MATRIX_CELLS
         if c.version != CFG["o1js_version"] and c.scenario == "trivial" and not c.mitigation]
# The source route's parsed runs are made by hand on a machine with the upstream toolchain
# (python -m analysis.source_patch.runs) and committed; the pipeline only compares them.
SOURCE_RESULTS = {s: source_runs.result_path(CFG, s) for s in T["scenarios"] if source_runs.result_path(CFG, s).exists()}
ROUTES = source_runs.out_dir(CFG) / "compare.json"
if SOURCE_RESULTS:
    # The release's own wasm (pinned by the npm lockfile) says which exports are one function.
    G.add(Step("source_compare", [(routes_compare.write_compare, [RESULTS, SOURCE_RESULTS, ROUTES,
                                                                  source_runs.build_record_path(CFG),
                                                                  O1JS / GLUE_DIR / "kimchi_wasm_bg.wasm"])],
               doc="Step 2: the source route's recorded runs beside the binary route's, per type -> compare.json",
               inputs=[*map(r, SOURCE_RESULTS.values()), *map(r, RESULTS.values()), NODE_LOCK,
                       *([r(source_runs.build_record_path(CFG))] if source_runs.build_record_path(CFG).exists() else []),
                       *files("analysis/source_patch/compare.py", "analysis/inventory/wasm_names.py")],
               outputs=[r(ROUTES)], after=["node_deps"]))
G.add(Step("step2_report",
           [(step2_report.write_from_files, [step2_steps.instrument_report(CFG), RESULTS, OVERHEAD, SOURCE_SUMMARY,
                                             OLDER, REPORTS / "STEP_2.md", ROUTES if SOURCE_RESULTS else None])],
           doc="Step 2 report: STEP_2.md with the log format, hook points, events per type, overhead, older releases",
           inputs=[INSTRUMENT_REPORT, r(OVERHEAD), *map(r, RESULTS.values()), *OLDER,
                   *([r(SOURCE_SUMMARY)] if SOURCE_SUMMARY.exists() else []), *([r(ROUTES)] if SOURCE_RESULTS else []),
                   *files("analysis/trace/report.py", "analysis/source_patch/compare.py", "schemas/trace-event.schema.json")],
           outputs=[r(REPORTS / "STEP_2.md")]))

# ---------------------------------------------------------------- Crash horizon
CRASH_CELLS = crash_cells(CFG, MATRIX_CELLS)
CRASH_CODE = {"predict": files("analysis/crash/predict.py", "analysis/forecast/*.py"),
              "run": [*BENCH_JS, *files("bench/guard/*.cjs"), *([r(matrix_steps.PRELOAD)] if any(c.mitigation for c in CRASH_CELLS) else [])]}
for step in crash_tasks.steps_for(CFG, CRASH_CELLS, ROOT, code=CRASH_CODE):
    G.add(step)
CRASH_HORIZON = CFG.artifacts / "crash" / "horizon.json"
CRASH_FILES = [{"cell": c.name, "prediction": r(crash_run.prediction_path(CFG, c)), "outcome": r(crash_run.outcome_path(CFG, c)),
                "run": r(crash_run.run_path(CFG, c)), "cell_summary": r(matrix_steps.summary_path(CFG, c.cell))}
               for c in CRASH_CELLS]
G.add(Step("crash_report", [(crash_report.write, [CRASH_FILES, CRASH_HORIZON])],
           doc="Crash horizon compared: predicted vs measured crash proof per capped cell, growth verdict",
           inputs=[*(f for c in CRASH_FILES for f in (c["prediction"], c["outcome"], c["run"], c["cell_summary"])),
                   *files("analysis/crash/report.py", "analysis/forecast/steps.py")], outputs=[r(CRASH_HORIZON)]))

# ---------------------------------------------------------------- A candidate fix, end to end with wlh
# What `wlh run` executes (a change here reruns the proving runs); reporting code is listed apart, so that a
# report or forecast change reruns no proving.
WLH_RUN_CODE = files("bench/wlh-loop.mjs", "bench/lib/*.mjs", "bench/wlh/*.mjs", "bench/guard/*.cjs", "analysis/wlh/runner.py",
                     "analysis/wlh/spec.py", "analysis/wlh/traced.py", "analysis/wlh/paths.py", "analysis/wlh/errors.py",
                     "analysis/wlh/commands/run.py")
FORECAST = files("analysis/forecast/*.py")
# summary.analyze reads aggregate-mode runs through analysis/wlh/aggregate (overlay, and the records' format)
WLH_SUMMARY_CODE = [*PARSER, *FORECAST, *files("analysis/wlh/summary.py", "analysis/wlh/rundir.py",
                                               "analysis/wlh/aggregate/__init__.py", "analysis/wlh/aggregate/overlay.py",
                                               "analysis/wlh/aggregate/stream.py", "analysis/wlh/aggregate/table.py")]
CANDIDATE_CODE = {"pack": [r(candidate_paths.GENERATOR), r(candidate_paths.TEMPLATE)],
                  "run": sorted({*WLH_RUN_CODE, *INSTRUMENTER}),
                  "report": [*WLH_SUMMARY_CODE, *files("analysis/wlh/report_md.py", "analysis/wlh/commands/report.py")],
                  "compare": [*WLH_SUMMARY_CODE, *files("analysis/wlh/comparison.py", "analysis/wlh/commands/compare.py")]}
for step in candidate_tasks.steps_for(CFG, ROOT, code=CANDIDATE_CODE, node_lock=NODE_LOCK):
    G.add(step)
CANDIDATE_COMPARES = {s: candidate_paths.compare_json(CFG, s) for s in CFG["candidate"]["scenarios"]}

WLH_OVERHEAD = CFG.artifacts / "wlh" / "overhead.json"
if CFG["wlh_overhead"]["pairs"]:
    W = CFG["wlh_overhead"]
    G.add(Step("wlh_overhead",
               [f"{sys.executable} -m analysis.wlh.overhead --pairs {W['pairs']} --proofs {W['proofs']} "
                f"--out {r(WLH_OVERHEAD)}"],
               doc="wlh benchmark: a whole program (compile + proofs) under wlh run / plain node, alternating runs",
               inputs=[NODE_LOCK, *CANDIDATE_CODE["run"], *BENCHMARK_CODE, *files("analysis/wlh/overhead.py")],
               params={"pairs": W["pairs"], "proofs": W["proofs"]}, outputs=[r(WLH_OVERHEAD)], after=["node_deps"]))
WLH_AGGREGATE = CFG.artifacts / "wlh" / "aggregate.json"
if CFG["wlh_aggregate"]["pairs"]:
    A = CFG["wlh_aggregate"]
    G.add(Step("wlh_aggregate",
               [f"{sys.executable} -m analysis.wlh.aggregate.bench --scenario {A['scenario']} --proofs {A['proofs']} "
                f"--pairs {A['pairs']} --out {r(WLH_AGGREGATE)}"],
               doc="wlh benchmark: full against aggregate mode (disk per proof, time, the same leak found)",
               inputs=[NODE_LOCK, *CANDIDATE_CODE["run"], *CANDIDATE_CODE["report"], *BENCHMARK_CODE,
                       *files("analysis/wlh/aggregate/*.py")],
               params=dict(A), outputs=[r(WLH_AGGREGATE)], after=["node_deps"]))
CANDIDATE_PACK = candidate_paths.pack_record(CFG)

# ---------------------------------------------------------------- The browser (o1js's web build in headless Chromium)
BROWSER_LOCK = "bench/browser/package-lock.json"
BROWSER_CODE = {"run": sorted({NODE_LOCK, BROWSER_LOCK, *INSTRUMENTER, *files(
                    "bench/browser/*.mjs", "bench/browser/www/*.mjs", "bench/browser/www/wlh/*.js", "bench/lib/scenarios.mjs",
                    "bench/wlh/settle.mjs", "analysis/wlh/browser.py", "analysis/wlh/commands/browser.py",
                    "analysis/wlh/spec.py", "analysis/wlh/paths.py", "analysis/wlh/errors.py", "analysis/browser/steps.py")}),
                "report": CANDIDATE_CODE["report"]}
for step in browser_tasks.steps_for(CFG, ROOT, code=BROWSER_CODE):
    G.add(step)
BROWSER_RUNS = browser_runs(CFG)
BROWSER_MD = REPORTS / "BROWSER.md"
BROWSER_SUMMARY = browser_summary_path(CFG)
if BROWSER_RUNS:
    BROWSER_FILES = [r(browser_run_dir(CFG, b) / f) for b in BROWSER_RUNS
                     for f in (*browser_tasks.RUN_COMMITTED, *(browser_tasks.REPORT_COMMITTED if b.traced else ()))]
    NODE_TWINS = [r(candidate_paths.run_dir(CFG, "release", s) / f) for s in CFG["candidate"]["scenarios"]
                  for f in ("run.json", "report.json")]
    G.add(Step("browser_report", [(browser_report.write, [CFG, BROWSER_MD, BROWSER_SUMMARY])],
               doc="BROWSER.md: wlh browser runs — why o1js's web build hangs after proving, the leak beside node's",
               inputs=[*BROWSER_FILES, *NODE_TWINS, *files("analysis/browser/report.py", "analysis/browser/runs.py",
                                                           "analysis/forecast/*.py")],
               outputs=[r(BROWSER_MD), r(BROWSER_SUMMARY)]))

# ---------------------------------------------------------------- The long run (a one-off: python -m analysis.longrun.run)
# The longest run made: 300 proofs in aggregate mode once it exists, else the 100-proof full-mode run before it.
LONGRUN_DIR = next((d for d in (CFG.artifacts / "longrun" / "trivial-aggregate", CFG.artifacts / "longrun" / "trivial")
                    if (d / "run.json").exists()), CFG.artifacts / "longrun" / "trivial")
LONGRUN_SUMMARY = CFG.artifacts / "longrun" / "summary.json"
LONGRUN = (LONGRUN_DIR / "run.json").exists()
if LONGRUN:  # declared once the one-off's files are there (they are committed; its trace log is not)
    G.add(Step("longrun_report", [(longrun_summary.write, [LONGRUN_DIR, LONGRUN_SUMMARY])],
               doc="The long run's figures: live-heap rate per window, disk per proof, early forecasts vs what it saw",
               inputs=[*(r(LONGRUN_DIR / f) for f in ("run.json", "samples.jsonl", "log_offsets.json")),
                       *files("analysis/longrun/summary.py", "analysis/forecast/*.py", "analysis/common/stats.py",
                             "analysis/wlh/aggregate/disk.py")],
               outputs=[r(LONGRUN_SUMMARY)]))

# ---------------------------------------------------------------- Step 4
G.add(Step("summary",
           [(write_summary, [RESULTS, step3_steps.figures_path(CFG), STEP0["summary"], OVERHEAD,
                             REPORTS / "SUMMARY.md", MATRIX_COMPARISON, CRASH_HORIZON, CANDIDATE_COMPARES,
                             CANDIDATE_PACK, ROUTES if SOURCE_RESULTS else None, BROWSER_SUMMARY if BROWSER_RUNS else None,
                             LONGRUN_SUMMARY if LONGRUN else None])],
           doc="Step 4: SUMMARY.md — biggest leakers, perfectly dropped types, how far to trust the data",
           inputs=[*map(r, RESULTS.values()), r(step3_steps.figures_path(CFG)), r(MATRIX_COMPARISON), r(STEP0["summary"]),
                   r(OVERHEAD), r(CRASH_HORIZON), *map(r, CANDIDATE_COMPARES.values()), r(CANDIDATE_PACK),
                   *([r(ROUTES)] if SOURCE_RESULTS else []), *files("analysis/source_patch/compare.py"),
                   *([r(BROWSER_SUMMARY)] if BROWSER_RUNS else []), *files("analysis/browser/report.py"),
                   *([r(LONGRUN_SUMMARY)] if LONGRUN else []), *files("analysis/longrun/summary.py"),
                   *files("analysis/summary/*.py", "analysis/matrix/report.py", "analysis/crash/report.py",
                          "analysis/forecast/*.py",
                          "analysis/candidate/report.py")],
           outputs=[r(REPORTS / "SUMMARY.md")]))


# ---------------------------------------------------------------- doit tasks: one per step or group of steps
GROUP_DOCS = {
    "step0": "Step 0: prove the benchmark circuit N times per run and sample WASM memory after each proof.",
    "inventory": "Step 1: inventory every struct, enum and type alias of the bindings layer (source and binary).",
    "trace": "Step 2: run the Step 0 benchmark on the instrumented copy and keep the trace log.",
    "crash": "Crash horizon: per capped cell, the predicted crash proof, then a run under the cap until it dies.",
    "candidate": "Candidate fix: pack it as an o1js tarball, wlh run it and the release per scenario, wlh compare.",
    "browser": "Browser: wlh browser runs of the scenarios in headless Chromium (o1js's web build), then wlh report.",
    "matrix": "Release matrix: per cell (release, scenario, workers[, mitigation]) install, instrument, baseline, "
              "trace, parse.",
}


def _declare():
    """One task_<name> function per top-level step or group, so `doit list` reads like the steps."""
    seen = list(GROUP_DOCS)  # groups exist even when empty (a quick run has no crash cells): `doit crash` still works
    for name in G.steps:
        base = name.partition(":")[0]
        if base not in seen:
            seen.append(base)
    for base in seen:
        if base in GROUP_DOCS:
            def task(base=base):
                yield {"name": None, "doc": GROUP_DOCS[base], "uptodate": [True]}
                for n in G.group(base):
                    yield G.doit(n)
            task.__doc__ = GROUP_DOCS[base]
        else:
            def task(base=base):
                return G.doit(base)
            task.__doc__ = G.steps[base].doc
        globals()[f"task_{base}"] = task


_declare()

if CFG["route"] == "source":
    def task_source_build():
        """Step 2 source route: build the patched bindings with the upstream toolchain (fails fast if missing)."""
        from analysis.source_patch.build import build
        out = CFG.artifacts / "source_build"
        return {"actions": [(build, [CFG, _checkout("source_route"), out])],
                "file_dep": [r(SOURCE_SUMMARY)], "targets": [r(out / "build.json")]}
