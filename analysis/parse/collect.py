"""Streaming pass over a Step 2 trace log: blocks of lines -> compact columns + the rare events.

ALLOCATE/DROP rows go to numpy columns (ids, sizes, interned type codes, sites, line numbers), a few
dozen bytes per event, so a 10-million-line log fits well under 1 GB. Everything else (SITE, SNAPSHOT,
SITE_LIVE, META) is rare and kept as Python objects. Every line is accounted for exactly once:
noise, event, malformed, or truncated (an unterminated last '@' line that is not valid JSON).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import BinaryIO, Callable

import numpy as np

from analysis.parse.events import (AFTER_ID_SITE, AFTER_ID_TID, AFTER_SIZE, AFTER_TYPE, FAST_LINE, KIND_OFFSET,
                              SIZE_OFFSET, parse_payload)
from analysis.parse.swar import PAD, parse_uints, word_view

BLOCK_BYTES = 4 << 20
_NL, _AT = 10, 64


class MixedLogError(ValueError):
    """Two processes wrote one log: their ids both start at 0, so no id check could be trusted."""

    def __init__(self, line: int, pid, first_line: int, first_pid):
        self.line = line
        super().__init__(f"{line}: a second process (pid {pid}) writes to this log, which pid {first_pid} "
                         f"started at line {first_line}: one log per process (wlh run gives each process that "
                         "loads o1js its own, see instances/)")


@dataclass
class Example:
    line: int | None
    detail: str


class Tally:
    """A check's count plus its examples with the smallest line numbers (lines may come a little
    out of order: a block's slow lines are handled in two passes)."""

    def __init__(self, max_examples: int):
        self.count = 0
        self.examples: list[Example] = []
        self._max = max_examples

    def add(self, line: int | None, detail: str) -> None:
        self.count += 1
        if not self._max:
            return
        if len(self.examples) < self._max or (line is not None and line < (self.examples[-1].line or 0)):
            bisect.insort(self.examples, Example(line, detail), key=lambda e: -1 if e.line is None else e.line)
            del self.examples[self._max:]


class _Interner(dict):
    """bytes -> small int code, assigned on first sight; dict lookups run in C via map().
    b'' (the regex's mark of a line for the slow path) is -1."""

    def __init__(self):
        super().__init__({b"": -1})
        self.names: list[bytes] = []

    def __missing__(self, key: bytes) -> int:
        self.names.append(key)
        code = self[key] = len(self.names) - 1
        return code


class Columns:
    """Append-only numpy columns stored in big parts, joined once at the end.

    A part is > 32 MiB so the C allocator maps it on its own (glibc's mmap threshold tops out at
    32 MiB): pages not yet written are not resident, and a freed part goes straight back to the OS,
    so joining the parts column by column peaks at the data plus one column, not twice the data.
    """

    PART_BYTES = (32 << 20) + (1 << 20)

    def __init__(self, **dtypes):
        self.dtypes = {k: np.dtype(t) for k, t in dtypes.items()}
        self.rows_per_part = -(-self.PART_BYTES // min(t.itemsize for t in self.dtypes.values()))
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in dtypes}
        self.n = 0          # rows in all parts
        self._fill = 0      # rows in the last part

    def append(self, **arrays) -> None:
        k = len(next(iter(arrays.values())))
        done = 0
        while done < k:
            if not self.parts[next(iter(self.parts))] or self._fill == self.rows_per_part:
                for name, t in self.dtypes.items():
                    self.parts[name].append(np.empty(self.rows_per_part, t))
                self._fill = 0
            take = min(k - done, self.rows_per_part - self._fill)
            for name, parts in self.parts.items():
                parts[-1][self._fill: self._fill + take] = arrays[name][done: done + take]
            self._fill += take
            done += take
        self.n += k

    def append_where(self, mask: np.ndarray, **arrays) -> None:
        """append(**{k: a[mask]}), written straight into the part when it fits."""
        k = int(np.count_nonzero(mask))
        parts = self.parts[next(iter(self.parts))]
        if not parts or self._fill + k > self.rows_per_part:
            self.append(**{name: a[mask] for name, a in arrays.items()})
            return
        for name, a in arrays.items():
            np.compress(mask, a, out=self.parts[name][-1][self._fill: self._fill + k])
        self._fill += k
        self.n += k

    def finish(self) -> dict[str, np.ndarray]:
        out = {}
        for name, parts in self.parts.items():
            if len(parts) <= 1:
                out[name] = parts[0][: self.n] if parts else np.zeros(0, self.dtypes[name])
            else:
                col = out[name] = np.empty(self.n, self.dtypes[name])
                at = 0
                while parts:
                    part = parts.pop(0)
                    rows = min(len(part), self.n - at)
                    col[at: at + rows] = part[:rows]
                    at += rows
                    del part  # back to the OS now
            parts.clear()
        return out


ALLOC_COLUMNS = dict(id=np.int64, size=np.int64, type=np.int32, site=np.int64, line=np.int64)
DROP_COLUMNS = dict(id=np.int64, size=np.int64, type=np.int32, line=np.int64)


def read_blocks(stream: BinaryIO, block_bytes: int = BLOCK_BYTES):
    """Yield (buffer, end): buffer[:end] is a run of complete lines, and at least len(PAD) bytes of
    buffer follow it (the start of the next line, then PAD), so 8-byte reads near `end` stay inside.
    Returns (via StopIteration.value) the unterminated last line, b'' if none."""
    carry = b""
    while True:
        data = stream.read(block_bytes)
        if not data:
            return carry
        cut = data.rfind(b"\n")
        if cut < 0:
            carry += data  # a line longer than a block: rare, the copy does not matter
            continue
        buffer = b"".join((carry, data, PAD))  # the one copy of the data
        yield buffer, len(carry) + cut + 1
        carry = data[cut + 1:]


class Collector:
    def __init__(self, max_examples: int = 10, progress: Callable[[int], None] | None = None,
                 progress_every: int = 5_000_000):
        self.max_examples = max_examples
        self.types = _Interner()
        self._type_len = np.zeros(0, np.int64)
        self.alloc = Columns(**ALLOC_COLUMNS)
        self.drop = Columns(**DROP_COLUMNS)
        self._pending_alloc: list[tuple] = []   # slow-path rows of the current block
        self._pending_drop: list[tuple] = []
        self.lines_total = 0
        self.noise_lines = 0
        self.other_events = {"SITE": 0, "SNAPSHOT": 0, "SITE_LIVE": 0, "GROW": 0, "META": 0}
        self.malformed = Tally(max_examples)
        self.truncated = Tally(max_examples)
        self.site_redefined = Tally(max_examples)
        self.sites: dict[int, dict] = {}
        self.site_lines: dict[int, int] = {}
        self.snapshots: list[dict] = []
        self.site_live: list[dict] = []
        self.grows: list[dict] = []
        self.meta: list[dict] = []
        self._first_process: tuple | None = None  # (pid, line) of the first META that names one
        self._progress = progress
        self._progress_every = progress_every
        self._next_progress = progress_every

    # -- input ----------------------------------------------------------------------------
    def feed_stream(self, stream: BinaryIO, block_bytes: int = BLOCK_BYTES) -> None:
        blocks = read_blocks(stream, block_bytes)
        while True:
            try:
                buffer, end = next(blocks)
            except StopIteration as stop:
                self.feed_tail(stop.value)
                return
            self.feed_block(buffer, end)
            if self._progress and self.lines_total >= self._next_progress:
                self._progress(self.lines_total)
                self._next_progress = (self.lines_total // self._progress_every + 1) * self._progress_every

    def feed_block(self, buffer: bytes, end: int | None = None) -> None:
        """buffer[:end] is a run of complete lines (ends with a newline)."""
        if end is None:  # a bare block: add the padding the number reader needs
            buffer, end = buffer + PAD, len(buffer)
        first_line = self.lines_total + 1
        buf = np.frombuffer(buffer, dtype=np.uint8)
        ends = np.flatnonzero(buf[:end] == _NL)
        starts = np.empty_like(ends)
        if len(ends):
            starts[0] = 0
            starts[1:] = ends[:-1] + 1
        at = np.flatnonzero(buf[starts] == _AT)  # an empty line starts on its own '\n'
        self.lines_total += len(ends)
        self.noise_lines += len(ends) - len(at)
        if not len(at):
            return
        found = FAST_LINE.findall(buffer, 0, end)  # per '@' line: its type name if canonical, else b''
        if len(found) != len(at):  # cannot happen by construction; stay correct if it ever does
            for i in at:
                self._slow_line(buffer[starts[i] + 1: ends[i]], first_line + int(i))
            self._flush_pending()
            return
        codes = np.fromiter(map(self.types.__getitem__, found), dtype=np.int32, count=len(found))
        del found
        at_start = starts[at]
        lines = at + first_line
        fast = codes >= 0
        if not fast.all():
            for i in np.flatnonzero(~fast):
                self._slow_line(buffer[at_start[i] + 1: ends[at[i]]], int(lines[i]))
            codes, at_start, lines = codes[fast], at_start[fast], lines[fast]
        if len(codes):
            self._take_canonical(buf, buffer, at_start, codes, lines)
        self._flush_pending()

    def _take_canonical(self, buf: np.ndarray, buffer: bytes, s: np.ndarray, codes: np.ndarray,
                        lines: np.ndarray) -> None:
        """Values of the lines FAST_LINE took, starting at offsets s, read at their fixed offsets;
        the checks the regex left to numpy send a failing line to the slow path."""
        words = word_view(buffer)
        is_alloc = buf[s + KIND_OFFSET] == ord("A")
        size_start = s + np.where(is_alloc, SIZE_OFFSET["ALLOCATE"], SIZE_OFFSET["DROP"])
        sizes, size_len = parse_uints(words, size_start)
        id_start = size_start + size_len + AFTER_SIZE + self._type_lengths()[codes] + AFTER_TYPE
        ids, id_len = parse_uints(words, id_start)
        id_end = id_start + id_len
        # after the id: '}' or ',"' and the first tail key (site/tid/ptr, freed/how/tid)
        key = np.where(buf[id_end] == ord(","), buf[id_end + 2], 0)
        bad = (((buf[size_start] == ord("0")) & (size_len > 1)) | ((buf[id_start] == ord("0")) & (id_len > 1))
               | np.where(is_alloc, (key == ord("f")) | (key == ord("h")), (key == ord("s")) | (key == ord("p"))))
        drop_tid = np.flatnonzero(~is_alloc & (key == ord("t")))
        if len(drop_tid):  # a DROP's tid must be its last key (',"tid":1,"ptr":2' is an ALLOCATE tail)
            tid_start = id_end[drop_tid] + AFTER_ID_TID
            bad[drop_tid] |= buf[tid_start + parse_uints(words, tid_start)[1]] != ord("}")
        if bad.any():
            for i in np.flatnonzero(bad):
                self._slow_line(buffer[s[i] + 1: buffer.index(b"\n", s[i])], int(lines[i]))
            ok = ~bad
            is_alloc, ids, sizes, codes, lines, id_end, key = (
                a[ok] for a in (is_alloc, ids, sizes, codes, lines, id_end, key))
        sites = np.full(len(ids), -1, np.int64)
        more = np.flatnonzero(is_alloc & (key == ord("s")))
        sites[more] = parse_uints(words, id_end[more] + AFTER_ID_SITE)[0]
        self.alloc.append_where(is_alloc, id=ids, size=sizes, type=codes, site=sites, line=lines)
        self.drop.append_where(~is_alloc, id=ids, size=sizes, type=codes, line=lines)

    def _type_lengths(self) -> np.ndarray:
        if len(self._type_len) != len(self.types.names):
            self._type_len = np.array([len(n) for n in self.types.names], np.int64)
        return self._type_len

    def feed_tail(self, tail: bytes) -> None:
        """The last line when the input does not end with a newline."""
        if not tail:
            return
        self.lines_total += 1
        if tail[:1] != b"@":
            self.noise_lines += 1
            return
        self._slow_line(tail[1:], self.lines_total, last=True)
        self._flush_pending()

    # -- one line the regex did not take ----------------------------------------------------
    def _slow_line(self, payload: bytes, line: int, last: bool = False) -> None:
        obj, reason, json_error = parse_payload(payload)
        if obj is None:
            if last and json_error:
                self.truncated.add(line, f"unterminated last line is not complete JSON ({reason})")
            else:
                self.malformed.add(line, reason)
            return
        ev = obj["ev"]
        if ev == "ALLOCATE":
            self._pending_alloc.append((int(obj["id"]), int(obj["size"]), self.types[obj["type"].encode()],
                                        int(obj["site"]) if "site" in obj else -1, line))
        elif ev == "DROP":
            self._pending_drop.append((int(obj["id"]), int(obj["size"]), self.types[obj["type"].encode()], line))
        else:
            self.other_events[ev] += 1
            if ev == "SITE":
                self._add_site(obj, line)
            elif ev == "SNAPSHOT":
                # the line number lets reports tell which objects were created between two snapshots
                self.snapshots.append({**obj, "line": line})
            elif ev == "SITE_LIVE":
                self.site_live.append({
                    "iteration": int(obj["iteration"]), "site": int(obj["site"]),
                    "bytes": int(obj["bytes"]), "blocks": int(obj["blocks"]),
                    "owned_bytes": int(obj["owned_bytes"]) if "owned_bytes" in obj else None,
                    # which SNAPSHOT it belongs to (several phases may share an iteration)
                    "snapshot": len(self.snapshots) - 1 if self.snapshots else None,
                })
            elif ev == "GROW":
                # which SNAPSHOT it follows: the growth between two snapshots is the sum of their GROWs
                self.grows.append({**{k: v for k, v in obj.items() if k != "ev"}, "line": line,
                                   "snapshot": len(self.snapshots) - 1 if self.snapshots else None})
            else:
                if ev == "META" and "pid" in obj:
                    self._one_process(obj["pid"], line)
                self.meta.append(obj)

    def _one_process(self, pid, line: int) -> None:
        # A process writes one META when it opens the log; another pid's META means two interleaved logs.
        if self._first_process is None:
            self._first_process = (pid, line)
        elif pid != self._first_process[0]:
            raise MixedLogError(line, pid, self._first_process[1], self._first_process[0])

    def _add_site(self, obj: dict, line: int) -> None:
        number = int(obj["site"])
        info = {k: v for k, v in obj.items() if k not in ("ev", "site")}
        known = self.sites.get(number)
        if known is None:
            self.sites[number] = info
            self.site_lines[number] = line
        elif known != info:  # first definition wins; a different one is a tracer bug
            self.site_redefined.add(line, f"site {number} first defined at line {self.site_lines[number]} differently")

    def _flush_pending(self) -> None:
        # Slow rows are appended after the block's fast rows: columns are not in line order,
        # which the matcher does not need (it sorts by line where order matters).
        if self._pending_alloc:
            ids, sizes, types, sites, lines = zip(*self._pending_alloc)
            self.alloc.append(id=ids, size=sizes, type=types, site=sites, line=lines)
            self._pending_alloc.clear()
        if self._pending_drop:
            ids, sizes, types, lines = zip(*self._pending_drop)
            self.drop.append(id=ids, size=sizes, type=types, line=lines)
            self._pending_drop.clear()

    def type_names(self) -> list[str]:
        return [b.decode("utf-8") for b in self.types.names]
