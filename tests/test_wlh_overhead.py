"""The whole-program benchmark's arithmetic and errors (analysis/wlh/overhead.py), without o1js: the ratio is
traced over plain wall time of alternating runs, compile and proofs apart, and a failing run is one error."""
import sys

import pytest

from analysis.wlh import overhead


def test_ratios_per_part_and_per_pair():
    runs = [{"mode": "plain", "wall_s": 100, "compile_s": 40, "proof_s": [10, 10, 10], "pair": 1},
            {"mode": "traced", "wall_s": 130, "compile_s": 60, "proof_s": [11, 11, 11], "trace_log_bytes": 900, "pair": 1},
            {"mode": "plain", "wall_s": 110, "compile_s": 44, "proof_s": [12, 12, 12], "pair": 2},
            {"mode": "traced", "wall_s": 121, "compile_s": 60, "proof_s": [12, 12, 12], "trace_log_bytes": 1100, "pair": 2}]
    r = overhead.summarize(runs, pairs=2, proofs=3)
    assert r["ratio"] == pytest.approx(125.5 / 105)
    assert r["ratios"]["compile"] == pytest.approx(60 / 42) and r["ratios"]["proofs"] == pytest.approx(34.5 / 33)
    assert r["per_pair_ratio"] == pytest.approx([1.3, 1.1]) and r["trace_log_bytes"] == 1000
    assert "aggregate" not in r


def test_aggregate_mode_gets_its_own_ratio():
    runs = [{"mode": "plain", "wall_s": 100, "compile_s": 40, "proof_s": [10], "pair": 1},
            {"mode": "traced", "wall_s": 130, "compile_s": 60, "proof_s": [11], "trace_log_bytes": 900, "pair": 1},
            {"mode": "aggregate", "wall_s": 120, "compile_s": 55, "proof_s": [11], "trace_log_bytes": 50, "pair": 1}]
    r = overhead.summarize(runs, pairs=1, proofs=1)
    assert r["ratio"] == pytest.approx(1.3) and r["trace_log_bytes"] == 900
    assert r["aggregate"]["ratio"] == pytest.approx(1.2) and r["aggregate"]["bytes"] == 50
    assert r["aggregate"]["ratios"]["compile"] == pytest.approx(55 / 40)


def test_a_failing_or_silent_program_is_one_error(tmp_path, capsys):
    with pytest.raises(overhead.BenchError, match="exited with code 3"):
        overhead.run_once([sys.executable, "-c", "import sys; sys.exit(3)"], {}, tmp_path, 30)
    with pytest.raises(overhead.BenchError, match="printed no timings"):
        overhead.run_once([sys.executable, "-c", "print('hello')"], {}, tmp_path, 30)
    ok = overhead.run_once([sys.executable, "-c", 'print(\'{"wlh_overhead": {"compile_s": 1, "proof_s": [2]}}\')'],
                           {}, tmp_path, 30)
    assert ok["compile_s"] == 1 and ok["proof_s"] == [2] and ok["wall_s"] > 0


def test_traced_runs_use_the_copy_made_before_them_and_a_cold_key_cache(tmp_path, monkeypatch):
    """The instrumented copy is made once before the timed runs; a traced run's cold o1js key cache (an empty
    XDG_CACHE_HOME) must not move wlh's cache with it, or each run would make the copy again."""
    record = ("import os, json; print(json.dumps({'wlh_overhead': {'compile_s': 1, 'proof_s': [1]}})); "
              "open(os.environ['ENV_OUT'], 'a').write(os.environ.get('WLH_CACHE', '-') + ' ' + os.environ['XDG_CACHE_HOME'] + '\\n')")
    monkeypatch.setattr(overhead, "commands", lambda workdir, proofs, wlh: {m: [sys.executable, "-c", record]
                                                                            for m in overhead.MODES})
    monkeypatch.delenv("WLH_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.setenv("ENV_OUT", str(tmp_path / "env.txt"))
    (tmp_path / "nm").mkdir()
    made = []
    work = tmp_path / "work"
    work.mkdir()
    r = overhead.measure(1, 1, work, [], node_modules=tmp_path / "nm", progress=lambda m: None,
                         prepare=lambda script: made.append(script) or 7.25)
    assert made == [work / "prove.mjs"] and r["instrument_seconds"] == 7.2
    seen = [line.split() for line in (tmp_path / "env.txt").read_text().splitlines()]
    assert [w for w, _ in seen] == ["-", str(tmp_path / "home-cache" / "wlh"), str(tmp_path / "home-cache" / "wlh")]
    assert len({x for _, x in seen}) == 3 and all("wlh-keys-" in x for _, x in seen)  # a fresh key cache per run
