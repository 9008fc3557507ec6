// Which arguments each kimchi export takes BY VALUE (ownership moves into Rust), read from the unminified
// node glue of the same o1js package: wasm-bindgen writes `var ptrK = arg.__destroy_into_raw();` for such an
// argument (the JS handle forgets its pointer and leaves the FinalizationRegistry). The web build's glue has
// the same signatures (one Rust crate, two wasm-bindgen targets), minified. The browser what-if
// `consume-forwarded` needs the map: o1js's web build forwards some calls to its worker, and for these
// arguments the main thread's handle must forget its pointer as the node glue's would (BROWSER.md).
import fs from 'node:fs';
import path from 'node:path';

const GLUES = ['dist/node/bindings/compiled/node_bindings/kimchi_wasm.cjs',
  'dist/node/bindings/compiled/_node_bindings/plonk_wasm.cjs'];

export function consumedArgsFromGlue(text) {
  const out = {};
  const starts = [...text.matchAll(/^(?:module\.)?exports\.(\w+) = function\s*\(([^)]*)\)\s*\{/gm)];
  starts.forEach((m, i) => {
    const body = text.slice(m.index, i + 1 < starts.length ? starts[i + 1].index : text.length);
    const params = m[2].split(',').map((s) => s.trim()).filter(Boolean);
    const taken = [...body.matchAll(/=\s*(\w+)\.__destroy_into_raw\(\)/g)].map((x) => params.indexOf(x[1])).filter((k) => k >= 0);
    if (taken.length) out[m[1]] = [...new Set(taken)].sort((a, b) => a - b);
  });
  return out;
}

export function consumedArgs(o1jsDir) {
  const glue = GLUES.map((g) => path.join(o1jsDir, g)).find((f) => fs.existsSync(f));
  if (!glue) throw new Error(`${o1jsDir}: no node glue (kimchi_wasm.cjs, plonk_wasm.cjs) to read argument ownership from`);
  return consumedArgsFromGlue(fs.readFileSync(glue, 'utf8'));
}
