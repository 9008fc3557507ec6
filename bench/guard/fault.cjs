// What a fault is, and the one line the guard prints about it.
// A fault is what o1js cannot recover from: a rayon worker that dies (o1js's main thread then waits for it for
// ever), or a wasm trap on the main thread. Out of memory is told apart by the Rust allocation-error path in
// the stack (`rust_oom`, `handle_alloc_error`), or by WASM memory at its ceiling when the trap came.
'use strict';
const MiB = 2 ** 20;
const OOM_STACK = /rust_oom|alloc_error|handle_alloc_error|capacity_overflow|Maximum memory size exceeded|WebAssembly\.Memory\.grow/;
const NEAR = 64 * MiB; // a request that does not fit is at most this far below the ceiling in o1js's runs

function cause(err, bytes, ceiling) {
  const text = `${err.error_name ?? ''} ${err.message ?? ''}\n${err.stack ?? ''}`;
  if (OOM_STACK.test(text)) return 'out_of_memory';
  if (bytes != null && ceiling != null && ceiling - bytes <= NEAR) return 'out_of_memory';
  return err.error_name === 'RuntimeError' ? 'wasm_trap' : 'error';
}

function isWasmTrap(err) {
  return err instanceof WebAssembly.RuntimeError || OOM_STACK.test(String(err && err.stack));
}

const mib = (b) => (b == null ? 'n/a' : (b / MiB).toFixed(1));

// e: the crash event (cause, proof, export, wasm_memory_bytes, ceiling_bytes, error_name, message, how).
function faultLine(e, { exitCode, record }) {
  const what = e.cause === 'out_of_memory' ? 'o1js ran out of WebAssembly memory'
    : e.how === 'worker_error' ? 'a worker thread of o1js died' : 'o1js\'s WebAssembly code trapped';
  const where = [e.export, e.how === 'worker_error' ? 'on a rayon worker' : 'on the main thread'].filter(Boolean).join(' ');
  const err = e.error_name ? `${e.error_name}: ${e.message}` : e.message;
  return `wlh-guard: ${what} in proof ${e.proof} (${where}: ${err}; memory ${mib(e.wasm_memory_bytes)} of ${mib(e.ceiling_bytes)} MiB). ` +
    `o1js cannot recover from this: the guard ends the process with exit code ${exitCode}. Record: ${record}. ` +
    'To see what fills the memory, run the same program under `wlh run`.';
}

function warnLine(e) {
  const pace = e.per_proof_bytes == null ? 'too few proofs yet to give a pace'
    : `byteLength grew ${mib(e.per_proof_bytes)} MiB per proof over the last ${e.pace_proofs} proofs` +
      (e.proofs_left == null ? ' (it is not growing: no forecast)' : `: about ${e.proofs_left} more proofs at that pace`);
  return `wlh-guard: WebAssembly memory at ${Math.round(100 * e.share)} % of its ceiling (${mib(e.wasm_memory_bytes)} of ` +
    `${mib(e.ceiling_bytes)} MiB) ${e.proofs_done ? `after proof ${e.proofs_done}` : 'during the first proof'}; ${pace}. A rough pace from byteLength steps, not a forecast ` +
    '(`wlh run` + `wlh report` give one).';
}

module.exports = { cause, isWasmTrap, faultLine, warnLine, MiB };
