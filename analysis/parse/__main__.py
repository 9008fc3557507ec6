"""CLI: python -m analysis.parse [LOG] [--json OUT] [--strict] [--max-examples N]

Parses a Step 2 trace log (standard input when LOG is missing or '-'), prints the check summary and
the never-dropped tables, optionally writes the result JSON (schemas/parse-result.schema.json).
Exit status: 0; 1 with --strict when any check failed; 2 for a usage error, unreadable input or a log that two
processes wrote.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from analysis.parse import MixedLogError, format_checks, format_table, format_type_sites, parse_file


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.parse", description=__doc__.split("\n\n")[1])
    ap.add_argument("log", nargs="?", default="-", help="trace log (default: standard input)")
    ap.add_argument("--json", metavar="OUT", help="write the result JSON here")
    ap.add_argument("--strict", action="store_true", help="exit 1 when any check fails (for CI)")
    ap.add_argument("--max-examples", type=int, default=10, metavar="N", help="example lines per check (default 10)")
    ap.add_argument("--sites", type=int, default=20, metavar="N", help="(type, site) rows to print (default 20)")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    if args.max_examples < 0:
        ap.error("--max-examples must be >= 0")

    started = time.perf_counter()

    def progress(lines: int) -> None:
        if not args.quiet:
            rate = lines / max(time.perf_counter() - started, 1e-9)
            print(f"parse: {lines:,} lines ({rate:,.0f} lines/s)", file=sys.stderr, flush=True)

    try:
        result = parse_file(args.log, max_examples=args.max_examples, progress=progress)
    except FileNotFoundError:
        print(f"parse: error: {args.log}: no such file", file=sys.stderr)
        return 2
    except (IsADirectoryError, PermissionError) as e:
        print(f"parse: error: {args.log}: {e.strerror.lower()}", file=sys.stderr)
        return 2
    except MixedLogError as e:
        print(f"parse: error: {args.log}:{e}", file=sys.stderr)
        return 2

    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    text = [format_checks(result), format_table(result)]
    if result.type_sites and args.sites:
        text.append(format_type_sites(result, args.sites))
    try:
        print("\n\n".join(text), flush=True)
    except BrokenPipeError:  # e.g. piped into head: not an error of the parse
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if args.strict and not result.ok:
        print(f"parse: failed checks: {', '.join(result.failed_checks)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
