'use strict';
// wasm-leak-hunt, source route: the JS side of the trace sink. The build step copies this file next
// to the bindings glue (kimchi_wasm.cjs) and requires it on the glue's first line, so it runs in the
// main thread and in every worker thread before the wasm instance exists.
//
// The Rust core writes every line through `__wlh_trace_sink.write(line)`, a function imported through
// wasm-bindgen (`js_namespace = __wlh_trace_sink`), called with the core's lock held. It writes
// synchronously to one file descriptor. console.log would not do: Node forwards a worker thread's
// console output to the main thread asynchronously, and in the first real run every line written on
// the rayon worker was lost.
//
// Log file: env WLH_TRACE_LOG (the binary route's variable); without it, standard error (fd 2).
// Every thread must write to the same descriptor: a second open of the file would have its own offset
// and overwrite lines. Workers cannot receive messages once inside the rayon pool, so the descriptor
// reaches them when they are created: the main thread puts it in process.env as WLH_TRACE_FD =
// "<pid>:<fd>", and a Worker's process.env is a copy of its parent's at construction (Node's default;
// o1js passes no `env`). Worker threads share the pid; the pid keeps a child process that inherits the
// variable (but not the descriptor) from writing to a stranger's fd.
const fs = require('fs');
const path = require('path');
const wt = require('worker_threads');

const FD_VAR = 'WLH_TRACE_FD';

function openLog() {
  if (wt.isMainThread) {
    const file = process.env.WLH_TRACE_LOG;
    const fd = file ? fs.openSync(file, 'w') : 2;
    process.env[FD_VAR] = `${process.pid}:${fd}`;
    return fd;
  }
  const [pid, fd] = String(process.env[FD_VAR] || '').split(':').map(Number);
  if (pid !== process.pid || !Number.isInteger(fd)) {
    throw new Error(`wlh-trace-sink: worker thread started without the main thread's ${FD_VAR}`);
  }
  return fd;
}

const fd = openLog();

function write(line) {
  fs.writeSync(fd, line + '\n');
}

// The glue resolves the import as a global at each call (like console.log).
globalThis.__wlh_trace_sink = { write };

if (wt.isMainThread) {
  let version = null;
  try {
    // dist/node/bindings/compiled/node_bindings/ -> the o1js package root
    version = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', '..', '..', 'package.json'), 'utf8'))
      .version;
  } catch {}
  write('@' + JSON.stringify({ ev: 'META', route: 'source', o1js_version: version, pid: process.pid,
    node: process.version, time: new Date().toISOString() }));
}

// Called on the glue's last line with its exports: the benchmark's iteration-boundary hook
// (globalThis.__wlhSample, as for the binary route's tracer) writes a SNAPSHOT line from Rust.
function attach(glueExports) {
  if (!wt.isMainThread || typeof glueExports.wlh_trace_snapshot !== 'function') return;
  globalThis.__wlhSample = (s) => glueExports.wlh_trace_snapshot(s.iteration, String(s.phase));
}

module.exports = { write, attach, FD_VAR };
