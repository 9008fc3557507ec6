"""The investigation as a doit pipeline. `doit list` is its table of contents.

This file only declares tasks (inputs, outputs, docs); the logic lives in analysis/ and bench/.
Config: config.yaml (validated), quick overrides via WLH_SET="bench.iterations=2 ...".
"""
from pathlib import Path

from doit.tools import config_changed

from analysis.trace import compat as compat_steps
from analysis.matrix import cells as matrix_cells
from analysis.matrix import report as matrix_report
from analysis.matrix import steps as matrix_steps
from analysis.matrix import tasks as matrix_tasks
from analysis.step0 import steps as step0_steps
from analysis.trace import report as step2_report
from analysis.trace import steps as step2_steps
from analysis.analyze import steps as step3_steps
from analysis.common import config as config_mod
from analysis.inventory.binary_step import build_binary_inventory
from analysis.inventory.report import write_reports
from analysis.inventory.source_step import build_source_inventory
from analysis.common.paths import rel_path
from analysis.summary.report import write_from_files as write_summary

DOIT_CONFIG = {"default_verbosity": 2, "action_string_formatting": "new"}

CFG = config_mod.load()
BENCH = Path("bench")
LOCK = BENCH / "package-lock.json"
NODE_MODULES = BENCH / "node_modules" / ".package-lock.json"
BENCH_JS = [BENCH / "prove-loop.mjs", *sorted((BENCH / "lib").glob("*.mjs"))]
OVERHEAD = CFG.artifacts / "step2" / "overhead.json"


def _group(task) -> dict:
    """A group task only runs its subtasks: marked up to date so `doit list --status` shows what is stale."""
    return {"name": None, "doc": task.__doc__, "uptodate": [True]}



def _rel(p: Path) -> str:
    return rel_path(p, Path.cwd())


def task_node_deps():
    """Install the pinned Node packages (o1js, binaryen) with npm ci from bench/package-lock.json."""
    return {"actions": ["cd bench && npm ci --no-audit --no-fund"], "file_dep": [str(LOCK)],
            "targets": [str(NODE_MODULES)]}


def task_step0():
    """Step 0: prove the benchmark circuit N times per run and sample WASM memory after each proof."""
    b = CFG["bench"]
    yield _group(task_step0)
    for scenario in b["scenarios"]:
        for k in range(1, b["runs"] + 1):
            out = step0_steps.run_path(CFG, scenario, k)
            yield {"name": f"{scenario}-run{k}",
                   "actions": [(step0_steps.run_one, [CFG, scenario, k])],
                   "file_dep": [str(NODE_MODULES), *map(str, BENCH_JS), "analysis/step0/run.py"],
                   "targets": [_rel(out)],
                   "uptodate": [config_changed({"o1js": CFG["o1js_version"], "bench": b})]}


def task_step0_report():
    """Step 0 report: STEP_0.md with per-iteration table, memory plot and run-to-run variation."""
    b = CFG["bench"]
    runs = [_rel(step0_steps.run_path(CFG, s, k)) for s in b["scenarios"] for k in range(1, b["runs"] + 1)]
    return {"actions": [(step0_steps.report, [CFG])],
            "file_dep": [*runs, "analysis/step0/report.py", "schemas/bench-event.schema.json"],
            "targets": ["STEP_0.md", _rel(CFG.artifacts / "step0" / "memory.png"),
                        _rel(CFG.artifacts / "step0" / "summary.json")],
            "uptodate": [config_changed({"overrides": CFG.overrides})]}


# ---------------------------------------------------------------- Step 1

INV = CFG["inventory"]
STEP1 = CFG.artifacts / "step1"
INVENTORY_CODE = [str(p) for p in sorted(Path("analysis/inventory").glob("*.py"))] + ["schemas/inventory.schema.json"]


def _checkout(section: str):
    c = CFG[section]["checkout"]
    return Path(c).expanduser() if c else None


def _write_step1_reports():
    src = STEP1 / "source_inventory.json"
    write_reports(src if src.is_file() else None, STEP1 / "binary_inventory.json", STEP1 / "inventory.json",
                  Path("TYPES_TO_LOG.md"), Path("STEP_1.md"))


def task_inventory():
    """Step 1: inventory every struct, enum and type alias of the bindings layer (source and binary)."""
    checkout = _checkout("inventory")
    yield _group(task_inventory)
    if checkout is not None:
        rust = sorted(str(p) for c in INV["crates"] for p in (checkout / c).rglob("*.rs"))
        yield {"name": "source",
               "actions": [(build_source_inventory, [checkout, list(INV["crates"]), STEP1 / "source_inventory.json",
                                                     INV["expected_commit"]])],
               "file_dep": [*rust, *INVENTORY_CODE], "targets": [_rel(STEP1 / "source_inventory.json")],
               "uptodate": [config_changed(INV)]}
    o1js = step2_steps.installed_o1js()
    yield {"name": "binary",
           "actions": [(build_binary_inventory, [o1js, STEP1 / "binary_inventory.json"])],
           "file_dep": [str(NODE_MODULES), *map(str, step2_steps.original_binaries(o1js)), *INVENTORY_CODE],
           "targets": [_rel(STEP1 / "binary_inventory.json")]}
    src = STEP1 / "source_inventory.json"
    yield {"name": "report",
           "actions": [_write_step1_reports],
           "file_dep": [_rel(STEP1 / "binary_inventory.json"), *([_rel(src)] if src.exists() or checkout else []),
                        *INVENTORY_CODE],
           "targets": [_rel(STEP1 / "inventory.json"), "TYPES_TO_LOG.md", "STEP_1.md"]}


# ---------------------------------------------------------------- Step 2, binary route


def task_instrument():
    """Step 2: copy o1js and rewrite its wasm so the allocator and JS handles call the tracer."""
    o1js = step2_steps.installed_o1js()
    return {"actions": [(step2_steps.make_traced_copy, [CFG])],
            "file_dep": [str(NODE_MODULES), *map(str, step2_steps.INSTRUMENTER), "analysis/trace/steps.py",
                         *map(str, step2_steps.original_binaries(o1js))],
            "targets": [_rel(step2_steps.instrument_report(CFG)), _rel(step2_steps.traced_dir(CFG) / "o1js" / "package.json")],
            "uptodate": [config_changed({"o1js": CFG["o1js_version"]})]}


def task_trace():
    """Step 2: run the Step 0 benchmark on the instrumented copy and keep the trace log."""
    t = CFG["trace"]
    yield _group(task_trace)
    for scenario in t["scenarios"]:
        yield {"name": scenario,
               "actions": [(step2_steps.trace_run, [CFG, scenario])],
               "file_dep": [_rel(CFG.artifacts / "source_build" / "build.json") if CFG["route"] == "source"
                            else _rel(step2_steps.instrument_report(CFG)), *map(str, BENCH_JS), "analysis/step0/run.py",
                            "analysis/trace/steps.py"],
               "targets": [_rel(step2_steps.log_path(CFG, scenario)), _rel(step2_steps.bench_path(CFG, scenario))],
               "uptodate": [config_changed({"bench": CFG["bench"], "trace": t})]}


def task_trace_overhead():
    """Step 2 benchmark: prove time traced / untraced, alternating runs in one pipeline run."""
    t = CFG["trace"]
    return {"actions": [f"{_python()} -m analysis.trace.overhead --pairs {t['overhead_pairs']} "
                        f"--iterations {t['overhead_iterations']} --out {_rel(OVERHEAD)}"],
            "file_dep": [_rel(step2_steps.instrument_report(CFG)), *map(str, BENCH_JS), "analysis/trace/overhead.py"],
            "targets": [_rel(OVERHEAD)],
            "uptodate": [config_changed({"bench": CFG["bench"], "trace": t})]}


def task_trace_compat():
    """Step 2 check: the same instrumenter on an older o1js (plonk_wasm era), a short traced run."""
    yield _group(task_trace_compat)
    for version in CFG["trace"]["compat_versions"]:
        d = compat_steps.compat_dir(version)
        yield {"name": version,
               "actions": [(compat_steps.run_check, [CFG, version])],
               "file_dep": [_rel(d / "package-lock.json"), *map(str, step2_steps.INSTRUMENTER), *map(str, BENCH_JS),
                            "analysis/trace/compat.py"],
               "targets": [_rel(compat_steps.summary_path(CFG, version))],
               "uptodate": [config_changed({"bench": CFG["bench"], "iterations": CFG["trace"]["compat_iterations"]})]}


def _python() -> str:
    import sys
    return sys.executable


# ---------------------------------------------------------------- Step 3 and 4

PARSER = [*map(str, sorted(Path("analysis/parse").glob("*.py"))), *map(str, sorted(Path("analysis/analyze").glob("*.py")))]


def task_analyze():
    """Step 3: parse the trace logs, check them, rank types by bytes never dropped -> STEP_3.md."""
    scenarios = CFG["trace"]["scenarios"]
    return {"actions": [(step3_steps.analyze, [CFG])],
            "file_dep": [*[_rel(step2_steps.log_path(CFG, s)) for s in scenarios],
                         _rel(step3_steps.step0_summary_path(CFG)), *PARSER],
            "targets": ["STEP_3.md", _rel(step3_steps.figures_path(CFG)), _rel(step3_steps.decomposition_plot(CFG)),
                        *[_rel(step3_steps.result_path(CFG, s)) for s in scenarios]],
            "uptodate": [config_changed({"overrides": CFG.overrides})]}


def task_step2_report():
    """Step 2 report: STEP_2.md with the log format, hook points, events per type, overhead, blind spots."""
    results = {s: step3_steps.result_path(CFG, s) for s in CFG["trace"]["scenarios"]}
    compat = [compat_steps.summary_path(CFG, v) for v in CFG["trace"]["compat_versions"]]
    return {"actions": [(step2_report.write_from_files,
                         [step2_steps.instrument_report(CFG), results, OVERHEAD,
                          CFG.artifacts / "source_patch" / "summary.json", compat, Path("STEP_2.md")])],
            "file_dep": [_rel(step2_steps.instrument_report(CFG)), _rel(OVERHEAD),
                         *map(_rel, results.values()), *map(_rel, compat),
                         "analysis/trace/report.py", "schemas/trace-event.schema.json"],
            "targets": ["STEP_2.md"]}


# ---------------------------------------------------------------- Step 2, source route (opt-in)
def task_source_patch():
    """Step 2 source route: generate the Rust patch for the configured bindings checkout (needs a checkout)."""
    checkout = _checkout("source_route")
    if checkout is None:
        return {"actions": [lambda: print("source_patch: no checkout configured (source_route.checkout or "
                                          "WLH_BINDINGS_CHECKOUT): nothing to do")], "uptodate": [True]}
    from analysis.source_patch.generator import generate_patch
    out = CFG.artifacts / "source_patch"
    return {"actions": [(generate_patch, [STEP1 / "inventory.json", checkout, out],
                         {"expected_commit": INV["expected_commit"]})],
            "file_dep": [_rel(STEP1 / "inventory.json"),
                         *map(str, sorted(Path("analysis/source_patch").glob("*.py"))),
                         *map(str, sorted(Path("rust-bindings-patch/templates").glob("*")))],
            "targets": [_rel(out / "summary.json"), _rel(out / "summary.md")],
            "uptodate": [config_changed(CFG["source_route"])]}


if CFG["route"] == "source":
    def task_source_build():
        """Step 2 source route: build the patched bindings with the upstream toolchain (fails fast if missing)."""
        from analysis.source_patch.build import build
        out = CFG.artifacts / "source_build"
        return {"actions": [(build, [CFG, _checkout("source_route"), out])],
                "file_dep": [_rel(CFG.artifacts / "source_patch" / "summary.json")],
                "targets": [_rel(out / "build.json")]}


# ---------------------------------------------------------------- Release matrix and what-if runs

MATRIX_CELLS = matrix_cells.cells(CFG)
MATRIX_COMPARISON = CFG.artifacts / "matrix" / "comparison.json"
MATRIX_CODE = {"instrument": [*map(str, step2_steps.INSTRUMENTER), "analysis/matrix/steps.py", "analysis/matrix/paths.py"],
               "run": [*map(str, BENCH_JS), "analysis/step0/run.py", "analysis/matrix/steps.py", "analysis/matrix/paths.py"],
               "parse": [*PARSER, "analysis/matrix/summary.py"]}


def task_matrix():
    """Release matrix: per cell (release, scenario, workers[, mitigation]) install, instrument, baseline, trace, parse."""
    yield _group(task_matrix)
    yield from matrix_tasks.tasks(CFG, MATRIX_CELLS, matrix_steps, code=MATRIX_CODE, root=Path.cwd())


def task_matrix_report():
    """Release matrix compared: per-cell figures and each what-if cell against its plain cell (predicted vs measured)."""
    cells = [_rel(matrix_steps.summary_path(CFG, c)) for c in MATRIX_CELLS]
    return {"actions": [(matrix_report.write_comparison, [cells, MATRIX_COMPARISON])],
            "file_dep": [*cells, "analysis/matrix/report.py"],
            "targets": [_rel(MATRIX_COMPARISON)]}


def task_summary():
    """Step 4: SUMMARY.md — biggest leakers, perfectly dropped types, how far to trust the data."""
    results = {s: step3_steps.result_path(CFG, s) for s in CFG["trace"]["scenarios"]}
    return {"actions": [(write_summary, [results, step3_steps.figures_path(CFG),
                                         step3_steps.step0_summary_path(CFG), OVERHEAD, Path("SUMMARY.md"),
                                         MATRIX_COMPARISON])],
            "file_dep": [*map(_rel, results.values()), _rel(step3_steps.figures_path(CFG)), _rel(MATRIX_COMPARISON),
                         _rel(step3_steps.step0_summary_path(CFG)), _rel(OVERHEAD), "analysis/summary/report.py",
                         "analysis/matrix/report.py"],
            "targets": ["SUMMARY.md"]}
