// What-if `consume-forwarded` (wlh browser --whatif consume-forwarded): applied at run time from outside o1js,
// never by default. Classic script, loaded by the page before the o1js module (after the tracer when traced).
//
// o1js's web build forwards heavy kimchi calls from the page's main thread to its o1js worker:
// postMessage({type: 'run', message: {name, args, u32_ptr}}). The worker rebuilds each class argument as a
// fresh object holding the same pointer and calls the glue. For an argument the export takes BY VALUE, the
// worker's glue moves the pointer into Rust (`__destroy_into_raw()` on its copy) and Rust drops the value
// when done; but the main thread's own handle still holds the pointer and stays registered in the main
// thread's FinalizationRegistry, which frees the pointer again once the handle is collected: a double free.
// This script does on the main thread what wasm-bindgen's glue does for a by-value argument: right after the
// message is posted (and so cloned), the main thread's handle forgets its pointer (`__destroy_into_raw()`:
// pointer set to 0, unregistered). Which arguments: config.consumed_args, read by the server from the node
// glue of the same package (bench/browser/consumed-args.mjs).
(function () {
  'use strict';
  const G = self;
  const x = new XMLHttpRequest();
  x.open('GET', '/wlh/config.json', false);
  x.send();
  const consumed = JSON.parse(x.responseText).consumed_args || {};
  const Worker = G.Worker;
  const post = Worker.prototype.postMessage;
  const counts = {};
  // Each neutralised handle is also posted to the server (page.jsonl), synchronously: the record survives a
  // page that stops answering later.
  function record(name, arg, ptr, cls) {
    try {
      const r = new XMLHttpRequest();
      r.open('POST', '/wlh/events', false);
      r.send(JSON.stringify({ event: 'neutralised', export: name, arg, ptr, class: cls }) + '\n');
    } catch (e) {
      console.error(`[wlh] what-if: cannot record: ${e.message}`);
    }
  }
  Worker.prototype.postMessage = function (msg, transfer) {
    const call = msg && msg.type === 'run' && msg.message;
    const taken = call && consumed[call.name];
    const ret = transfer === undefined ? post.call(this, msg) : post.call(this, msg, transfer);
    if (taken && Array.isArray(call.args)) {
      for (const k of taken) {
        const h = call.args[k];
        if (h && typeof h.__destroy_into_raw === 'function' && h.__wbg_ptr) {
          const ptr = h.__destroy_into_raw() >>> 0;
          G.__wlhBrowser?.forgetPosted(ptr); // traced: no late free to report for it
          counts[call.name] = (counts[call.name] || 0) + 1;
          record(call.name, k, ptr, h.constructor.name);
        }
      }
    }
    return ret;
  };
  G.__wlhWhatif = { name: 'consume-forwarded', counts, exports: Object.keys(consumed).length };
  console.log(`[wlh] what-if consume-forwarded: main-thread handles passed by value to ${Object.keys(consumed).length} ` +
    'exports forget their pointer once forwarded');
})();
