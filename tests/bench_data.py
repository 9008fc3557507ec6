"""Synthetic Step 0 benchmark runs, written by the tests themselves."""
import json

MiB = 2 ** 20


def sample(i, wasm, prev, **kw):
    s = {"event": "sample", "iteration": i, "phase": "after_init" if i < 0 else "after_compile" if i == 0 else "after_proof",
         "wasm_memory_bytes": wasm, "wasm_memory_delta": None if prev is None else wasm - prev,
         "js_heap_used": 100 * MiB, "js_heap_total": 120 * MiB, "rss": 500 * MiB, "external": MiB,
         "array_buffers": 0, "handles_live": 8, "finalized_per_round": [3, 0], "settled": True, "t": 1.0 + i}
    s.update(kw)
    return s


def write_run(path, wasm_by_iteration, *, crash_after=None, verified=True, scenario="trivial"):
    lines = [{"event": "start", "label": scenario, "scenario": scenario, "iterations": len(wasm_by_iteration) - 2,
              "o1js_version": "2.15.0", "backend": "wasm", "workers": 1, "cache": "none", "node": "v20",
              "cpus": 2, "settle_turns": 10, "circuit_rows_requested": 8, "platform": "linux-x64", "meta": {}, "t": 0}]
    prev = None
    for i, w in enumerate(wasm_by_iteration, start=-1):
        extra = {"prove_seconds": 20.0} if i > 0 else ({"compile_seconds": 30.0, "method_rows": {"run": 8}} if i == 0 else {})
        lines.append(sample(i, w, prev, **extra))
        prev = w
        if crash_after is not None and i == crash_after:
            break
    text = "".join(json.dumps(x) + "\n" for x in lines)
    if crash_after is None:
        text += json.dumps({"event": "verify", "ok": verified, "t": 99}) + "\n" + json.dumps({"event": "end", "ok": True, "t": 99}) + "\n"
    else:
        text += '{"event":"sample","itera'  # torn last line: the process died mid-write
    path.write_text(text)
    return path
