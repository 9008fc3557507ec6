// Slots of the SharedArrayBuffer (Int32Array) that every thread of a run shares with the watchdog.
'use strict';
module.exports = {
  HEARTBEAT: 0, // bumped on progress (globalThis.wlhCrashProgress()); the watchdog watches it
  CRASHES: 1, // crash events recorded so far, by any thread (the exit record adds "how: exit" only if 0)
  DONE: 2, // 1 once the main thread is exiting: the watchdog stands down
  FIRED: 3, // 1 once the watchdog has fired
  SLOTS: 4,
  create() {
    return new SharedArrayBuffer(4 * 4);
  },
};
