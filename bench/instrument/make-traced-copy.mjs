// Make a separate, instrumented copy of an installed o1js package (the installed one is never touched).
//
// The copy is made of hard links (cheap); the two files we change (the wasm binary and its glue) are
// unlinked first and written anew. The glue gets four edits, each checked to have applied exactly once:
//   1. load the tracer runtime at the very top (before the classes create their FinalizationRegistry),
//   2. pass the tracer's `__wlh` imports to the wasm instance,
//   3. wrap the wasm exports so the tracer knows which Rust function JS called,
//   4. at the end, let the tracer watch every class's `__wbg_ptr` (each handle that owns a Rust value).
//
// Usage: node make-traced-copy.mjs --o1js-dir SRC --out DIR [--report OUT.json]
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { instrument, InstrumentError } from './instrument-wasm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const GLUES = [
  ['dist/node/bindings/compiled/node_bindings', 'kimchi_wasm'],
  ['dist/node/bindings/compiled/_node_bindings', 'plonk_wasm'],
];

// Which glue does this release load? Prefer the one its node backend requires.
export function findGlue(o1jsDir) {
  const candidates = GLUES.filter(([dir, base]) => fs.existsSync(path.join(o1jsDir, dir, `${base}.cjs`)));
  const backend = ['dist/node/bindings/js/node/node-backend.js', 'dist/node/bindings/js/node/node-backend.cjs']
    .map((p) => path.join(o1jsDir, p)).find((p) => fs.existsSync(p));
  const text = backend ? fs.readFileSync(backend, 'utf8') : '';
  const loaded = candidates.filter(([dir, base]) => text.includes(`${path.basename(dir)}/${base}.cjs`));
  const pick = loaded[0] ?? candidates[0];
  if (!pick) throw new InstrumentError(`${o1jsDir}: no kimchi_wasm.cjs or plonk_wasm.cjs glue found`);
  return { dir: pick[0], base: pick[1] };
}

export function patchGlue(text, glueName) {
  const edits = [
    { what: 'load tracer first', re: /^/, replace: "const __wlh = require('./wlh-tracer.cjs'); // wasm-leak-hunt tracer\n" },
    {
      what: 'pass __wlh imports',
      re: /^(\s*)(const|let|var) wasmModule = new WebAssembly\.Module\(bytes\);/m,
      replace: (m, ws) => `${ws}imports.__wlh = __wlh.wasmImports(); // wasm-leak-hunt\n${m}`,
    },
    {
      what: 'wrap exports',
      re: /^(\s*)wasm = wasmInstance\.exports;/m,
      replace: (m, ws) => `${m}\n${ws}wasm = __wlh.wrapExports(wasm); // wasm-leak-hunt`,
    },
    { what: 'watch classes', re: /$/, replace: '\n__wlh.instrumentClasses(module.exports); // wasm-leak-hunt\n' },
  ];
  let out = text;
  for (const e of edits) {
    const n = (out.match(new RegExp(e.re.source, e.re.flags.replace('g', '') + 'g')) || []).length;
    if (e.re.source !== '^' && e.re.source !== '$' && n !== 1) {
      throw new InstrumentError(`${glueName}: glue edit '${e.what}' matched ${n} times (expected exactly 1): unknown glue layout`);
    }
    out = out.replace(e.re, e.replace);
  }
  for (const marker of ["require('./wlh-tracer.cjs')", 'imports.__wlh = __wlh.wasmImports()', '__wlh.wrapExports(wasm)',
    '__wlh.instrumentClasses(module.exports)']) {
    if (!out.includes(marker)) throw new InstrumentError(`${glueName}: glue edit did not apply (${marker})`);
  }
  return out;
}

function replaceFile(file, content) {
  fs.rmSync(file, { force: true }); // break the hard link first: never write through into the original
  fs.writeFileSync(file, content);
}

export function makeTracedCopy(o1jsDir, outDir) {
  o1jsDir = path.resolve(o1jsDir);
  const copy = path.join(path.resolve(outDir), 'o1js');
  fs.rmSync(copy, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(copy), { recursive: true });
  execFileSync('cp', ['-al', o1jsDir, copy]);
  // Resolve o1js's own dependencies from the installed tree.
  fs.rmSync(path.join(copy, 'node_modules'), { recursive: true, force: true });
  fs.symlinkSync(path.resolve(o1jsDir, '..'), path.join(copy, 'node_modules'), 'dir');

  const { dir, base } = findGlue(o1jsDir);
  const wasmFile = path.join(copy, dir, `${base}_bg.wasm`);
  const glueFile = path.join(copy, dir, `${base}.cjs`);
  const t = performance.now();
  const { bytes, report } = instrument(fs.readFileSync(path.join(o1jsDir, dir, `${base}_bg.wasm`)));
  replaceFile(wasmFile, bytes);
  replaceFile(glueFile, patchGlue(fs.readFileSync(path.join(o1jsDir, dir, `${base}.cjs`), 'utf8'), `${base}.cjs`));
  fs.copyFileSync(path.join(here, '..', 'tracer', 'wlh-tracer.cjs'), path.join(copy, dir, 'wlh-tracer.cjs'));
  const version = JSON.parse(fs.readFileSync(path.join(o1jsDir, 'package.json'), 'utf8')).version;
  return { ...report, o1js_version: version, glue: `${dir}/${base}.cjs`, seconds: (performance.now() - t) / 1000 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { 'o1js-dir': { type: 'string' }, out: { type: 'string' }, report: { type: 'string' } } });
  if (!values['o1js-dir'] || !values.out) {
    console.error('usage: make-traced-copy.mjs --o1js-dir SRC --out DIR [--report OUT.json]');
    process.exit(2);
  }
  try {
    const report = makeTracedCopy(values['o1js-dir'], values.out);
    if (values.report) fs.writeFileSync(values.report, JSON.stringify(report, null, 1) + '\n');
    console.error(`traced copy of o1js ${report.o1js_version} in ${values.out}/o1js (hooks: ${report.hook_set}, ${report.grow_site_count} memory.grow site(s), ${report.seconds.toFixed(1)} s)`);
  } catch (e) {
    console.error(`make-traced-copy: ${e.message}`);
    process.exit(1);
  }
}
