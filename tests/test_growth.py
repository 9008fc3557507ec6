"""byteLength growth attribution and fragmentation (analysis.analyze.growth) on small logs the test writes."""
import json

from analysis.analyze.growth import UNKNOWN, attribute, fragmentation, reuse_verdict
from analysis.parse import parse_bytes

MiB = 1 << 20


def snap(it, mem, free_below=0, chunks=1, largest_below=0, classes=()):
    walk = {"heap_base": 0, "heap_bytes": mem, "inuse_bytes": 0, "inuse_chunks": 0, "free_bytes": free_below + 10,
            "free_chunks": chunks, "largest_free": max(largest_below, 10), "fencepost_bytes": 0, "unparsed_bytes": 0,
            "top_free_bytes": 10, "free_below_top_bytes": free_below, "largest_free_below_top": largest_below,
            "free_classes": [{"log2": k, "chunks": 1, "bytes": b} for k, b in classes]}
    return {"ev": "SNAPSHOT", "iteration": it, "phase": "after_proof" if it else "after_compile", "memory_bytes": mem,
            "live_heap_bytes": 0, "live_blocks": 0, "heap_walk": walk}


def grow(nbytes, before, *, req=None, largest=None, export="caml_proof_create", rust_fn="fft", outcome="grown"):
    g = {"ev": "GROW", "tid": 1, "site": 0, "bytes": nbytes, "before": before,
         "after": before + nbytes if outcome == "grown" else before, "outcome": outcome}
    if export:
        g["export"] = export
    if rust_fn:
        g["rust_fn"] = rust_fn
    if req is not None:
        g |= {"req_fn": "__rust_alloc", "req_size": req, "req_align": 8}
    if largest is not None:
        g["largest_free"] = largest
    return g


def log(*events) -> bytes:
    return b"".join(b"@" + json.dumps(e).encode() + b"\n" for e in events)


def test_grows_add_up_to_bytelength_and_are_attributed_per_iteration():
    r = parse_bytes(log(
        snap(0, 10 * MiB),
        grow(4 * MiB, 10 * MiB, req=4 * MiB, largest=MiB), grow(2 * MiB, 14 * MiB, export=None, rust_fn=None),
        snap(1, 16 * MiB, free_below=3 * MiB, chunks=5, largest_below=MiB),
        grow(MiB, 16 * MiB, req=MiB, largest=2 * MiB, rust_fn="shift"),
        snap(2, 17 * MiB, free_below=2 * MiB, chunks=4, largest_below=MiB),
        snap(3, 17 * MiB, free_below=2 * MiB, chunks=4, largest_below=MiB)))
    assert r.ok, r.failed_checks
    g = attribute(r.snapshots, r.grows)
    assert [x["bytelength_growth"] for x in g["rows"]] == [6 * MiB, MiB, 0]
    assert [x["grow_bytes"] for x in g["rows"]] == [6 * MiB, MiB, 0]
    assert g["unexplained_bytes"] == 0
    assert g["coverage"] == 5 / 7                  # the 2 MiB grow had no site
    assert g["steady_coverage"] == 1.0
    assert [x["requests_larger_than_free"] for x in g["rows"]] == [1, 0, 0]
    sites = {e["site"]: e for e in g["sites"]}
    assert sites["caml_proof_create > fft"]["one_time"] == 4 * MiB
    assert sites[UNKNOWN]["one_time"] == 2 * MiB
    assert sites["caml_proof_create > shift"]["steady"] == MiB


def test_a_grow_the_snapshots_do_not_show_is_unexplained_and_failed_grows_add_nothing():
    r = parse_bytes(log(snap(0, 10 * MiB), grow(MiB, 10 * MiB), grow(MiB, 11 * MiB, outcome="failed"),
                        snap(1, 12 * MiB)))
    g = attribute(r.snapshots, r.grows)
    assert g["rows"][0]["failed_grows"] == 1
    assert g["unexplained_bytes"] == MiB


def test_no_grow_lines_means_no_attribution():
    r = parse_bytes(log(snap(0, 10 * MiB), snap(1, 12 * MiB)))
    assert attribute(r.snapshots, r.grows) is None


def test_fragmentation_rows_and_the_reuse_sentence_come_from_the_walks():
    r = parse_bytes(log(snap(0, 10 * MiB), snap(1, 16 * MiB, free_below=3 * MiB, chunks=5, largest_below=MiB,
                                                 classes=[(20, 3 * MiB)]),
                        grow(MiB, 16 * MiB, req=2 * MiB, largest=MiB),
                        snap(2, 17 * MiB, free_below=2 * MiB, chunks=4, largest_below=MiB)))
    frag = fragmentation(r.snapshots)
    assert [f["iteration"] for f in frag] == [0, 1, 2]
    assert frag[1]["free_classes"] == [{"log2": 20, "chunks": 1, "bytes": 3 * MiB}]
    text = reuse_verdict(frag, attribute(r.snapshots, r.grows))
    assert "3.00 MiB in 5 free chunks after proof 1" in text
    assert "1 memory.grow call(s) happened; in 1 of them the request was larger than every free chunk" in text


def test_rust_names_are_shortened_for_tables():
    from analysis.analyze.growth import short_rust_name
    long = ("<ark_poly[8edb1ce71e3d18d3]::evaluations::univariate::Evaluations<ark_ff[a13e8b7b950a1af0]::fields::Fp<"
            "X, 4usize>, D<Y>> as o1_utils[d49a027373058762]::evaluations::ExtendedEvaluations<Z>>::shift")
    assert short_rust_name(long) == "<univariate::Evaluations as evaluations::ExtendedEvaluations>::shift"
    assert short_rust_name(None) is None
