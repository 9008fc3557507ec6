// Makes the user's unchanged program load the chosen o1js copy: ES modules through a resolve hook
// (hooks.mjs), CommonJS through Module._resolveFilename. Both resolve 'o1js' as if required from an
// anchor file in DIR, where DIR/node_modules/o1js is the copy; every other specifier is untouched.
import path from 'node:path';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isO1jsSpecifier } from './o1js-specifier.mjs';

const require = createRequire(import.meta.url);

export function redirectO1js(anchorDir) {
  const anchorFile = path.join(path.resolve(anchorDir), 'wlh-anchor.cjs'); // need not exist: only its folder counts
  register('./hooks.mjs', import.meta.url, { data: { anchor: pathToFileURL(anchorFile).href } });

  const Module = require('node:module');
  const parent = new Module(anchorFile, null);
  parent.filename = anchorFile;
  parent.paths = Module._nodeModulePaths(path.dirname(anchorFile));
  const original = Module._resolveFilename;
  Module._resolveFilename = function (request, parentModule, isMain, options) {
    // `options.paths` (require.resolve(x, {paths})) is dropped for o1js: the copy is the only answer.
    if (isO1jsSpecifier(request)) return original.call(this, request, parent, isMain);
    return original.call(this, request, parentModule, isMain, options);
  };
  return path.join(path.dirname(anchorFile), 'node_modules', 'o1js');
}
