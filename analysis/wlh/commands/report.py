"""wlh report: Markdown + PNG + JSON for one recorded run."""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from analysis.wlh.rundir import open_run


class ReportCommand:
    name = "report"
    help = "what leaks in one run: Markdown, PNG and JSON"
    description = """\
Parse a run's trace log with the Step 3 parser and write, by default into the run directory:
  report.md     parse checks, bytes never dropped per type, per-proof leak rates with their spread,
                creation sites, the memory decomposition per snapshot (generated, do not edit)
  report.png    the decomposition of WASM memory per snapshot
  report.json   the figures (run summary, rates, types, sites) for other tools, and `wlh compare`
  parse.json    the parser's result (schemas/parse-result.schema.json)
The headline is also printed on stdout."""
    epilog = """\
example:
  wlh run --o1js 2.15.0 --out runs/base -- node prove.mjs
  wlh report runs/base            # or: wlh report runs/base/trace.log --out elsewhere"""

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("run", type=Path, metavar="DIR|LOG", help="a `wlh run` directory or a trace log")
        p.add_argument("--out", type=Path, metavar="DIR", help="where to write (default: beside the log)")

    def run(self, args: argparse.Namespace) -> int:
        # Imported here: the parser and matplotlib are not needed by `wlh run` or `wlh --help`.
        from analysis.wlh import report_md
        from analysis.wlh.summary import analyze, summarize

        run = open_run(args.run)
        out = args.out or run.folder
        out.mkdir(parents=True, exist_ok=True)
        result, f = analyze(run)
        s = summarize(run, result, f)
        md, png = out / "report.md", out / "report.png"
        report_md.write(run, result, f, s, md, png)
        (out / "report.json").write_text(json.dumps({"summary": s, "figures": asdict(f)}, indent=1, default=str) + "\n")
        (out / "parse.json").write_text(json.dumps(result.to_dict(), separators=(",", ":")) + "\n")
        print(f"wlh report: {run.label}")
        print("\n".join(report_md.headline(s)))
        print(f"written: {md}, {png}, {out / 'report.json'}, {out / 'parse.json'}")
        return 0
