// Reads the crash preload's environment variables (documented in preload.cjs) into one object.
// Bad values raise ConfigError with a one-line message; the preload prints it and exits with status 2.
'use strict';
const PAGE = 65536; // bytes per WebAssembly page
const MAX_PAGES = 65536; // 4 GiB, the most a wasm32 memory can have

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

function readConfig(env = process.env, argv = process.argv) {
  const cfg = { capPages: null, endRecord: null, watchdogSeconds: null, afterCrashSeconds: null, progressFile: null };
  if (env.WLH_MEMORY_CAP_MIB) {
    const mib = positiveNumber('WLH_MEMORY_CAP_MIB', env.WLH_MEMORY_CAP_MIB);
    const pages = Math.floor((mib * 2 ** 20) / PAGE);
    if (pages < 1 || pages > MAX_PAGES) throw new ConfigError(`WLH_MEMORY_CAP_MIB must be between 0.0625 and 4096 (1 to 65536 pages of 64 KiB), got ${mib}`);
    cfg.capPages = pages;
  }
  if (env.WLH_END_RECORD) cfg.endRecord = env.WLH_END_RECORD;
  if (env.WLH_WATCHDOG_SECONDS) {
    cfg.watchdogSeconds = positiveNumber('WLH_WATCHDOG_SECONDS', env.WLH_WATCHDOG_SECONDS);
    cfg.progressFile = env.WLH_PROGRESS_FILE || outArgument(argv);
  }
  if (env.WLH_WATCHDOG_AFTER_CRASH_SECONDS) {
    if (cfg.watchdogSeconds === null) throw new ConfigError('WLH_WATCHDOG_AFTER_CRASH_SECONDS needs WLH_WATCHDOG_SECONDS');
    cfg.afterCrashSeconds = Math.min(cfg.watchdogSeconds, positiveNumber('WLH_WATCHDOG_AFTER_CRASH_SECONDS', env.WLH_WATCHDOG_AFTER_CRASH_SECONDS));
  }
  return cfg;
}

module.exports = { readConfig, ConfigError, PAGE, MAX_PAGES, outArgument };
