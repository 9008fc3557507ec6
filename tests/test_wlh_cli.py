"""`wlh --help`, each subcommand's help, and usage mistakes as one line."""
import os

import pytest

from analysis.wlh.cli import build_parser
from tests.wlh_helpers import one_error_line, wlh


def help_text(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(list(argv) + ["--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def test_main_help_says_what_it_is_for_and_shows_record_then_report(capsys):
    text = help_text(capsys)
    lines = text.splitlines()
    purpose = lines[lines.index("") + 1]
    assert purpose.startswith("wlh finds what leaks in o1js's WebAssembly memory")
    assert any(line.strip().startswith("wlh run ") for line in lines)
    assert any(line.strip().startswith("wlh report ") for line in lines)
    for cmd in ("run", "report", "compare"):
        assert f"    {cmd} " in text


@pytest.mark.parametrize("cmd,needles", [
    ("run", ["--o1js SPEC", "--workers N", "--out DIR", "--snapshot MODE", "every:SECONDS", "wlhSnapshot", "example:"]),
    ("report", ["report.md", "report.png", "report.json", "parse.json", "example:"]),
    ("compare", ["BASELINE", "CANDIDATE", "verdict", "example"]),
])
def test_each_subcommand_help_is_complete(capsys, cmd, needles):
    text = help_text(capsys, cmd)
    for n in needles:
        assert n in text, n


@pytest.mark.parametrize("argv,expected", [
    (["run", "--out", "{tmp}/o"], "no program given"),
    (["run", "--out", "{tmp}/o", "--", "python", "x.py"], "must start with node"),
    (["report", "{tmp}/nothing"], "no such file or directory"),
    (["report", "{tmp}"], "not a `wlh run` directory"),
    (["compare", "{tmp}/a", "{tmp}/b"], "no such file or directory"),
])
def test_usage_mistakes_are_one_line(capsys, tmp_path, argv, expected):
    code, _, err = wlh(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 2
    assert expected in one_error_line(err)


def test_run_refuses_a_non_empty_out_without_force(capsys, tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    code, _, err = wlh(capsys, "run", "--out", tmp_path, "--", "node", "x.mjs")
    assert code == 2 and "not empty" in one_error_line(err)


def test_bad_snapshot_mode_is_an_argparse_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        wlh(capsys, "run", "--snapshot", "sometimes", "--", "node", "x.mjs")
    assert e.value.code == 2
    assert "expected proof, every:SECONDS or manual" in capsys.readouterr().err


@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    """`wlh run` with o1js resolution, the traced copy and the node process replaced: returns a setter for
    what the run 'recorded' (exit code, glue loaded or not, snapshots)."""
    from analysis.wlh import runner, spec, traced
    from analysis.wlh.spec import O1jsSource
    from analysis.wlh.traced import TracedCopy

    result = {}
    monkeypatch.setattr(runner, "check_node_version", lambda node: "v20.20.2")
    monkeypatch.setattr(spec, "resolve", lambda given, script: O1jsSource("release", "2.15.0", tmp_path, tmp_path, "2.15.0"))
    monkeypatch.setattr(traced, "prepare", lambda src: TracedCopy(tmp_path, "k", {}, True))
    monkeypatch.setattr(runner, "run", lambda opts, src, copy: (result["code"], {
        "preload": {"glue_loaded": result["loaded"]}, "snapshots": result["snapshots"], "proofs": 0, "instances": []}))
    return lambda **kw: result.update(kw)


@pytest.mark.parametrize("code,loaded,snapshots,says,not_says", [
    (1, False, 0, "exited with code 1 before o1js loaded its WASM bindings", "does it import 'o1js'"),
    (0, False, 0, "no process of the program loaded o1js", "exited with code"),
    (3, True, 2, "exited with code 3 (the trace up to that point is kept)", "before o1js loaded"),
    (0, True, 0, "no snapshot was taken", "nothing was traced"),
])
def test_run_says_why_nothing_or_little_was_traced(capsys, tmp_path, fake_run, code, loaded, snapshots, says, not_says):
    fake_run(code=code, loaded=loaded, snapshots=snapshots)
    got, _, err = wlh(capsys, "run", "--out", tmp_path / "out", "--", "node", "prog.mjs")
    assert got == code
    assert says in err and not_says not in err, err


def test_cap_without_the_guard_is_refused_before_anything_is_prepared(capsys, tmp_path, fake_run, monkeypatch):
    from analysis.wlh import traced

    def never(src):  # preparing an instrumented copy takes seconds to minutes: not for a refused command
        raise AssertionError("prepared a copy for a refused command")

    monkeypatch.setattr(traced, "prepare", never)
    code, _, err = wlh(capsys, "run", "--cap", "500", "--no-guard", "--out", tmp_path / "r", "--", "node", "x.mjs")
    assert code == 2 and "--cap is applied by the guard" in one_error_line(err)
    assert not (tmp_path / "r").exists()


FAKE_PREPARE = """
import fs from 'node:fs';
import path from 'node:path';
const arg = (k) => process.argv[process.argv.indexOf(k) + 1];
const out = arg('--out');
fs.mkdirSync(path.join(out, 'node_modules', 'o1js'), { recursive: true });
fs.writeFileSync(arg('--report'), JSON.stringify({ made_by: path.basename(out) }));
if (process.env.FAKE_RACE) {  // another run finishes its copy of the same content first
  const final = out.replace(/[.]making-[0-9]+$/, '');
  fs.mkdirSync(final, { recursive: true });
  fs.writeFileSync(path.join(final, 'instrument.json'), JSON.stringify({ made_by: 'the other run' }));
  fs.writeFileSync(path.join(final, 'ready'), '{}');
}
"""


@pytest.mark.parametrize("race", [False, True])
def test_a_traced_copy_appears_whole_or_not_at_all(tmp_path, monkeypatch, race):
    from analysis.wlh import traced
    from analysis.wlh.spec import O1jsSource

    script = tmp_path / "prepare.mjs"
    script.write_text(FAKE_PREPARE)
    src = tmp_path / "o1js"
    (src / "dist" / "node").mkdir(parents=True)
    (src / "package.json").write_text('{"version": "2.15.0"}')
    monkeypatch.setattr(traced, "PREPARE", script)
    monkeypatch.setenv("WLH_CACHE", str(tmp_path / "cache"))
    if race:
        monkeypatch.setenv("FAKE_RACE", "1")
    copy = traced.prepare(O1jsSource("release", "2.15.0", src, tmp_path, "2.15.0"))
    assert copy.reused is race
    assert copy.report["made_by"] == ("the other run" if race else f"{copy.key}.making-{os.getpid()}")
    assert sorted(p.name for p in (tmp_path / "cache" / "traced").iterdir()) == [copy.key]  # nothing half-made left
    assert (copy.anchor / "ready").exists()
    assert traced.prepare(O1jsSource("release", "2.15.0", src, tmp_path, "2.15.0")).reused
