"""A forced pass: every step of the pipeline run once more, up to date or not, and resumable.

`./run pipeline --force` starts one, `./run pipeline --resume` continues the last one where it stopped
(a full pass proves for hours; a killed process or a closed laptop must not cost the steps already rerun).
The pass lives in a local file (`.wlh-cache/forced-pass.json`, not committed), named to the pipeline by
the environment variable WLH_FORCED_PASS: while it is set, a step is stale until it has been recorded in
this pass, whatever the lock says. Without the variable nothing here applies. Tasks outside the lock's
graph (installing the Node packages) are not forced: `./run` has just installed them.

The file also keeps the wall time of each invocation (segment): its start and the moment its last step
finished, so a pass made in several segments still has a measured wall time: the sum of the segments,
each up to its last finished step (work a killed segment had in flight is not counted, and is redone).
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

ENV = "WLH_FORCED_PASS"
_guard = threading.Lock()  # steps finish on several doit threads of one process


class ForcedPassError(Exception):
    pass


def active() -> Path | None:
    """The pass file this process works for, or None (no forced pass)."""
    p = os.environ.get(ENV)
    return Path(p) if p else None


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ForcedPassError(f"{path}: no forced pass here (start one with --force)") from None
    except ValueError as e:
        raise ForcedPassError(f"{path}: unreadable ({e}); start a new pass with --force") from None


def _write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)


def start(path: Path, now: float | None = None) -> dict:
    """A new pass: nothing rerun yet, first segment open."""
    now = time.time() if now is None else now
    doc = {"started": now, "finished": None, "done": {}, "segments": [{"start": now, "last_done": None}]}
    _write(path, doc)
    return doc


def resume(path: Path, now: float | None = None) -> dict:
    """Open a new segment of the unfinished pass in `path`."""
    doc = _read(path)
    if doc.get("finished"):
        raise ForcedPassError(f"{path}: the last forced pass finished; start a new one with --force")
    doc["segments"].append({"start": time.time() if now is None else now, "last_done": None})
    _write(path, doc)
    return doc


def is_done(path: Path, name: str) -> bool:
    try:
        return name in _read(path)["done"]
    except ForcedPassError:
        return False


def mark_done(path: Path, name: str, now: float | None = None) -> None:
    """A step finished in this pass (called when its lock entry is written)."""
    now = time.time() if now is None else now
    with _guard:
        doc = _read(path)
        doc["done"][name] = now
        doc["segments"][-1]["last_done"] = now
        _write(path, doc)


def finish(path: Path, now: float | None = None) -> dict:
    """Every step ran: close the pass and return its summary."""
    doc = _read(path)
    doc["finished"] = time.time() if now is None else now
    _write(path, doc)
    return summary(doc)


def summary(doc: dict) -> dict:
    """Wall time of the pass: each segment from its start to its last finished step."""
    segs = [s["last_done"] - s["start"] for s in doc["segments"] if s.get("last_done")]
    return {"steps": len(doc["done"]), "segments": len(doc["segments"]), "wall_seconds": round(sum(segs), 1),
            "segment_seconds": [round(s, 1) for s in segs], "finished": doc.get("finished") is not None}


def describe(s: dict) -> str:
    h, m = divmod(round(s["wall_seconds"] / 60), 60)
    parts = " + ".join(f"{round(x / 60)} min" for x in s["segment_seconds"])
    return (f"forced pass: {s['steps']} steps rerun, wall time {h} h {m:02d} min"
            + (f" over {s['segments']} segments ({parts})" if s["segments"] > 1 else ""))
