"""The guard in a proving service, for real: bench/examples/proving-service (an HTTP server on the loopback
address that proves one request at a time in a forked child and starts a new child when one exits) run under
the guard. Its first prover process gets a WASM memory cap of 250 MiB (PROVER_CAPS_MIB), below the 276 MiB the
benchmark's trivial circuit needs for its first proof (STEP_0.md), so it dies of an allocation failure in a
rayon worker during that proof. Without the guard that child would hang for ever and so would the request; with
it, the child ends with exit code 86, the server answers 503 and starts a new (uncapped) prover that answers the
rest. A bounded client (4 requests, one at a time, each with a time limit) gets an answer to every request."""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from analysis.common.paths import BENCH

pytestmark = pytest.mark.slow

SERVICE = BENCH / "examples" / "proving-service" / "server.mjs"
GUARD = BENCH / "guard" / "guard.cjs"
REQUEST_LIMIT_S = 400   # per request: a compile and a proof take about a minute on 2 cores


def post(port: int, i: int) -> tuple[int, dict, float]:
    t = time.monotonic()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/prove?i={i}", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_LIMIT_S) as r:
            return r.status, json.loads(r.read()), time.monotonic() - t
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), time.monotonic() - t


def test_a_service_keeps_answering_through_out_of_memory_crashes(tmp_path):
    env = {**os.environ, "PROVER_CAPS_MIB": "250", "PORT": "0", "REQUEST_TIMEOUT_S": str(REQUEST_LIMIT_S - 30)}
    server = subprocess.Popen(["node", "--require", str(GUARD), str(SERVICE)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("listening on "), line + server.stderr.read()
        port = int(line.split()[-1])
        answers = [post(port, i) for i in range(1, 5)]
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    codes = [a[0] for a in answers]
    assert codes == [503, 200, 200, 200], (answers, err[-3000:])
    for status, body, seconds in answers:
        assert seconds < REQUEST_LIMIT_S
    error = answers[0][1]["error"]
    assert "prover 1 exited (code 86)" in error and "ran out of WebAssembly memory in proof 1" in error, error
    # only the prover that faulted wrote a guard record (it had something to say): the fault, the exit
    records = sorted(tmp_path.glob("wlh-guard-*.jsonl"))
    assert len(records) == 1, records
    events = [json.loads(x) for x in records[0].read_text().splitlines()]
    crash = next(e for e in events if e["event"] == "crash")
    assert (crash["how"], crash["cause"], crash["proof"], crash["ceiling_bytes"]) == (
        "worker_error", "out_of_memory", 1, 250 * 2 ** 20)
    assert [e["event"] for e in events][-2:] == ["guard_exit", "exit"]
