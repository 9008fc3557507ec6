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
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Module = require('node:module');
const { GLUE_REQUEST } = require('../guard/glue.cjs');

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
