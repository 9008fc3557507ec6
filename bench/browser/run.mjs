// `wlh browser`'s driver: runs a program (an ES module that imports 'o1js') in a page of headless Chromium
// (Debian's package; puppeteer-core drives it, nothing is downloaded), against o1js's web build, traced or
// not, and records into --out what the page streams out while it runs (the page may hang afterwards):
//   trace.log       the tracer's lines, as in node (server.mjs)
//   samples.jsonl   start, one sample per snapshot, end (schemas/bench-event.schema.json)
//   page.jsonl      what the page saw: late frees of handles forwarded to the o1js worker
//   console.log     console lines of every thread
//   browser.json    how it ended: program done / failed / no answer, whether the idle page kept answering,
//                   where each thread was when it stopped answering (CDP Debugger.pause), timings
// Progress goes to stderr. Exit: 0 the program finished (a later hang is recorded, not an error), 1 it
// threw, 3 it stopped answering or ran out of time, 2 nothing could be run (no Chromium, o1js never loaded).
//
//   node run.mjs --program FILE [--query Q] --o1js-dir DIR --out DIR --cache DIR [--trace 0|1]
//                [--snapshot proof|manual] [--whatif NAME]... [--timeout S] [--stall S] [--watch S]
//                [--chromium PATH]
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startServer, WHATIFS } from './server.mjs';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

class UsageError extends Error {}

function options(argv) {
  const { values: a } = parseArgs({ args: argv, options: {
    program: { type: 'string' }, query: { type: 'string', default: '' }, 'o1js-dir': { type: 'string' },
    out: { type: 'string' }, cache: { type: 'string' }, trace: { type: 'string', default: '1' },
    snapshot: { type: 'string', default: 'proof' }, whatif: { type: 'string', multiple: true, default: [] },
    timeout: { type: 'string', default: '3600' }, stall: { type: 'string', default: '300' },
    watch: { type: 'string', default: '30' }, chromium: { type: 'string', default: DEFAULT_CHROMIUM },
  } });
  for (const k of ['program', 'o1js-dir', 'out', 'cache']) if (!a[k]) throw new UsageError(`--${k} is required`);
  if (!fs.existsSync(a.program)) throw new UsageError(`--program ${a.program}: no such file`);
  if (!['proof', 'manual'].includes(a.snapshot)) throw new UsageError(`--snapshot ${a.snapshot}: expected proof or manual`);
  for (const w of a.whatif) if (!WHATIFS.includes(w)) throw new UsageError(`--whatif ${w}: known what-ifs: ${WHATIFS.join(', ')}`);
  if (!fs.existsSync(a.chromium)) {
    throw new UsageError(`no Chromium at ${a.chromium}: install Debian's package (apt-get install chromium; ./run does ` +
      'it where it may) or pass --chromium PATH');
  }
  return { ...a, trace: a.trace !== '0', timeout: Number(a.timeout), stall: Number(a.stall), watch: Number(a.watch) };
}

export async function run(a) {
  const out = path.resolve(a.out);
  const t0 = Date.now();
  const secs = () => +((Date.now() - t0) / 1000).toFixed(1);
  const say = (m) => process.stderr.write(`[wlh browser +${secs()}s] ${m}\n`);
  const { default: puppeteer } = await import('puppeteer-core');
  const srv = await startServer({ o1jsDir: a['o1js-dir'], programFile: a.program, out, trace: a.trace, whatifs: a.whatif,
    snapshot: a.snapshot, query: a.query, cacheDir: a.cache, log: say });
  // stderr dropped: Debian's wrapper script prints a shell warning on machines with much memory
  const version = execFileSync(a.chromium, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  say(`${version}; serving ${path.basename(a.program)} on ${srv.origin}${a.trace ? ' (traced)' : ''}` +
    `${a.whatif.length ? `, what-if ${a.whatif.join(', ')}` : ''}`);
  const browser = await puppeteer.launch({
    executablePath: a.chromium, headless: true,
    args: ['--no-sandbox', '--js-flags=--expose-gc', '--disable-gpu', '--disable-dev-shm-usage'], protocolTimeout: 0,
  });
  const result = { chromium: version, program: path.basename(a.program), query: a.query, traced: a.trace,
    whatifs: a.whatif, snapshot: a.snapshot, outcome: null, error: null, program_seconds: null, page_errors: [],
    idle: null, stacks: [], log_bytes: 0 };
  const consoleLog = fs.openSync(path.join(out, 'console.log'), 'a');
  let ended = null; // 'done' | 'failed'
  let lastActivity = Date.now();
  const onConsole = (where) => (msg) => {
    lastActivity = Date.now();
    const text = msg.text();
    fs.writeSync(consoleLog, `[${where} +${secs()}s] ${msg.type()}: ${text}\n`);
    if (text.startsWith('[wlh] program done')) ended ??= 'done';
    else if (text.startsWith('[wlh] program failed')) {
      ended ??= 'failed';
      result.error = text.slice('[wlh] program failed: '.length);
    }
    if (/^\[(wlh|wlh-loop[^\]]*)\] /.test(text) && !text.startsWith('[wlh] program')) say(text);
  };
  try {
    const page = await browser.newPage();
    page.on('console', onConsole('page'));
    page.on('pageerror', (e) => {
      result.page_errors.push({ t: secs(), message: String(e.message).slice(0, 500),
        stack: String(e.stack || '').split('\n').slice(1, 8).map((l) => l.trim()) });
      say(`page error: ${String(e.message).split('\n')[0]}`);
    });
    page.on('workercreated', (w) => w.on('console', onConsole('worker')));
    const started = Date.now();
    await page.goto(`${srv.origin}/`);
    if (!(await page.evaluate(() => globalThis.crossOriginIsolated))) throw new Error('the page is not cross-origin isolated');

    // Where is each thread? Debugger.pause interrupts JS and wasm; a thread blocked elsewhere may not pause.
    async function dumpStacks(label) {
      const within = (p, ms) => Promise.race([p, new Promise((_, j) => setTimeout(() => j(new Error(`no answer in ${ms} ms`)), ms))]);
      const targets = [['page', await page.createCDPSession()], ...page.workers().map((w, i) => [`worker ${i + 1}`, w.client])];
      for (const [name, client] of targets) {
        const entry = { when: label, thread: name, paused: false, frames: [] };
        try {
          const paused = new Promise((r) => client.once('Debugger.paused', r));
          await within(client.send('Debugger.enable'), 5000);
          await within(client.send('Debugger.pause'), 5000);
          const ev = await Promise.race([paused, new Promise((r) => setTimeout(() => r(null), 5000))]);
          if (ev) {
            entry.paused = true;
            entry.frames = ev.callFrames.slice(0, 12).map((f) => `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.location.lineNumber}`);
            await within(client.send('Debugger.resume'), 5000);
          }
        } catch (e) {
          entry.error = e.message;
        }
        result.stacks.push(entry);
        say(`${label}: ${name}: ${entry.paused ? entry.frames.slice(0, 3).join(' < ') : entry.error || 'did not pause in 5 s'}`);
      }
    }

    const deadline = started + a.timeout * 1000;
    while (!ended && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      const quiet = (Date.now() - Math.max(lastActivity, srv.stats.lastAnyAt)) / 1000;
      if (quiet > a.stall) {
        say(`no output from the page for ${quiet.toFixed(0)} s while the program runs: where each thread is`);
        await dumpStacks('stalled');
        break;
      }
    }
    result.program_seconds = +((Date.now() - started) / 1000).toFixed(1);
    result.outcome = ended ?? 'no_answer';
    say(ended === 'done' ? `program done in ${result.program_seconds} s` : ended === 'failed'
      ? `program failed after ${result.program_seconds} s: ${String(result.error).split('\n')[0]}`
      : `program did not finish: no answer after ${result.program_seconds} s`);
    const loaded = await Promise.race([page.evaluate(() => !!globalThis.kimchi_wasm && (!globalThis.__wlhBrowser ||
      globalThis.__wlhBrowser.status().swapped > 0)), new Promise((r) => setTimeout(() => r(null), 5000))]);
    result.o1js_loaded = loaded;
    result.forwarded = await Promise.race([page.evaluate(() => globalThis.__wlhBrowser?.forwarded ?? null),
      new Promise((r) => setTimeout(() => r(null), 5000))]);
    // the forwarded exports that take an argument by value (the node glue's ownership, consumed-args.mjs)
    const consumed = srv.config.consumed_args || {};
    result.forwarded_by_value = Object.fromEntries(Object.keys(result.forwarded || {}).filter((n) => consumed[n])
      .map((n) => [n, { calls: result.forwarded[n], args: consumed[n] }]));
    // what the what-if neutralised, from the events it posted (readable even if the page stopped answering)
    const neutralised = srv.stats.events.filter((e) => e.event === 'neutralised');
    result.whatif_counts = a.whatif.length ? Object.fromEntries([...new Set(neutralised.map((e) => e.export))]
      .map((n) => [n, neutralised.filter((e) => e.export === n).length])) : null;

    // The web build is known to hang after proving: does the idle page keep answering?
    if (ended && a.watch > 0) {
      const probe = () => Promise.race([page.evaluate(() => { globalThis.gc?.(); return true; }).catch(() => false),
        new Promise((r) => setTimeout(() => r(false), 5000))]);
      const until = Date.now() + a.watch * 1000;
      const idleStart = Date.now();
      result.idle = { watched_seconds: a.watch, answered: true, stopped_after_seconds: null };
      while (Date.now() < until) {
        if (!(await probe())) {
          result.idle = { watched_seconds: a.watch, answered: false, stopped_after_seconds: +((Date.now() - idleStart) / 1000).toFixed(1) };
          say(`the idle page stopped answering ${result.idle.stopped_after_seconds} s after the program ended`);
          await dumpStacks('idle hang');
          break;
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
      if (result.idle.answered) say(`the idle page kept answering for ${a.watch} s (gc() forced every 2 s)`);
    }
    if (loaded === false) {
      result.outcome = result.outcome === 'done' ? 'no_o1js' : result.outcome;
      say('the page never loaded o1js\'s WASM bindings (does the program import \'o1js\'?)');
    }
    if (a.trace) { // let the drain worker post what is left: wait until no log bytes came for 3 s
      for (let i = 0; i < 30 && Date.now() - srv.stats.lastLogAt < 3000; i++) await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    result.log_bytes = srv.stats.logBytes;
    result.late_frees = srv.stats.events.filter((e) => e.event === 'late_free').length;
    const samples = srv.stats.samples.filter((s) => s.event === 'sample');
    result.proofs = samples.length ? Math.max(...samples.map((s) => s.proofs_done ?? 0)) : 0;
    const proc = browser.process();
    await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 5000))]);
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    fs.appendFileSync(path.join(out, 'samples.jsonl'), JSON.stringify({ event: 'end', ok: result.outcome === 'done',
      exit_code: null, proofs: result.proofs, wrap_prover_calls: result.proofs, glue_loaded: result.o1js_loaded ?? null,
      outcome: result.outcome, t: secs() }) + '\n');
    await srv.close();
    fs.closeSync(consoleLog);
    fs.writeFileSync(path.join(out, 'browser.json'), JSON.stringify(result, null, 1) + '\n');
  }
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let a;
  try {
    a = options(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`wlh browser: ${e.message}\n`);
    process.exit(2);
  }
  run(a).then((r) => process.exit({ done: 0, failed: 1, no_o1js: 2 }[r.outcome] ?? 3), (e) => {
    process.stderr.write(`wlh browser: ${e.message}\n`);
    process.exit(2);
  });
}
