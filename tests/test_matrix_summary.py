import json

from analysis.matrix.summary import baseline_memory


def test_baseline_memory_from_a_run_that_crashed(tmp_path):
    p = tmp_path / "baseline.jsonl"
    lines = [{"event": "start"}, {"event": "sample", "iteration": -1, "wasm_memory_bytes": 1},
             {"event": "sample", "iteration": 0, "wasm_memory_bytes": 100},
             {"event": "sample", "iteration": 1, "wasm_memory_bytes": 300},
             {"event": "sample", "iteration": 2, "wasm_memory_bytes": 310},
             {"event": "sample", "iteration": 3, "wasm_memory_bytes": 330}]
    p.write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"event": "sample", "iter')  # cut mid-line
    b = baseline_memory(p)
    assert b["bytes_by_iteration"] == {"0": 100, "1": 300, "2": 310, "3": 330}
    assert b["first_proof_growth"] == 200
    assert b["later_growth_per_proof"] == 15      # (330 - 300) / 2
    assert b["completed"] is False


def test_baseline_memory_missing_file(tmp_path):
    b = baseline_memory(tmp_path / "none.jsonl")
    assert b["bytes_by_iteration"] == {} and b["first_proof_growth"] is None and not b["completed"]
