"""The preload maps the bare specifier 'o1js' (and 'o1js/...') to the chosen copy, for ES modules and
CommonJS, including when another package imports it, and leaves every other specifier alone. Uses a fake
o1js (no WASM): nothing is traced, only resolution is checked."""
import json
import os
import subprocess

import pytest

from analysis.wlh.paths import PRELOAD


def package(root, name, files: dict[str, str], **fields):
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0", **fields}))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@pytest.fixture
def layout(tmp_path):
    chosen = tmp_path / "anchor" / "node_modules" / "o1js"
    package(chosen, "o1js", {"index.mjs": "export const who = 'chosen';", "index.cjs": "exports.who = 'chosen';",
                             "sub/x.mjs": "export const who = 'chosen/sub';", "sub/x.cjs": "exports.who = 'chosen/sub';"},
            exports={".": {"import": "./index.mjs", "require": "./index.cjs"},
                     "./sub": {"import": "./sub/x.mjs", "require": "./sub/x.cjs"}})
    nm = tmp_path / "prog" / "node_modules"
    package(nm / "o1js", "o1js", {"index.js": "exports.who = 'program-own';"}, main="index.js")
    package(nm / "o1js-extra", "o1js-extra", {"index.js": "exports.who = 'extra';"}, main="index.js")
    package(nm / "@fake" / "o1js", "@fake/o1js", {"index.js": "exports.who = 'scoped';"}, main="index.js")
    package(nm / "uses-o1js", "uses-o1js", {"index.js": "exports.who = require('o1js').who;"}, main="index.js")
    return tmp_path


EXPECTED = {"o1js": "chosen", "o1js/sub": "chosen/sub", "o1js-extra": "extra", "@fake/o1js": "scoped",
            "uses-o1js": "chosen"}

ESM = """import * as a from 'o1js'; import * as b from 'o1js/sub'; import c from 'o1js-extra';
import d from '@fake/o1js'; import e from 'uses-o1js';
console.log(JSON.stringify({'o1js': a.who, 'o1js/sub': b.who, 'o1js-extra': c.who, '@fake/o1js': d.who, 'uses-o1js': e.who}));
"""
CJS = """const r = (s) => require(s).who;
console.log(JSON.stringify(Object.fromEntries(['o1js', 'o1js/sub', 'o1js-extra', '@fake/o1js', 'uses-o1js'].map((s) => [s, r(s)]))));
"""


def run_node(layout, script, preload=True):
    env = {**os.environ, "WLH_O1JS_ANCHOR": str(layout / "anchor"), "WLH_SAMPLES": str(layout / "s.jsonl"),
           "WLH_TRACE_LOG": str(layout / "t.log")}
    flags = ["--expose-gc", "--import", PRELOAD.as_uri()] if preload else []
    p = subprocess.run(["node", *flags, script.name], cwd=script.parent, env=env, capture_output=True, text=True,
                       timeout=60)
    return p


@pytest.mark.parametrize("name,text", [("prog.mjs", ESM), ("prog.cjs", CJS)])
def test_o1js_and_only_o1js_is_redirected(layout, name, text):
    script = layout / "prog" / name
    script.write_text(text)
    p = run_node(layout, script)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == EXPECTED


def test_without_the_preload_the_program_gets_its_own(layout):
    script = layout / "prog" / "own.cjs"
    script.write_text("console.log(require('o1js').who)")
    assert run_node(layout, script, preload=False).stdout.strip() == "program-own"


def test_a_process_that_never_loads_o1js_writes_no_samples(layout):
    # wlh run follows every node process of a program; only those that load o1js's glue are instances
    script = layout / "prog" / "nothing.mjs"
    script.write_text("")
    assert run_node(layout, script).returncode == 0
    assert not (layout / "s.jsonl").exists()
