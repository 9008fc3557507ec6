"""Human conveniences (invoke). The pipeline itself is dodo.py; `./run X` sets up and calls `invoke X`."""
import os
import shutil
from pathlib import Path

from invoke import task

ROOT = Path(__file__).resolve().parent


@task
def setup(c):
    """Install the pinned Python and Node packages (./run does this before any task)."""
    c.run(".venv/bin/pip install -q -r requirements.lock")
    c.run("cd bench && npm ci --no-audit --no-fund")


# Steps that prove with o1js (minutes each): independent ones run in parallel. The overhead benchmark measures
# time, so it runs alone; the reports are quick and run after. Longest chains first: doit starts the tasks in
# this order, and the crash cells (a 50-proof capped run after its baseline) started last in a forced run of
# session 4, after about two hours, leaving one core for their long tail.
HEAVY = ["crash", "candidate", "step0", "trace", "matrix"]
ALONE = ["trace_overhead"]
QUICK = ("bench.iterations=2 bench.runs=1 trace.iterations=2 trace.overhead_iterations=2 trace.overhead_pairs=1 "
         "matrix.versions=[2.15.0] matrix.workers=[1] matrix.scenarios=[trivial] matrix.extra_cells=[] "
         "matrix.iterations=3 matrix.whatif=[2.15.0/trivial/w1+free-wrapped-polycomm] crash.cells={} candidate.scenarios=[] "
         # a quick run writes beside the committed results, never over them
         "paths.artifacts=.quick/artifacts paths.reports=.quick paths.lock=.quick/pipeline-lock.json")


def _top_level_tasks(c, env) -> list[str]:
    out = c.run(".venv/bin/doit list --quiet", env=env, hide=True).stdout.split()
    return [t for t in out if t not in HEAVY + ALONE]


@task(help={"quick": "2-3 proofs per run, one matrix cell and its what-if, into .quick/ (what CI runs)",
            "force": "rerun every step, up to date or not", "jobs": "proving steps run at once (default 2)"})
def pipeline(c, quick=False, force=False, jobs=2):
    """Run every stale step of the pipeline (doit), proving steps in parallel, then print where the reports are."""
    env = {"WLH_SET": os.environ.get("WLH_SET", "")}
    if quick:
        env["WLH_SET"] = (env["WLH_SET"] + " " + QUICK).strip()
    run = ".venv/bin/doit run" + (" --always-execute" if force else "")
    c.run(f"{run} -n {jobs} -P thread {' '.join(HEAVY)}", env=env, pty=False)
    c.run(f"{run} {' '.join(ALONE)}", env=env, pty=False)
    c.run(f"{run} {' '.join(_top_level_tasks(c, env))}", env=env, pty=False)
    c.run(".venv/bin/python -m analysis.pipeline where", env=env, pty=False)


@task
def test(c, slow=True):
    """Run all tests: Python (pytest, which also runs the Node tests and the Rust core's cargo tests)."""
    marker = "" if slow else "-m 'not slow'"
    c.run(f".venv/bin/python -m pytest {marker}", pty=False)


@task
def lint(c):
    """Byte-compile every module and check the config (no extra linter dependency)."""
    c.run(".venv/bin/python -m compileall -q analysis dodo.py tasks.py")
    c.run(".venv/bin/python -c 'from analysis import config; config.load()'")
    c.run("node --check bench/prove-loop.mjs && node --check bench/tracer/wlh-tracer.cjs "
          "&& node --check bench/mitigations/preload.cjs && for f in bench/wlh/*.mjs bench/crash/*.cjs; "
          "do node --check $f || exit 1; done")


@task
def clean(c, all=False):
    """Remove rebuildable outputs (traced o1js copy, big logs); --all also removes .venv and node_modules."""
    for p in ["artifacts/traced", "artifacts/traced-compat", ".doit.db", ".pytest_cache",
              *(str(d.relative_to(ROOT)) for d in (ROOT / "artifacts" / "matrix").glob("o1js-*/traced"))]:
        shutil.rmtree(ROOT / p, ignore_errors=True)
    for log in [*(ROOT / "artifacts" / "step2").glob("*.log"), *(ROOT / "artifacts" / "matrix").glob("*/trace.log")]:
        log.unlink()
    if all:
        shutil.rmtree(ROOT / ".venv", ignore_errors=True)
        shutil.rmtree(ROOT / "bench" / "node_modules", ignore_errors=True)
