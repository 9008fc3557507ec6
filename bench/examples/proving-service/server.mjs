// A proving service in the shape o1js services take: an HTTP server on the loopback address that proves one
// request at a time in a child process (prover.mjs) and starts a new child when one exits. Run it under the
// guard and the children inherit it (fork passes the server's execArgv and environment on):
//   node --require ../../guard/guard.cjs server.mjs        (PORT=0: any free port, printed on stdout)
// POST /prove?i=N -> 200 {"publicOutput"} | 503 {"error"} when the prover died (the guard's line says why)
//                  | 504 when it did not answer within REQUEST_TIMEOUT_S (what a hung prover would cost).
// To rehearse a crash: PROVER_CAPS_MIB="250,,250" gives the 1st and 3rd prover processes a WASM memory cap of
// 250 MiB (the guard's WLH_MEMORY_CAP_MIB; the benchmark circuit needs 276 MiB for its first proof) and the
// 2nd none.
import http from 'node:http';
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const timeoutMs = Number(process.env.REQUEST_TIMEOUT_S ?? 600) * 1000;
let prover = null; // { child, ready: Promise, waiting: Map<id, resolve>, stderr: string[] }
let started = 0;
let nextId = 0;
const caps = (process.env.PROVER_CAPS_MIB ?? '').split(',');

function startProver() {
  const number = ++started;
  const env = { ...process.env, O1JS_BACKEND: 'wasm' };
  if (caps[number - 1]) env.WLH_MEMORY_CAP_MIB = caps[number - 1];
  const child = fork(path.join(here, 'prover.mjs'), [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], env });
  const p = { child, waiting: new Map(), stderr: [], number };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => { process.stderr.write(text); p.stderr.push(...text.split('\n').filter(Boolean)); });
  p.ready = new Promise((resolve) => child.on('message', (m) => (m.ready ? resolve() : p.waiting.get(m.id)?.(m))));
  child.on('exit', (code, signal) => {
    if (prover === p) prover = null; // the next request starts a new one
    const why = p.stderr.filter((l) => l.startsWith('wlh-guard: ')).at(-1);
    for (const answer of p.waiting.values()) answer({ ok: false, error: `prover ${p.number} exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}` });
  });
  return p;
}

// One request at a time: o1js proves on all cores already.
let queue = Promise.resolve();
function proveOne(i) {
  const job = queue.then(async () => {
    prover ??= startProver();
    const p = prover;
    const id = nextId++;
    const answer = new Promise((resolve) => p.waiting.set(id, resolve));
    const timer = new Promise((resolve) => setTimeout(() => resolve({ ok: false, timeout: true, error: `no answer within ${timeoutMs / 1000} s` }), timeoutMs).unref());
    await Promise.race([p.ready, answer]);
    p.child.connected && p.child.send({ id, i });
    const result = await Promise.race([answer, timer]);
    p.waiting.delete(id);
    if (result.timeout) p.child.kill('SIGKILL'); // a hung prover is only ever ended from outside
    return result;
  });
  queue = job.catch(() => {});
  return job;
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method !== 'POST' || url.pathname !== '/prove') {
    res.writeHead(404).end();
    return;
  }
  const r = await proveOne(Number(url.searchParams.get('i') ?? 1));
  res.writeHead(r.ok ? 200 : r.timeout ? 504 : 503, { 'content-type': 'application/json' });
  res.end(JSON.stringify(r.ok ? { publicOutput: r.publicOutput } : { error: r.error }));
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
process.on('SIGTERM', () => { prover?.child.kill('SIGKILL'); server.close(); process.exit(0); });
