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


@task
def pipeline(c, quick=False):
    """Run every stale step of the pipeline (doit). --quick: 2 proofs per run (3 in the matrix, which needs a
    slope), no compat check, and a one-cell matrix with its what-if cell (CI)."""
    env = {"WLH_SET": os.environ.get("WLH_SET", "")}
    if quick:
        env["WLH_SET"] = (env["WLH_SET"] + " bench.iterations=2 bench.runs=1 trace.iterations=2 trace.overhead_iterations=2 "
                          "trace.overhead_pairs=1 trace.compat_versions=[] matrix.versions=[2.15.0] matrix.workers=[1] "
                          "matrix.scenarios=[trivial] matrix.extra_cells=[] matrix.iterations=3 "
                          "matrix.whatif=[2.15.0/trivial/w1+free-wrapped-polycomm]").strip()
    c.run(".venv/bin/doit", env=env, pty=False)


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
          "&& node --check bench/mitigations/preload.cjs")


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
