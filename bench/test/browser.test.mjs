// wlh browser's node side, without a browser: which arguments each export takes by value (read from the node
// glue), the naming of the web wasm's allocator functions, and the local server (headers, what it serves).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { consumedArgs, consumedArgsFromGlue } from '../browser/consumed-args.mjs';
import { nameWebWasm, NamingError } from '../browser/name-web-wasm.mjs';
import { startServer } from '../browser/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const o1js = path.join(here, '..', 'node_modules', 'o1js');

test('by-value arguments are read from the glue: __destroy_into_raw on a parameter, optional ones too', () => {
  const glue = `
module.exports.take = function(a, b, c) {
    _assertClass(b, X);
    var ptr0 = b.__destroy_into_raw();
    const ret = wasm.take(a, ptr0, c);
};
module.exports.borrow = function(a) {
    const ret = wasm.borrow(a.__wbg_ptr);
};
module.exports.maybe = function(x, y) {
    let ptr0 = 0;
    if (!isLikeNone(y)) {
        ptr0 = y.__destroy_into_raw();
    }
};`;
  assert.deepEqual(consumedArgsFromGlue(glue), { take: [1], maybe: [1] });
});

test('o1js 2.15.0: the six prover/verifier exports the web build forwards take these arguments by value', () => {
  const m = consumedArgs(o1js);
  for (const f of ['fp', 'fq']) {
    assert.deepEqual(m[`caml_pasta_${f}_plonk_proof_create`], [1]); // the witness
    assert.deepEqual(m[`caml_pasta_${f}_plonk_proof_verify`], [0, 1]); // verifier index, proof
    assert.deepEqual(m[`${f}_oracles_create`], [1, 2]);
  }
});

test('the nameless web wasm gets dlmalloc names; a wasm that has names is refused', () => {
  const web = fs.readFileSync(path.join(o1js, 'dist/web/web_bindings/kimchi_wasm_bg.wasm'));
  const r = nameWebWasm(web);
  assert.equal(new Set(Object.values(r.hooks)).size, 7);
  assert.ok(r.dlmalloc_lock_offset > 0 && r.bytes.length > web.length);
  const node = fs.readFileSync(path.join(o1js, 'dist/node/bindings/compiled/node_bindings/kimchi_wasm_bg.wasm'));
  assert.throws(() => nameWebWasm(node), NamingError);
});

test('the server isolates the page (COOP/COEP), maps o1js, serves the program folder and nothing above it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-browser-'));
  fs.writeFileSync(path.join(dir, 'prog.mjs'), "import 'o1js';\n");
  fs.writeFileSync(path.join(os.tmpdir(), 'wlh-secret.txt'), 'no');
  const srv = await startServer({ o1jsDir: o1js, programFile: path.join(dir, 'prog.mjs'), out: path.join(dir, 'out'),
    trace: false, cacheDir: path.join(dir, 'cache') });
  try {
    const page = await fetch(`${srv.origin}/`);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const html = await page.text();
    assert.match(html, /"o1js":"\/o1js\/dist\/web\/index\.js"/);
    assert.match(html, /import\("\/program\/prog\.mjs"\)/);
    assert.doesNotMatch(html, /wlh-tracer/); // untraced: o1js unchanged
    assert.equal((await fetch(`${srv.origin}/program/prog.mjs`)).status, 200);
    assert.equal((await fetch(`${srv.origin}/o1js/package.json`)).status, 200);
    assert.equal((await fetch(`${srv.origin}/program/..%2Fwlh-secret.txt`)).status, 404);
    assert.equal((await fetch(`${srv.origin}/program/%2E%2E/%2E%2E/etc/passwd`)).status, 404);
    const post = await fetch(`${srv.origin}/wlh/samples`, { method: 'POST', body: '{"event":"sample","iteration":1}\n' });
    assert.equal(post.status, 204);
    assert.deepEqual(srv.stats.samples, [{ event: 'sample', iteration: 1 }]);
  } finally {
    await srv.close();
  }
  assert.match(fs.readFileSync(path.join(dir, 'out', 'samples.jsonl'), 'utf8'), /"iteration":1/);
});
