"""Runs the Node tests of the instrumenter and tracer (bench/test/*.test.mjs) under pytest."""
import shutil
import subprocess

import pytest

from analysis.common.paths import BENCH


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_instrumenter_and_tracer_tests():
    if not (BENCH / "node_modules" / "binaryen").exists():
        pytest.fail("bench/node_modules is missing: run `./run test` (it runs npm ci) first")
    tests = sorted(str(p) for p in (BENCH / "test").glob("*.test.mjs"))
    assert len(tests) >= 2
    proc = subprocess.run(["node", "--test", *tests], capture_output=True, text=True, timeout=300)
    tail = "\n".join(proc.stdout.splitlines()[-12:])
    assert proc.returncode == 0, f"node tests failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    assert "# fail 0" in tail
