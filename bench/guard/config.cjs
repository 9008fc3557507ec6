// Reads the guard's environment variables (documented in guard.cjs) into one object.
// Bad values raise ConfigError with a one-line message; the guard prints it and exits with status 2.
'use strict';
const path = require('node:path');

const PAGE = 65536; // bytes per WebAssembly page
const MAX_PAGES = 65536; // 4 GiB, the most a wasm32 memory can have
const DEFAULT_EXIT_CODE = 86;

class ConfigError extends Error {}

function positiveNumber(name, text) {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || x <= 0) throw new ConfigError(`${name} must be a positive number, got '${text}'`);
  return x;
}

// The value after `--out` in the program's own arguments (prove-loop.mjs writes its JSONL there).
function outArgument(argv) {
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--out' && i + 1 < argv.length) return argv[i + 1];
    if (argv[i].startsWith('--out=')) return argv[i].slice('--out='.length);
  }
  return null;
}

function readConfig(env = process.env, argv = process.argv, pid = process.pid, cwd = process.cwd()) {
  const cfg = {
    enabled: env.WLH_GUARD !== '0',
    capPages: null,
    // WLH_GUARD_RECORD given: every event is written there. Otherwise the record is only written when there is
    // something to say (a warning or a fault), to wlh-guard-<pid>.jsonl in the current folder.
    record: env.WLH_GUARD_RECORD || path.join(cwd, `wlh-guard-${pid}.jsonl`),
    eager: Boolean(env.WLH_GUARD_RECORD),
    graceSeconds: 5,
    exitCode: DEFAULT_EXIT_CODE,
    warnShare: 0.9,
    watchdogSeconds: null,
    progressFile: null,
  };
  if (env.WLH_MEMORY_CAP_MIB) {
    const mib = positiveNumber('WLH_MEMORY_CAP_MIB', env.WLH_MEMORY_CAP_MIB);
    const pages = Math.floor((mib * 2 ** 20) / PAGE);
    if (pages < 1 || pages > MAX_PAGES) throw new ConfigError(`WLH_MEMORY_CAP_MIB must be between 0.0625 and 4096 (1 to 65536 pages of 64 KiB), got ${mib}`);
    cfg.capPages = pages;
  }
  if (env.WLH_GUARD_GRACE_SECONDS) cfg.graceSeconds = positiveNumber('WLH_GUARD_GRACE_SECONDS', env.WLH_GUARD_GRACE_SECONDS);
  if (env.WLH_GUARD_EXIT_CODE) {
    const code = Number(env.WLH_GUARD_EXIT_CODE);
    if (!Number.isInteger(code) || code < 1 || code > 125) throw new ConfigError(`WLH_GUARD_EXIT_CODE must be an integer from 1 to 125, got '${env.WLH_GUARD_EXIT_CODE}'`);
    cfg.exitCode = code;
  }
  if (env.WLH_GUARD_WARN_AT) {
    const share = positiveNumber('WLH_GUARD_WARN_AT', env.WLH_GUARD_WARN_AT);
    if (share >= 1) throw new ConfigError(`WLH_GUARD_WARN_AT is a share of the ceiling below 1 (e.g. 0.9), got ${share}`);
    cfg.warnShare = share;
  }
  if (env.WLH_WATCHDOG_SECONDS) {
    cfg.watchdogSeconds = positiveNumber('WLH_WATCHDOG_SECONDS', env.WLH_WATCHDOG_SECONDS);
    cfg.progressFile = env.WLH_PROGRESS_FILE || outArgument(argv);
  }
  return cfg;
}

module.exports = { readConfig, ConfigError, PAGE, MAX_PAGES, DEFAULT_EXIT_CODE, outArgument };
