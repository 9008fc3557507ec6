"""The pipeline declaration: `doit list` reads as the table of contents, every task has a doc."""
import subprocess
import sys

from analysis.common.paths import ROOT

STEPS = ["node_deps", "step0", "step0_report", "inventory", "instrument", "trace", "trace_overhead", "trace_compat", "analyze",
         "step2_report", "summary", "source_patch"]


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
