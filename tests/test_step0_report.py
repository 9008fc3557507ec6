import json

import pytest

from analysis.step0 import report as r
from analysis.step0.run import BenchmarkFailed, run_benchmark

from .bench_data import MiB, write_run


def test_growth_figures_are_exact(tmp_path):
    run = r.load_run(write_run(tmp_path / "a.jsonl", [MiB, 90 * MiB, 276 * MiB, 278 * MiB, 282 * MiB]))
    g = r.growth(run)
    assert g.first_proof == 186 * MiB
    assert g.per_proof_mean == 3 * MiB and g.per_proof_min == 2 * MiB and g.per_proof_max == 4 * MiB
    assert g.slope == pytest.approx(3 * MiB) and g.total == 192 * MiB


def test_report_from_two_runs(tmp_path):
    runs = {"trivial": [r.load_run(write_run(tmp_path / f"t{k}.jsonl", [MiB, 90 * MiB, 276 * MiB, 278 * MiB]))
                        for k in (1, 2)]}
    md, png, summ = tmp_path / "STEP_0.md", tmp_path / "plot.png", tmp_path / "s.json"
    r.write_report(runs, md, png, summ, overrides={"bench.iterations": 2})
    text = md.read_text()
    assert "The first proof grows WASM memory by 186.0 MiB (90.0 → 276.0 MiB)." in text
    assert "identical in every run, byte for byte" in text
    assert "high-water mark" in text and "![memory per iteration](plot.png)" in text
    assert '"bench.iterations": 2' in text
    assert png.stat().st_size > 1000
    s = json.loads(summ.read_text())
    assert s["trivial"][0]["growth"]["first_proof"] == 186 * MiB and s["trivial"][1]["verified"]


def test_crashed_run_keeps_its_iterations(tmp_path):
    path = write_run(tmp_path / "c.jsonl", [MiB, 90 * MiB, 276 * MiB, 278 * MiB, 300 * MiB], crash_after=2)
    run = r.load_run(path)
    assert [s["iteration"] for s in run.samples] == [-1, 0, 1, 2] and not run.ended
    assert any("truncated last line" in p for p in run.problems)
    md = tmp_path / "STEP_0.md"
    r.write_report({"trivial": [run]}, md, tmp_path / "p.png", tmp_path / "s.json")
    assert "did not finish" in md.read_text()


def test_runner_names_the_iteration_reached(tmp_path):
    out = tmp_path / "run.jsonl"
    write_run(tmp_path / "src.jsonl", [MiB, 90 * MiB, 276 * MiB, 278 * MiB], crash_after=2)
    script = f"import shutil,sys; shutil.copy({str(tmp_path / 'src.jsonl')!r}, {str(out)!r}); sys.exit(134)"
    with pytest.raises(BenchmarkFailed, match=r"exit 134\) after proof 2; lines written up to there are kept"):
        run_benchmark(["python3", "-c", script], out, timeout_s=30)


def test_not_a_benchmark_file(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"event":"sample"}\n')
    with pytest.raises(ValueError, match="no 'start' event"):
        r.load_run(p)
