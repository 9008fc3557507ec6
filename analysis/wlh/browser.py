"""`wlh browser`: run a program in headless Chromium against o1js's web build (bench/browser/run.mjs), then
write the same run record (run.json) as `wlh run`, so that `wlh report`, `wlh compare` and `wlh check` read a
browser run unchanged. browser.json (written by the driver) says how the page ended: program done, failed or
no answer, and whether the idle page kept answering."""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from analysis.common.paths import BENCH
from analysis.wlh.errors import WlhError
from analysis.wlh.paths import RUN_RECORD, SAMPLES, TRACE_LOG, cache_root, display_path
from analysis.wlh import runner
from analysis.wlh.runner import end_of_samples
from analysis.wlh.spec import O1jsSource

DRIVER = BENCH / "browser" / "run.mjs"
LOOP = BENCH / "browser" / "www" / "loop.mjs"
BROWSER_RECORD = "browser.json"
DEFAULT_CHROMIUM = "/usr/bin/chromium"  # Debian's package (bench/browser/run.mjs has the same default)
EXIT = {0: "done", 1: "failed", 2: "not run", 3: "no answer"}


@dataclass
class BrowserOptions:
    program: Path
    query: str
    out: Path
    label: str
    trace: bool = True
    snapshot: str = "proof"
    whatifs: tuple[str, ...] = ()
    watch: float = 30
    timeout: float = 3600
    stall: float = 300
    chromium: str | None = None


def check_ready() -> None:
    if not (BENCH / "browser" / "node_modules" / "puppeteer-core").is_dir():
        raise WlhError("bench/browser/node_modules is missing: run ./run setup (it installs puppeteer-core there)")


def command(opts: BrowserOptions, src: O1jsSource) -> list[str]:
    cmd = ["node", str(DRIVER), "--program", str(opts.program), "--o1js-dir", str(src.dir), "--out", str(opts.out),
           "--cache", str(cache_root() / "browser"), "--trace", "1" if opts.trace else "0", "--snapshot", opts.snapshot,
           "--watch", f"{opts.watch:g}", "--timeout", f"{opts.timeout:g}", "--stall", f"{opts.stall:g}"]
    if opts.query:
        cmd += ["--query", opts.query]
    for w in opts.whatifs:
        cmd += ["--whatif", w]
    if opts.chromium:
        cmd += ["--chromium", opts.chromium]
    return cmd


def check_chromium(given: str | None) -> None:
    chromium = Path(given or DEFAULT_CHROMIUM)
    if not chromium.exists():
        raise WlhError(f"no Chromium at {chromium}: install Debian's package (apt-get install chromium; ./run does it "
                       "where it runs as root) or pass --chromium PATH")


def run(opts: BrowserOptions, src: O1jsSource) -> tuple[int, dict]:
    check_ready()
    check_chromium(opts.chromium)
    if not (src.dir / "dist" / "web" / "index.js").is_file():
        raise WlhError(f"o1js {src.version} ({display_path(src.dir)}) has no web build (dist/web/index.js)")
    opts.out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    try:
        code = subprocess.run(command(opts, src), env=dict(os.environ)).returncode
    except KeyboardInterrupt:
        code = 130
    seconds = time.monotonic() - t0
    if code == 2 and not (opts.out / BROWSER_RECORD).exists():
        raise WlhError("the browser run could not start (its reason is above)")
    browser = {}
    if (opts.out / BROWSER_RECORD).exists():
        browser = json.loads((opts.out / BROWSER_RECORD).read_text())
    record = {
        "tool": "wlh browser", "label": opts.label,
        "program": [display_path(opts.program)] + ([f"?{opts.query}"] if opts.query else []),
        "o1js": {**src.record(), "build": "web"},
        "workers": None, "snapshot": opts.snapshot, "key_cache": "none (browser)",
        "whatifs": list(opts.whatifs), "traced": opts.trace,
        "started": started.isoformat(timespec="seconds"), "seconds": round(seconds, 1), "exit_code": code,
        "files": {"trace_log": TRACE_LOG, "samples": SAMPLES, "browser": BROWSER_RECORD},
        "browser": {k: browser.get(k) for k in ("chromium", "outcome", "error", "program_seconds", "idle",
                                                 "late_frees", "page_errors")},
        "guard": None, "instances": [],
        **end_of_samples(opts.out / SAMPLES),
    }
    (opts.out / RUN_RECORD).write_text(json.dumps(record, indent=1) + "\n")
    return code, record


def prepare_out(out: Path, force: bool) -> None:
    """`wlh run`'s checks and clearing of a run directory, and the files only a browser run writes."""
    runner.prepare_out(out, force)
    for name in (BROWSER_RECORD, "page.jsonl", "console.log", "report.json", "report.md", "report.png", "parse.json"):
        (out / name).unlink(missing_ok=True)
