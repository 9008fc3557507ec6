"""The forecaster (analysis.forecast) on sequences shaped like the runs the project measured."""
import pytest

from analysis.forecast import CEILING, forecast, headline, reasoning, short
from analysis.forecast.steps import bytelength_growth

MiB = 2 ** 20
MB = 10 ** 6


def series(first: int, increments: list[int], base: int | None = 300 * MiB) -> dict:
    """{0: base, 1: first, 2: first + increments[0], ...}"""
    out = {} if base is None else {0: base}
    out[1] = first
    for k, d in enumerate(increments, start=2):
        out[k] = out[k - 1] + d
    return out


def test_alternating_steps_every_proof_are_a_rate():
    # the stock recursive cell: +8.52 MB and +4.26 MB alternating, every proof
    b = series(670 * MiB, [8_519_680 if k % 2 else 4_259_840 for k in range(21)])
    g = bytelength_growth(b)
    assert g["kind"] == "steady" and len(g["steps"]) == 21
    assert g["per_proof"] == pytest.approx((8_519_680 + 4_259_840) / 2, rel=0.02)
    fc = forecast(b)
    assert fc["model"] == "bytelength" and fc["verdict"] == "crash"
    assert fc["crash_proof"] == 22 + int((CEILING - b[22]) / g["per_proof"]) + 1


def test_one_step_then_flat_for_48_proofs_levels_off():
    # the what-if crash cell: +8.1 MiB in proof 2, then not at all through proof 50
    b = series(671 * MiB, [int(8.125 * MiB)] + [0] * 48)
    g = bytelength_growth(b)
    assert (g["kind"], g["since_proof"], g["per_proof"]) == ("levels_off", 2, 0.0)
    assert [s["proof"] for s in g["steps"]] == [2]
    fc = forecast(b, ceiling=800 * MiB)
    assert fc["verdict"] == "levels_off" and "no crash at the 800 MiB cap" in headline(fc)


def test_one_step_in_a_short_run_gives_no_rate():
    # the transaction loop: flat but for one +2.06 MiB step in proof 4 of 5
    b = series(276 * MiB, [0, 0, int(2.0625 * MiB), 0])
    g = bytelength_growth(b)
    assert g["kind"] == "not_enough_proofs" and g["per_proof"] is None
    assert g["steps"] == [{"proof": 4, "bytes": int(2.0625 * MiB)}]
    # levelling off needs max(5, twice the longest gap between steps: proof 1 -> 4) = 6 flat proofs; 1 seen
    assert g["more_proofs_needed"] == 6 - 1
    fc = forecast(b)
    assert fc["verdict"] == "not_enough_proofs" and "per proof" not in headline(fc)
    assert "+2.06 MiB in proof 4" in reasoning(fc)[0]


def test_the_same_run_with_a_growing_live_heap_is_forecast_from_the_live_heap():
    b = series(276 * MiB, [0, 0, int(2.0625 * MiB), 0])
    live = {k: 79 * MiB + k * int(0.177 * MiB) for k in range(6)}
    fc = forecast(b, live)
    assert fc["model"] == "live_heap" and fc["verdict"] == "crash"
    # need above the live heap, measured in the proofs that grew byteLength (1 and 4); no drift from 1 grow
    need = max(b[1] - live[0], b[4] - live[3])
    assert fc["need"]["need"] == need and fc["need"]["drift"] == 0.0
    s = fc["live"]["per_proof"]
    assert s == pytest.approx(int(0.177 * MiB))
    k = fc["crash_proof"]
    assert live[5] + s * (k - 1 - 5) + need > CEILING >= live[5] + s * (k - 2 - 5) + need
    assert fc["crash_proof_latest"] == k


def test_a_candidate_whose_live_heap_is_flat_levels_off_after_three_proofs():
    # the committed candidate run shape: byteLength steps once in proof 2, the live heap does not move
    b = series(671 * MiB, [int(8.125 * MiB), 0])
    live = {0: 279 * MiB, 1: 279 * MiB, 2: 279 * MiB, 3: 279 * MiB}
    fc = forecast(b, live)
    assert fc["verdict"] == "levels_off" and short(fc).startswith("levels off")
    assert bytelength_growth(b)["kind"] == "not_enough_proofs"   # byteLength alone could not tell


def test_live_heap_model_on_the_stock_recursive_cell_shape():
    # the 4-proof traced matrix run of 2.15.0/recursive/w1 (rounded): the capped run died in proof 23 at 800 MiB
    b = {0: 313_196_544, 1: 703_004_672, 2: 711_524_352, 3: 715_784_192, 4: 724_303_872}
    live = {0: 293_049_000, 1: 293_150_000, 2: 298_922_000, 3: 304_695_000, 4: 310_468_000}
    fc = forecast(b, live, 800 * MiB)
    assert fc["verdict"] == "crash" and 20 <= fc["crash_proof"] <= fc["crash_proof_latest"] <= 26
    assert fc["need"]["drift_grows"] == 3


def test_not_enough_proofs_for_a_live_rate():
    fc = forecast({0: 10, 1: 20}, {0: 5, 1: 6})
    assert fc["verdict"] == "not_enough_proofs" and fc["more_proofs_needed"] == 1
    assert forecast({0: 10, 1: 5 * 2 ** 32})["model"] == "measured"


def test_a_shrinking_or_noisy_live_heap_levels_off():
    b = series(100 * MiB, [0, 0, 0])
    assert forecast(b, {1: 50, 2: 40, 3: 30, 4: 20})["verdict"] == "levels_off"
    # +1 byte per proof within a spread of several bytes: no growth beyond the spread
    assert forecast(b, {1: 50, 2: 61, 3: 42, 4: 53})["verdict"] == "levels_off"


def test_recurring_steps_with_a_flat_live_heap_are_fragmentation_and_still_reach_the_ceiling():
    b = series(300 * MiB, [MiB] * 8)              # +1 MiB every proof
    live = {k: 100 * MiB for k in range(10)}       # nothing stays alive
    fc = forecast(b, live)
    assert fc["verdict"] == "crash" and fc["fragmentation_only"]
    assert fc["crash_proof"] == 9 + (CEILING - b[9]) // MiB + 1
    assert "free space that cannot be reused" in headline(fc)
