"""Runs of several processes (issue 23), on run directories the test writes itself: `wlh report` per instance
and in total, `wlh compare --instance N / --total`, `wlh check` per instance, and a log two processes wrote
refused with the line of the second process."""
import json

from tests.test_wlh_report import write_run
from tests.wlh_helpers import one_error_line, wlh


def two_instances(root, label, leaks=(1000, 3000), proofs=(3, 3)):
    """A run directory whose program's two child processes loaded o1js (the parent did not)."""
    root.mkdir(parents=True)
    rows = []
    for n, (leak, k) in enumerate(zip(leaks, proofs), 1):
        name = f"{n}-{100 + n}"
        d = write_run(root / "instances" / name, label, leak, proofs=k)
        (d / "run.json").unlink()  # wlh run writes one run record, at the top
        rows.append({"instance": n, "name": name, "pid": 100 + n, "ppid": 100, "root": False,
                     "dir": f"instances/{name}", "argv": ["prog.cjs", "child"], "proofs": k, "snapshots": k + 1})
    write_run(root / "tmp", label, 0)
    record = json.loads((root / "tmp" / "run.json").read_text())
    (root / "run.json").write_text(json.dumps({**record, "proofs": sum(proofs), "instances": rows}))
    (root / "instances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for f in (root / "tmp").iterdir():
        f.unlink()
    (root / "tmp").rmdir()
    return root


def test_report_per_instance_and_total(capsys, tmp_path):
    run = two_instances(tmp_path / "svc", "svc")
    code, out, err = wlh(capsys, "report", run)
    assert code == 0, err
    for n, leak in ((1, 1000), (2, 3000)):
        s = json.loads((run / "instances" / f"{n}-{100 + n}" / "report.json").read_text())["summary"]
        assert s["proofs"] == 3 and s["instance"]["pid"] == 100 + n and s["checks_ok"]
        assert s["never_dropped_in_loop"][0]["bytes_per_proof"] == leak
    t = json.loads((run / "report.json").read_text())["total"]
    assert t["instances"] == 2 and t["proofs"] == 6
    leaky = next(r for r in t["never_dropped_in_loop"] if r["type"] == "Leaky")
    assert leaky["count"] == 6 and leaky["bytes"] == 3 * 1000 + 3 * 3000 and leaky["bytes_per_proof"] == 2000
    md = (run / "report.md").read_text()
    assert "(2 processes)" in md and "](instances/2-102/report.md)" in md and "| total" in md


def test_compare_and_check_pick_an_instance_or_the_total(capsys, tmp_path):
    base = two_instances(tmp_path / "base", "base")
    fix = two_instances(tmp_path / "fix", "fix", leaks=(0, 0))
    code, _, err = wlh(capsys, "compare", base, fix)
    assert code == 2 and "2 processes loaded o1js" in one_error_line(err) and "--instance N" in err
    code, out, err = wlh(capsys, "compare", "--instance", "2", base, fix)
    assert code == 0 and "Verdict" in out and "#2 (pid 102)" in out, err
    code, _, err = wlh(capsys, "compare", "--instance", "3", base, fix)
    assert code == 2 and "instances 1 to 2" in one_error_line(err)
    code, out, err = wlh(capsys, "compare", "--total", base, fix)
    assert code == 0, err
    assert "leaves 0.0000 MiB per proof never dropped against 0.0019 MiB (-100.0 %" in out
    code, out, _ = wlh(capsys, "check", base, "--type-mib-per-proof", "Leaky=0.002")
    assert code == 1 and out.count("wlh check: ok") == 1 and out.count("wlh check: FAIL") == 1  # 1000 B ok, 3000 B not


def test_a_log_two_processes_wrote_is_refused(capsys, tmp_path):
    run = write_run(tmp_path / "mixed", "mixed", 10)
    log = run / "trace.log"
    lines = log.read_text().splitlines(keepends=True)
    lines[0] = '@{"ev": "META", "route": "binary", "pid": 11}\n'
    lines.insert(3, '@{"ev":"META","route":"binary","pid":12}\n')
    log.write_text("".join(lines))
    code, _, err = wlh(capsys, "report", run)
    assert code == 2
    assert one_error_line(err).endswith(f"{log}:4: a second process (pid 12) writes to this log, which pid 11 started "
                                        "at line 1: one log per process (wlh run gives each process that loads o1js "
                                        "its own, see instances/)")
