"""Read JSON Lines written by a process that may have died mid-write.

A last line without its newline that does not parse is the mark of a crash: reported, not fatal.
Any other bad line is an error that names the file and line number.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class JsonlError(ValueError):
    pass


@dataclass
class JsonlRead:
    records: list[dict]
    path: str
    truncated_tail: str | None = None   # text of a torn last line, if any
    problems: list[str] = field(default_factory=list)


def read_jsonl(path: Path | str, *, strict: bool = True) -> JsonlRead:
    path = Path(path)
    data = path.read_text(encoding="utf-8", errors="replace")
    lines = data.split("\n")
    ends_with_newline = data.endswith("\n")
    if ends_with_newline:
        lines.pop()  # the empty string after the final newline
    out = JsonlRead(records=[], path=str(path))
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            if number == len(lines) and not ends_with_newline:
                out.truncated_tail = line
                out.problems.append(f"{path}:{number}: truncated last line (the writer died mid-line), ignored")
                continue
            msg = f"{path}:{number}: not a JSON object: {e}"
            if strict:
                raise JsonlError(msg) from None
            out.problems.append(msg)
            continue
        out.records.append(rec)
    return out


def write_jsonl(path: Path | str, records) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
