"""`--o1js SPEC`: which o1js a run uses, as a source folder plus the node_modules its dependencies come from.

SPEC is one of
- a release version (`2.15.0`): the one pinned by this repository (bench/package-lock.json) is used as
  installed; a release pinned in bench/compat/o1js-<v>/ is installed there with `npm ci`; any other is
  installed with npm into the wlh cache. The lockfile is recorded in the run record;
- a folder: a built o1js checkout (with dist/node) or an unpacked package;
- a tarball (`npm pack` output), unpacked into the cache once per content hash.
No SPEC: the o1js the program itself would import (the nearest node_modules/o1js above the script),
else the release pinned here. Folders and tarballs never need the network.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from analysis.common.paths import BENCH
from analysis.wlh.errors import WlhError
from analysis.wlh.paths import cache_root, display_path

VERSION = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
STUB_NATIVE = BENCH / "stubs" / "no-native"  # o1js's optional native backend: stubbed, as in bench/package.json


@dataclass
class O1jsSource:
    kind: str            # release | directory | tarball | program
    spec: str            # as the user gave it (a path through display_path)
    dir: Path            # the o1js package folder (package.json, dist/)
    deps: Path           # a node_modules folder holding o1js's dependencies
    version: str
    lock: dict | None = None          # release: the lockfile's hash and o1js entry
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict:
        return {"kind": self.kind, "spec": self.spec, "version": self.version, "source": display_path(self.dir),
                "dependencies_from": display_path(self.deps), "lockfile": self.lock, "notes": self.notes}


def _read_json(p: Path, what: str) -> dict:
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise WlhError(f"{what}: cannot read {p.name}: {e}") from None


def _o1js_package(d: Path, what: str) -> dict:
    if not (d / "package.json").is_file():
        raise WlhError(f"{what}: not an o1js package (no package.json)")
    pkg = _read_json(d / "package.json", what)
    if pkg.get("name") != "o1js":
        raise WlhError(f"{what}: not an o1js package (its package.json names '{pkg.get('name')}')")
    if not (d / "dist" / "node").is_dir():
        raise WlhError(f"{what}: no dist/node (a checkout must be built first: npm run build)")
    return pkg


def _pinned_deps_for(pkg: dict, what: str) -> Path:
    """Dependencies for a package that brings none: the tree this repository pins (bench/node_modules),
    if it has every dependency by name."""
    tree = BENCH / "node_modules"
    missing = sorted(n for n in (pkg.get("dependencies") or {}) if not (tree / n / "package.json").is_file())
    if missing:
        raise WlhError(f"{what}: its dependencies are not installed ({', '.join(missing)} not in the pinned tree): "
                       "run `npm install` in an unpacked copy and pass that folder")
    return tree


def lock_record(lockfile: Path) -> dict:
    lock = _read_json(lockfile, display_path(lockfile))
    entry = (lock.get("packages") or {}).get("node_modules/o1js", {})
    return {"file": display_path(lockfile), "sha256": hashlib.sha256(lockfile.read_bytes()).hexdigest(),
            "o1js": {k: entry.get(k) for k in ("version", "resolved", "integrity")}}


def pinned_version() -> str | None:
    lock = BENCH / "package-lock.json"
    if not lock.is_file():
        return None
    return ((json.loads(lock.read_text()).get("packages") or {}).get("node_modules/o1js") or {}).get("version")


def from_directory(d: Path, spec: str) -> O1jsSource:
    what = spec
    if not d.exists():
        raise WlhError(f"{what}: no such directory")
    if not d.is_dir():
        raise WlhError(f"{what}: not a directory or a tarball (.tgz)")
    pkg = _o1js_package(d, what)
    if (d / "node_modules").is_dir():
        deps = d / "node_modules"                     # a checkout with its dependencies installed
    elif d.parent.name == "node_modules":
        deps = d.parent                               # an installed package: dependencies beside it
    else:
        deps = _pinned_deps_for(pkg, what)
    return O1jsSource("directory", display_path(d), d.resolve(), deps.resolve(), pkg.get("version", "?"))


def from_tarball(t: Path, spec: str) -> O1jsSource:
    if not t.is_file():
        raise WlhError(f"{spec}: no such file")
    if not tarfile.is_tarfile(t):
        raise WlhError(f"{spec}: not a tarball (expected `npm pack` output, .tgz)")
    digest = hashlib.sha256(t.read_bytes()).hexdigest()
    dest = cache_root() / "tarballs" / digest[:16]
    pkg_dir = dest / "package"
    if not (dest / ".unpacked").exists():
        with tarfile.open(t) as tf:
            names = tf.getnames()
            if "package/package.json" not in names:
                raise WlhError(f"{spec}: not an npm package tarball (no package/package.json)")
            pkg = json.load(tf.extractfile("package/package.json"))
            if pkg.get("name") != "o1js":
                raise WlhError(f"{spec}: not an o1js package (its package.json names '{pkg.get('name')}')")
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            tf.extractall(dest, filter="data")
        (dest / ".unpacked").write_text(digest + "\n")
    pkg = _o1js_package(pkg_dir, spec)
    src = O1jsSource("tarball", display_path(t), pkg_dir.resolve(), _pinned_deps_for(pkg, spec).resolve(), pkg.get("version", "?"))
    src.notes.append(f"tarball sha256 {digest}")
    return src


def _npm(args: list[str], cwd: Path, what: str) -> None:
    try:
        subprocess.run(["npm", *args, "--no-audit", "--no-fund"], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        raise WlhError(f"{what}: npm is not installed") from None
    except subprocess.CalledProcessError as e:
        last = (e.stderr or "").strip().splitlines()[-1:] or ["(no output)"]
        raise WlhError(f"{what}: npm {args[0]} failed: {last[0]}") from None


def from_release(version: str) -> O1jsSource:
    what = f"o1js {version}"
    installed = BENCH / "node_modules" / "o1js"
    if version == pinned_version() and (installed / "package.json").is_file():
        src = O1jsSource("release", version, installed.resolve(), installed.parent.resolve(), version)
        src.lock = lock_record(BENCH / "package-lock.json")
        return src
    compat = BENCH / "compat" / f"o1js-{version}"
    if (compat / "package-lock.json").is_file():
        if not (compat / "node_modules" / ".package-lock.json").exists():
            _npm(["ci"], compat, what)
        d = compat / "node_modules" / "o1js"
        src = O1jsSource("release", version, d.resolve(), d.parent.resolve(), version)
        src.lock = lock_record(compat / "package-lock.json")
        return src
    home = cache_root() / "releases" / f"o1js-{version}"
    d = home / "node_modules" / "o1js"
    if not (home / "package-lock.json").is_file() or not (d / "package.json").is_file():
        home.mkdir(parents=True, exist_ok=True)
        (home / "package.json").write_text(json.dumps({
            "name": f"wlh-o1js-{version}", "private": True, "dependencies": {"o1js": version},
            "overrides": {"@o1js/native": f"file:{STUB_NATIVE}"}}, indent=1) + "\n")
        print(f"wlh: installing o1js {version} with npm into the cache", file=sys.stderr, flush=True)
        _npm(["install"], home, what)
    _o1js_package(d, what)
    src = O1jsSource("release", version, d.resolve(), d.parent.resolve(), version)
    src.lock = lock_record(home / "package-lock.json")
    return src


def program_o1js(script: Path | None) -> Path | None:
    """The o1js the program would import by itself: node_modules/o1js in the script's folder or above."""
    if script is None:
        return None
    for d in [script.resolve().parent, *script.resolve().parents]:
        if (d / "node_modules" / "o1js" / "package.json").is_file():
            return d / "node_modules" / "o1js"
    return None


def resolve(spec: str | None, script: Path | None = None) -> O1jsSource:
    if spec is None:
        own = program_o1js(script)
        if own is not None:
            src = from_directory(own, display_path(own))
            src.kind = "program"
            return src
        version = pinned_version()
        if version is None:
            raise WlhError("no o1js found above the script and none pinned here: pass --o1js")
        src = from_release(version)
        src.notes.append("the program has no node_modules/o1js of its own: the release pinned here")
        return src
    p = Path(spec).expanduser()
    if p.is_dir() or spec.endswith((".tgz", ".tar.gz", ".tar")):
        return from_tarball(p, spec) if not p.is_dir() else from_directory(p, spec)
    if VERSION.match(spec):
        return from_release(spec)
    if p.exists():
        return from_tarball(p, spec)
    if "/" in spec or spec.startswith("."):
        raise WlhError(f"{spec}: no such directory")
    raise WlhError(f"--o1js '{spec}': not a version (e.g. 2.15.0), a directory or a tarball")
