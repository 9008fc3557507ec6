"""`wlh --help`, each subcommand's help, and usage mistakes as one line."""
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
