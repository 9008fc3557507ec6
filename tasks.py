"""Human conveniences (invoke). The pipeline itself is dodo.py; `./run X` sets up and calls `invoke X`."""
import os
import shutil
from pathlib import Path

from invoke import Exit, task

from analysis.pipeline import forced
from analysis.pipeline.errors import one_line

ROOT = Path(__file__).resolve().parent


@task
def setup(c):
    """Install the pinned Python and Node packages (./run does this before any task)."""
    c.run(".venv/bin/pip install -q -r requirements.lock")
    c.run("cd bench && npm ci --no-audit --no-fund")
    c.run("cd bench/browser && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund")


# Steps that prove with o1js (minutes each): independent ones run in parallel. The overhead benchmark measures
# time, so it runs alone; the reports are quick and run after. Longest chains first: doit starts the tasks in
# this order when nothing gates them all (doit's --always-execute did: it reran `npm ci`, which every proving
# step waits for, and released them in no fixed order), and the crash cells (a 50-proof capped run after its
# baseline) started last in a forced run of session 4, after about two hours, leaving one core for their tail.
HEAVY = ["crash", "candidate", "step0", "trace", "matrix", "browser"]
ALONE = ["trace_overhead", "guard_overhead", "wlh_overhead", "wlh_aggregate"]
QUICK = ("bench.iterations=2 bench.runs=1 trace.iterations=2 trace.overhead_iterations=2 trace.overhead_pairs=1 "
         "matrix.versions=[2.15.0] matrix.workers=[1] matrix.scenarios=[trivial] matrix.extra_cells=[] "
         "matrix.iterations=3 matrix.whatif=[2.15.0/trivial/w1+free-wrapped-polycomm] crash.cells={} candidate.scenarios=[] "
         "wlh_overhead.pairs=0 wlh_aggregate.pairs=0 browser.runs=[] "
         # a quick run writes beside the committed results, never over them
         "paths.artifacts=.quick/artifacts paths.reports=.quick paths.lock=.quick/pipeline-lock.json")


def _listed(c, env) -> list[str]:
    return c.run(".venv/bin/doit list --quiet", env=env, hide=True).stdout.split()


@task(help={"quick": "2-3 proofs per run, one matrix cell and its what-if, into .quick/ (what CI runs)",
            "force": "rerun every step, up to date or not (a forced pass, see analysis/pipeline/forced.py)",
            "resume": "continue the last forced pass where it stopped (steps it already reran are kept)",
            "jobs": "proving steps run at once (default 2)"})
def pipeline(c, quick=False, force=False, resume=False, jobs=2):
    """Run every stale step of the pipeline (doit), proving steps in parallel, then print where the reports are."""
    env = {"WLH_SET": os.environ.get("WLH_SET", "")}
    if quick:
        env["WLH_SET"] = (env["WLH_SET"] + " " + QUICK).strip()
    pass_file = ROOT / ".wlh-cache" / ("forced-pass-quick.json" if quick else "forced-pass.json")
    if force or resume:
        # Not doit's --always-execute: that reruns `npm ci` first, which every proving step waits for, and a
        # killed run would start again from nothing. A forced pass makes each step stale until it reran.
        try:
            if force and resume:
                raise forced.ForcedPassError("--force starts a new pass, --resume continues one: give one of them")
            doc = forced.start(pass_file) if force else forced.resume(pass_file)
        except forced.ForcedPassError as e:
            raise Exit(f"pipeline: error: {one_line(str(e))}", code=2) from None
        if resume:
            print(f"pipeline: resuming the forced pass of {len(doc['segments']) - 1} segment(s), "
                  f"{len(doc['done'])} steps already rerun", flush=True)
        env[forced.ENV] = str(pass_file)
    run = ".venv/bin/doit run"
    c.run(f"{run} -n {jobs} -P thread {' '.join(HEAVY)}", env=env, pty=False)
    listed = _listed(c, env)  # a step may be left out by the config (a quick run has no wlh_overhead)
    c.run(f"{run} {' '.join(t for t in ALONE if t in listed)}", env=env, pty=False)
    c.run(f"{run} {' '.join(t for t in listed if t not in HEAVY + ALONE)}", env=env, pty=False)
    if force or resume:
        print(forced.describe(forced.finish(pass_file)), flush=True)
    c.run(".venv/bin/python -m analysis.pipeline where", env=env, pty=False)


@task(help={"jobs": "test processes at once (pytest-xdist; default: one per core)"})
def test(c, slow=True, jobs="auto"):
    """Run all tests: Python (pytest, which also runs the Node tests and the Rust core's cargo tests).

    In parallel, a test file per process (its tests share their module's runs): a real o1js run keeps about one
    core busy (one rayon worker), so on 2 cores two files at once take about half the time. The 15 slowest
    tests are listed at the end, so that CI's log says where its time went."""
    marker = "" if slow else "-m 'not slow'"
    c.run(f".venv/bin/python -m pytest {marker} -n {jobs} --dist loadfile --durations=15", pty=False)


@task
def lint(c):
    """Byte-compile every module and check the config (no extra linter dependency)."""
    c.run(".venv/bin/python -m compileall -q analysis dodo.py tasks.py")
    c.run(".venv/bin/python -c 'from analysis.common import config; config.load()'")
    c.run("node --check bench/prove-loop.mjs && node --check bench/tracer/wlh-tracer.cjs "
          "&& node --check bench/mitigations/preload.cjs && for f in bench/wlh/*.mjs bench/guard/*.cjs; "
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
