// The browser twin of bench/wlh-loop.mjs: a Step 0 scenario (bench/lib/scenarios.mjs, shared with node) proved
// N times in the page, the last proof verified. `wlh browser --scenario trivial|recursive` serves it as the
// program; 'o1js' resolves to o1js's web build through the page's import map. It takes no samples itself.
//   query: scenario=trivial|recursive, proofs=N, workers=K, rows=R
import * as o1js from 'o1js';
import { defineScenario } from '/bench/lib/scenarios.mjs';

const q = new URL(import.meta.url).searchParams;
const name = q.get('scenario') || 'trivial';
const proofs = Number(q.get('proofs') || 3);
const rows = Number(q.get('rows') || 8);
const say = (m) => console.log(`[wlh-loop ${name}] ${m}`);
const seconds = (t) => ((performance.now() - t) / 1000).toFixed(1);

if (q.get('workers')) o1js.setNumberOfWorkers(Number(q.get('workers')));
const scenario = defineScenario(o1js, name, { rows });
let t = performance.now();
await scenario.program.compile({ cache: o1js.Cache.None, forceRecompile: true }); // cold, as the node loop
say(`compiled in ${seconds(t)} s`);
await globalThis.wlhBaseline?.(); // wlh's baseline snapshot, GC settled over task turns (a no-op without wlh)
let proof;
for (let i = 1; i <= proofs; i++) {
  t = performance.now();
  proof = await scenario.prove(i, proof);
  say(`proof ${i}/${proofs} in ${seconds(t)} s`);
  // Let wlh's after-proof snapshot settle GC over task turns (the web has no synchronous cleanupSome); a
  // no-op without wlh. Node's loop needs no such line: there wlh settles at the prover's return.
  await globalThis.wlhIdle?.();
}
t = performance.now();
const ok = await scenario.program.verify(proof);
say(`verified the last proof: ${ok} (${seconds(t)} s)`);
if (!ok) throw new Error('the last proof did not verify');
