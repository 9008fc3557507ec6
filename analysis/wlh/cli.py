"""`wlh`: the command-line entry point. Builds the parser from the command classes and dispatches;
a WlhError (a user mistake, an unusable input) is printed as one line with exit code 2, anything else
is a bug and keeps its traceback."""
from __future__ import annotations

import argparse
import sys

from analysis.wlh.commands import COMMANDS
from analysis.wlh.errors import WlhError

DESCRIPTION = """\
wlh finds what leaks in o1js's WebAssembly memory, for any o1js program and any o1js build: it records
every allocation and every Rust object of o1js's WASM bindings while your program runs, then reports
what was never freed, how fast memory grows per proof, and where the objects were created.

  wlh run --o1js 2.15.0 --out runs/base -- node prove.mjs     # record
  wlh report runs/base                                         # read the recording"""

EPILOG = """\
compare a build of your own with a release:
  wlh run --o1js path/to/o1js --out runs/fix -- node prove.mjs
  wlh compare runs/base runs/fix

`wlh COMMAND --help` describes each command."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wlh", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND", required=True)
    for cls in COMMANDS:
        cmd = cls()
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.description, epilog=cmd.epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        cmd.add_arguments(p)
        p.set_defaults(handler=cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler.run(args)
    except WlhError as e:
        print(f"wlh: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wlh: interrupted", file=sys.stderr)
        return 130
