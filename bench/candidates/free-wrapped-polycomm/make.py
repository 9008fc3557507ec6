"""Build the candidate fix "free-wrapped-polycomm" as an o1js package tarball, from an installed o1js.

Copies the package into a temporary folder, inserts our template (free-on-collect.js, beside this file)
before o1js's `wrap()` and a call to it inside `wrap()`, in the ES module file and in the CommonJS bundle
(when the package has one), packs the copy with `npm pack` and writes a record of what was patched.
Nothing of o1js is kept here: the patch is made from the installed package each time, found by a small
anchored pattern that must match exactly once per file (a different o1js fails with one clear line).

  python bench/candidates/free-wrapped-polycomm/make.py --o1js-dir bench/node_modules/o1js \
      --out artifacts/candidate/o1js-2.15.0-free-wrapped-polycomm.tgz --record artifacts/candidate/pack.json

Standard library only (plus npm on PATH), so it runs without the project's Python environment.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NAME = "free-wrapped-polycomm"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]                      # the repository: records name paths relative to it
TEMPLATE = HERE / "free-on-collect.js"
CALL = "__wlhFreeOnCollect(obj, Class);"

# The ES module file is required; the CommonJS bundle is patched too when the package ships one, since
# `require('o1js')` loads it instead.
FILES = [("dist/node/bindings/crypto/bindings/conversion-core.js", True), ("dist/node/index.cjs", False)]

# o1js's wrap() as 2.15.0 ships it (4-space indent in the module, 2 in the bundle): the marker line
# `obj.__o1js_wrapped_ptr = true;` is what tells the wrappers apart; older releases lack it.
WRAP = re.compile(
    r"^(?P<indent>[ \t]*)function wrap\(ptr, Class\) \{\n"
    r"[ \t]*const obj = Object\.create\(Class\.prototype\);\n"
    r"[ \t]*obj\.__wbg_ptr = ptr;\n"
    r"(?P<inner>[ \t]*)obj\.__o1js_wrapped_ptr = true;\n"
    r"[ \t]*return obj;\n"
    r"(?P=indent)\}\n",
    re.M)


class CandidateError(Exception):
    """A problem with the input, reported as one line."""


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def shown(p: Path) -> str:
    """How the record names a path: relative to the repository, else the file name only (no machine paths)."""
    p = p.resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else p.name


def patch_text(text: str, template: str, what: str) -> tuple[str, int]:
    """The text with the template inserted before wrap() and the call inside it; the 1-based line of wrap()."""
    if "__wlhFreeOnCollect" in text:
        raise CandidateError(f"{what}: already patched (give the installed o1js, not a candidate)")
    found = list(WRAP.finditer(text))
    if len(found) != 1:
        how = "not found" if not found else f"found {len(found)} times"
        raise CandidateError(f"{what}: o1js's wrap() (marking wrappers __o1js_wrapped_ptr) {how}; "
                             "expected exactly once (not the o1js this candidate was written for?)")
    m = found[0]
    indent, inner = m["indent"], m["inner"]
    helper = "".join(indent + line if line.strip() else line for line in template.splitlines(keepends=True))
    body = m.group(0)
    marker = f"{inner}obj.__o1js_wrapped_ptr = true;\n"
    body = body.replace(marker, marker + inner + CALL + "\n", 1)
    line = text.count("\n", 0, m.start()) + 1
    return text[:m.start()] + helper + body + text[m.end():], line


def package_version(pkg: Path) -> str:
    try:
        meta = json.loads((pkg / "package.json").read_text())
    except (OSError, ValueError) as e:
        raise CandidateError(f"{pkg}: no readable package.json ({e.__class__.__name__})") from None
    if meta.get("name") != "o1js":
        raise CandidateError(f"{pkg}: not an o1js package (its package.json names '{meta.get('name')}')")
    return str(meta.get("version"))


def npm_pack(pkg: Path, dest: Path) -> Path:
    # --ignore-scripts: o1js's `prepare` (husky) is for its own repository, not for a packed copy.
    try:
        p = subprocess.run(["npm", "pack", "--ignore-scripts", "--json", "--pack-destination", str(dest)], cwd=pkg,
                           capture_output=True, text=True)
    except FileNotFoundError:
        raise CandidateError("npm is not installed") from None
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CandidateError(f"npm pack failed: {last}")
    return dest / json.loads(p.stdout)[0]["filename"]


def make(o1js_dir: Path, out: Path, record: Path) -> dict:
    if not o1js_dir.is_dir():
        raise CandidateError(f"{o1js_dir}: no such directory")
    version = package_version(o1js_dir)
    template = TEMPLATE.read_text()
    with tempfile.TemporaryDirectory(prefix="wlh-candidate-") as tmp:
        pkg = Path(tmp) / "package"
        shutil.copytree(o1js_dir, pkg, symlinks=True, ignore=shutil.ignore_patterns("node_modules"))
        patched = []
        for rel, required in FILES:
            f = pkg / rel
            if not f.is_file():
                if required:
                    raise CandidateError(f"{o1js_dir}: no {rel} (not an o1js 2.15-style package)")
                patched.append({"file": rel, "present": False})
                continue
            before = f.read_text()
            after, line = patch_text(before, template, rel)
            f.write_text(after)
            patched.append({"file": rel, "present": True, "wrap_line": line,
                            "sha256_before": hashlib.sha256(before.encode()).hexdigest(), "sha256_after": sha256(f)})
        packed = npm_pack(pkg, Path(tmp))
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(packed, out)
    rec = {"candidate": NAME, "o1js": {"version": version, "from": shown(o1js_dir)},
           "template": {"file": shown(TEMPLATE), "sha256": sha256(TEMPLATE)}, "call": CALL,
           "pattern": WRAP.pattern, "files": patched,
           "tarball": {"file": shown(out), "sha256": sha256(out), "bytes": out.stat().st_size}}
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(rec, indent=1) + "\n")
    return rec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--o1js-dir", type=Path, required=True, help="an installed o1js package (2.15.0)")
    p.add_argument("--out", type=Path, required=True, help="the tarball to write (.tgz)")
    p.add_argument("--record", type=Path, required=True, help="JSON record of what was patched")
    args = p.parse_args(argv)
    try:
        rec = make(args.o1js_dir, args.out, args.record)
    except CandidateError as e:
        print(f"make.py: error: {e}", file=sys.stderr)
        return 2
    n = sum(f["present"] for f in rec["files"])
    print(f"candidate {NAME}: o1js {rec['o1js']['version']}, wrap() patched in {n} file(s); "
          f"{rec['tarball']['file']} sha256 {rec['tarball']['sha256'][:16]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
