"""CLI: python -m analysis.inventory {source,binary,report,all} [options]. Progress goes to stderr.

  source  parse a proof-systems checkout -> artifacts/step1/source_inventory.json
  binary  read the installed o1js package -> artifacts/step1/binary_inventory.json
  report  merge both -> artifacts/step1/inventory.json, TYPES_TO_LOG.md, STEP_1.md
  all     source (if a checkout is configured) + binary + report

The checkout comes from --checkout, else WLH_BINDINGS_CHECKOUT / config.yaml inventory.checkout.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.common.config import ConfigError, load
from analysis.common.paths import BENCH, ROOT
from .binary_step import build_binary_inventory
from .report import write_reports
from .source_step import build_source_inventory


def _paths(cfg) -> dict:
    step1 = cfg.artifacts / "step1"
    return {"source": step1 / "source_inventory.json", "binary": step1 / "binary_inventory.json",
            "inventory": step1 / "inventory.json", "types_md": ROOT / "TYPES_TO_LOG.md", "step1_md": ROOT / "STEP_1.md"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.inventory", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["source", "binary", "report", "all"])
    ap.add_argument("--checkout", type=Path, help="proof-systems checkout (overrides the config)")
    ap.add_argument("--o1js", type=Path, default=BENCH / "node_modules" / "o1js", help="installed o1js package folder")
    ap.add_argument("--config", type=Path, default=None, help="config.yaml to use")
    args = ap.parse_args(argv)
    try:
        cfg = load(args.config)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    inv = cfg["inventory"]
    p = _paths(cfg)
    checkout = args.checkout or (Path(inv["checkout"]).expanduser() if inv.get("checkout") else None)
    if args.command in ("source", "all"):
        if checkout is None:
            if args.command == "source":
                print("no checkout: give --checkout, WLH_BINDINGS_CHECKOUT or inventory.checkout", file=sys.stderr)
                return 2
            print("[inventory] no checkout configured: source part skipped (the committed source_inventory.json, "
                  "if any, is used)", file=sys.stderr)
        else:
            build_source_inventory(checkout, list(inv["crates"]), p["source"], inv.get("expected_commit"))
    if args.command in ("binary", "all"):
        build_binary_inventory(args.o1js, p["binary"])
    if args.command in ("report", "all"):
        write_reports(p["source"] if p["source"].is_file() else None, p["binary"], p["inventory"], p["types_md"],
                      p["step1_md"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
