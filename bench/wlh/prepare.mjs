// `wlh run`: make the instrumented copy of one o1js, with the Step 2 instrumenter (make-traced-copy.mjs),
// laid out so that resolving 'o1js' from OUT finds it: OUT/node_modules/o1js. Its own dependencies come
// from DEPS (a node_modules folder), whatever layout the source had. Only package.json and dist/ are used.
//
// Usage: node prepare.mjs --o1js-dir SRC --out OUT --deps DEPS --report OUT.json
// Errors: one line on stderr (the instrumenter's message when it does not know the build), exit code 1.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { makeTracedCopy } from '../instrument/make-traced-copy.mjs';

function prepare(src, out, deps) {
  src = path.resolve(src);
  out = path.resolve(out);
  const modules = path.join(out, 'node_modules');
  fs.mkdirSync(modules, { recursive: true });
  // Stage only what the package runs from (a built checkout also holds src/, node_modules/, ...): hard
  // links on the same file system, a plain copy across file systems (hard links cannot cross them).
  const staged = path.join(out, 'staged', 'o1js');
  fs.rmSync(path.dirname(staged), { recursive: true, force: true });
  fs.mkdirSync(staged, { recursive: true });
  const link = fs.statSync(src).dev === fs.statSync(out).dev;
  for (const part of ['package.json', 'dist']) execFileSync('cp', [link ? '-al' : '-a', path.join(src, part), staged]);
  try {
    const report = makeTracedCopy(staged, modules);
    const deps_ = path.join(modules, 'o1js', 'node_modules');
    fs.rmSync(deps_, { recursive: true, force: true });
    fs.symlinkSync(path.resolve(deps), deps_, 'dir');
    return report;
  } finally {
    fs.rmSync(path.dirname(staged), { recursive: true, force: true });
  }
}

const { values } = parseArgs({ options: { 'o1js-dir': { type: 'string' }, out: { type: 'string' }, deps: { type: 'string' },
  report: { type: 'string' } } });
if (!values['o1js-dir'] || !values.out || !values.deps || !values.report) {
  console.error('usage: prepare.mjs --o1js-dir SRC --out OUT --deps DEPS --report OUT.json');
  process.exit(2);
}
try {
  const report = prepare(values['o1js-dir'], values.out, values.deps);
  fs.writeFileSync(values.report, JSON.stringify(report, null, 1) + '\n');
  console.error(`wlh: instrumented o1js ${report.o1js_version} (hooks: ${report.hook_set}, ${report.seconds.toFixed(1)} s)`);
} catch (e) {
  console.error(String(e.message || e).split('\n')[0]);
  process.exit(1);
}
