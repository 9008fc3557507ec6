// Drains the tracer's log ring (a SharedArrayBuffer written by every thread under the tracer's lock, see
// browser-tracer.js) to the local server with synchronous XHR POSTs: one sender, requests in order, so
// the server's trace.log keeps the ring's order. Runs in its own worker so that lines keep flowing while
// the page's main thread spin-waits (during every proof) or hangs.
'use strict';
const R_HEAD = 1, R_TAIL = 2;
const BATCH_MS = 20; // after a wake-up, let more lines accumulate before posting
self.onmessage = (e) => {
  const { ring, url } = e.data;
  const buf = new Uint8Array(ring.buf), ctl = new Int32Array(ring.ctl), size = buf.length;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let tail = Atomics.load(ctl, R_TAIL) >>> 0;
  for (;;) {
    let head = Atomics.load(ctl, R_HEAD) >>> 0;
    if (head === tail) {
      Atomics.wait(ctl, R_HEAD, head | 0, 1000);
      continue;
    }
    Atomics.wait(nap, 0, 0, BATCH_MS);
    head = Atomics.load(ctl, R_HEAD) >>> 0;
    const n = (head - tail) >>> 0;
    const out = new Uint8Array(n); // XHR does not take shared views: copy out
    const pos = tail & (size - 1), first = Math.min(n, size - pos);
    out.set(buf.subarray(pos, pos + first), 0);
    if (first < n) out.set(buf.subarray(0, n - first), first);
    for (let attempt = 0; ; attempt++) {
      try {
        const x = new XMLHttpRequest();
        x.open('POST', url, false);
        x.send(out);
        if (x.status === 204) break;
        throw new Error(`status ${x.status}`);
      } catch (err) {
        if (attempt >= 20) throw err; // lines lost: let the page see an error
        Atomics.wait(nap, 0, 0, 250);
      }
    }
    tail = head;
    Atomics.store(ctl, R_TAIL, tail | 0);
    Atomics.notify(ctl, R_TAIL);
  }
};
