// The prover process of the proving-service example (server.mjs forks it): compiles the benchmark's trivial
// ZkProgram once (Cache.None: nothing written to the user's key cache), then proves one request per message
// from its parent and answers with the public output. o1js 2.15.0 cannot be loaded in a worker thread, so
// services isolate provers in child processes like this one; each is its own o1js with its own WASM memory.
import * as o1js from 'o1js';
import { defineScenario } from '../../lib/scenarios.mjs';

const { program, prove } = defineScenario(o1js, 'trivial', { rows: 8 });
o1js.setNumberOfWorkers(Number(process.env.PROVER_WORKERS ?? 1));
await program.compile({ cache: o1js.Cache.None });
process.send({ ready: true });
process.on('message', async ({ id, i }) => {
  const proof = await prove(i);
  process.send({ id, ok: true, publicOutput: proof.publicOutput.toString() });
});
process.on('disconnect', () => process.exit(0)); // the server is gone
