// Fixtures of the crash-preload tests: a small wasm module that behaves like the Rust allocator at the
// memory ceiling, and a runner that starts node with the preload and reads the end record back.
import binaryen from 'binaryen';
import { after } from 'node:test';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const preload = path.join(here, '..', 'crash', 'preload.cjs');

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

// Runs `node [--require preload] script args` in dir; returns status, signal, output and the end record.
export function run(dir, script, { env = {}, args = [], withPreload = true, timeout = 30000 } = {}) {
  const record = path.join(dir, 'end.jsonl');
  const t = Date.now();
  const p = spawnSync(process.execPath, [...(withPreload ? ['--require', preload] : []), script, ...args], {
    cwd: dir, encoding: 'utf8', timeout, killSignal: 'SIGKILL',
    env: { ...process.env, WLH_MEMORY_CAP_MIB: '', WLH_END_RECORD: '', WLH_WATCHDOG_SECONDS: '', WLH_WATCHDOG_AFTER_CRASH_SECONDS: '', WLH_PROGRESS_FILE: '', ...env },
  });
  const events = fs.existsSync(record) ? fs.readFileSync(record, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : null;
  return { status: p.status, signal: p.signal, stdout: p.stdout, stderr: p.stderr, events, record, seconds: (Date.now() - t) / 1000, error: p.error };
}
