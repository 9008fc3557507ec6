// One instance per node process that loads o1js (`wlh run` follows the processes of a program).
//
// `wlh run` hands the preload to every node process of the program through NODE_OPTIONS (fork, spawn and
// exec of node, the cluster module). A process that never loads o1js's WASM glue leaves no trace; one that
// does claims an instance just before the glue is first required, i.e. before the tracer (required by the
// glue) opens its log, so pointing WLH_TRACE_LOG and WLH_SAMPLES at the instance's own files needs no change
// to the tracer. Instances are numbered in the order they claim (a mkdir is atomic across processes):
//   the process `wlh run` started  -> trace.log and samples.jsonl at the top of the run directory
//   any other process              -> instances/<n>-<pid>/trace.log and samples.jsonl
// and each claim appends one line to instances.jsonl (schemas/wlh-instance.schema.json).
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const Module = require('node:module');
const { GLUE_REQUEST } = require('../guard/glue.cjs');

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const INSTANCES_DIR = 'instances';
export const INSTANCES_RECORD = 'instances.jsonl';

// Called once by the preload at process start: the first process to run it is the root (the one `wlh run`
// started); children inherit the variable through their environment.
export function markRoot(env = process.env) {
  if (!env.WLH_ROOT_PID) env.WLH_ROOT_PID = String(process.pid);
  return env.WLH_ROOT_PID === String(process.pid);
}

function nextNumber(runDir) {
  const claims = path.join(runDir, INSTANCES_DIR, '.claims');
  fs.mkdirSync(claims, { recursive: true });
  for (let n = 1; ; n++) {
    try {
      fs.mkdirSync(path.join(claims, String(n)));
      return n;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
  }
}

// Claim this process's instance: sets env.WLH_TRACE_LOG / env.WLH_SAMPLES and returns the instance record.
// Without WLH_RUN_DIR (a preload used on its own) the paths in the environment are kept as they are.
export function claimInstance(env = process.env, argv = process.argv) {
  const runDir = env.WLH_RUN_DIR;
  const root = env.WLH_ROOT_PID === String(process.pid);
  if (!runDir) return { instance: 1, name: `1-${process.pid}`, pid: process.pid, root, dir: '.' };
  const n = nextNumber(runDir);
  const name = `${n}-${process.pid}`;
  let dir = '.';
  if (!root) {
    dir = path.join(INSTANCES_DIR, name);
    fs.mkdirSync(path.join(runDir, dir), { recursive: true });
    env.WLH_TRACE_LOG = path.join(runDir, dir, 'trace.log');
    env.WLH_SAMPLES = path.join(runDir, dir, 'samples.jsonl');
  }
  const record = {
    instance: n, name, pid: process.pid, ppid: process.ppid, root, dir,
    // the script by name and its arguments (never a path of this machine)
    argv: [path.basename(argv[1] || 'node'), ...argv.slice(2)],
    started: new Date().toISOString(),
  };
  if (env.WLH_AGGREGATE === '1') {
    // The tracer writes into a pipe; the reader at its other end keeps the tables and writes the trace log.
    env.WLH_TRACE_FILE = env.WLH_TRACE_LOG;
    try {
      env.WLH_TRACE_LOG = startAggregator(env, env.WLH_TRACE_FILE);
    } catch (e) {
      process.stderr.write(`wlh: error: ${e.message}\n`); // before o1js loads: nothing would be traced
      process.exit(2);
    }
  }
  const fd = fs.openSync(path.join(runDir, INSTANCES_RECORD), 'a');
  try {
    fs.writeSync(fd, JSON.stringify(record) + '\n'); // one write on O_APPEND: lines of processes never interleave
  } finally {
    fs.closeSync(fd);
  }
  return record;
}

// callback() once, just before o1js's WASM glue is first required by this process (before it loads).
export function beforeGlueLoad(callback) {
  const load = Module._load;
  let seen = false;
  Module._load = function (request) {
    if (!seen && GLUE_REQUEST.test(request)) {
      seen = true;
      callback(request);
    }
    return load.apply(this, arguments);
  };
}

// `wlh run --aggregate`: a named pipe beside the trace log and its reader (python -m analysis.wlh.aggregate),
// which writes the trace log without ALLOCATE/DROP lines and aggregate.jsonl. Returns the pipe's path, for
// the tracer. The pipe is opened here once for writing, without blocking, as soon as the reader has it
// open: that proves the reader is there (the tracer's own blocking open would wait forever for a reader
// that failed to start), and the descriptor stays open, unused, until this process ends. The reader sees
// the end of the stream when the last writer closes: when this process exits or dies.
export function startAggregator(env, logPath, timeoutMs = 30000) {
  const dir = path.dirname(logPath);
  const fifo = path.join(dir, 'trace.fifo');
  fs.rmSync(fifo, { force: true });
  const made = spawnSync('mkfifo', [fifo], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`--aggregate: cannot make the pipe ${fifo}: ${made.stderr || made.error}`);
  const errPath = path.join(dir, 'aggregate.err');
  const err = fs.openSync(errPath, 'w');
  const child = spawn(env.WLH_PYTHON || 'python3', ['-m', 'analysis.wlh.aggregate', '--fifo', fifo, '--log', logPath,
    '--out', path.join(dir, 'aggregate.jsonl')], { cwd: REPO, detached: true, stdio: ['ignore', 'ignore', err],
    env: { ...env, NODE_OPTIONS: '' } });
  fs.closeSync(err);
  if (child.pid === undefined) throw new Error(`--aggregate: cannot start '${env.WLH_PYTHON || 'python3'}' (the reader)`);
  child.unref();
  const sleep = new Int32Array(new SharedArrayBuffer(4));
  for (const deadline = Date.now() + timeoutMs; ;) {
    try {
      fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK); // kept open: see above
      return fifo;
    } catch (e) {
      if (e.code !== 'ENXIO') throw e; // ENXIO: no reader yet
    }
    const why = fs.readFileSync(errPath, 'utf8').trim().split('\n').pop(); // the reader writes nothing unless it failed
    if (why || Date.now() > deadline) {
      try { process.kill(child.pid); } catch {}
      throw new Error(`--aggregate: the reader of ${fifo} did not start` + (why ? `: ${why}` : ` within ${timeoutMs / 1000} s`));
    }
    Atomics.wait(sleep, 0, 0, 20);
  }
}
