"""`wlh run --aggregate` for real (issue 23): the trivial scenario traced in full and in aggregate mode against the
release pinned by this repository gives the same objects never dropped per type in the loop and the same rates;
and a program (written here) whose two child processes prove gets one aggregate per process, each passing every
check (minutes)."""
import json

import pytest

from analysis.common.paths import BENCH
from analysis.wlh import spec
from tests.test_wlh_processes_real import CHILDREN
from tests.wlh_helpers import wlh

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tmp_path_factory.mktemp("wlh-aggregate")


def run_and_report(capsys, out, *extra, program=None):
    program = program or ["node", BENCH / "wlh-loop.mjs", "--scenario", "trivial", "--proofs", "3"]
    code, _, err = wlh(capsys, "run", "--o1js", spec.pinned_version(), "--workers", "1", "--out", out, *extra,
                       "--", *program)
    assert code == 0, err
    code, _, err = wlh(capsys, "report", out)
    assert code == 0, err
    return json.loads((out / "report.json").read_text())


def test_full_and_aggregate_agree_on_the_trivial_scenario(capsys, runs):
    full = run_and_report(capsys, runs / "full")["summary"]
    agg_dir = runs / "aggregate"
    agg = run_and_report(capsys, agg_dir, "--aggregate")["summary"]
    assert full["mode"] == "full" and agg["mode"] == "aggregate"
    assert full["checks_ok"] and agg["checks_ok"], (full["failed_checks"], agg["failed_checks"])
    assert full["proofs"] == agg["proofs"] == 3
    log = (agg_dir / "trace.log").read_bytes()
    assert b'"ev":"ALLOCATE"' not in log and b'"ev":"DROP"' not in log and not (agg_dir / "trace.fifo").exists()
    # The leak (SUMMARY.md): PolyComm objects, the same count and bytes per proof in both modes.
    leaks = {m: {r["type"]: r for r in s["never_dropped_in_loop"]} for m, s in (("full", full), ("agg", agg))}
    polycomm = [t for t in leaks["full"] if "PolyComm" in t and leaks["full"][t]["bytes"] > 0]
    assert polycomm
    for t in polycomm:
        assert (leaks["agg"][t]["count"], leaks["agg"][t]["bytes"]) == (leaks["full"][t]["count"], leaks["full"][t]["bytes"]), t
    rates = {m: {r["type"]: r["per_proof"] for r in s["type_rates"]} for m, s in (("full", full), ("agg", agg))}
    for t in polycomm:
        assert rates["agg"][t] == pytest.approx(rates["full"][t], rel=0.01), t
    assert agg["live"]["per_proof"] == pytest.approx(full["live"]["per_proof"], rel=0.05)
    full_bytes = (runs / "full" / "trace.log").stat().st_size
    agg_bytes = len(log) + (agg_dir / "aggregate.jsonl").stat().st_size
    assert agg_bytes < full_bytes / 3, (agg_bytes, full_bytes)


def test_each_process_gets_its_own_aggregate(capsys, runs):
    script = runs / "children.cjs"
    script.write_text(CHILDREN)
    out = runs / "children"
    report = run_and_report(capsys, out, "--aggregate", program=["node", script])
    assert report["total"]["instances"] == 2 and report["total"]["proofs"] == 2
    for s in report["instances"]:
        assert s["mode"] == "aggregate" and s["checks_ok"] and s["proofs"] == 1, s["failed_checks"]
    dirs = sorted((out / "instances").glob("*-*"))
    assert len(dirs) == 2
    for d in dirs:
        records = [json.loads(x) for x in (d / "aggregate.jsonl").read_text().splitlines()]
        assert records[0]["kind"] == "start" and records[-1]["kind"] == "end" and records[-1]["complete"]
