// A small prove loop for `wlh run`: the Step 0 scenarios (bench/lib/scenarios.mjs), proved N times, the
// last proof verified. It imports o1js by package name, so `wlh run --o1js SPEC` decides which o1js it
// gets (a release, a folder, a candidate tarball); without wlh it is the one in bench/node_modules.
// It takes no samples itself: wlh snapshots memory at each proof.
//
//   wlh run --o1js 2.15.0 --workers 1 --out runs/x -- node bench/wlh-loop.mjs --scenario trivial --proofs 3
import { parseArgs } from 'node:util';
import { defineScenario } from './lib/scenarios.mjs';

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'trivial' },
    proofs: { type: 'string', default: '3' },
    workers: { type: 'string', default: '1' },
    rows: { type: 'string', default: '8' },
  },
});
function count(name, min) {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`wlh-loop: --${name} '${args[name]}': expected a whole number >= ${min}\n`);
    process.exit(2);
  }
  return n;
}
const proofs = count('proofs', 1);
const workers = count('workers', 1);
const rows = count('rows', 0);

// Memory is measured on the WASM backend only: set before o1js loads (2.15 can pick a native one), hence
// a dynamic import (a static one would load o1js before this line runs). Still by package name.
process.env.O1JS_BACKEND = 'wasm';
const o1js = await import('o1js');
if (typeof o1js.setBackend === 'function') o1js.setBackend('wasm');
o1js.setNumberOfWorkers(workers); // before compile: the pool is started once

let scenario;
try {
  scenario = defineScenario(o1js, args.scenario, { rows });
} catch (err) {
  process.stderr.write(`wlh-loop: ${err.message}\n`);
  process.exit(2);
}

// Cold compile without a key cache (Cache.None), as the Step 0 benchmark does: cache state changes memory.
const t0 = performance.now();
await scenario.program.compile({ cache: o1js.Cache.None, forceRecompile: true });
const seconds = (t) => ((performance.now() - t) / 1000).toFixed(1);
process.stderr.write(`[wlh-loop ${args.scenario}] compiled in ${seconds(t0)} s\n`);

let proof;
for (let i = 1; i <= proofs; i++) {
  const tp = performance.now();
  proof = await scenario.prove(i, proof);
  process.stderr.write(`[wlh-loop ${args.scenario}] proof ${i}/${proofs} in ${seconds(tp)} s\n`);
}
const ok = await scenario.program.verify(proof);
process.stderr.write(`[wlh-loop ${args.scenario}] last proof ${ok ? 'verified' : 'INVALID'}\n`);
// The rayon pool keeps the process alive in some releases.
process.exit(ok ? 0 : 1);
