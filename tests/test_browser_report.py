"""BROWSER.md and SUMMARY's browser section from browser runs the test writes itself (no browser): the run
names of config `browser.runs`, the hang explained only when the runs separate the cases, and the leak beside
the node run of the same scenario."""
import json
import re

import pytest

from analysis.browser import report
from analysis.browser.runs import parse_run, run_dir
from analysis.candidate import paths as candidate_paths
from analysis.common import config as config_mod
from analysis.common.config import ConfigError
from tests.test_wlh_report import write_run
from tests.wlh_helpers import wlh


def test_run_names():
    r = parse_run("trivial/untraced+consume-forwarded")
    assert (r.scenario, r.traced, r.whatif, r.id) == ("trivial", False, "consume-forwarded", "trivial-untraced+consume-forwarded")
    assert parse_run("recursive").traced and parse_run("recursive").whatif is None
    with pytest.raises(ConfigError, match="unknown what-if 'keep-one-pool'"):
        parse_run("trivial+keep-one-pool")
    with pytest.raises(ConfigError, match="is not <trivial|recursive>"):
        parse_run("trivial/w1")
    r2 = parse_run("trivial/untraced#2")
    assert (r2.repeat, r2.kind, r2.id) == (2, "trivial/untraced", "trivial-untraced-2")


def _browser(d, outcome, proofs, answered=None, late=0, errors=(), moved=None):
    d.mkdir(parents=True, exist_ok=True)
    idle = None if answered is None else {"watched_seconds": 60, "answered": answered,
                                          "stopped_after_seconds": None if answered else 4.0}
    (d / "browser.json").write_text(json.dumps({
        "chromium": "Chromium 156", "outcome": outcome, "proofs": proofs, "idle": idle, "late_frees": late,
        "page_errors": [{"t": 1, "message": m} for m in errors], "stacks": [],
        "forwarded_by_value": moved or {}, "whatif_counts": {}}))
    (d / "page.jsonl").write_text("".join(json.dumps({"event": "late_free", "ptr": 8 * k, "export": "caml_pasta_fp_plonk_proof_create",
                                                      "arg": 1, "type": "hu", "consumed": True, "proofs_done": 1}) + "\n"
                                          for k in range(late)))


@pytest.fixture
def cfg(tmp_path, capsys):
    cfg = config_mod.load(env={"WLH_SET": f"paths.artifacts={tmp_path / 'artifacts'} paths.reports={tmp_path} "
                                          "candidate.scenarios=[trivial]"})
    moved = {"caml_pasta_fp_plonk_proof_create": {"calls": 3, "args": [1]}}
    runs = {r: parse_run(r) for r in cfg["browser"]["runs"]}
    _browser(run_dir(cfg, runs["trivial/untraced"]), "no_answer", 1)
    _browser(run_dir(cfg, runs["trivial/untraced#2"]), "done", 3, answered=False)  # hung once idle
    _browser(run_dir(cfg, runs["trivial/untraced+consume-forwarded"]), "done", 3, answered=True)
    _browser(run_dir(cfg, runs["trivial/untraced+consume-forwarded#2"]), "done", 3, answered=True)
    _browser(run_dir(cfg, runs["trivial"]), "no_answer", 1, late=2, errors=["RuntimeError: memory access out of bounds"],
             moved=moved)
    fixed = run_dir(cfg, runs["trivial+consume-forwarded"])
    write_run(fixed, "browser trivial+consume-forwarded", 1000)
    _browser(fixed, "done", 3, answered=True, moved=moved)
    node = write_run(candidate_paths.run_dir(cfg, "release", "trivial"), "node", 1200)
    for d in (fixed, node):
        assert wlh(capsys, "report", d)[0] == 0
    return cfg


def test_browser_md_explains_the_hang_only_from_the_runs(cfg, tmp_path):
    out, summary = tmp_path / "BROWSER.md", tmp_path / "summary.json"
    report.write(cfg, out, summary)
    md = out.read_text()
    flat = re.sub(r" +", " ", md)  # tabulate pads its columns
    assert "| `trivial/untraced`" in md and "stopped answering" in md
    assert "| `caml_pasta_fp_plonk_proof_create` | 3 | 1 |" in flat          # forwarded by value, from the run
    assert "| `caml_pasta_fp_plonk_proof_create` | 1 | `hu` | 2 |" in flat   # the late frees, grouped
    assert "`RuntimeError: memory access out of bounds`" in md
    assert ("**In short:** without the what-if 3 of 3 runs stopped answering; with it 3 of 3 finished and kept "
            "answering, and the traced runs without it saw 2 late free(s)") in md
    assert "- `trivial/untraced#2` (untraced, o1js unchanged): the program finished; idle page afterwards" in md
    assert "not counted (untraced)" in md
    assert "| `Leaky` | +1,000 ± 0 | +1,200 ± 0 | 3 | 3 |" in flat                     # browser beside node, steady bytes/proof
    assert "different: `Leaky`" in flat
    d = json.loads(summary.read_text())
    assert d["leak"]["trivial"]["browser_types"]["Leaky"] == pytest.approx(1000)
    assert d["leak"]["trivial"]["node_types"]["Leaky"] == pytest.approx(1200)
    lines = "\n".join(report.summary_lines(d))
    assert "[BROWSER.md](BROWSER.md)" in lines and "`Leaky` +1,000 vs +1,200 bytes per proof" in lines


def test_a_what_if_run_that_still_hangs_is_said(cfg, tmp_path):
    _browser(run_dir(cfg, parse_run("trivial/untraced+consume-forwarded#2")), "no_answer", 1)
    out = tmp_path / "B.md"
    report.write(cfg, out, tmp_path / "s.json")
    assert ("with it 2 of 3 finished and kept answering. The double free of moved arguments is real (2 late free(s) "
            "seen in the traced runs without the what-if) and removing it helps, but a run with the what-if also "
            "stopped answering") in out.read_text()
