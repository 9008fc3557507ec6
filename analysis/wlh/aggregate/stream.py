"""Aggregate mode's reader of the tracer's stream: ALLOCATE/DROP lines go into the live tables
(analysis.wlh.aggregate.table), every other line is written unchanged to the trace log, and at each
SNAPSHOT line (and at the end of the stream) one record goes to aggregate.jsonl.

The tracer is the one full mode uses: it writes into a named pipe instead of a file, and this reader is
the process at the other end (started per instance by bench/wlh/instance.mjs). The trace log it writes is
a valid trace log without ALLOCATE/DROP lines, so the Step 3 parser reads it as before (SNAPSHOT,
SITE_LIVE, SITE, GROW, META); analysis.wlh.aggregate.overlay adds the tables to what the parser found.
Records are flushed as they are written: a reader killed mid-run leaves every record up to its last
snapshot, and the end of the stream (the traced process exiting or dying) always writes the last one.
"""
from __future__ import annotations

import json
import os
import time
from typing import BinaryIO

from analysis.parse.events import parse_payload
from analysis.wlh.aggregate.table import LiveTable

AGGREGATE = "aggregate.jsonl"
VERSION = 1
_ALLOC, _DROP = b'@{"ev":"ALLOCATE",', b'@{"ev":"DROP",'
# Lines read here (the rest pass through unread): events written another way, site definitions, snapshots.
_PARSED = (b'"ALLOCATE"', b'"DROP"', b'"SITE"', b'"SNAPSHOT"')


class Reducer:
    """Feed it lines (bytes, with their newline except perhaps the last); it writes the pass-through
    lines to `log` and the records to `out` (both binary files)."""

    def __init__(self, log: BinaryIO, out: BinaryIO):
        self.log, self.out = log, out
        self.table = LiveTable()
        self.lines = 0
        self.snapshots = 0
        self._write({"kind": "start", "version": VERSION, "pid": os.getpid(), "time": _now()})

    def line(self, raw: bytes, last: bool = False) -> None:
        self.lines += 1
        if raw.startswith(_ALLOC) or raw.startswith(_DROP):  # the tracer's own lines: the fast path
            self._event(raw, last)
            return
        obj = None
        if raw.startswith(b"@") and any(k in raw for k in _PARSED):  # any spacing or key order (logs of tests)
            obj, _, _ = parse_payload(raw[1:].rstrip(b"\n"))
            if obj is not None and obj["ev"] in ("ALLOCATE", "DROP"):
                self._event(raw, last)
                return
        self.log.write(raw)  # an invalid line too: the parser counts it as malformed in the trace log
        if obj is None:
            return
        if obj["ev"] == "SITE":
            self.table.site_defined(int(obj["site"]))
        elif obj["ev"] == "SNAPSHOT":
            # The state at the SNAPSHOT line: what the parser sees as created before it.
            self.log.flush()
            self._write({"kind": "snapshot", "snapshot": self.snapshots, "iteration": obj["iteration"],
                         "phase": obj["phase"], "line": self.lines, **self.table.record()})
            self.snapshots += 1
            self.table.snapshot()

    def _event(self, raw: bytes, last: bool) -> None:
        payload = raw[1:].rstrip(b"\n")
        obj, reason, json_error = parse_payload(payload)
        if obj is None:
            if last and json_error and not raw.endswith(b"\n"):
                self.table.checks.add("truncated_last_line", f"line {self.lines}: unterminated last line is not "
                                                              f"complete JSON ({reason})")
            else:
                self.table.checks.add("malformed_lines", f"line {self.lines}: {reason}")
            return
        if obj["ev"] == "ALLOCATE":
            self.table.allocate(obj["type"], int(obj["size"]), int(obj["id"]),
                                int(obj["site"]) if "site" in obj else None, self.lines)
        else:
            self.table.drop(obj["type"], int(obj["size"]), int(obj["id"]), self.lines)

    def end(self, complete: bool = True) -> None:
        self.log.flush()
        self._write({"kind": "end", "complete": complete, "snapshot": self.snapshots, "line": self.lines,
                     "time": _now(), **self.table.record()})

    def _write(self, record: dict) -> None:
        self.out.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self.out.flush()


def reduce_stream(src: BinaryIO, log: BinaryIO, out: BinaryIO, chunk: int = 1 << 20) -> Reducer:
    """Read src to its end (for a pipe: until every writer has closed it)."""
    r = Reducer(log, out)
    carry = b""
    while True:
        data = src.read(chunk)  # a raw pipe (buffering=0) returns what is there, up to chunk
        if not data:
            break
        data = carry + data
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            r.line(data[start:nl + 1])
            start = nl + 1
        carry = data[start:]
        r.log.flush()  # what the sampler reads back, and what survives this reader being killed
    if carry:
        r.line(carry, last=True)
    r.end()
    return r


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
