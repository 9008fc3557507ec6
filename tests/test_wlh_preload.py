"""The preload's snapshot points, on a fake o1js whose 'WASM glue' is plain JS (no tracer, no proofs):
proof mode snapshots before the first prover call and after each wrap prover call, manual mode where the
program asks, --workers replaces the pool size the program asked for, and the end record counts calls."""
import json
import os
import subprocess

import jsonschema
import pytest

from analysis.common.paths import ROOT

from analysis.wlh.runner import node_command, program_env

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
    env = program_env(env, fake)
    env.pop("WLH_RUN_DIR")  # the preload on its own: the paths above, no instances
    p = subprocess.run(node_command(["node", str(script)]), env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    events = [json.loads(line) for line in (fake / "s.jsonl").read_text().splitlines()]
    return p, [e for e in events if e["event"] == "sample"], events[-1]


def run_at_top(fake, **env):
    """PROOFS as the process `wlh run` started, in the run directory fake/run; cwd is fake (the guard writes
    wlh-guard-<pid>.jsonl there when a process fails and no record path is given)."""
    out = fake / "run"
    out.mkdir()
    script = fake / "prog.cjs"
    script.write_text(PROOFS)
    env = program_env({**os.environ, "WLH_O1JS_ANCHOR": str(fake / "anchor"), "WLH_SAMPLES": str(out / "samples.jsonl"),
                       "WLH_TRACE_LOG": str(out / "trace.log"), **env}, out)
    p = subprocess.run(node_command(["node", str(script)]), env=env, capture_output=True, text=True, timeout=60,
                       cwd=fake)
    return out, p


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


# A parent that never loads o1js starts children by fork, spawn, exec and cluster; each child proves
# `n` times (its own count, so a mixed-up record shows).
PARENT = """
const cp = require('child_process');
const cluster = require('cluster');
const child = process.argv[2] === 'child';
if (child || (cluster.isWorker)) {
  const n = Number(process.env.N || process.argv[3]);
  const { glue } = require('o1js');
  for (let i = 0; i < n; i++) { glue.caml_pasta_fp_plonk_proof_create(); glue.caml_pasta_fq_plonk_proof_create(); }
  if (cluster.isWorker) process.exit(0);
} else {
  const done = (c) => new Promise((r) => c.on('exit', r));
  (async () => {
    await done(cp.fork(__filename, ['child', '1']));
    await done(cp.spawn(process.execPath, [__filename, 'child', '2'], { stdio: 'inherit' }));
    await new Promise((r) => cp.exec(`"${process.execPath}" "${__filename}" child 3`, r));
    cluster.setupPrimary({ exec: __filename });
    await done(cluster.fork({ N: '4' }));
  })();
}
"""


def test_every_process_that_loads_o1js_is_an_instance_of_its_own(fake):
    from analysis.wlh.runner import instances, run_figures

    script = fake / "parent.cjs"
    script.write_text(PARENT)
    out = fake / "run"
    out.mkdir()
    env = program_env({**os.environ, "WLH_O1JS_ANCHOR": str(fake / "anchor"), "WLH_SAMPLES": str(out / "samples.jsonl"),
                       "WLH_TRACE_LOG": str(out / "trace.log")}, out)
    p = subprocess.run(node_command(["node", str(script)]), env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert not (out / "samples.jsonl").exists()  # the parent never loaded o1js: no instance of its own
    found = instances(out)
    assert [i["instance"] for i in found] == [1, 2, 3, 4]
    assert [i["proofs"] for i in found] == [1, 2, 3, 4]      # each child's own samples, none mixed
    assert all(i["dir"] == f"instances/{i['name']}" and not i["root"] for i in found)
    assert len({i["pid"] for i in found}) == 4
    for i in found:
        samples = [json.loads(x) for x in (out / i["dir"] / "samples.jsonl").read_text().splitlines()]
        assert samples[0]["instance"]["name"] == i["name"]
        if i["instance"] != 3:  # exec hands the child's stderr to its callback, not to ours
            assert f"[wlh {i['name']}] proof {i['proofs']}:" in p.stderr
    schema = json.loads((ROOT / "schemas" / "wlh-instance.schema.json").read_text())
    for line in (out / "instances.jsonl").read_text().splitlines():
        jsonschema.validate(json.loads(line), schema)
    fig = run_figures(out)
    assert fig["proofs"] == 10 and fig["snapshots"] == sum(i["snapshots"] for i in found) == 14


def test_the_process_wlh_started_records_at_the_top(fake):
    from analysis.wlh.runner import instances

    out, p = run_at_top(fake, WLH_ROOT_PID="1")  # a stale value is dropped
    assert p.returncode == 0, p.stderr
    [root] = instances(out)
    assert root["root"] and root["dir"] == "." and root["proofs"] == 3
    assert (out / "samples.jsonl").exists() and not (out / "instances" / root["name"]).exists()


def test_aggregate_mode_starts_a_reader_per_instance_and_it_ends_with_the_process(fake):
    """No tracer in the fake glue: the reader sees only the preload's own end of the pipe close at exit, and
    writes its start and end records; the pipe is gone afterwards."""
    import sys

    from analysis.wlh.runner import wait_for_aggregates

    out, p = run_at_top(fake, WLH_AGGREGATE="1", WLH_PYTHON=sys.executable)
    assert p.returncode == 0, p.stderr
    wait_for_aggregates(out, timeout=30)
    kinds = [json.loads(x)["kind"] for x in (out / "aggregate.jsonl").read_text().splitlines()]
    assert kinds == ["start", "end"] and (out / "trace.log").exists() and not (out / "trace.fifo").exists()


def test_aggregate_mode_without_its_reader_is_one_error_before_o1js_loads(fake):
    _, p = run_at_top(fake, WLH_AGGREGATE="1", WLH_PYTHON=str(fake / "no-python"))
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().count("\n") == 0 and "wlh: error: --aggregate: cannot start" in p.stderr, p.stderr
