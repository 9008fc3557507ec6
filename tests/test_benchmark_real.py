"""One real benchmark run: o1js 2.15.0 compiles and proves twice (a few minutes)."""
import json

import jsonschema
import pytest

from analysis.common.jsonl import read_jsonl
from analysis.common.paths import schema_path
from analysis.step0.run import node_command, run_benchmark

pytestmark = pytest.mark.slow


def test_two_real_proofs_are_sampled_and_verified(tmp_path):
    out = tmp_path / "run.jsonl"
    cmd = node_command(scenario="trivial", iterations=2, workers=1, cache="none", rows=4, settle_turns=10,
                       out=out, label="pytest", meta={"test": True})
    run_benchmark(cmd, out, timeout_s=900)
    records = read_jsonl(out).records
    validator = jsonschema.Draft202012Validator(json.loads(schema_path("bench-event").read_text()))
    for rec in records:
        validator.validate(rec)
    samples = [r for r in records if r["event"] == "sample"]
    assert [s["iteration"] for s in samples] == [-1, 0, 1, 2]
    assert records[0]["backend"] == "wasm" and records[0]["cache"] == "none" and records[0]["o1js_version"] == "2.15.0"
    assert all(s["wasm_memory_bytes"] > 0 for s in samples[1:])
    assert samples[2]["wasm_memory_bytes"] >= samples[1]["wasm_memory_bytes"]  # memory never shrinks
    assert samples[1]["method_rows"]["run"] >= 4  # a real, non-empty circuit
    assert next(r for r in records if r["event"] == "verify")["ok"] is True
