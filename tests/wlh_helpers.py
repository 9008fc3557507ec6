"""Shared by the tests of `wlh`: call the CLI in-process and capture its one-line errors."""
from __future__ import annotations

from analysis.wlh.cli import main


def wlh(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """stderr holds exactly one line 'wlh: error: ...', last, and nothing but wlh's own progress lines
    before it (no traceback, no Node stack)."""
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("wlh: error: "), err
    assert all(line.startswith("wlh: ") and not line.startswith("wlh: error: ") for line in lines[:-1]), err
    return lines[-1]
