"""Step 3/4 arithmetic on a small trace log the test writes itself."""
import json

import pytest

from analysis.parse import parse_bytes
from analysis.analyze.figures import decompose, figures, site_kind_shares
from analysis.analyze.report import write_report
from analysis.summary.report import write_summary


def snap(it, live, tracked, memory, inuse, chunks, free, blocks):
    return {"ev": "SNAPSHOT", "iteration": it, "phase": "after_proof" if it else "after_compile",
            "memory_bytes": memory, "live_heap_bytes": live, "live_blocks": blocks, "tracked_live_objects": 1,
            "tracked_live_bytes": tracked, "unknown_frees": 0, "table_full": 0, "unmatched_handles": 0,
            "heap_walk": {"heap_base": 100_000, "heap_bytes": memory - 100_000, "inuse_bytes": inuse,
                          "inuse_chunks": chunks, "free_bytes": free, "free_chunks": 1, "largest_free": free,
                          "fencepost_bytes": 0, "unparsed_bytes": memory - 100_000 - inuse - free}}


EVENTS = [
    {"ev": "META", "route": "binary"},
    {"ev": "SITE", "site": 0, "rust": "make_thing", "js": "lib/x.js:1", "alloc_fn": None},
    {"ev": "ALLOCATE", "size": 5000, "type": "Keeper", "id": 0, "site": 0},           # before the loop
    snap(0, 10_000, 5_000, 1_000_000, 10_080, 10, 889_920, 10),
    {"ev": "ALLOCATE", "size": 100, "type": "Leaky", "id": 1, "site": 0},
    {"ev": "ALLOCATE", "size": 50, "type": "Tidy", "id": 2, "site": 0},
    {"ev": "DROP", "size": 50, "type": "Tidy", "id": 2},
    snap(1, 10_100, 5_100, 1_065_536, 10_188, 11, 955_348, 11),
    {"ev": "ALLOCATE", "size": 100, "type": "Leaky", "id": 3, "site": 0},
    snap(2, 10_250, 5_200, 1_065_536, 10_346, 12, 955_190, 12),
    {"ev": "ALLOCATE", "size": 7, "type": "Leaky", "id": 4, "site": 0},               # after the loop (verify)
]


@pytest.fixture
def result():
    return parse_bytes("".join("@" + json.dumps(e) + "\n" for e in EVENTS).encode())


def test_loop_bounds_per_proof_and_ratios(result):
    f = figures("trivial", result, {"0": 1_000_000, "1": 1_065_536, "2": 1_065_536})
    assert result.ok
    assert f.never_dropped_total == 5000 + 100 + 100 + 7
    assert f.never_dropped_in_loop == 200            # neither the keeper from compile nor the verify object
    assert [p["never_dropped_created"] for p in f.per_proof] == [100, 100]
    assert [p["live_heap_growth"] for p in f.per_proof] == [100, 150]
    assert f.per_proof[1]["ratio_vs_live_heap"] == pytest.approx(100 / 150)
    assert f.vs_live_heap_run.value == pytest.approx(200 / 250)
    assert f.vs_bytelength_run.value == pytest.approx(200 / 65_536)
    assert f.live_slope == pytest.approx(150)        # proofs 1..2
    assert f.first_proof_live_growth == 100
    assert f.leaks_by_type_in_loop == [{"type": "Leaky", "count": 2, "bytes": 200, "bytes_per_proof": 100.0,
                                        "sites": [{"site": 0, "count": 2, "bytes": 200, "js": "lib/x.js:1", "rust": "make_thing"}]}]
    assert f.tracked_share_of_growth == pytest.approx(200 / 250)


def test_decomposition_parts_are_the_measured_ones(result):
    d = decompose(result.snapshots[-1])
    assert d["static"] == 100_000 and d["live_tracked"] == 5_200 and d["live_untracked"] == 5_050
    assert d["allocator_overhead"] == 10_346 - 10_250 and d["free"] == 955_190
    assert d["sum"] == d["memory_bytes"] == 1_065_536 and d["error"] == 0
    assert d["chunks_not_hooked"] == 0
    assert decompose({"memory_bytes": 1, "live_heap_bytes": 1, "live_blocks": 1}) is None


def test_reports_render_from_the_figures(result, tmp_path):
    f = figures("trivial", result, None)
    write_report({"trivial": result}, {"trivial": f}, tmp_path / "STEP_3.md", "note", plot=tmp_path / "d.png")
    text = (tmp_path / "STEP_3.md").read_text()
    assert "Every check passed" in text and "Leaky" in text.split("### Types by bytes never dropped")[1] and "Largest |sum − byteLength| over the iterations: 0 bytes" in text
    assert (tmp_path / "d.png").stat().st_size > 1000
    from dataclasses import asdict
    figs = {"trivial": json.loads(json.dumps(asdict(f), default=str))}
    write_summary({"trivial": result.to_dict()}, figs, {}, None, tmp_path / "SUMMARY.md")
    summary = (tmp_path / "SUMMARY.md").read_text()
    assert "| Leaky" in summary and "`Tidy`" in summary  # leaker ranked, perfectly dropped type listed
    assert "Keeper" not in summary.split("## Types dropped perfectly")[0].split("## Biggest leakers")[1]


def test_leak_rates_per_type(result):
    f = figures("trivial", result, None)
    rates = {r["type"]: r for r in f.type_rates}
    assert rates["Leaky"]["values"] == [0, 100, 200]
    assert rates["Leaky"]["first_proof"] == 100 and rates["Leaky"]["per_proof"] == pytest.approx(100)
    assert rates["Keeper"]["values"] == [5000, 5000, 5000] and rates["Keeper"]["per_proof"] == pytest.approx(0)
    assert "Tidy" not in rates  # never live at a snapshot


def test_rate_spread_needs_three_proofs():
    from analysis.analyze.figures import rate
    r = rate([0, 1, 2, 3, 4], [0, 10, 21, 29, 40])
    assert r["first_proof"] == 10 and r["per_proof"] == pytest.approx(9.8) and r["spread"] > 0


def test_thread_startup_blocks_are_their_own_part():
    events = [
        {"ev": "SITE", "site": 0, "rust": "__wbindgen_start", "js": None, "alloc_fn": None},           # main TLS
        {"ev": "SITE", "site": 1, "rust": "initThreadPool", "js": None, "alloc_fn": "m.wasm.__wbindgen_malloc",
         "stack": ["m.wasm.__wbindgen_malloc", "m.wasm"]},                                              # worker stack
        {"ev": "SITE", "site": 2, "rust": "initThreadPool", "js": None, "alloc_fn": "m.wasm.__wbindgen_malloc",
         "stack": ["m.wasm.__wbindgen_malloc", "m.wasm.some_rust_fn"]},                                 # not start-up
        snap(0, 2_000_000, 0, 3_000_000, 2_000_100, 4, 899_900, 4),
        {"ev": "SITE_LIVE", "iteration": 0, "site": 0, "bytes": 232, "blocks": 1},
        {"ev": "SITE_LIVE", "iteration": 0, "site": 1, "bytes": 1_048_576, "blocks": 1},
        {"ev": "SITE_LIVE", "iteration": 0, "site": 2, "bytes": 951_192, "blocks": 2},
        snap(1, 2_000_000, 0, 3_000_000, 2_000_100, 4, 899_900, 4),
        {"ev": "SITE_LIVE", "iteration": 1, "site": 1, "bytes": 1_048_576, "blocks": 1},
        {"ev": "SITE_LIVE", "iteration": 1, "site": 2, "bytes": 951_424, "blocks": 3},
    ]
    r = parse_bytes("".join("@" + json.dumps(e) + "\n" for e in events).encode())
    rows = figures("trivial", r, None).rows
    assert [row.decomposition["thread_stacks_tls"] for row in rows] == [1_048_808, 1_048_576]
    assert [row.decomposition["live_untracked"] for row in rows] == [2_000_000 - 1_048_808, 2_000_000 - 1_048_576]
    assert all(row.decomposition["error"] == 0 for row in rows)


def test_growth_by_site_kind_has_no_overlap_and_adds_up():
    events = [
        {"ev": "SITE", "site": 1, "rust": "make", "js": None, "alloc_fn": None},                    # blocks of make()
        {"ev": "SITE", "site": 2, "rust": "make", "js": "lib/a.js:3", "alloc_fn": None},            # its handles
        {"ev": "SITE", "site": 3, "rust": "scratch", "js": None, "alloc_fn": None},                 # no objects
        {"ev": "SITE", "site": 4, "rust": "init", "js": None, "alloc_fn": "m.wasm.__wbindgen_malloc",
         "stack": ["m.wasm.dlmalloc::malloc", "m.wasm.__wbindgen_malloc", "m.wasm.__wasm_init_memory"]},  # plonk_wasm
        snap(0, 0, 0, 1_000_000, 0, 0, 900_000, 0),
        {"ev": "ALLOCATE", "size": 100, "type": "Obj", "id": 1, "site": 2},
        snap(1, 1_000, 100, 1_000_000, 1_000, 3, 899_000, 3),
        {"ev": "SITE_LIVE", "iteration": 1, "site": 1, "bytes": 100, "blocks": 1},
        {"ev": "SITE_LIVE", "iteration": 1, "site": 3, "bytes": 400, "blocks": 1},
        {"ev": "SITE_LIVE", "iteration": 1, "site": 4, "bytes": 500, "blocks": 1},
        snap(2, 2_200, 100, 1_000_000, 2_200, 5, 897_800, 5),
        {"ev": "SITE_LIVE", "iteration": 2, "site": 1, "bytes": 300, "blocks": 2},
        {"ev": "SITE_LIVE", "iteration": 2, "site": 3, "bytes": 900, "blocks": 2},
        {"ev": "SITE_LIVE", "iteration": 2, "site": 4, "bytes": 1_000, "blocks": 2},
    ]
    r = parse_bytes("".join("@" + json.dumps(e) + "\n" for e in events).encode())
    kinds = figures("trivial", r, None).growth_by_site_kind
    assert {k: v["values"] for k, v in kinds.items()} == {
        "objects": [0, 100, 300], "thread_startup": [0, 500, 1_000], "other": [0, 400, 900]}
    assert sum(v["growth"] for v in kinds.values()) == 2_200   # = live-heap growth after compile
    assert {k: v["growth_after_first"] for k, v in kinds.items()} == {"objects": 200, "thread_startup": 500,
                                                                      "other": 500}
    assert site_kind_shares(kinds, "growth_after_first") == pytest.approx(
        {"objects": 200 / 1_200, "thread_startup": 500 / 1_200, "other": 500 / 1_200})
