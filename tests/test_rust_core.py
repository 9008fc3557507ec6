"""The source route's logging core (rust-bindings-patch/wlh-trace-core): its own Rust tests, and
the lines its example program writes, checked against the trace-event schema and, when present,
by the Step 3 parser (analysis/parse)."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
CRATE = ROOT / "rust-bindings-patch" / "wlh-trace-core"
SCHEMA = ROOT / "schemas" / "trace-event.schema.json"
CARGO = shutil.which("cargo")

pytestmark = pytest.mark.skipif(CARGO is None, reason="cargo is not installed: the Rust core cannot be built")


def _cargo(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, CARGO_TERM_COLOR="never")
    return subprocess.run([CARGO, *args, "--offline"], cwd=CRATE, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def emitted() -> str:
    r = _cargo("run", "--quiet", "--example", "emit")
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_cargo_test_passes():
    r = _cargo("test")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    results = [ln for ln in out.splitlines() if ln.startswith("test result:")]
    assert results and all(" 0 failed" in ln for ln in results), results
    passed = sum(int(ln.split(" passed")[0].split()[-1]) for ln in results)
    assert passed >= 15, f"expected the core's tests to run, saw {results}"


def test_example_lines_validate_against_schema(emitted):
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    lines = emitted.splitlines()
    events = [ln for ln in lines if ln.startswith("@")]
    noise = [ln for ln in lines if ln and not ln.startswith("@")]
    assert noise, "the example should also print noise lines"
    assert len(events) >= 20
    for ln in events:
        obj = json.loads(ln[1:])
        errors = list(validator.iter_errors(obj))
        assert not errors, f"{ln}: {errors[0].message}"


def test_example_ids_and_pairs(emitted):
    objs = [json.loads(ln[1:]) for ln in emitted.splitlines() if ln.startswith("@")]
    allocs = [o for o in objs if o["ev"] == "ALLOCATE"]
    drops = [o for o in objs if o["ev"] == "DROP"]
    assert [a["id"] for a in allocs] == list(range(len(allocs))), "ids from 0, contiguous, in log order"
    by_id = {a["id"]: a for a in allocs}
    seen = set()
    for d in drops:
        a = by_id[d["id"]]
        assert (a["size"], a["type"]) == (d["size"], d["type"])
        assert d["id"] not in seen
        seen.add(d["id"])
    # the example leaves exactly one object alive (its SRS), as a leak would
    alive = [a for a in allocs if a["id"] not in seen]
    assert [a["type"] for a in alive] == ["WasmFpSrs"]
    # SITE lines come before their first use
    defined = set()
    for o in objs:
        if o["ev"] == "SITE":
            defined.add(o["site"])
        elif "site" in o:
            assert o["site"] in defined


def test_step3_parser_reads_example_with_zero_failed_checks(emitted):
    if importlib.util.find_spec("analysis.parse") is None:
        pytest.skip("analysis/parse (Step 3 parser) is not there yet")
    import analysis.parse as logparse
    result = logparse.parse_bytes(emitted.encode(), "emit-example")
    assert result.failed_checks == [], result.failed_checks
    assert result.noise_lines > 0
    assert result.events.get("ALLOCATE", 0) == sum(1 for ln in emitted.splitlines()
                                                   if ln.startswith('@{"ev":"ALLOCATE"'))
    left = dict(result.never_dropped_by_type)
    assert set(left) == {"WasmFpSrs"}
