"""The committed pipeline state (`pipeline-lock.json`): per task, what it was last run with and what it made.

Like `dvc.lock`: for each task the content hashes of its input files (data and the code that runs),
the parameter values it read, and the hashes of its outputs (committed ones and the large uncommitted
intermediates, so that their absence on a fresh clone is not mistaken for a change), plus how long the
run took. Tasks run in parallel (`doit -n 2`) write it from several processes, hence the file lock and
the read-modify-write under it. The JSON is indented and sorted so a diff shows what changed.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path

FORMAT = 1


class LockError(Exception):
    """The lock file cannot be read (a merge conflict, a hand edit): one line naming the file."""


def read(path: Path) -> dict:
    """Task name -> entry; an absent file is an empty lock (nothing recorded yet)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise LockError(f"{path}: not valid JSON ({e}); restore it from git or delete it to rerun everything") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("tasks"), dict):
        raise LockError(f"{path}: not a pipeline lock of format {FORMAT}")
    return doc["tasks"]


@contextmanager
def _exclusive(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".flock"), "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def update(path: Path, name: str, entry: dict | None) -> None:
    """Set (or with None, remove) one task's entry, atomically with respect to other writers."""
    with _exclusive(path):
        tasks = read(path)
        if entry is None:
            tasks.pop(name, None)
        else:
            tasks[name] = entry
        doc = {"format": FORMAT,
               "about": "What each pipeline task last ran with (input and code hashes, parameters) and what it "
                        "made (output hashes). Written by the pipeline; `doit list --status` compares it with "
                        "the working tree. Do not edit by hand.",
               "tasks": dict(sorted(tasks.items()))}
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
        os.replace(tmp, path)
