import pytest

from analysis.common.jsonl import JsonlError, read_jsonl


def test_truncated_last_line_is_reported_not_fatal(tmp_path):
    p = tmp_path / "run.jsonl"
    p.write_text('{"event":"start"}\n{"event":"sample","iteration":1}\n{"event":"sam')
    r = read_jsonl(p)
    assert [x["event"] for x in r.records] == ["start", "sample"]
    assert r.truncated_tail == '{"event":"sam'
    assert "run.jsonl:3: truncated last line" in r.problems[0]


def test_complete_last_line_without_newline_is_kept(tmp_path):
    p = tmp_path / "run.jsonl"
    p.write_text('{"a":1}\n{"b":2}')
    r = read_jsonl(p)
    assert r.records == [{"a": 1}, {"b": 2}] and r.truncated_tail is None


def test_bad_middle_line_names_file_and_line(tmp_path):
    p = tmp_path / "run.jsonl"
    p.write_text('{"a":1}\nnot json\n{"b":2}\n')
    with pytest.raises(JsonlError, match=r"run\.jsonl:2: not a JSON object"):
        read_jsonl(p)
    r = read_jsonl(p, strict=False)
    assert len(r.records) == 2 and "run.jsonl:2" in r.problems[0]
