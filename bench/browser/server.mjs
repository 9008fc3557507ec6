// The local server of `wlh browser` (127.0.0.1 only): serves the user's program and o1js's web build to
// headless Chromium with the headers cross-origin isolation needs, and receives what the page streams out.
//
//   /                          the page: an import map ('o1js' -> /o1js/dist/web/index.js), the tracer's
//                              classic scripts when traced, what-if scripts, then the program as a module
//   /o1js/...                  the o1js package, unchanged (the page imports dist/web/index.js)
//   /program/...               the folder of the user's program (its module and what it imports relatively)
//   /bench/lib/..., /bench/wlh/settle.mjs   the scenario loop's helpers (shared with the node side)
//   /wlh/...                   the browser side of the tracer (www/wlh/), and:
//   /wlh/wlh-tracer.wrapped.js bench/tracer/wlh-tracer.cjs byte for byte inside a CommonJS function wrapper
//                              (the page supplies require/process/Buffer shims: one tracer for node and browser)
//   /wlh/kimchi-traced.wasm    the web bindings wasm, named and instrumented (web-wasm.mjs)
//   /wlh/config.json           what the page checks before swapping the wasm, snapshot mode, what-ifs
//   POST /wlh/log              trace lines, appended to <out>/trace.log in arrival order (one sender)
//   POST /wlh/samples          sample lines (bench-event schema) -> <out>/samples.jsonl
//   POST /wlh/events           what the page saw (late frees of forwarded handles, hook errors) -> <out>/page.jsonl
// Every response carries COOP/COEP/CORP (SharedArrayBuffer and shared wasm memory need them).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tracedWebWasm, fnv1a, sha256 } from './web-wasm.mjs';
import { consumedArgs } from './consumed-args.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BENCH = path.join(here, '..');
const TRACER = path.join(BENCH, 'tracer', 'wlh-tracer.cjs');
const WWW = path.join(here, 'www');
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.cjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.html': 'text/html; charset=utf-8', '.map': 'application/json' };
// What-ifs the page can load (www/wlh/whatif-<name>.js), applied at run time from outside o1js.
export const WHATIFS = ['consume-forwarded'];

function pageHtml({ trace, whatifs, program, query }) {
  const classic = [...(trace ? ['/wlh/wlh-tracer.wrapped.js', '/wlh/browser-tracer.js', '/wlh/page-prelude.js'] : []),
    ...whatifs.map((w) => `/wlh/whatif-${w}.js`)];
  const importMap = { imports: { o1js: '/o1js/dist/web/index.js' } };
  return `<!doctype html><meta charset="utf-8"><title>wlh browser</title>
<script type="importmap">${JSON.stringify(importMap)}</script>
${classic.map((s) => `<script src="${s}"></script>`).join('\n')}
<script type="module">
// A dynamic import settles once the program's module (top-level await included) has finished: the driver's
// signal that the program is done, or why it failed.
import(${JSON.stringify(`/program/${encodeURIComponent(program)}${query ? `?${query}` : ''}`)}).then(
  () => console.log('[wlh] program done'),
  (e) => console.log('[wlh] program failed: ' + (e && e.stack ? e.stack : e)));
</script>
`;
}

// Serve a file only from inside one of the roots (no path escapes through '..' or symlinked names).
function inside(root, rel) {
  const file = path.normalize(path.join(root, decodeURIComponent(rel)));
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

export async function startServer({ o1jsDir, programFile, out, trace = true, whatifs = [], snapshot = 'proof',
  query = '', cacheDir, log = () => {} }) {
  o1jsDir = path.resolve(o1jsDir);
  const programDir = path.dirname(path.resolve(programFile));
  const program = path.basename(programFile);
  fs.mkdirSync(out, { recursive: true });
  const files = Object.fromEntries(['trace.log', 'samples.jsonl', 'page.jsonl']
    .map((f) => [f, fs.openSync(path.join(out, f), 'w')]));
  const config = { program, snapshot, whatifs, trace };
  let traced = null;
  let wrappedTracer = null;
  if (trace) {
    const w = tracedWebWasm(o1jsDir, cacheDir, log);
    traced = w.traced;
    const tracerSrc = fs.readFileSync(TRACER);
    wrappedTracer = Buffer.concat([
      Buffer.from('self.__wlhTracerFactory = function (require, module, exports, process, __dirname, Buffer, Atomics) {\n'),
      tracerSrc, Buffer.from('\n};\n')]);
    Object.assign(config, { orig_length: w.orig.length, orig_fnv1a: fnv1a(w.orig), orig_sha256: sha256(w.orig),
      traced_sha256: sha256(traced), tracer_sha256: sha256(tracerSrc), instrument: w.report,
      env: { WLH_CREATION_SITES: '1' } });
  }
  // by-value arguments of each export: for the what-if, and (traced) to say which late frees follow a move
  if (trace || whatifs.includes('consume-forwarded')) config.consumed_args = consumedArgs(o1jsDir);
  const stats = { logBytes: 0, logPosts: 0, lastLogAt: 0, lastAnyAt: Date.now(), samples: [], events: [] };
  const roots = { '/o1js/': o1jsDir, '/program/': programDir, '/bench/lib/': path.join(BENCH, 'lib'), '/wlh/': path.join(WWW, 'wlh') };

  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin', 'Cache-Control': 'no-store' };
    const send = (code, body, type = 'text/plain') => {
      res.writeHead(code, { ...headers, 'Content-Type': type });
      res.end(body);
    };
    if (req.method === 'POST') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const target = { '/wlh/log': 'trace.log', '/wlh/samples': 'samples.jsonl', '/wlh/events': 'page.jsonl' }[u.pathname];
        if (!target) return send(404, 'no');
        fs.writeSync(files[target], body); // synchronous: the next POST cannot overtake this one
        stats.lastAnyAt = Date.now();
        if (target === 'trace.log') {
          stats.logBytes += body.length;
          stats.logPosts++;
          stats.lastLogAt = Date.now();
        } else if (target === 'samples.jsonl' || target === 'page.jsonl') {
          for (const line of body.toString('utf8').split('\n')) if (line) stats[target === 'page.jsonl' ? 'events' : 'samples'].push(JSON.parse(line));
        }
        send(204, '');
      });
      return;
    }
    if (u.pathname === '/' || u.pathname === '/index.html') return send(200, pageHtml({ trace, whatifs, program, query }), TYPES['.html']);
    if (u.pathname === '/wlh/config.json') return send(200, JSON.stringify(config), TYPES['.json']);
    if (u.pathname === '/wlh/wlh-tracer.wrapped.js' && wrappedTracer) return send(200, wrappedTracer, TYPES['.js']);
    if (u.pathname === '/wlh/kimchi-traced.wasm' && traced) return send(200, traced, TYPES['.wasm']);
    if (u.pathname === '/bench/wlh/settle.mjs') return send(200, fs.readFileSync(path.join(BENCH, 'wlh', 'settle.mjs')), TYPES['.mjs']);
    const prefix = Object.keys(roots).find((p) => u.pathname.startsWith(p));
    const file = prefix && inside(roots[prefix], u.pathname.slice(prefix.length));
    if (!file) return send(404, 'not found');
    fs.readFile(file, (err, data) => {
      if (err) return send(404, 'not found');
      send(200, data, TYPES[path.extname(file)] || 'application/octet-stream');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin, config, stats,
    close: () => new Promise((r) => {
      server.closeAllConnections?.();
      server.close(() => {
        for (const fd of Object.values(files)) fs.closeSync(fd);
        r();
      });
    }),
  };
}
