"""The preload's snapshot points, on a fake o1js whose 'WASM glue' is plain JS (no tracer, no proofs):
proof mode snapshots before the first prover call and after each wrap prover call, manual mode where the
program asks, --workers replaces the pool size the program asked for, and the end record counts calls."""
import json
import os
import subprocess

import pytest

from analysis.wlh.runner import node_command

GLUE = """
const memory = new WebAssembly.Memory({ initial: 2, maximum: 100 });
let threads = null;
module.exports = {
  __wasm: { memory },
  initThreadPool(n) { threads = n; },
  threads: () => threads,
  caml_pasta_fp_plonk_proof_create() { memory.grow(1); return { step: true }; },
  caml_pasta_fq_plonk_proof_create() { return { wrap: true }; },
};
"""
INDEX = """
const glue = require('./dist/node/bindings/compiled/node_bindings/kimchi_wasm.cjs');
exports.glue = glue;
"""
PROOFS = """
const { glue } = require('o1js');
glue.initThreadPool(7);
for (let i = 0; i < 3; i++) { glue.caml_pasta_fp_plonk_proof_create(); glue.caml_pasta_fq_plonk_proof_create(); }
console.log(JSON.stringify({ threads: glue.threads() }));
"""
MANUAL = """
const { glue } = require('o1js');
(async () => {
  await globalThis.wlhSnapshot?.('start');
  glue.caml_pasta_fp_plonk_proof_create(); glue.caml_pasta_fq_plonk_proof_create();
  await globalThis.wlhSnapshot?.('after one');
})();
"""


@pytest.fixture
def fake(tmp_path):
    o1js = tmp_path / "anchor" / "node_modules" / "o1js"
    glue = o1js / "dist/node/bindings/compiled/node_bindings"
    glue.mkdir(parents=True)
    (o1js / "package.json").write_text(json.dumps({"name": "o1js", "version": "0.0.0", "main": "index.cjs"}))
    (o1js / "index.cjs").write_text(INDEX)
    (glue / "kimchi_wasm.cjs").write_text(GLUE)
    return tmp_path


def run(fake, program, **env):
    script = fake / "prog.cjs"
    script.write_text(program)
    env = {**os.environ, "WLH_O1JS_ANCHOR": str(fake / "anchor"), "WLH_SAMPLES": str(fake / "s.jsonl"),
           "WLH_TRACE_LOG": str(fake / "t.log"), **env}
    p = subprocess.run(node_command(["node", str(script)]), env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    events = [json.loads(line) for line in (fake / "s.jsonl").read_text().splitlines()]
    return p, [e for e in events if e["event"] == "sample"], events[-1]


def test_proof_mode_snapshots_and_worker_override(fake):
    p, samples, end = run(fake, PROOFS, WLH_WORKERS="1")
    assert json.loads(p.stdout) == {"threads": 1}            # the program asked for 7
    assert [(s["iteration"], s["phase"]) for s in samples] == [(0, "before_first_proof"), (1, "after_proof"),
                                                               (2, "after_proof"), (3, "after_proof")]
    assert [s["wasm_memory_bytes"] // 65536 for s in samples] == [2, 3, 4, 5]  # the step call grows by a page
    assert all(s["settled"] for s in samples)
    assert end["proofs"] == 3 and end["step_prover_calls"] == 3 and end["threads_asked_by_program"] == 7
    assert end["threads_used"] == 1
    assert "[wlh] proof 3: wasm 0.3 MiB (+0.1)" in p.stderr


def test_manual_mode_snapshots_where_the_program_asks(fake):
    p, samples, end = run(fake, MANUAL, WLH_SNAPSHOT="manual")
    assert [(s["iteration"], s["phase"], s["label"], s["proofs_done"]) for s in samples] == [
        (0, "manual", "start", 0), (1, "manual", "after one", 1)]
    assert end["proofs"] == 1 and end["threads_asked_by_program"] is None  # the program never started a pool


def test_without_workers_the_program_keeps_its_pool_size(fake):
    p, _, end = run(fake, PROOFS)
    assert json.loads(p.stdout) == {"threads": 7}
    assert end["threads_asked_by_program"] == 7 and end["threads_used"] == 7


def test_interval_mode(fake):
    program = "const { glue } = require('o1js'); setTimeout(() => {}, 1200);"
    _, samples, _ = run(fake, program, WLH_SNAPSHOT="every:0.25")
    assert len(samples) >= 2 and {s["phase"] for s in samples} == {"interval"}
    assert [s["iteration"] for s in samples] == list(range(len(samples)))
