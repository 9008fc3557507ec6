"""The candidate fix (bench/candidates/free-wrapped-polycomm/make.py) on small fake o1js packages written here:
the anchored pattern found once per file -> patched and packed, and the inserted code frees what GC collects
(node, a fake wasm-bindgen class); not found / found twice / not o1js -> one clear line. Then the SUMMARY.md
section of the candidate check from small compare JSONs, and the candidate steps' wiring."""
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from analysis.candidate import paths, report, tasks
from analysis.common import config as config_mod
from analysis.common.paths import ROOT
from analysis.pipeline.graph import Graph

MAKE = ROOT / "bench" / "candidates" / "free-wrapped-polycomm" / "make.py"
needs_npm = pytest.mark.skipif(shutil.which("npm") is None or shutil.which("node") is None, reason="needs node and npm")

# wrap() as o1js 2.15.0 writes it: 4-space indent in the ES module, 2 in the CommonJS bundle.
WRAP_ESM = """function wrap(ptr, Class) {
    const obj = Object.create(Class.prototype);
    obj.__wbg_ptr = ptr;
    obj.__o1js_wrapped_ptr = true;
    return obj;
}
"""
WRAP_CJS = WRAP_ESM.replace("    ", "  ")
ESM = "export { wrap, intoRaw };\nconst before = 1;\n" + WRAP_ESM + """function intoRaw(obj) {
    return obj.__destroy_into_raw();
}
"""


def fake_o1js(root: Path, esm: str = ESM, cjs: str | None = "var x = 1;\n" + WRAP_CJS, name: str = "o1js") -> Path:
    pkg = root / "o1js"
    core = pkg / "dist" / "node" / "bindings" / "crypto" / "bindings" / "conversion-core.js"
    core.parent.mkdir(parents=True)
    (pkg / "package.json").write_text(json.dumps({"name": name, "version": "9.9.9", "type": "module",
                                                  "files": ["dist"], "scripts": {"prepare": "exit 1"}}))
    core.write_text(esm)
    if cjs is not None:
        (pkg / "dist" / "node" / "index.cjs").write_text(cjs)
    return pkg


def make(pkg: Path, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(MAKE), "--o1js-dir", str(pkg), "--out", str(tmp / "out" / "c.tgz"),
                           "--record", str(tmp / "out" / "pack.json")], capture_output=True, text=True)


def one_line_error(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("make.py: error: "), p.stderr
    return lines[0]


@needs_npm
def test_patched_once_per_file_and_packed(tmp_path):
    pkg = fake_o1js(tmp_path)
    p = make(pkg, tmp_path)
    assert p.returncode == 0, p.stderr
    rec = json.loads((tmp_path / "out" / "pack.json").read_text())
    assert [(f["file"], f["present"], f["wrap_line"]) for f in rec["files"]] == [
        ("dist/node/bindings/crypto/bindings/conversion-core.js", True, 3), ("dist/node/index.cjs", True, 2)]
    assert rec["o1js"]["version"] == "9.9.9" and rec["tarball"]["file"] == "c.tgz"
    import hashlib
    assert rec["tarball"]["sha256"] == hashlib.sha256((tmp_path / "out" / "c.tgz").read_bytes()).hexdigest()
    assert str(tmp_path) not in (tmp_path / "out" / "pack.json").read_text()  # no machine paths in the record
    with tarfile.open(tmp_path / "out" / "c.tgz") as tf:
        tf.extractall(tmp_path / "unpacked", filter="data")
    core = (tmp_path / "unpacked" / "package" / "dist" / "node" / "bindings" / "crypto" / "bindings" /
            "conversion-core.js").read_text()
    assert core.index("function __wlhFreeOnCollect(") < core.index("function wrap(ptr, Class)")
    assert "    obj.__o1js_wrapped_ptr = true;\n    __wlhFreeOnCollect(obj, Class);\n    return obj;\n" in core
    cjs = (tmp_path / "unpacked" / "package" / "dist" / "node" / "index.cjs").read_text()
    assert "  obj.__o1js_wrapped_ptr = true;\n  __wlhFreeOnCollect(obj, Class);\n  return obj;\n" in cjs
    # the installed package itself is left untouched
    assert (pkg / "dist" / "node" / "index.cjs").read_text() == "var x = 1;\n" + WRAP_CJS


FREES = """
import { wrap, intoRaw } from '%s';
const freed = [];
function makeClass(name) {
  const C = { [name]: class { __destroy_into_raw() { const p = this.__wbg_ptr; this.__wbg_ptr = 0; return p; }
                              free() { freed.push([name, this.__destroy_into_raw()]); } } }[name];
  return C;
}
const Fp = makeClass('WasmFpPolyComm'), Fq = makeClass('WasmFqPolyComm'), Other = makeClass('WasmGVesta');
let moved;
(() => {
  wrap(8, Fp); wrap(16, Fq); wrap(24, Other); wrap(0, Fp);
  moved = intoRaw(wrap(32, Fp));   // ownership back to Rust: must never be freed here
})();
for (let i = 0; i < 20 && freed.length < 2; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
console.log(JSON.stringify({ freed: freed.sort(), moved }));
"""


@needs_npm
def test_inserted_code_frees_collected_polycomm_wrappers_only(tmp_path):
    pkg = fake_o1js(tmp_path)
    assert make(pkg, tmp_path).returncode == 0
    with tarfile.open(tmp_path / "out" / "c.tgz") as tf:
        tf.extractall(tmp_path / "unpacked", filter="data")
    core = tmp_path / "unpacked" / "package" / "dist" / "node" / "bindings" / "crypto" / "bindings" / "conversion-core.js"
    script = tmp_path / "frees.mjs"
    script.write_text(FREES % core.as_uri())
    out = subprocess.run(["node", "--expose-gc", str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"freed": [["WasmFpPolyComm", 8], ["WasmFqPolyComm", 16]], "moved": 32}


@needs_npm
def test_bundle_is_optional(tmp_path):
    p = make(fake_o1js(tmp_path, cjs=None), tmp_path)
    assert p.returncode == 0, p.stderr
    rec = json.loads((tmp_path / "out" / "pack.json").read_text())
    assert rec["files"][1] == {"file": "dist/node/index.cjs", "present": False}


@pytest.mark.parametrize("esm,cjs,expected", [
    ("export {};\n", None, "conversion-core.js: o1js's wrap() (marking wrappers __o1js_wrapped_ptr) not found; expected exactly once"),
    (ESM + WRAP_ESM, None, "conversion-core.js: o1js's wrap() (marking wrappers __o1js_wrapped_ptr) found 2 times"),
    (ESM, "var x;\n", "dist/node/index.cjs: o1js's wrap() (marking wrappers __o1js_wrapped_ptr) not found"),
    (ESM.replace("    obj.__o1js_wrapped_ptr = true;\n", ""), None, "not found"),  # an older wrap() without the marker
])
def test_pattern_not_found_exactly_once_is_one_line(tmp_path, esm, cjs, expected):
    p = make(fake_o1js(tmp_path, esm=esm, cjs=cjs), tmp_path)
    assert expected in one_line_error(p)
    assert not (tmp_path / "out" / "c.tgz").exists()


def test_not_o1js_or_missing_is_one_line(tmp_path):
    assert "not an o1js package (its package.json names 'other')" in one_line_error(
        make(fake_o1js(tmp_path, name="other"), tmp_path))
    assert "no such directory" in one_line_error(make(tmp_path / "nowhere", tmp_path))


# ---------------------------------------------------------------- the SUMMARY.md section

MiB = 1 << 20


def summary(label, kind, live, spread, first, bl, checks=True):
    """A `wlh compare` run summary: byteLength +bl MiB in every proof after the first (or flat), live heap
    growing by `live` per proof; the byteLength reading and the forecast come from the forecaster."""
    from analysis.forecast import forecast
    from analysis.wlh.summary import bytelength_summary
    fc = forecast({k: 300 * MiB + k * (bl or 0) for k in range(4)}, {k: 100 * MiB + k * live for k in range(4)})
    return {"label": label, "o1js": {"kind": kind, "spec": "x", "version": "2.15.0"}, "proofs": 3, "workers": 1,
            "checks_ok": checks, "failed_checks": [] if checks else ["unique_ids"],
            "live": {"first_proof": first, "per_proof": live, "spread": spread},
            "bytelength": bytelength_summary(fc), "forecast": fc}


def write_compares(tmp_path):
    c = {"baseline": summary("o1js 2.15.0 trivial", "release", 2 * MiB, MiB // 8, 40 * MiB, 4 * MiB),
         "candidate": summary("free-wrapped-polycomm trivial", "tarball", 0, MiB // 16, 39 * MiB, None, checks=False),
         "comparison": {"differences": []}, "verdict": "Verdict: something generated by wlh compare."}
    (tmp_path / "compare-trivial.json").write_text(json.dumps(c))
    (tmp_path / "pack.json").write_text(json.dumps({
        "candidate": "free-wrapped-polycomm", "o1js": {"version": "2.15.0"},
        "template": {"file": "bench/candidates/free-wrapped-polycomm/free-on-collect.js"},
        "files": [{"file": "dist/a.js", "present": True}, {"file": "dist/b.cjs", "present": False}],
        "tarball": {"file": "artifacts/candidate/o.tgz", "sha256": "ab" * 32, "bytes": 3 * MiB}}))
    return {"trivial": tmp_path / "compare-trivial.json", "recursive": tmp_path / "compare-recursive.json"}


def test_markdown_section_from_compare_jsons(tmp_path):
    compares, pack = report.load(write_compares(tmp_path), tmp_path / "pack.json")
    assert list(compares) == ["trivial"]  # a scenario not compared yet is left out
    md = "\n".join(report.markdown(compares, pack))
    assert md.startswith(report.TITLE)
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines() if line.startswith("| `")]
    assert rows == [
        ["`trivial`", "baseline: `o1js 2.15.0 trivial`", "2.15.0 (release)", "3", "1", "+40.000", "+2.0000 ± 0.1250",
         "+4.00 MiB in proof 2, +4.00 MiB in proof 3 (too few proofs for a rate)",
         # live 106 MiB after proof 3, +2/proof; a proof needs 300+4x3 - 104 = 208 MiB above it: (4096-106-208+2)/2
         "reaches the 4 GiB ceiling in proof 1,896", "ok"],
        ["`trivial`", "candidate: `free-wrapped-polycomm trivial`", "2.15.0 (tarball)", "3", "1", "+39.000",
         "+0.0000 ± 0.0625", "none (too few proofs for a rate)", "levels off (no crash at the 4 GiB ceiling forecast)",
         "FAILED: unique_ids"]]
    assert "- `trivial`: Verdict: something generated by wlh compare." in md
    assert "in `dist/a.js` (found" in md and "dist/b.cjs" not in md and "`abababababababab…`" in md


def test_no_compares_no_section(tmp_path):
    assert report.markdown({}, None) == []
    assert report.load({"trivial": tmp_path / "none.json"}, tmp_path / "none.json") == ({}, None)


# ---------------------------------------------------------------- the steps

def test_steps_chain_pack_runs_compare(tmp_path):
    cfg = config_mod.load(env={})
    steps = list(tasks.steps_for(cfg, ROOT, code={"pack": [], "run": [], "report": [], "compare": []},
                                 node_lock="bench/package-lock.json"))
    names = [s.name for s in steps]
    for scenario in cfg["candidate"]["scenarios"]:
        assert {f"candidate:run-release-{scenario}", f"candidate:run-candidate-{scenario}",
                f"candidate:report-release-{scenario}", f"candidate:compare-{scenario}"} <= set(names)
    g = Graph(ROOT, tmp_path / "lock.json")
    for s in steps:
        g.add(s)
    s = cfg["candidate"]["scenarios"][0]
    assert g.upstream(f"candidate:run-candidate-{s}") == ["candidate:pack"]  # the tarball is pack's intermediate
    # compare reads the runs (run.json, trace.log) and their reports (report.json)
    assert g.upstream(f"candidate:compare-{s}") == [f"candidate:report-candidate-{s}", f"candidate:report-release-{s}",
                                                    f"candidate:run-candidate-{s}", f"candidate:run-release-{s}"]
    assert g.upstream(f"candidate:report-release-{s}") == [f"candidate:run-release-{s}"]
    run = next(x for x in steps if x.name == f"candidate:run-candidate-{s}")
    assert "--proofs" in run.params["command"] and str(ROOT) not in json.dumps(run.params)
    assert paths.run_dir(cfg, "candidate", s).name == f"candidate-{s}"
