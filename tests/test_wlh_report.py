"""`wlh report` and `wlh compare` on small runs the test writes itself (trace log + run record)."""
import json

import pytest

from analysis.wlh import comparison
from tests.wlh_helpers import one_error_line, wlh

MiB = 2 ** 20


def snap(it, live, tracked, memory):
    inuse = live + 8 * 10
    return {"ev": "SNAPSHOT", "iteration": it, "phase": "after_proof" if it else "before_first_proof",
            "memory_bytes": memory, "live_heap_bytes": live, "live_blocks": 10, "tracked_live_objects": 1,
            "tracked_live_bytes": tracked, "unknown_frees": 0, "table_full": 0, "unmatched_handles": 0,
            "heap_walk": {"heap_base": 100_000, "heap_bytes": memory - 100_000, "inuse_bytes": inuse, "inuse_chunks": 10,
                          "free_bytes": memory - 100_000 - inuse, "free_chunks": 1, "largest_free": 1000,
                          "fencepost_bytes": 0, "unparsed_bytes": 0}}


def write_run(d, label, leak_per_proof, noise=(0, 3, -2, 4), proofs=3):
    """A run whose 'Leaky' objects (leak_per_proof bytes each proof) are never dropped."""
    d.mkdir(parents=True)
    ev = [{"ev": "META", "route": "binary"},
          {"ev": "SITE", "site": 0, "rust": "caml_make_thing", "js": "lib/thing.js:7", "alloc_fn": None},
          {"ev": "ALLOCATE", "size": 5000, "type": "Keeper", "id": 0, "site": 0}]
    live, mem, next_id = 50_000, 4 * MiB, 1
    ev.append(snap(0, live, 5000, mem))
    for p in range(1, proofs + 1):
        if leak_per_proof:
            ev.append({"ev": "ALLOCATE", "size": leak_per_proof, "type": "Leaky", "id": next_id, "site": 0})
            next_id += 1
        ev += [{"ev": "ALLOCATE", "size": 64, "type": "Tidy", "id": next_id, "site": 0},
               {"ev": "DROP", "size": 64, "type": "Tidy", "id": next_id}]
        next_id += 1
        mem += 64 * 1024 if p == 1 else 0
        ev.append(snap(p, live + p * leak_per_proof + noise[p], 5000 + p * leak_per_proof, mem))
    (d / "trace.log").write_text("".join("@" + json.dumps(e) + "\n" for e in ev))
    (d / "run.json").write_text(json.dumps({
        "tool": "wlh run", "label": label, "program": ["node", "prog.mjs"], "workers": 1, "snapshot": "proof",
        "key_cache": "fresh", "exit_code": 0, "seconds": 1.0, "files": {"trace_log": "trace.log", "samples": "samples.jsonl"},
        "o1js": {"kind": "release", "spec": "2.15.0", "version": "2.15.0", "instrument": {"hook_set": "rust"}}}))
    return d


def test_report_writes_markdown_png_and_json(capsys, tmp_path):
    run = write_run(tmp_path / "base", "base", 1000)
    code, out, _ = wlh(capsys, "report", run)
    assert code == 0
    assert "`Leaky`: 3 objects" in out
    md = (run / "report.md").read_text()
    assert md.startswith("# wlh report: `base`")
    for needle in ("![memory decomposition](report.png)", "### Checks", "### Types by bytes never dropped",
                   "### Leak rates", "### What linear memory is made of", "lib/thing.js:7",
                   "### Never-dropped bytes against memory growth (this run)"):
        assert needle in md, needle
    assert "Step 0" not in md.split("### Heap per iteration")[0]
    assert (run / "report.png").read_bytes()[:4] == b"\x89PNG"
    s = json.loads((run / "report.json").read_text())["summary"]
    assert s["proofs"] == 3 and s["checks_ok"]
    assert s["live"]["first_proof"] == 1003
    assert s["never_dropped_in_loop"][0]["type"] == "Leaky" and s["never_dropped_in_loop"][0]["bytes_per_proof"] == 1000
    assert s["bytelength"]["first_proof"] == 64 * 1024
    # flat for 2 proofs after proof 1: too few to say it levels off, and no rate is made up
    assert (s["bytelength"]["kind"], s["bytelength"]["steps"], s["bytelength"]["per_proof"]) == ("not_enough_proofs", [], None)
    assert s["forecast"]["model"] == "live_heap" and s["forecast"]["verdict"] == "crash"
    assert json.loads((run / "parse.json").read_text())["never_dropped_by_type"][0] == ["Keeper", 5000]


def test_report_of_a_log_alone_goes_beside_it_or_to_out(capsys, tmp_path):
    run = write_run(tmp_path / "r", "r", 10)
    log = run / "trace.log"
    code, _, _ = wlh(capsys, "report", log, "--out", tmp_path / "elsewhere")
    assert code == 0 and (tmp_path / "elsewhere" / "report.md").exists()


def test_compare_says_what_changed_with_the_spread(capsys, tmp_path):
    base = write_run(tmp_path / "base", "base", 1000)
    cand = write_run(tmp_path / "fix", "fix", 0)
    code, out, _ = wlh(capsys, "compare", base, cand, "--out", tmp_path / "cmp.md", "--json", tmp_path / "cmp.json")
    assert code == 0
    assert "| live heap growth per proof, MiB (± spread)" in out
    verdict = [line for line in out.splitlines() if line.startswith("Verdict:")][0]
    assert "beyond twice the combined spread" in verdict and "a real change" in verdict
    assert "`Leaky` never dropped per proof 0.001 → 0.000 MiB" in verdict
    c = json.loads((tmp_path / "cmp.json").read_text())
    assert c["comparison"]["live"]["difference"] == pytest.approx(-1000 + 0.5, abs=1)
    assert c["comparison"]["live"]["significant"] is True
    assert (tmp_path / "cmp.md").read_text().startswith("# wlh compare: `base` → `fix`")


def test_compare_without_spread_makes_no_claim(capsys, tmp_path):
    base = write_run(tmp_path / "a", "a", 1000, proofs=2)
    cand = write_run(tmp_path / "b", "b", 0, proofs=2)
    code, out, _ = wlh(capsys, "compare", base, cand)
    assert code == 0 and "spread unknown (fewer than 3 proofs in a run)" in out


def test_compare_same_within_spread():
    r = {"per_proof": 100.0, "spread": 10.0}
    assert comparison.rate_change(r, {"per_proof": 110.0, "spread": 10.0})["significant"] is False
    assert comparison.rate_change(r, {"per_proof": 140.0, "spread": 10.0})["significant"] is True
    assert comparison.rate_change(r, {"per_proof": None, "spread": None})["significant"] is None


def test_compare_needs_two_snapshots(capsys, tmp_path):
    base = write_run(tmp_path / "a", "a", 10)
    empty = tmp_path / "e"
    empty.mkdir()
    (empty / "trace.log").write_text('@{"ev":"META","route":"binary"}\n')
    code, _, err = wlh(capsys, "compare", base, empty)
    assert code == 2 and "fewer than two snapshots" in one_error_line(err)


def test_compare_refuses_runs_of_different_programs(capsys, tmp_path):
    base = write_run(tmp_path / "a", "a", 1000)
    other = write_run(tmp_path / "b", "b", 0)
    rec = json.loads((other / "run.json").read_text())
    (other / "run.json").write_text(json.dumps(rec | {"program": ["node", "tx-loop.mjs", "5"], "workers": 2}))
    code, _, err = wlh(capsys, "compare", base, other)
    line = one_error_line(err)
    assert code == 2 and "not runs of the same program" in line
    assert "program and arguments: `node prog.mjs` vs `node tx-loop.mjs 5`" in line and "worker threads: `1` vs `2`" in line
    code, out, _ = wlh(capsys, "compare", base, other, "--allow-different")
    assert code == 0 and "their figures are not comparable" in out and "compare with care" in out


def test_compare_leads_with_the_forecast(capsys, tmp_path):
    code, out, _ = wlh(capsys, "compare", write_run(tmp_path / "a", "a", 100_000), write_run(tmp_path / "b", "b", 0))
    verdict = [line for line in out.splitlines() if line.startswith("Verdict:")][0]
    assert verdict.startswith("Verdict: the candidate levels off (no crash at the 4 GiB ceiling forecast); "
                              "the baseline reaches the 4 GiB ceiling in proof ")


def test_report_of_a_file_that_is_not_a_trace(capsys, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\nthis is not a trace\n")
    code, _, err = wlh(capsys, "report", notes)
    assert code == 2 and "not a trace: none of its 2 lines is a trace event" in one_error_line(err)
    assert not (tmp_path / "report.md").exists()


def test_check_passes_or_fails_with_one_line(capsys, tmp_path):
    leaky, fixed = write_run(tmp_path / "leaky", "leaky", 100_000), write_run(tmp_path / "fixed", "fixed", 0)
    budget = tmp_path / "budget.yaml"
    budget.write_text("live_mib_per_proof: 0.01\nnever_dropped_mib_per_proof: {'*': 0.01}\nmin_proofs_to_ceiling: 1000000\n")
    code, out, _ = wlh(capsys, "check", leaky, "--budget", budget)
    lines = out.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("wlh check: FAIL leaky: ")
    assert "live-heap growth +0.0954" in lines[0] and "over the budget 0.0100 by 0.0854" in lines[0]
    assert "`Leaky` never dropped 0.0954 MiB/proof over the budget 0.0100 by 0.0854" in lines[0]
    assert "reaches the 4 GiB ceiling in proof" in lines[0] and "short by" in lines[0]
    code, out, _ = wlh(capsys, "check", fixed, "--budget", budget)
    assert code == 0 and out.startswith("wlh check: ok fixed: ") and "levels off" in out
    # a flag overrides the file; a per-type limit names its type
    code, out, _ = wlh(capsys, "check", leaky, "--budget", budget, "--live-mib-per-proof", "1",
                       "--type-mib-per-proof", "Leaky=1", "--min-proofs-to-ceiling", "0")
    assert code == 0, out


def test_check_errors_are_one_line(capsys, tmp_path):
    run = write_run(tmp_path / "r", "r", 10)
    code, _, err = wlh(capsys, "check", run)
    assert code == 2 and "no limit given" in one_error_line(err)
    bad = tmp_path / "b.yaml"
    bad.write_text("live_mib_per_proof: -1\n")
    code, _, err = wlh(capsys, "check", run, "--budget", bad)
    assert code == 2 and f"{bad}: live_mib_per_proof: -1 is less than the minimum of 0" in one_error_line(err)
    bad.write_text("live_mib_per_proof: [1\n")
    code, _, err = wlh(capsys, "check", run, "--budget", bad)
    assert code == 2 and "(line 2): not YAML or JSON" in one_error_line(err)
    bad.write_text("leaks: 1\n")
    code, _, err = wlh(capsys, "check", run, "--budget", bad)
    assert code == 2 and "Additional properties are not allowed ('leaks' was unexpected)" in one_error_line(err)
