"""`wlh run` follows the processes of a program (issue 23), for real: programs written here, not by the
project's scenarios, against the release pinned by this repository. A parent that never loads o1js forks two
children that each compile a ZkProgram and prove once; a cluster-based HTTP server whose two workers each
compile and prove one request sent by a bounded client on the loopback address (minutes)."""
import json

import pytest

from analysis.wlh import spec
from tests.wlh_helpers import one_error_line, wlh

pytestmark = pytest.mark.slow

PROGRAM = """
const { Field, ZkProgram, setNumberOfWorkers } = require('o1js');
const program = ZkProgram({
  name: 'wlh-processes',
  publicInput: Field,
  methods: { run: { privateInputs: [Field], async method(x, y) { x.mul(y).assertEquals(x.mul(y)); } } },
});
async function proveOnce(i) {
  const { proof } = await program.run(Field(i), Field(i + 1));
  return program.verify(proof);
}
"""
CHILDREN = PROGRAM + """
const { fork } = require('child_process');
if (process.argv[2] === 'child') {
  program.compile().then(() => proveOnce(Number(process.argv[3]))).then((ok) => process.exit(ok ? 0 : 3));
} else {
  const kids = [1, 2].map((i) => fork(__filename, ['child', String(i)]));
  Promise.all(kids.map((k) => new Promise((r) => k.on('exit', r)))).then((codes) => {
    console.log(`children exited ${codes.join(' ')}`);
    process.exit(codes.every((c) => c === 0) ? 0 : 1);
  });
}
"""
CLUSTER = PROGRAM + """
const cluster = require('cluster');
const http = require('http');
if (cluster.isPrimary) {
  const workers = [cluster.fork(), cluster.fork()];
  let ready = 0;
  cluster.on('message', async (w, msg) => {
    if (msg.port === undefined || ++ready < 2) return;
    // a bounded client: two requests, one at a time, each with a deadline
    for (const i of [1, 2]) {
      const body = await new Promise((resolve, reject) => {
        // agent: false, a new connection per request: the cluster hands connections to its workers in turn
        const req = http.get({ host: '127.0.0.1', port: msg.port, path: `/prove?x=${i}`, timeout: 600000, agent: false }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });
      console.log(`request ${i}: ${body}`);
    }
    for (const w of workers) w.kill();
    process.exit(0);
  });
} else {
  program.compile().then(() => {
    const server = http.createServer(async (req, res) => {
      const x = Number(new URL(req.url, 'http://x').searchParams.get('x'));
      res.end(JSON.stringify({ pid: process.pid, verified: await proveOnce(x) }));
    });
    server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  });
}
"""


def _run(capsys, tmp_path, monkeypatch, name, text):
    monkeypatch.setenv("WLH_CACHE", str(tmp_path / "cache"))
    script = tmp_path / f"{name}.cjs"
    script.write_text(text)
    out = tmp_path / name
    code, _, err = wlh(capsys, "run", "--o1js", spec.pinned_version(), "--workers", "1", "--out", out, "--",
                       "node", script)
    assert code == 0, err
    return out, json.loads((out / "run.json").read_text()), err


def _two_instances_reported(capsys, out, record):
    found = record["instances"]
    assert [i["instance"] for i in found] == [1, 2] and [i["proofs"] for i in found] == [1, 1], found
    assert not any(i["root"] for i in found) and record["proofs"] == 2
    assert not (out / "trace.log").exists()  # the parent never loaded o1js
    code, stdout, err = wlh(capsys, "report", out)
    assert code == 0, err
    for i in found:
        s = json.loads((out / "instances" / i["name"] / "report.json").read_text())["summary"]
        assert s["checks_ok"], s["failed_checks"]
        assert s["proofs"] == 1 and s["instance"]["pid"] == i["pid"]
    total = json.loads((out / "report.json").read_text())["total"]
    assert total["instances"] == 2 and total["proofs"] == 2 and total["checks_ok"]
    assert any("PolyComm" in r["type"] for r in total["never_dropped_in_loop"] if r["bytes"] > 0)
    assert "2 processes" in (out / "report.md").read_text()
    # compare and check: per instance, in total; a bare run of several processes asks which
    code, _, err = wlh(capsys, "compare", out, out)
    assert code == 2 and "--instance N" in one_error_line(err)
    code, stdout, err = wlh(capsys, "compare", "--instance", "2", out, out)
    assert code == 0 and "Verdict" in stdout, err
    code, stdout, err = wlh(capsys, "compare", "--total", out, out)
    assert code == 0 and "Verdict (total)" in stdout and "(+0.0 %" in stdout, err
    code, stdout, err = wlh(capsys, "check", out, "--type-mib-per-proof", "*=1000")  # 1 proof: no live rate yet
    assert code == 0 and stdout.count("wlh check: ok") == 2, (stdout, err)


def test_two_forked_children(capsys, tmp_path, monkeypatch):
    out, record, err = _run(capsys, tmp_path, monkeypatch, "children", CHILDREN)
    assert "2 proofs in 2 processes" in err
    _two_instances_reported(capsys, out, record)


def test_cluster_server_proving_two_requests(capsys, tmp_path, monkeypatch):
    out, record, _ = _run(capsys, tmp_path, monkeypatch, "cluster", CLUSTER)
    # the primary kills its workers when done: no end record, their proofs are counted from their samples
    assert all(i["preload"]["ended"] is False for i in record["instances"])
    _two_instances_reported(capsys, out, record)
