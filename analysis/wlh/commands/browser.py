"""wlh browser: trace a program in headless Chromium against o1js's web build."""
from __future__ import annotations

import argparse
from pathlib import Path

from analysis.wlh import browser, spec
from analysis.wlh.commands.run import positive_int
from analysis.wlh.errors import WlhError
from analysis.wlh.runner import warn

SCENARIOS = ("trivial", "recursive")


class BrowserCommand:
    name = "browser"
    help = "run a program in headless Chromium against o1js's web build, traced (writes a run directory)"
    description = """\
Run an ES module that imports 'o1js' in a page of headless Chromium (Debian's chromium package, driven by
puppeteer-core; no browser is downloaded), against o1js's web build: the page is served from 127.0.0.1 with
the cross-origin isolation headers o1js needs, 'o1js' resolves through an import map, and the web build's
bindings wasm is swapped for an instrumented one at its one main-thread instantiation. The same tracer as
`wlh run` records trace.log (streamed out while the page runs: the page may hang afterwards), samples.jsonl
and run.json, so `wlh report`, `wlh compare` and `wlh check` read the run unchanged. browser.json says how the
page ended and whether the idle page kept answering (o1js's web build is known to hang after proving; see
BROWSER.md). Progress goes to stderr; exit code 0 when the program finished, 1 when it threw, 3 when the page
stopped answering or ran out of time, 2 when nothing could be run."""
    epilog = """\
examples:
  wlh browser --out runs/web -- prove.mjs                 # your module; `import ... from 'o1js'` as usual
  wlh browser --scenario recursive --proofs 5 --out runs/web-rec
  wlh browser --scenario trivial --whatif consume-forwarded --out runs/web-fixed
  wlh report runs/web
--snapshot proof (default): one snapshot before the first proof and one after each; manual: where the
program calls  await globalThis.wlhSnapshot?.('label')."""

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("--o1js", metavar="SPEC", help="release version or o1js folder (default: the pinned release)")
        p.add_argument("--out", type=Path, metavar="DIR", required=True, help="run directory")
        p.add_argument("--force", action="store_true", help="replace the run in a non-empty --out")
        p.add_argument("--scenario", choices=SCENARIOS, help="prove a Step 0 scenario instead of a program of yours")
        p.add_argument("--proofs", type=positive_int, default=3, metavar="N", help="proofs of --scenario (default 3)")
        p.add_argument("--workers", type=positive_int, metavar="N", help="rayon workers of --scenario (setNumberOfWorkers)")
        p.add_argument("--snapshot", choices=["proof", "manual"], default="proof")
        p.add_argument("--whatif", action="append", default=[], metavar="NAME",
                       help="apply a what-if at run time (consume-forwarded: see BROWSER.md)")
        p.add_argument("--no-trace", dest="trace", action="store_false",
                       help="run the page with o1js unchanged (no tracer; to see how the page behaves untraced)")
        p.add_argument("--watch", type=float, default=30, metavar="S",
                       help="after the program ends, check S seconds that the idle page still answers (default 30)")
        p.add_argument("--timeout", type=float, default=3600, metavar="S", help="give up on the program after S seconds")
        p.add_argument("--chromium", metavar="PATH", help="the Chromium executable (default /usr/bin/chromium)")
        p.add_argument("--label", help="name of the run in reports")
        p.add_argument("program", nargs=argparse.REMAINDER, metavar="-- MODULE.mjs",
                       help="your ES module (after --), unless --scenario")

    def run(self, args: argparse.Namespace) -> int:
        program = [a for a in args.program if a != "--"]
        if bool(program) == bool(args.scenario):
            raise WlhError("give either --scenario NAME or a program after -- (one ES module)")
        if program:
            if len(program) != 1:
                raise WlhError(f"one module after -- (got {' '.join(program)}); pass values to it in the page's URL "
                               "query is not supported yet")
            path, query = Path(program[0]), ""
            if not path.is_file():
                raise WlhError(f"{path}: no such file")
        else:
            path = browser.LOOP
            query = f"scenario={args.scenario}&proofs={args.proofs}" + (f"&workers={args.workers}" if args.workers else "")
        browser.check_chromium(args.chromium)
        browser.check_ready()
        src = spec.resolve(args.o1js, None)
        browser.prepare_out(args.out, args.force)
        label = args.label or (f"browser {args.scenario}" if args.scenario else path.name)
        warn(f"o1js {src.version} ({src.kind} {src.spec}), web build, in headless Chromium; recording into {args.out}")
        opts = browser.BrowserOptions(program=path.resolve(), query=query, out=args.out, label=label, trace=args.trace,
                                      snapshot=args.snapshot, whatifs=tuple(args.whatif), watch=args.watch,
                                      timeout=args.timeout, chromium=args.chromium)
        code, record = browser.run(opts, src)
        b = record["browser"]
        idle = b.get("idle") or {}
        hang = ("; the idle page stopped answering "
                f"{idle['stopped_after_seconds']} s after the program ended") if idle.get("answered") is False else ""
        seen = (f"{record['snapshots']} snapshot(s), {record['proofs']} proof(s)" if args.trace
                else "untraced: no snapshots, proofs not counted")
        warn(f"{browser.EXIT.get(code, code)}: {seen}{hang}" + (f"; next: wlh report {args.out}" if args.trace else ""))
        return code
