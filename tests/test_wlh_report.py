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
    assert s["bytelength"]["first_proof"] == 64 * 1024 and s["bytelength"]["per_proof"] == 0
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
