// The JS creation site of a handle, read from V8's CallSite objects (the tracer never formats a stack as text:
// that cost most of what tracing cost in compile), must be the site the text form gave: the reports and the
// committed runs name sites by it. A small o1js-shaped tree is written here (library code, bindings, the
// conversion helpers), the tracer is copied where an instrumented copy has it, and handles are made through
// call chains of the shapes o1js has (sync, named async, anonymous async inside the bindings, deeper than the
// first stack the tracer takes); each site must equal the text form's reading of the same stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { instrument } from '../instrument/instrument-wasm.mjs';
import { buildModule } from './wasm-fixtures.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-sites-'));
const o1js = path.join(root, 'o1js');
const glueDir = path.join(o1js, 'dist', 'node', 'bindings', 'compiled', 'node_bindings');
const FILES = {
  'package.json': '{"name": "o1js", "version": "0.0.0-test", "type": "module"}',
  'dist/node/bindings/crypto/bindings/conversion-core.js':
    'export function convert(make) {\n  return make();\n}\n',
  'dist/node/bindings/crypto/bindings/util.js':
    "import { convert } from './conversion-core.js';\n" +
    'export function viaUtil(make) {\n  return convert(make);\n}\n' +
    'export async function later(make) {\n  await null;\n  return convert(make);\n}\n' +
    'export function deep(n, make) {\n  return n === 0 ? viaUtil(make) : deep(n - 1, make);\n}\n',
  'dist/node/lib/proof-system/zkprogram.js':
    "import { viaUtil, later, deep } from '../../bindings/crypto/bindings/util.js';\n" +
    'export function compileSync(make) {\n  return viaUtil(make);\n}\n' +
    // an anonymous async function awaiting the bindings: V8 prints it as `async file:...`
    'export async function compileAsync(make) {\n  return await (async () => {\n    return await later(make);\n  })();\n}\n' +
    'export function compileDeep(n, make) {\n  return deep(n, make);\n}\n',
};
for (const [rel, text] of Object.entries(FILES)) {
  fs.mkdirSync(path.dirname(path.join(o1js, rel)), { recursive: true });
  fs.writeFileSync(path.join(o1js, rel), text);
}
fs.mkdirSync(glueDir, { recursive: true });
fs.copyFileSync(path.join(here, '..', 'tracer', 'wlh-tracer.cjs'), path.join(glueDir, 'wlh-tracer.cjs'));
fs.writeFileSync(path.join(glueDir, 'package.json'), '{"type": "commonjs"}');

const logFile = path.join(root, 'trace.log');
process.env.WLH_TRACE_LOG = logFile;
process.env.WLH_TABLE_LOG2 = '12';
process.env.WLH_CREATION_SITES = '1';
const tracer = createRequire(import.meta.url)(path.join(glueDir, 'wlh-tracer.cjs'));
const lib = await import(pathToFileURL(path.join(o1js, 'dist', 'node', 'lib', 'proof-system', 'zkprogram.js')).href);
const memory = new WebAssembly.Memory({ initial: 2, maximum: 1000, shared: true });
const wasm = new WebAssembly.Instance(new WebAssembly.Module(instrument(buildModule('rust')).bytes),
  { env: { memory }, __wlh: tracer.wasmImports() }).exports;

// The text form, as the tracer read it before session 10: `new Error().stack`, 80 frames below the tracer's
// onHandle, each "at fn (location)" or "at location"; an o1js location relative to the package, column dropped.
function textSite(stackText) {
  const frames = stackText.split('\n').slice(1).map((l) => l.trim().replace(/^at /, ''));
  const picked = [];
  let asker = false;
  for (const f of frames) {
    const m = /^(.*?) \((.*)\)$/.exec(f);
    const file = (m ? m[2] : f).replace(/^file:\/\//, '');
    if (!file.startsWith(o1js) || /wlh-tracer\.cjs/.test(file)) continue;
    const rel = path.relative(o1js, file).replace(/:(\d+):\d+$/, ':$1');
    if (picked.length === 0) picked.push(rel);
    if (!asker && !/[\\/]conversion[^\\/]*\.js:/.test(rel)) {
      asker = true;
      if (!picked.includes(rel)) picked.push(rel);
    }
    if (!rel.includes('/bindings/')) {
      if (!picked.includes(rel)) picked.push(rel);
      break;
    }
  }
  return picked.length ? picked.join(' < ') : null;
}

// A handle on a fresh heap block, made where `make` is called; returns the text form's site of that stack.
function handle(type) {
  return () => {
    const block = wasm.make(48);
    const old = Error.stackTraceLimit;
    Error.stackTraceLimit = 80 - 3; // the frames the tracer sees below its own three (setter, onHandle, capture)
    const expected = textSite(new Error().stack);
    Error.stackTraceLimit = old;
    tracer.trackObject(type, block + 8);
    return expected;
  };
}

function sitesByType() {
  tracer.flush();
  const events = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('@')).map((l) => JSON.parse(l.slice(1)));
  const sites = new Map(events.filter((e) => e.ev === 'SITE').map((e) => [e.site, e.js]));
  return new Map(events.filter((e) => e.ev === 'ALLOCATE').map((e) => [e.type, sites.get(e.site)]));
}

test('creation sites from CallSite objects equal the text form, for the call shapes o1js has', async () => {
  const expected = {
    Sync: lib.compileSync(handle('Sync')),
    AnonymousAsync: await lib.compileAsync(handle('AnonymousAsync')),
    Deep30: lib.compileDeep(30, handle('Deep30')), // deeper than the tracer's first (short) stack
    Deep90: lib.compileDeep(90, handle('Deep90')), // library code beyond the 80 frames: not reached, as before
  };
  const got = sitesByType();
  for (const [type, site] of Object.entries(expected)) assert.equal(got.get(type), site, type);
  assert.equal(expected.Sync, 'dist/node/bindings/crypto/bindings/conversion-core.js:2 < ' +
    'dist/node/bindings/crypto/bindings/util.js:3 < dist/node/lib/proof-system/zkprogram.js:3');
  // the anonymous async frame (zkprogram.js:6) is passed over; the named one that awaits it is taken
  assert.equal(expected.AnonymousAsync, 'dist/node/bindings/crypto/bindings/conversion-core.js:2 < ' +
    'dist/node/bindings/crypto/bindings/util.js:7 < dist/node/lib/proof-system/zkprogram.js:6');
  assert.ok(expected.Deep30.endsWith('zkprogram.js:11'), expected.Deep30);
  assert.ok(!expected.Deep90.includes('/lib/'), expected.Deep90);
});
