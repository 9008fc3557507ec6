"""The long run's summary (analysis/longrun/summary.py) on a run the test writes: the rate per window, disk per
proof from the SNAPSHOT offsets, and early forecasts checked against the end of the run; the offsets read from
a log."""
import json

import pytest

from analysis.longrun import run as longrun_run
from analysis.longrun import summary

MiB = 2 ** 20


def write(d, n=30, rate=1000, bump_at=None):
    d.mkdir(parents=True)
    lines = []
    for k in range(n + 1):
        live = 80 * MiB + (k * rate if k else 0) + (5000 if bump_at and k >= bump_at else 0)
        mem = 90 * MiB + (200 * MiB if k else 0)
        lines.append({"event": "sample", "iteration": k, "wasm_memory_bytes": mem, "live_heap_bytes": live})
    (d / "samples.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (d / "run.json").write_text(json.dumps({"label": "long"}))
    (d / "log_offsets.json").write_text(json.dumps({"snapshot_offsets": {str(k): 10 * MiB + k * MiB for k in range(n + 1)},
                                                    "log_bytes": 10 * MiB + (n + 1) * MiB}))
    return d


def test_a_constant_rate_is_found_in_every_window_and_early_forecasts_hold(tmp_path):
    s = summary.summarize(write(tmp_path / "r"))
    assert s["proofs"] == 30 and s["live"]["per_proof"] == pytest.approx(1000)
    assert [w["from"] for w in s["windows"]] == [1, 7, 13, 19, 25]
    assert s["window_rates"]["min"] == pytest.approx(1000) and s["window_rates"]["max"] == pytest.approx(1000)
    assert s["disk"]["per_proof"] == pytest.approx(MiB) and s["disk"]["before_first_proof"] == 10 * MiB
    assert [c["from_proofs"] for c in s["checks"]] == [4, 10, 25]
    assert all(c["error_bytes"] == pytest.approx(0, abs=1e-6) for c in s["checks"])
    md = "\n".join(summary.markdown(s))
    assert "+0.0010 ± 0.00000 MiB per proof over proofs 1..30" in md and "then 1.00 MiB per proof" in md


def test_a_change_of_rate_shows_in_the_windows_and_in_the_early_forecast_error(tmp_path):
    s = summary.summarize(write(tmp_path / "r", bump_at=20))
    assert s["window_rates"]["max"] > 1000 >= s["window_rates"]["min"] - 1e-9
    early = s["checks"][0]
    assert early["error_bytes"] == pytest.approx(5000)  # the step at proof 20 was not in the first 4 proofs


def test_log_offsets(tmp_path):
    log = tmp_path / "trace.log"
    log.write_bytes(b'@{"ev":"META"}\n@{"ev":"SNAPSHOT","iteration":0}\n@{"ev":"ALLOCATE"}\n@{"ev":"SNAPSHOT","iteration":1}\n')
    o = longrun_run.log_offsets(log)
    assert o == {"snapshot_offsets": {"0": 15, "1": 67}, "log_bytes": len(log.read_bytes())}


def test_an_aggregate_mode_run_says_so_and_counts_its_records(tmp_path):
    d = write(tmp_path / "r", n=250)
    (d / "run.json").write_text(json.dumps({"label": "long", "mode": "aggregate"}))
    s = summary.summarize(d)
    assert s["mode"] == "aggregate" and [c["from_proofs"] for c in s["checks"]] == [4, 10, 25, 50, 100, 200]
    assert "Disk (aggregate mode: the trace log without event lines and aggregate.jsonl)" in "\n".join(summary.markdown(s))
    log = tmp_path / "trace.log"
    t0, t1 = b'@{"ev":"SNAPSHOT","iteration":0}\n', b'@{"ev":"SNAPSHOT","iteration":1}\n'
    a = [b'{"kind":"start"}\n', b'{"kind":"snapshot","iteration":0}\n', b'{"kind":"snapshot","iteration":1}\n',
         b'{"kind":"end"}\n']
    log.write_bytes(t0 + t1)
    (tmp_path / "aggregate.jsonl").write_bytes(b"".join(a))
    o = longrun_run.log_offsets(log)
    # bytes before each snapshot: in the log, plus in the records before its record
    assert o["snapshot_offsets"] == {"0": len(a[0]), "1": len(t0) + len(a[0]) + len(a[1])}
    assert o["log_bytes"] == len(t0 + t1) + len(b"".join(a))
