"""The instrumented copy of an o1js source, made once per content and kept in the wlh cache.

The copy is made by bench/wlh/prepare.mjs with the Step 2 instrumenter (make-traced-copy.mjs) and laid out
as <cache>/traced/<key>/node_modules/o1js, so that resolving 'o1js' from <cache>/traced/<key> finds it
(the preload's anchor). The key hashes what the copy is made from: the instrumenter and tracer sources,
the package's wasm and glue files, and the size and modification time of every other file in dist/node
(a rebuilt checkout gets a new copy), plus the dependency folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from analysis.wlh.errors import WlhError
from analysis.wlh.paths import PREPARE, TOOL_FILES, cache_root
from analysis.wlh.spec import O1jsSource

GLUE_FILE = ("kimchi_wasm", "plonk_wasm")  # file names whose content is hashed, not only their size and time


@dataclass
class TracedCopy:
    anchor: Path        # the folder the preload resolves 'o1js' from
    key: str
    report: dict        # the instrumenter's report (hook set, function counts, hashes)
    reused: bool


def content_key(src: O1jsSource) -> str:
    h = hashlib.sha256()
    for f in TOOL_FILES:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    h.update(str(src.deps).encode() + b"\0")
    h.update((src.dir / "package.json").read_bytes())
    dist = src.dir / "dist" / "node"
    for root, dirs, files in os.walk(dist):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            st = p.stat()
            h.update(f"{p.relative_to(dist)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
            if name.startswith(GLUE_FILE):
                h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:20]


def prepare(src: O1jsSource) -> TracedCopy:
    """The cached copy for src's content, made now if missing. Made in a folder of its own and renamed into place
    when complete, so that runs started together (a service's processes, tests in parallel) never see half a
    copy: the first rename wins, the others drop theirs."""
    key = content_key(src)
    out = cache_root() / "traced" / key
    ready, report = out / "ready", out / "instrument.json"
    if ready.exists() and report.exists():
        return TracedCopy(out, key, json.loads(report.read_text()), reused=True)
    if out.exists():  # left by a run killed while making it in place (before copies were renamed into place)
        shutil.rmtree(out, ignore_errors=True)
    work = out.with_name(f"{key}.making-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cmd = ["node", str(PREPARE), "--o1js-dir", str(src.dir), "--out", str(work), "--deps", str(src.deps),
           "--report", str(work / report.name)]
    print(f"wlh: instrumenting o1js {src.version} ({src.kind} {src.spec}); cached for later runs", file=sys.stderr, flush=True)
    try:
        try:
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        except FileNotFoundError:
            raise WlhError("node is not installed (Node >= 20 is needed)") from None
        if p.returncode != 0:
            lines = p.stderr.strip().splitlines()
            raise WlhError(f"o1js {src.version} ({src.kind} {src.spec}) cannot be traced: "
                           f"{lines[-1] if lines else 'prepare failed'}")
        (work / ready.name).write_text(json.dumps({"kind": src.kind, "spec": src.spec, "version": src.version}) + "\n")
        try:
            os.rename(work, out)
            reused = False
        except OSError:  # another run renamed its copy first: the same content, use that one
            if not ready.exists():
                raise
            reused = True
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TracedCopy(out, key, json.loads(report.read_text()), reused=reused)
