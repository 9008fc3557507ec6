"""The pipeline declaration: `doit list` reads as the table of contents, every task has a doc."""
import subprocess
import sys

from analysis.common.paths import ROOT

STEPS = ["node_deps", "step0", "step0_report", "inventory", "instrument", "trace", "trace_overhead", "analyze",
         "step2_report", "matrix", "matrix_report", "crash", "crash_report", "summary"]


def test_doit_list_shows_every_step_with_a_doc():
    proc = subprocess.run([sys.executable, "-m", "doit", "list"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    for step in STEPS:
        assert step in listed, f"{step} missing from doit list"
        assert len(listed[step].split(None, 1)) == 2, f"{step} has no doc"


def test_source_build_only_with_source_route():
    env_out = subprocess.run([sys.executable, "-m", "doit", "list"], cwd=ROOT, capture_output=True, text=True,
                             timeout=120, env={"WLH_SET": "route=source", "PATH": "/usr/bin:/bin"}).stdout
    assert "source_build" in env_out
    default = subprocess.run([sys.executable, "-m", "doit", "list"], cwd=ROOT, capture_output=True, text=True,
                             timeout=120).stdout
    assert "source_build" not in default


def test_a_config_error_is_one_line_not_a_traceback():
    proc = subprocess.run([sys.executable, "-m", "doit", "list"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"WLH_SET": "bench.iterations=abc", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pipeline: error: config.yaml") and "bench.iterations" in lines[0]
    assert "Traceback" not in proc.stderr


def test_status_names_every_step():
    proc = subprocess.run([sys.executable, "-m", "analysis.pipeline", "status"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[1] for line in proc.stdout.splitlines()]
    assert "analyze" in names and "summary" in names and any(n.startswith("matrix:trace-") for n in names)
