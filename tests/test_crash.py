"""Crash horizon arithmetic on small records the tests write: prediction, outcome of a capped run, verdict."""
import json

import pytest

from analysis.common import config as config_mod
from analysis.common.config import ConfigError
from analysis.crash.cells import crash_cells
from analysis.crash.predict import predict
from analysis.matrix.cells import cells as matrix_cells
from analysis.crash.report import growth, horizon, markdown
from analysis.crash.run import outcome

MiB = 1 << 20


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def samples(by_proof, compiled=True):
    rows = [{"event": "start"}, {"event": "sample", "iteration": -1, "phase": "after_init", "wasm_memory_bytes": MiB}]
    if compiled:
        rows.append({"event": "sample", "iteration": 0, "phase": "after_compile", "wasm_memory_bytes": 300 * MiB})
    rows += [{"event": "sample", "iteration": k, "phase": "after_proof", "wasm_memory_bytes": v} for k, v in by_proof.items()]
    return rows


def test_prediction_without_a_trace_uses_recurring_bytelength_steps_only(tmp_path):
    base = write_jsonl(tmp_path / "b.jsonl", samples({1: 670 * MiB, 2: 676 * MiB, 3: 682 * MiB, 4: 688 * MiB}))
    p = predict(base, None, 700 * MiB, 40)
    assert p["forecast"]["model"] == "bytelength" and p["forecast"]["bytelength"]["per_proof"] == 6 * MiB
    assert p["predicted_crash_proof"] == 7          # 688 + 6 x 2 = 700 still fits under the cap; proof 7 does not
    # one step, then flat: a one-time step is not a rate, and 2 flat proofs cannot show it levels off
    flat = write_jsonl(tmp_path / "f.jsonl", samples({1: 670 * MiB, 2: 679 * MiB, 3: 679 * MiB, 4: 679 * MiB}))
    assert predict(flat, None, 700 * MiB, 40)["predicted"] == "no forecast (not enough proofs)"


def test_prediction_from_the_traced_cell_uses_the_live_heap_model(tmp_path):
    base = write_jsonl(tmp_path / "b.jsonl", samples({1: 670 * MiB, 2: 676 * MiB, 3: 682 * MiB, 4: 688 * MiB}))
    cell = tmp_path / "cell.json"
    cell.write_text(json.dumps({"trace": {
        "bytes_by_iteration": {"0": 300 * MiB, "1": 670 * MiB, "2": 676 * MiB, "3": 682 * MiB, "4": 688 * MiB},
        "live_heap_by_iteration": {"0": 280 * MiB, "1": 280 * MiB, "2": 285 * MiB, "3": 290 * MiB, "4": 295 * MiB}}}))
    p = predict(base, cell, 800 * MiB, 40)
    # need above the live heap: 676-280 = 396, 682-285 = 397, 688-290 = 398 MiB, drifting +1 MiB/proof;
    # proof k fails when 295 + 5(k-5) + 398 + (k-4) > 800 -> 6k > 136 -> k = 23 (without drift: 5k > 132 -> 27)
    assert p["forecast"]["model"] == "live_heap"
    assert (p["predicted_crash_proof"], p["predicted_crash_proof_latest"]) == (23, 27)
    assert p["bytelength_only"]["predicted_crash_proof"] == 23   # after proof 23: 688 + 6 x 19 = 802 > 800
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"trace": {"bytes_by_iteration": {"0": 1, "1": 670 * MiB, "2": 679 * MiB, "3": 679 * MiB},
                                          "live_heap_by_iteration": {"0": 1, "1": 280 * MiB, "2": 280 * MiB, "3": 280 * MiB}}}))
    assert predict(base, flat, 800 * MiB, 40)["predicted"] == "survives 40 proofs"


def test_outcome_of_a_run_that_hung_after_a_worker_died(tmp_path):
    run = write_jsonl(tmp_path / "run.jsonl", samples({1: 700 * MiB, 2: 790 * MiB}))
    end = write_jsonl(tmp_path / "end.jsonl", [
        {"event": "memory_cap", "applied": True},
        {"event": "crash", "how": "worker_error", "message": "RuntimeError: unreachable", "wasm_memory_bytes": 800 * MiB},
        {"event": "crash", "how": "no_answer", "message": "no progress for 900 s"}])
    o = outcome(run, end, -14)
    assert (o["how"], o["crash_proof"], o["consequences"], o["cap_applied"]) == ("worker_error", 3, ["no_answer"], True)
    assert o["summary"].startswith("ended in proof 3 (worker_error: RuntimeError: unreachable")


def test_outcome_before_compile_and_of_a_survivor(tmp_path):
    run = write_jsonl(tmp_path / "run.jsonl", samples({}, compiled=False))
    end = write_jsonl(tmp_path / "end.jsonl", [{"event": "crash", "how": "no_answer", "message": "no progress"}])
    o = outcome(run, end, -14)
    assert o["crash_proof"] is None and o["summary"].startswith("ended before compile finished")
    ok = write_jsonl(tmp_path / "ok.jsonl", samples({1: 1, 2: 2}) + [{"event": "end", "ok": True}])
    assert outcome(ok, tmp_path / "none.jsonl", 0)["how"] == "survived"


def test_growth_verdict_and_markdown(tmp_path):
    flat = write_jsonl(tmp_path / "flat.jsonl", samples({k: 679 * MiB for k in range(1, 31)}))
    grows = write_jsonl(tmp_path / "grows.jsonl", samples({k: 670 * MiB + k * 4 * MiB for k in range(1, 31)}))
    assert growth(flat)["verdict"] == "levels off"
    assert growth(grows)["verdict"] == "keeps growing" and growth(grows)["steps"]["per_proof"] == 4 * MiB
    cell = {"cell": "2.15.0/recursive/w1", "run": str(grows),
            "prediction": {"cap_bytes": 800 * MiB, "max_proofs": 40, "predicted_crash_proof": 22,
                           "predicted_crash_proof_latest": 24, "predicted": "crash in proof 22",
                           "forecast": {"model": "live_heap"}, "proofs_in_baseline": 4,
                           "bytelength_only": {"predicted_crash_proof": 21, "predicted": "crash in proof 21"}},
            "outcome": {"crash_proof": 23, "how": "worker_error", "message": "RuntimeError: unreachable",
                        "proofs_done": 22, "cap_applied": True}}
    h = horizon([cell])
    assert (h["cells"][0]["error_proofs"], h["cells"][0]["bytelength_only_error_proofs"]) == (-1, -2)
    text = "\n".join(markdown(h))
    row = next(line for line in text.splitlines() if "`2.15.0/recursive/w1`" in line)
    assert "800" in row and "crash in proof 22 (at the latest 24)" in row and "proof 23" in row and "keeps growing" in row
    survivor = dict(cell, prediction=dict(cell["prediction"], predicted_crash_proof=None, predicted="survives 40 proofs"),
                    outcome=dict(cell["outcome"], crash_proof=None, proofs_done=40))
    assert horizon([survivor])["cells"][0]["error_proofs"] == 0


def test_committed_end_records_follow_their_schema():
    """The guard's records of the crash cells (artifacts/crash/) are what schemas/crash-event.schema.json describes."""
    import jsonschema

    from analysis.common.jsonl import read_jsonl
    from analysis.common.paths import ROOT, schema_path

    validator = jsonschema.Draft202012Validator(json.loads(schema_path("crash-event").read_text()))
    records = sorted((ROOT / "artifacts" / "crash").glob("*/end.jsonl"))
    assert records, "no committed end records"
    for path in records:
        lines = read_jsonl(path).records
        assert lines[0]["event"] == "guard", path
        for n, line in enumerate(lines, 1):
            errors = [e.message for e in validator.iter_errors(line)]
            assert not errors, f"{path.name} of {path.parent.name}, line {n}: {errors}"


def test_crash_cells_with_their_own_cap():
    cfg = config_mod.load(env={"WLH_SET": """crash.cells='{"2.15.0/recursive/w1": 40, "2.15.0/recursive/w1@750": 30}'"""})
    plain, other = crash_cells(cfg, matrix_cells(cfg))
    assert (plain.name, plain.id, plain.cap_mib, plain.max_proofs) == ("2.15.0/recursive/w1", "2.15.0-recursive-w1", 800, 40)
    assert (other.name, other.id, other.cap_mib) == ("2.15.0/recursive/w1@750", "2.15.0-recursive-w1-cap750", 750)
    for bad, says in [('{"2.15.0/recursive/w1@5000": 3}', "outside 1..4096"),
                      ('{"9.9.9/recursive/w1": 3}', "is not a cell of the matrix")]:
        cfg = config_mod.load(env={"WLH_SET": f"crash.cells='{bad}'"})
        with pytest.raises(ConfigError, match=says):
            crash_cells(cfg, matrix_cells(cfg))
