"""Content hashes of files, cached by (size, mtime) so that checking the pipeline's state stays fast.

A fresh clone has new mtimes, so the cache misses and files are hashed once; after that a check reads
only the cache. The cache lives outside git (`.wlh-cache/`): it is a speed-up, never a source of truth.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def sha256_json(value) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class HashCache:
    """sha256 of files under root, remembered per (relative path, size, mtime_ns)."""

    def __init__(self, root: Path, cache_file: Path | None):
        self.root = root
        self.cache_file = cache_file
        self.entries: dict[str, list] = {}
        self.dirty = False
        if cache_file is not None and cache_file.is_file():
            try:
                self.entries = json.loads(cache_file.read_text())
            except (ValueError, OSError):
                self.entries = {}  # a broken cache is only slower, never wrong

    def file_hash(self, rel: str) -> str | None:
        """The file's sha256, or None when it does not exist."""
        p = self.root / rel
        try:
            st = p.stat()
        except FileNotFoundError:
            return None
        key = [st.st_size, st.st_mtime_ns]
        hit = self.entries.get(rel)
        if hit and hit[:2] == key:
            return hit[2]
        digest = sha256_file(p)
        self.entries[rel] = [*key, digest]
        self.dirty = True
        return digest

    def save(self) -> None:
        if not (self.dirty and self.cache_file):
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        # parallel steps (doit -n 2 -P thread) save from several threads: each writes its own temporary file
        tmp = self.cache_file.with_name(f"{self.cache_file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(self.entries))
        os.replace(tmp, self.cache_file)
        self.dirty = False
