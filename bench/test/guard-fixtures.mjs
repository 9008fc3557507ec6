// Fixtures of the guard's tests: a small wasm module that behaves like the Rust allocator at the memory
// ceiling, a stand-in for o1js's glue (its two prover exports), and a runner that starts node with the guard
// and reads its record back.
import binaryen from 'binaryen';
import { after } from 'node:test';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const guard = path.join(here, '..', 'guard', 'guard.cjs');

// Imports a shared memory declared with maximum 65536 pages, as kimchi_wasm_bg.wasm does, and exports
// grow_or_abort(pages): memory.grow, then `unreachable` if it returned -1 — what dlmalloc + Rust's
// allocation-error path do when the system allocation fails (a wasm trap, no message).
export function ceilingModule() {
  binaryen.setDebugInfo(true); // keep the name section: the trap's stack names the function
  const m = new binaryen.Module();
  m.setFeatures(binaryen.Features.All);
  m.setMemory(1, 65536, null, [], true, false, '0');
  m.addMemoryImport('0', 'env', 'memory', true);
  const i32 = binaryen.i32;
  const old = m.local.tee(1, m.memory.grow(m.local.get(0, i32), '0', false), i32);
  m.addFunction('grow_or_abort', binaryen.createType([i32]), i32, [i32],
    m.block(null, [m.if(m.i32.eq(old, m.i32.const(-1)), m.unreachable()), m.local.get(1, i32)], i32));
  m.addFunctionExport('grow_or_abort', 'grow_or_abort');
  if (!m.validate()) throw new Error('ceiling module does not validate');
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

const dirs = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

// A folder with the module (ceiling.wasm) and the given scripts, removed when the test file ends.
export function workdir(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-crash-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'ceiling.wasm'), ceilingModule());
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

// A stand-in for o1js's wasm-bindgen glue, required as './kimchi_wasm.cjs': its wrap prover export grows the
// memory it is given by `pages` per call, as a proof that leaks would, then calls `during()` if given (from
// inside the prover call, as o1js's main thread waits inside it for the rayon workers).
export const fakeGlue = `
let memory = null;
exports.setMemory = (m) => { memory = m; };
exports.caml_pasta_fp_plonk_proof_create = () => 'step';
exports.caml_pasta_fq_plonk_proof_create = (pages, during) => { memory.grow(pages); if (during) during(); return 'wrap'; };
`;

const GUARD_ENV = ['WLH_GUARD', 'WLH_GUARD_RECORD', 'WLH_GUARD_EXIT_CODE', 'WLH_GUARD_GRACE_SECONDS', 'WLH_GUARD_WARN_AT',
  'WLH_MEMORY_CAP_MIB', 'WLH_WATCHDOG_SECONDS', 'WLH_PROGRESS_FILE'];

const readEvents = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : null);

// Runs `node [--require guard] script args` in dir; returns status, signal, output and the record (the file
// WLH_GUARD_RECORD names, else the guard's default wlh-guard-<pid>.jsonl).
export function run(dir, script, { env = {}, args = [], withGuard = true, timeout = 30000 } = {}) {
  const t = Date.now();
  const p = spawnSync(process.execPath, [...(withGuard ? ['--require', guard] : []), script, ...args], {
    cwd: dir, encoding: 'utf8', timeout, killSignal: 'SIGKILL',
    env: { ...process.env, ...Object.fromEntries(GUARD_ENV.map((k) => [k, ''])), ...env },
  });
  const record = path.join(dir, env.WLH_GUARD_RECORD || `wlh-guard-${p.pid}.jsonl`);
  return { status: p.status, signal: p.signal, stdout: p.stdout, stderr: p.stderr, events: readEvents(record), record, seconds: (Date.now() - t) / 1000, error: p.error };
}
