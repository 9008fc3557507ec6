"""python -m analysis.wlh.aggregate --fifo PIPE --log trace.log --out aggregate.jsonl

The reader at the other end of the tracer's named pipe in `wlh run --aggregate` (started by
bench/wlh/instance.mjs, one per traced process). Runs until every writer has closed the pipe, i.e. until
the traced process has exited or died, then removes the pipe."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from analysis.wlh.aggregate.stream import reduce_stream


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis.wlh.aggregate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fifo", type=Path, required=True, help="the named pipe the tracer writes (WLH_TRACE_LOG)")
    p.add_argument("--log", type=Path, required=True, help="the trace log to write, without ALLOCATE/DROP lines")
    p.add_argument("--out", type=Path, required=True, help="the aggregate records (JSON Lines)")
    a = p.parse_args(argv)
    try:
        with open(a.log, "wb") as log, open(a.out, "wb") as out:
            fd = os.open(a.fifo, os.O_RDONLY)  # blocks until the traced process opens it for writing
            with os.fdopen(fd, "rb", buffering=0) as src:
                reduce_stream(src, log, out)
    except OSError as e:
        print(f"wlh aggregate: {e.filename or a.fifo}: {e.strerror}", file=sys.stderr)
        return 1
    finally:
        a.fifo.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
