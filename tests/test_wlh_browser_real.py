"""`wlh browser` for real (issue 24): a module written here (a ZkProgram proved twice), run in Debian's headless
Chromium against the pinned release's web build, traced, with the what-if that keeps the page answering, then
`wlh report` on the result (minutes). Skipped, with the reason, only where Chromium is not installed."""
import json
from pathlib import Path

import pytest

from analysis.common.paths import BENCH
from tests.wlh_helpers import one_error_line, wlh

CHROMIUM = Path("/usr/bin/chromium")
PROGRAM = """
import { Field, ZkProgram, setNumberOfWorkers } from 'o1js';
setNumberOfWorkers(1);
const program = ZkProgram({ name: 'wlh-web-user', publicInput: Field, methods: {
  run: { privateInputs: [Field], async method(x, y) { x.mul(y).add(x).assertEquals(x.mul(y).add(x)); } } } });
await program.compile();
let proof;
for (let i = 1; i <= 2; i++) {
  ({ proof } = await program.run(Field(i), Field(i + 1)));
  await globalThis.wlhIdle?.();   // let wlh's snapshot settle GC (optional: the program runs without wlh)
}
console.log('[wlh-loop user] verified: ' + (await program.verify(proof)));
"""


def test_a_missing_chromium_is_one_line(capsys, tmp_path):
    code, _, err = wlh(capsys, "browser", "--chromium", tmp_path / "no-chromium", "--scenario", "trivial",
                       "--out", tmp_path / "run")
    assert code == 2 and "no Chromium at" in one_error_line(err)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (./run installs Debian's chromium "
                    "package where it runs as root)")
def test_a_users_module_traced_in_chromium_then_reported(capsys, tmp_path, monkeypatch):
    assert (BENCH / "browser" / "node_modules" / "puppeteer-core").is_dir(), "run ./run setup first"
    monkeypatch.setenv("WLH_CACHE", str(tmp_path / "cache"))
    prog = tmp_path / "prove.mjs"
    prog.write_text(PROGRAM)
    out = tmp_path / "web"
    code, _, err = wlh(capsys, "browser", "--whatif", "consume-forwarded", "--watch", "10", "--out", out, "--", prog)
    assert code == 0, err
    record = json.loads((out / "run.json").read_text())
    assert record["tool"] == "wlh browser" and record["browser"]["outcome"] == "done"
    assert record["proofs"] == 2 and record["snapshots"] == 3, record
    assert record["browser"]["idle"]["answered"] is True
    browser = json.loads((out / "browser.json").read_text())
    assert browser["forwarded_by_value"]["caml_pasta_fp_plonk_proof_create"]["args"] == [1]
    code, _, err = wlh(capsys, "report", out)
    assert code == 0, err
    s = json.loads((out / "report.json").read_text())["summary"]
    assert s["checks_ok"], s["failed_checks"]
    assert s["proofs"] == 2
    assert any("PolyComm" in r["type"] for r in s["never_dropped_in_loop"] if r["bytes"] > 0)
