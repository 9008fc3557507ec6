// ESM resolve hook (module.register, runs on Node's loader thread): `import 'o1js'` and `import('o1js/...')`
// resolve as if imported from the anchor, a file beside the node_modules folder that holds the traced copy.
// Resolving from there (instead of returning a path) keeps o1js's own "exports" map and conditions in charge.
import { isO1jsSpecifier } from './o1js-specifier.mjs';

let anchor = null;

export async function initialize(data) {
  anchor = data?.anchor ?? null;
}

export async function resolve(specifier, context, nextResolve) {
  if (anchor !== null && isO1jsSpecifier(specifier)) return nextResolve(specifier, { ...context, parentURL: anchor });
  return nextResolve(specifier, context);
}
