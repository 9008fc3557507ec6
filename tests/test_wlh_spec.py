"""`--o1js SPEC` that cannot be used: one clear line each, before any program runs. No network: folders
and tarballs are checked locally, and the instrumenter's own message names what it looked for."""
import io
import json
import tarfile

import pytest

from analysis.wlh import spec
from tests.wlh_helpers import one_error_line, wlh


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WLH_CACHE", str(tmp_path / "cache"))


def run_with(capsys, tmp_path, o1js) -> str:
    script = tmp_path / "prog.mjs"
    script.write_text("import 'o1js';\n")
    code, _, err = wlh(capsys, "run", "--o1js", o1js, "--out", tmp_path / "out", "--", "node", script)
    assert code == 2
    return one_error_line(err)


def o1js_dir(root, *, name="o1js", dist=True, glue=False, wasm=b"\0asm\1\0\0\0"):
    root.mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": name, "version": "0.0.1-test"}))
    if dist:
        (root / "dist" / "node").mkdir(parents=True)
    if glue:
        g = root / "dist/node/bindings/compiled/node_bindings"
        g.mkdir(parents=True)
        (g / "kimchi_wasm.cjs").write_text("module.exports = {};\n")
        (g / "kimchi_wasm_bg.wasm").write_bytes(wasm)
    return root


def tarball(path, files: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_missing_directory(capsys, tmp_path):
    assert run_with(capsys, tmp_path, str(tmp_path / "nope") + "/").endswith("nope/: no such directory")


def test_folder_that_is_not_o1js(capsys, tmp_path):
    o1js_dir(tmp_path / "pkg", name="left-pad")
    assert "not an o1js package (its package.json names 'left-pad')" in run_with(capsys, tmp_path, tmp_path / "pkg")
    (tmp_path / "empty").mkdir()
    assert "not an o1js package (no package.json)" in run_with(capsys, tmp_path, tmp_path / "empty")


def test_checkout_not_built(capsys, tmp_path):
    o1js_dir(tmp_path / "o1js", dist=False)
    assert "no dist/node (a checkout must be built first" in run_with(capsys, tmp_path, tmp_path / "o1js")


def test_no_wasm_glue(capsys, tmp_path):
    o1js_dir(tmp_path / "o1js")
    line = run_with(capsys, tmp_path, tmp_path / "o1js")
    assert "cannot be traced" in line and "no kimchi_wasm.cjs or plonk_wasm.cjs glue found" in line


def test_unknown_hook_names_list_what_was_looked_for(capsys, tmp_path):
    o1js_dir(tmp_path / "o1js", glue=True)  # an empty wasm module: no allocator names at all
    line = run_with(capsys, tmp_path, tmp_path / "o1js")
    assert "cannot find the allocator hook points by name" in line
    assert "rust shims missing [alloc, dealloc, realloc, alloc_zeroed]" in line
    assert "dlmalloc methods missing [malloc, free, realloc, memalign]" in line


def test_tarballs_that_are_not_o1js(capsys, tmp_path):
    other = tarball(tmp_path / "left-pad-1.0.0.tgz", {"package/package.json": b'{"name": "left-pad"}'})
    assert "not an o1js package (its package.json names 'left-pad')" in run_with(capsys, tmp_path, other)
    bare = tarball(tmp_path / "bare.tgz", {"README": b"hi"})
    assert "not an npm package tarball (no package/package.json)" in run_with(capsys, tmp_path, bare)
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"this is not gzip")
    assert "not a tarball" in run_with(capsys, tmp_path, junk)
    assert "no such file" in run_with(capsys, tmp_path, tmp_path / "missing.tgz")


def test_tarball_of_unbuilt_o1js(capsys, tmp_path):
    t = tarball(tmp_path / "o1js-9.9.9.tgz", {"package/package.json": b'{"name": "o1js", "version": "9.9.9"}'})
    assert "no dist/node" in run_with(capsys, tmp_path, t)


def test_spec_that_is_nothing_known(capsys, tmp_path):
    assert "not a version (e.g. 2.15.0), a directory or a tarball" in run_with(capsys, tmp_path, "latest")


def test_dependencies_of_a_bare_package_come_from_the_pinned_tree(tmp_path):
    d = o1js_dir(tmp_path / "o1js")
    (d / "package.json").write_text(json.dumps({"name": "o1js", "version": "1.0.0", "dependencies": {"tslib": "^2"}}))
    src = spec.resolve(str(d))
    assert src.kind == "directory" and src.deps.name == "node_modules"
    (d / "package.json").write_text(json.dumps({"name": "o1js", "dependencies": {"no-such-dep-wlh": "1"}}))
    with pytest.raises(spec.WlhError, match="no-such-dep-wlh not in the pinned tree"):
        spec.resolve(str(d))


def test_release_pinned_here_needs_no_install():
    version = spec.pinned_version()
    src = spec.resolve(version)
    assert src.kind == "release" and src.version == version
    assert src.lock["file"] == "bench/package-lock.json" and src.lock["o1js"]["version"] == version
