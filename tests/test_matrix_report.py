from analysis.matrix.report import comparison, markdown

MiB = 2 ** 20


def cell(name, live_rate, types, *, bl=(100 * MiB, 300 * MiB, 301 * MiB, 302 * MiB), mitigation=None, stats=None):
    version, scenario, w = name.split("+")[0].split("/")
    c = {"cell": name, "version": version, "scenario": scenario, "workers": int(w[1:]), "mitigation": mitigation,
         "proofs": 3, "checks_ok": True, "failed_checks": [],
         "baseline": {"first_proof_growth": bl[1] - bl[0], "later_growth_per_proof": (bl[3] - bl[1]) / 2,
                      "bytes_by_iteration": {str(k): v for k, v in enumerate(bl)}},
         "trace": {"live_per_proof": live_rate, "live_per_proof_spread": 0.0,
                   "coverage": {"with_first_proof": 0.99, "without_first_proof": 1.0},
                   "growing_types": [{"type": t, "per_proof": r} for t, r in types.items()],
                   "leaks_by_type_in_loop": [{"type": t, "bytes_per_proof": r} for t, r in types.items()]}}
    if mitigation:
        c["mitigation_targets"] = ["A", "B"]
        c["mitigation_reports"] = {"trace": {"applied": {"types": ["A", "B"]}, "stats": stats}}
    return c


def test_predicted_and_measured_drop():
    base = cell("2.15.0/trivial/w1", 3 * MiB, {"A": 2 * MiB, "B": 0.5 * MiB, "C": 0.25 * MiB})
    after = cell("2.15.0/trivial/w1+fix", 0.75 * MiB, {"C": 0.25 * MiB}, mitigation="fix",
                 bl=(100 * MiB, 300 * MiB, 300 * MiB, 300 * MiB), stats={"registered": 5, "freed": 5})
    comp = comparison([after, base])
    (w,) = comp["whatif"]
    assert w["predicted_drop"] == 2.5 * MiB          # A + B, the targets; C is not predicted to change
    assert w["measured_drop"] == 2.25 * MiB          # 3 - 0.75
    assert w["measured_over_predicted"] == 0.9
    # byteLength as steps: +1 MiB in proofs 2 and 3 (too few for a rate), none after the mitigation
    assert [st["proof"] for st in w["bytelength_steps_before"]["steps"]] == [2, 3]
    assert w["bytelength_steps_before"]["per_proof"] is None and w["bytelength_steps_after"]["steps"] == []
    assert [r["cell"] for r in comp["rows"]] == ["2.15.0/trivial/w1"]  # what-if cells are not matrix rows
    text = markdown(comp)
    assert "Predicted drop 2.5000 MiB/proof, measured drop 2.2500 MiB/proof" in text
    assert "registered 5 wrappers and freed 5" in text
    assert "Untraced byteLength steps after proof 1: +1.00 MiB in proof 2, +1.00 MiB in proof 3 (too few proofs for a rate)" in text


def test_rows_ranked_by_release_within_scenario_and_workers():
    cells = [cell("2.7.0/trivial/w1", 1 * MiB, {"P": MiB}), cell("2.15.0/trivial/w1", 0.1 * MiB, {"Q": 0.1 * MiB}),
             cell("2.10.0/trivial/w1", 2 * MiB, {"P": 2 * MiB}), cell("2.15.0/trivial/w4", 0.2 * MiB, {})]
    comp = comparison(cells)
    assert [r["cell"] for r in comp["rows"]] == ["2.15.0/trivial/w1", "2.10.0/trivial/w1", "2.7.0/trivial/w1",
                                                 "2.15.0/trivial/w4"]
    text = markdown(comp)
    assert ("`trivial`, 1 worker(s): live heap grows fastest per proof in 2.10.0 (+2.0000 MiB/proof) > "
            "2.7.0 (+1.0000 MiB/proof) > 2.15.0 (+0.1000 MiB/proof)") in text
    assert "1 worker(s)" in text and "`trivial`, 4 worker(s)" not in text  # one release: nothing to rank
    same = comparison([cell("2.7.0/trivial/w1", 1 * MiB, {}), cell("2.10.0/trivial/w1", 1 * MiB, {})])
    assert "in 2.10.0 (+1.0000 MiB/proof) = 2.7.0 (+1.0000 MiB/proof)" in markdown(same)


def test_whatif_without_its_plain_cell_says_so():
    comp = comparison([cell("2.15.0/trivial/w1+fix", 0, {}, mitigation="fix", stats={})])
    assert "plain cell `2.15.0/trivial/w1` is missing" in markdown(comp)
