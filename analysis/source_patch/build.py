"""Source route: build the patched bindings the way upstream builds them, into a copy of o1js.

Recipe (upstream's, reconstructed from FACTS.md and proof-systems' `.cargo/config.toml`):

1. `check_toolchain`: every prerequisite is checked first; if anything is missing the build stops
   at once with the exact list (``BuildError``, exit code 2 from the command line).
2. The patch from ``generate_patch`` is applied to the checkout (``git apply``), unless the checkout
   already carries it.
3. ``wasm-pack build --target nodejs --release`` of ``kimchi-wasm`` with the pinned nightly
   (``RUSTUP_TOOLCHAIN``), passing ``-- --features nodejs -Z build-std=panic_abort,std`` to cargo.
   The target flags (atomics, bulk-memory, mutable-globals, imported shared memory, TLS exports,
   4 GiB maximum memory) are not repeated here: cargo reads them from the checkout's
   ``.cargo/config.toml`` because it runs inside the checkout.
4. ``install``: a copy of the o1js package (``bench/node_modules/o1js``) is made under ``out_dir``
   (hard links; a ``node_modules`` link to the installed tree so that o1js's own dependencies
   resolve, as ``bench/instrument/make-traced-copy.mjs`` does); the new glue is post-processed
   (``postprocess_glue``: our own code doing what o1js's build does for Node, plus the trace sink)
   and, with the ``.wasm``, replaces ``dist/node/bindings/compiled/node_bindings/kimchi_wasm{.cjs,
   _bg.wasm}`` in the copy, next to ``wlh-trace-sink.cjs``. The bench's own o1js is never touched.
   ``install`` also takes a glue and wasm built another way (``--install GLUE WASM``).

Signatures (for dodo.py):
    check_toolchain(cfg, checkout=None, *, probe_network=True) -> list[str]   # what is missing
    build(cfg, checkout, out_dir, *, patch=None) -> dict                      # raises BuildError
    install(glue, wasm, out_dir, *, o1js_dir=None) -> dict                    # raises BuildError
    postprocess_glue(text) -> str                                             # raises BuildError
Command line: ``python -m analysis.source_patch.build [--check-only] [--checkout DIR] [--out DIR]``
or ``python -m analysis.source_patch.build --install GLUE WASM [--out DIR]``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from .generator import MARKER, TARGET_CRATE, TEMPLATES, generate_patch

REPO_ROOT = Path(__file__).resolve().parents[2]
O1JS = REPO_ROOT / "bench" / "node_modules" / "o1js"
GLUE_DIR = Path("dist/node/bindings/compiled/node_bindings")
SINK_JS = "wlh-trace-sink.cjs"
WASM_TARGET = "wasm32-unknown-unknown"
CRATES_IO_PROBE = "https://index.crates.io/config.json"


class BuildError(Exception):
    """The build cannot run or failed; the message says what is missing or what failed."""


def _section(cfg) -> dict:
    if cfg is None:
        return {}
    if hasattr(cfg, "section"):
        return cfg.section("source_route")
    return dict(cfg.get("source_route", cfg))


def _run(cmd: list[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _crates_io_reachable(timeout: float = 5.0) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(CRATES_IO_PROBE, timeout=timeout) as r:
            return r.status == 200, f"HTTP {r.status}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        return False, str(getattr(e, "reason", e))


def check_toolchain(cfg, checkout=None, *, probe_network: bool = True) -> list[str]:
    """Every prerequisite of `build` that is missing, as human-readable lines ([] = ready).

    cfg: the loaded Config (or a dict with a `source_route` section: toolchain, wasm_pack,
    checkout). checkout: overrides cfg's source_route.checkout.
    """
    sec = _section(cfg)
    toolchain = sec.get("toolchain") or "nightly-2025-12-11"
    wasm_pack = sec.get("wasm_pack") or "0.12.1"
    checkout = checkout or sec.get("checkout") or os.environ.get("WLH_BINDINGS_CHECKOUT")
    missing: list[str] = []

    rustup = shutil.which("rustup")
    if rustup is None:
        missing.append(f"rustup (to provide the {toolchain} toolchain)")
    else:
        r = _run([rustup, "toolchain", "list"])
        have = r is not None and r.returncode == 0 and any(
            line.split()[0].startswith(toolchain) for line in r.stdout.splitlines() if line.strip())
        if not have:
            missing.append(f"rustup toolchain {toolchain} (rustup toolchain install {toolchain} "
                           f"--component rust-src --target {WASM_TARGET})")
        else:
            r = _run([rustup, "component", "list", "--toolchain", toolchain, "--installed"])
            if r is None or r.returncode != 0 or not any(ln.startswith("rust-src") for ln in r.stdout.splitlines()):
                missing.append(f"component rust-src of {toolchain} (needed by -Z build-std)")
            r = _run([rustup, "target", "list", "--toolchain", toolchain, "--installed"])
            if r is None or r.returncode != 0 or WASM_TARGET not in r.stdout.split():
                missing.append(f"target {WASM_TARGET} of {toolchain}")
    wp = shutil.which("wasm-pack")
    if wp is None:
        missing.append(f"wasm-pack {wasm_pack} (not on PATH)")
    else:
        r = _run([wp, "--version"])
        ver = r.stdout.strip().split()[-1] if r is not None and r.stdout.strip() else "?"
        if ver != wasm_pack:
            missing.append(f"wasm-pack {wasm_pack} (found {ver})")
    if shutil.which("node") is None:
        missing.append("node (runs o1js's glue post-processing)")
    if shutil.which("git") is None:
        missing.append("git (applies the patch)")
    if not (O1JS / GLUE_DIR / "kimchi_wasm.cjs").exists():
        missing.append(f"o1js package in bench/node_modules (npm ci in bench/) with {GLUE_DIR}/kimchi_wasm.cjs")
    if not checkout:
        missing.append("proof-systems checkout (config source_route.checkout or WLH_BINDINGS_CHECKOUT)")
    elif not (Path(checkout) / TARGET_CRATE / "Cargo.toml").exists():
        missing.append(f"proof-systems checkout at the configured path ({TARGET_CRATE}/Cargo.toml not found)")
    if probe_network:
        ok, why = _crates_io_reachable()
        if not ok:
            missing.append(f"network access to crates.io (about 224 crates to download; probe of the index: {why})")
    return missing


# ---- glue post-processing: what o1js's build does to wasm-bindgen's Node glue, plus the sink ----
# Read from o1js's src/build/fix-wasm-bindings-node.js (not copied): the module imports a shared
# memory, which the main thread creates and each rayon worker takes from workerData.memory (o1js's
# node backend passes it when it creates the worker); wasm-bindgen's thread start gets an explicit
# stack size (env O1JS_WASM_THREAD_STACK_SIZE, default 1 MiB, as o1js). Unlike that script, every
# edit here must match exactly once, so a glue of another layout fails loudly instead of loading
# with a memory per thread.
MEMORY_EDITS = (
    # wasm-bindgen >= 0.2.100: the glue creates the memory inline
    (re.compile(r"imports\.wbg\s*=\s*\{\s*memory:\s*new WebAssembly\.Memory\((\{[^}]*\})\)\s*\};"),
     lambda m: ("const { isMainThread: __wlhMain, workerData: __wlhData } = require('worker_threads');\n"
                f"imports.wbg = {{ memory: __wlhMain ? new WebAssembly.Memory({m.group(1)}) : __wlhData.memory }};")),
    # older wasm-bindgen: the memory is an import from a module named 'env'
    (re.compile(r"imports\['env'\]\s*=\s*require\('env'\);"),
     lambda m: ("const { isMainThread: __wlhMain, workerData: __wlhData } = require('worker_threads');\n"
                "imports['env'] = { memory: __wlhMain ? new WebAssembly.Memory({ initial: 20, maximum: 65536, "
                "shared: true }) : __wlhData.memory };")),
)
START_RE = re.compile(r"wasm\.__wbindgen_start\(\);")
START_NEW = ("wasm.__wbindgen_start(Number(process.env.O1JS_WASM_THREAD_STACK_SIZE ?? 1048576)); "
             "// wasm-leak-hunt: thread stack size, as o1js's build sets it")
SINK_FIRST = f"require('./{SINK_JS}'); // wasm-leak-hunt: trace sink (defines __wlh_trace_sink before any line)\n"
SINK_LAST = f"\nrequire('./{SINK_JS}').attach(module.exports); // wasm-leak-hunt: SNAPSHOT hook\n"


def has_sink(glue_text: str) -> bool:
    """Whether a glue is already ours: the require line, not the file name (our export's doc comment names the
    file and wasm-bindgen copies it into the glue as JSDoc; the first real glue was refused for that)."""
    return f"require('./{SINK_JS}')" in glue_text


def postprocess_glue(text: str) -> str:
    """The wasm-bindgen Node glue as o1js needs it (shared memory from workerData in workers,
    explicit thread stack size) with the trace sink required first and its SNAPSHOT hook attached
    last. Raises BuildError naming the edit that does not match exactly once."""
    if has_sink(text) or "workerData.memory" in text or "__wlhData" in text:
        raise BuildError("glue post-processing: the glue is already post-processed (o1js's or ours); "
                         "give the glue wasm-bindgen wrote")
    hits = [(rx, fn) for rx, fn in MEMORY_EDITS if len(rx.findall(text)) == 1]
    if len(hits) != 1:
        raise BuildError("glue post-processing: no single shared-memory import found "
                         "(expected `imports.wbg = { memory: new WebAssembly.Memory({...}) };` or "
                         "`imports['env'] = require('env');` exactly once): unknown glue layout")
    rx, fn = hits[0]
    text = rx.sub(fn, text, count=1)
    n = len(START_RE.findall(text))
    if n != 1:
        raise BuildError(f"glue post-processing: `wasm.__wbindgen_start();` found {n} times (expected 1)")
    text = START_RE.sub(START_NEW, text, count=1)
    return SINK_FIRST + text.rstrip("\n") + "\n" + SINK_LAST


def _o1js_copy(out_dir: Path, src: Path) -> Path:
    """A hard-linked copy of the o1js package with a node_modules link to the tree it is installed
    in, so that its own dependencies (tslib, ...) resolve as they do for the original."""
    src = src.resolve()
    dst = out_dir / "o1js"
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    elif dst.exists():
        shutil.rmtree(dst)
    try:
        shutil.copytree(src, dst, symlinks=True, copy_function=os.link)
    except OSError:                       # another file system: plain copies
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, symlinks=True)
    nm = dst / "node_modules"
    if nm.is_symlink() or nm.is_file():
        nm.unlink()
    elif nm.exists():
        shutil.rmtree(nm)
    nm.symlink_to(src.parent, target_is_directory=True)
    return dst


def _replace(file: Path, data: bytes) -> None:
    # unlink first: the copy is made of hard links, and writing through one would change the original
    if file.exists() or file.is_symlink():
        file.unlink()
    file.write_bytes(data)


def install(glue, wasm, out_dir, *, o1js_dir=None) -> dict:
    """Installs a wasm-bindgen Node glue (not post-processed) and its .wasm into a copy of o1js
    under out_dir/o1js, with the trace sink. o1js_dir: the package to copy (default: the bench's).
    Returns {"o1js", "glue", "wasm"}; raises BuildError with a one-line reason."""
    glue, wasm, out_dir = Path(glue), Path(wasm), Path(out_dir)
    src = Path(o1js_dir) if o1js_dir else O1JS
    for p, what in ((glue, "glue"), (wasm, "wasm"), (src / GLUE_DIR / "kimchi_wasm.cjs", "o1js package")):
        if not p.exists():
            raise BuildError(f"install: {what} not found: {p}")
    text = postprocess_glue(glue.read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    o1js = _o1js_copy(out_dir, src)
    dest = o1js / GLUE_DIR
    _replace(dest / "kimchi_wasm.cjs", text.encode())
    _replace(dest / "kimchi_wasm_bg.wasm", wasm.read_bytes())
    _replace(dest / SINK_JS, (TEMPLATES / SINK_JS).read_bytes())
    snippets = glue.parent / "snippets"   # wasm-bindgen's local JS snippets, if the crate has any
    if snippets.is_dir():
        if (dest / "snippets").exists():
            shutil.rmtree(dest / "snippets")
        shutil.copytree(snippets, dest / "snippets")
    return {"o1js": str(o1js), "glue": str(dest / "kimchi_wasm.cjs"), "wasm": str(dest / "kimchi_wasm_bg.wasm")}


def build(cfg, checkout, out_dir, *, patch=None, inventory_json=None) -> dict:
    """Builds the patched bindings into out_dir/o1js (a copy of the bench's o1js).

    Stops before doing anything when `check_toolchain` reports something missing (BuildError
    listing all of it). patch: a bindings.patch from generate_patch; when None it is generated
    into out_dir/patch from inventory_json (or the generator's own discovery).
    Returns {"steps": [...], "o1js": path, "wasm": path}.
    """
    sec = _section(cfg)
    missing = check_toolchain(cfg, checkout)
    if missing:
        raise BuildError("source build: missing prerequisites:\n  - " + "\n  - ".join(missing))
    checkout = Path(checkout or sec.get("checkout"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    toolchain = sec.get("toolchain") or "nightly-2025-12-11"
    steps = []

    cargo_toml = checkout / TARGET_CRATE / "Cargo.toml"
    if MARKER not in cargo_toml.read_text():
        if patch is None:
            generate_patch(inventory_json, checkout, out_dir / "patch")
            patch = out_dir / "patch" / "bindings.patch"
        r = _run(["git", "apply", "--whitespace=nowarn", str(Path(patch).resolve())], timeout=120, cwd=checkout)
        if r is None or r.returncode != 0:
            raise BuildError(f"git apply of {patch} failed: {r.stderr if r else 'did not run'}")
        steps.append({"step": "apply_patch", "patch": str(patch)})

    pkg = out_dir / "pkg"
    env = dict(os.environ, RUSTUP_TOOLCHAIN=toolchain)
    cmd = ["wasm-pack", "build", "--target", "nodejs", "--release", "--out-dir", str(pkg.resolve()),
           str((checkout / TARGET_CRATE).resolve()), "--",
           "--features", "nodejs", "-Z", "build-std=panic_abort,std"]
    r = _run(cmd, timeout=3 * 3600, cwd=checkout, env=env)
    log = out_dir / "wasm-pack.log"
    log.write_text(((r.stdout + "\n" + r.stderr) if r else "did not run") + "\n")
    if r is None or r.returncode != 0:
        raise BuildError(f"wasm-pack build failed; see {log}")
    steps.append({"step": "wasm_pack", "cmd": cmd})

    glue, wasm = pkg / "kimchi_wasm.js", pkg / "kimchi_wasm_bg.wasm"
    if not glue.exists() or not wasm.exists():
        raise BuildError(f"wasm-pack did not produce {glue.name} and {wasm.name} in {pkg}")
    installed = install(glue, wasm, out_dir)
    steps.append({"step": "install", "into": installed["glue"]})
    result = {"steps": steps, "o1js": installed["o1js"], "wasm": installed["wasm"]}
    (out_dir / "build.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check-only", action="store_true", help="only list missing prerequisites")
    ap.add_argument("--checkout", default=None)
    ap.add_argument("--out", default=None, help="output folder (default: <artifacts>/source_build)")
    ap.add_argument("--no-network-probe", action="store_true")
    ap.add_argument("--install", nargs=2, metavar=("GLUE", "WASM"), default=None,
                    help="only install a glue (as wasm-bindgen wrote it) and its .wasm into a copy of o1js")
    args = ap.parse_args(argv)
    from analysis.common import config as config_mod
    cfg = config_mod.load()
    out = Path(args.out) if args.out else cfg.artifacts / "source_build"
    if args.install:
        try:
            res = install(*args.install, out)
        except BuildError as e:
            print(f"source build: {e}", file=sys.stderr)
            return 1
        print(json.dumps(res, indent=2))
        return 0
    missing = check_toolchain(cfg, args.checkout, probe_network=not args.no_network_probe)
    if missing:
        print("source build: missing prerequisites:\n  - " + "\n  - ".join(missing), file=sys.stderr)
        return 2
    if args.check_only:
        print("source build: all prerequisites present")
        return 0
    try:
        res = build(cfg, args.checkout, out)
    except BuildError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
