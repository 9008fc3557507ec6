// The one sampler of `wlh run` and bench/prove-loop.mjs: after the caller settled GC (settle.mjs), read
// memory, ask the tracer (if any) for a heap snapshot, write one JSON line (the `sample` event of
// schemas/bench-event.schema.json) and one progress line on stderr.
import fs from 'node:fs';

// WASM linear memory size now (never cache the buffer: it is replaced on growth).
function wasmMemoryBytes(glue) {
  const memory = glue?.__wasm?.memory ?? glue?.get_memory?.();
  return memory ? memory.buffer.byteLength : null;
}

const mib = (b) => (b === null || b === undefined ? 'n/a' : (b / 2 ** 20).toFixed(1));
const signed = (b, d = 1) => (b === null || b === undefined ? '' : ` (${b >= 0 ? '+' : ''}${(b / 2 ** 20).toFixed(d)})`);

// The tracer writes its SNAPSHOT line (live heap bytes) to the trace log; read it back from the bytes
// the snapshot call appended, so progress can show live MiB without a tracer API for it. In aggregate mode
// another process writes the log: wait up to waitMs for the line to arrive.
function snapshotSince(logPath, offset, waitMs = 0) {
  const sleep = new Int32Array(new SharedArrayBuffer(4));
  for (const deadline = Date.now() + waitMs; ;) {
    const snap = readSnapshotSince(logPath, offset);
    if (snap || Date.now() >= deadline) return snap;
    Atomics.wait(sleep, 0, 0, 10);
  }
}

function readSnapshotSince(logPath, offset) {
  let fd;
  try {
    fd = fs.openSync(logPath, 'r');
    const size = fs.fstatSync(fd).size;
    const chunk = 1 << 20;
    let carry = '';
    for (let pos = offset; pos < size; pos += chunk) {
      const buf = Buffer.alloc(Math.min(chunk, size - pos));
      fs.readSync(fd, buf, 0, buf.length, pos);
      const lines = (carry + buf.toString('utf8')).split('\n');
      carry = lines.pop();
      const hit = lines.find((l) => l.startsWith('@{"ev":"SNAPSHOT"'));
      if (hit) return JSON.parse(hit.slice(1));
    }
    return carry.startsWith('@{"ev":"SNAPSHOT"') ? JSON.parse(carry.slice(1)) : null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function logSize(logPath) {
  try {
    return fs.statSync(logPath).size;
  } catch {
    return 0;
  }
}

// tag: names the run in progress lines ('wlh', 'wlh 2-4711' for an instance of several, a prove-loop label);
// total: proofs planned, shown as 'proof 3/10' (null: unknown). logPath: the tracer's log (null: untraced).
export function createSampler({ samplesPath, logPath = null, finalizers, getGlue, tag = 'wlh', total = null, readBackMs = 0 }) {
  const t0 = performance.now();
  const fd = fs.openSync(samplesPath, 'w');
  let lastWasm = null;
  let lastLive = null;

  function emit(obj) {
    // writeSync: the line is in the kernel before we go on, so a crash cannot lose it.
    fs.writeSync(fd, JSON.stringify({ ...obj, t: +((performance.now() - t0) / 1000).toFixed(3) }) + '\n');
  }

  // finalizedPerRound: GC callbacks per settle round (settle.mjs); [] when GC could not be settled, and
  // the sample then says settled: false.
  function take(iteration, phase, extra = {}, finalizedPerRound = []) {
    const glue = getGlue();
    const mem = process.memoryUsage();
    const wasmBytes = wasmMemoryBytes(glue);
    const s = {
      event: 'sample',
      iteration,
      phase,
      wasm_memory_bytes: wasmBytes,
      wasm_memory_delta: wasmBytes !== null && lastWasm !== null ? wasmBytes - lastWasm : null,
      js_heap_used: mem.heapUsed,
      js_heap_total: mem.heapTotal,
      rss: mem.rss,
      external: mem.external,
      array_buffers: mem.arrayBuffers,
      handles_live: finalizers.live,
      finalized_per_round: finalizedPerRound,
      settled: finalizedPerRound.length > 0 && finalizedPerRound[finalizedPerRound.length - 1] === 0,
      ...extra,
    };
    const offset = logPath ? logSize(logPath) : 0;
    const ret = globalThis.__wlhSample?.(s); // the tracer's heap snapshot at this very boundary
    const snap = ret && typeof ret.live_heap_bytes === 'number' ? ret : logPath ? snapshotSince(logPath, offset, readBackMs) : null;
    s.live_heap_bytes = snap ? snap.live_heap_bytes : null;
    s.tracked_live_bytes = snap ? snap.tracked_live_bytes : null;
    emit(s);
    const liveDelta = s.live_heap_bytes !== null && lastLive !== null ? s.live_heap_bytes - lastLive : null;
    if (wasmBytes !== null) lastWasm = wasmBytes;
    if (s.live_heap_bytes !== null) lastLive = s.live_heap_bytes;
    const what = phase === 'after_proof' ? `proof ${iteration}${total ? `/${total}` : ''}`
      : extra.proofs_done === undefined ? phase
        : `${phase}${extra.label ? ` '${extra.label}'` : ''} #${iteration} (proofs done: ${extra.proofs_done})`;
    const seconds = extra.prover_seconds ?? extra.prove_seconds ?? extra.compile_seconds;
    const prover = seconds !== undefined ? `, ${extra.compile_seconds !== undefined ? 'compile' : 'prover'} ${seconds.toFixed(1)} s` : '';
    process.stderr.write(`[${tag}] ${what}: wasm ${mib(wasmBytes)} MiB${signed(s.wasm_memory_delta)}, live ` +
      `${s.live_heap_bytes === null ? 'n/a' : (s.live_heap_bytes / 2 ** 20).toFixed(2)} MiB${signed(liveDelta, 2)}` +
      `${prover}${s.settled ? '' : ', GC not settled'}\n`);
    return s;
  }

  function close() {
    fs.closeSync(fd);
  }

  return { emit, take, close };
}
