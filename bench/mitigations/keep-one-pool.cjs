// Mitigation "keep-one-pool": what if an o1js release before 2.15 kept one rayon thread pool for the life of
// the process, as 2.15.0 does, instead of building a pool around every proving call and tearing it down?
//
// The release matrix found that o1js 2.7.0 and 2.10.0 leak each rayon worker's stack (about 1 MiB a worker)
// per proof: their node backend calls the glue's initThreadPool before each call and exitThreadPool after it,
// and the worker threads' wasm stacks and TLS are never given back (wasm-bindgen's thread destroy is not
// called). Here the first initThreadPool builds the pool as usual; later ones build nothing, and
// exitThreadPool does nothing, so every call runs on the first pool. o1js's backend waits for a "workers
// ready" promise that its own startWorkers() resolves once the new workers are up: for a reused pool we call
// startWorkers with a builder of zero threads, which resolves it at once.
// Releases whose glue has no initThreadPool/exitThreadPool are left untouched (apply() reports it).
'use strict';

const stats = { init_calls: 0, pools_built: 0, pools_reused: 0, exits_skipped: 0 };

// What startWorkers() needs of a wasm-bindgen-rayon PoolBuilder when no thread is to be started.
const noThreads = { numThreads: () => 0, receiver: () => 0, build() {} };

function apply(glue) {
  const init = glue.initThreadPool;
  if (typeof init !== 'function' || typeof glue.exitThreadPool !== 'function') {
    return { applied: false, reason: 'this glue has no initThreadPool/exitThreadPool' };
  }
  let built = false;
  glue.initThreadPool = function (numThreads, workerSource) {
    stats.init_calls++;
    if (!built) {
      built = true;
      stats.pools_built++;
      return init.call(this, numThreads, workerSource);
    }
    stats.pools_reused++;
    return Promise.resolve(typeof globalThis.startWorkers === 'function'
      ? globalThis.startWorkers(workerSource, null, noThreads) : undefined);
  };
  glue.exitThreadPool = function () {
    stats.exits_skipped++;
    return Promise.resolve();
  };
  return { applied: true, functions: ['initThreadPool', 'exitThreadPool'] };
}

module.exports = {
  name: 'keep-one-pool',
  apply,
  stats: () => ({ ...stats }),
};
