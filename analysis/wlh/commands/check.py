"""wlh check: does a run stay within a leak budget? Exit 0 (yes) or 1 (no), with one line that says which
limit failed and by how much: a gate for CI."""
from __future__ import annotations

import argparse
from pathlib import Path

from analysis.wlh.errors import WlhError


def _type_limit(text: str) -> tuple[str, float]:
    name, sep, value = text.rpartition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not TYPE=MIB (e.g. WasmFpPolyComm=0.01)") from None


class CheckCommand:
    name = "check"
    help = "pass or fail a run against a leak budget (exit 0 or 1): a CI gate"
    description = """\
Judge one recorded run against a leak budget and exit 0 when it stays within every limit, 1 when it does
not, printing one line that names each limit that failed and by how much (2: the run or budget is unusable).
Limits (in a budget file, YAML or JSON, schemas/wlh-budget.schema.json; flags override the file):
  live_mib_per_proof            steady live-heap growth per proof, MiB
  never_dropped_mib_per_proof   {TYPE: MiB} never dropped per proof by Rust type ("*": any other type)
  min_proofs_to_ceiling         the forecast must not reach the ceiling within this many more proofs
  ceiling_mib                   the ceiling of that forecast (default 4096)
A run in which several processes loaded o1js passes only if every one of them stays within the budget."""
    epilog = """\
example (o1js CI: fail a pull request that leaks):
  wlh run --o1js . --out runs/pr -- node prove.mjs
  wlh check runs/pr --budget wlh-budget.yaml        # or: --live-mib-per-proof 0.01
a budget file:
  live_mib_per_proof: 0.01
  never_dropped_mib_per_proof: {"*": 0.001}
  min_proofs_to_ceiling: 100000"""

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("run", type=Path, metavar="DIR|LOG", help="a `wlh run` directory or a trace log")
        p.add_argument("--budget", type=Path, metavar="FILE", help="budget file (YAML or JSON)")
        p.add_argument("--live-mib-per-proof", type=float, metavar="MIB")
        p.add_argument("--type-mib-per-proof", type=_type_limit, action="append", default=[], metavar="TYPE=MIB",
                       help="never-dropped MiB per proof of one Rust type (repeatable; TYPE '*' for any other)")
        p.add_argument("--min-proofs-to-ceiling", type=int, metavar="N")
        p.add_argument("--ceiling-mib", type=float, metavar="MIB")

    def run(self, args: argparse.Namespace) -> int:
        from analysis.wlh import budget as budgets  # jsonschema and the parser: only when needed
        from analysis.wlh.summary import load_summary

        b = budgets.load(args.budget) if args.budget else {}
        flags = {"live_mib_per_proof": args.live_mib_per_proof, "min_proofs_to_ceiling": args.min_proofs_to_ceiling,
                 "ceiling_mib": args.ceiling_mib}
        b |= {k: v for k, v in flags.items() if v is not None}
        if args.type_mib_per_proof:
            b["never_dropped_mib_per_proof"] = {**b.get("never_dropped_mib_per_proof", {}), **dict(args.type_mib_per_proof)}
        if not b:
            raise WlhError("no limit given: pass --budget FILE or a limit flag (see wlh check --help)")
        b = budgets.validate(b, str(args.budget) if args.budget else "the limits given")
        from analysis.wlh.instances import instance_runs

        code = 0
        for target in instance_runs(args.run) or [args.run]:
            s = load_summary(target)
            if s["snapshots"] < 2:
                raise WlhError(f"{getattr(target, 'log', target)}: fewer than two snapshots, nothing to judge")
            rows = budgets.judge(s, b)
            failed = [r for r in rows if not r["ok"]]
            if failed:
                print(f"wlh check: FAIL {s['label']}: " + "; ".join(r["text"] for r in failed))
                code = 1
            else:
                print(f"wlh check: ok {s['label']}: " + "; ".join(r["text"] for r in rows))
        return code
