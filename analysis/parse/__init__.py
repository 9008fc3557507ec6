"""Step 3 parser of Step 2 trace logs: which ALLOCATEs were never dropped, and is the log sound?

A log is text; lines not starting with '@' are noise; each '@' line carries one JSON event
(schemas/trace-event.schema.json). The parse streams the input in blocks (never the whole file in
memory), keeps ALLOCATE/DROP as numpy columns, matches them by id, runs the checks, and returns a
ParseResult (JSON form: schemas/parse-result.schema.json).

    result = parse_file("artifacts/trace.log")
    print(format_checks(result)); print(format_table(result))
    result.to_dict()            # the JSON document
    result.never_dropped()      # columns of the ALLOCATEs without DROP
"""
from __future__ import annotations

import gc
import io
import sys
from pathlib import Path
from typing import BinaryIO, Callable

from analysis.parse.collect import BLOCK_BYTES, Collector, Example, MixedLogError, Tally
from analysis.parse.format import format_checks, format_table, format_type_sites
from analysis.parse.result import CHECKS, ParseResult, TypeRow, TypeSiteRow, build_result

__all__ = [
    "CHECKS", "Example", "MixedLogError", "ParseResult", "Tally", "TypeRow", "TypeSiteRow",
    "format_checks", "format_table", "format_type_sites", "parse_bytes", "parse_file", "parse_stream",
]


def parse_stream(stream: BinaryIO, source: str = "<stream>", *, max_examples: int = 10,
                 progress: Callable[[int], None] | None = None, progress_every: int = 5_000_000,
                 block_bytes: int = BLOCK_BYTES) -> ParseResult:
    """Parse a binary stream (file, pipe, sys.stdin.buffer); progress(lines read) is called after the
    block that crosses each multiple of progress_every. A log two processes wrote raises MixedLogError."""
    collector = Collector(max_examples=max_examples, progress=progress, progress_every=progress_every)
    # The parse allocates many short-lived tuples but builds no reference cycles: the cyclic GC
    # would only rescan them over and over (it cost about a third of the run time).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        collector.feed_stream(stream, block_bytes)
        return build_result(collector, source)
    finally:
        if gc_was_enabled:
            gc.enable()


def parse_file(path: str | Path | None = None, **kwargs) -> ParseResult:
    """Parse the file at path; None or '-' reads standard input. FileNotFoundError as usual."""
    if path is None or str(path) == "-":
        return parse_stream(sys.stdin.buffer, "<stdin>", **kwargs)
    with open(path, "rb") as f:
        return parse_stream(f, str(path), **kwargs)


def parse_bytes(data: bytes, source: str = "<bytes>", **kwargs) -> ParseResult:
    """Parse a log held in memory (tests, small inputs)."""
    return parse_stream(io.BytesIO(data), source, **kwargs)
