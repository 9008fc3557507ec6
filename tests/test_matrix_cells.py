import pytest
import yaml

from analysis.common import config
from analysis.matrix.cells import Cell, cells, parse_cell
from analysis.common.paths import CONFIG


def load(tmp_path, **matrix):
    data = yaml.safe_load(CONFIG.read_text())
    data["matrix"].update(matrix)
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(data))
    return config.load(p, env={})


def test_parse_cell_and_names():
    c = parse_cell("2.10.0/recursive/w4+free-wrapped-polycomm")
    assert c == Cell("2.10.0", "recursive", 4, "free-wrapped-polycomm")
    assert c.id == "2.10.0-recursive-w4+free-wrapped-polycomm"
    assert c.base == Cell("2.10.0", "recursive", 4)
    with pytest.raises(config.ConfigError, match=r"matrix: '2\.10/trivial/w1' is not a cell"):
        parse_cell("2.10/trivial/w1")


def test_product_extra_and_whatif(tmp_path):
    cfg = load(tmp_path, versions=["2.15.0", "2.7.0"], scenarios=["trivial"], workers=[1, 4],
               extra_cells=["2.15.0/recursive/w1", "2.15.0/trivial/w1"],
               whatif=["2.15.0/recursive/w1+free-wrapped-polycomm"])
    names = [c.name for c in cells(cfg)]
    assert names == ["2.15.0/trivial/w1", "2.15.0/trivial/w4", "2.7.0/trivial/w1", "2.7.0/trivial/w4",
                     "2.15.0/recursive/w1", "2.15.0/recursive/w1+free-wrapped-polycomm"]  # duplicates once


@pytest.mark.parametrize("whatif, message", [
    (["2.15.0/trivial/w1+nope"], r"no mitigation 'nope' under `mitigations`"),
    (["2.15.0/recursive/w4+free-wrapped-polycomm"], r"needs its plain cell '2\.15\.0/recursive/w4'"),
])
def test_whatif_errors_name_the_entry(tmp_path, whatif, message):
    cfg = load(tmp_path, versions=["2.15.0"], scenarios=["trivial"], workers=[1], extra_cells=[], whatif=whatif)
    with pytest.raises(config.ConfigError, match=message):
        cells(cfg)


def test_schema_rejects_malformed_cell(tmp_path):
    with pytest.raises(config.ConfigError, match=r"matrix\.extra_cells\.0: got \"2\.15\.0/trivial\""):
        load(tmp_path, extra_cells=["2.15.0/trivial"])
