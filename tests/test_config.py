import pytest
import yaml

from analysis.common import config
from analysis.common.paths import CONFIG


def write(tmp_path, mutate):
    data = yaml.safe_load(CONFIG.read_text())
    mutate(data)
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_repo_config_is_valid():
    cfg = config.load(env={})
    assert cfg["bench"]["iterations"] >= 1
    assert cfg.overrides == {}


def test_unknown_key_is_named(tmp_path):
    p = write(tmp_path, lambda d: d["bench"].update(iteratons=3))
    with pytest.raises(config.ConfigError, match=r"bench: unknown key\(s\):.*iteratons"):
        config.load(p, env={})


def test_wrong_value_names_key_and_expectation(tmp_path):
    p = write(tmp_path, lambda d: d["bench"].update(cache="home"))
    with pytest.raises(config.ConfigError) as e:
        config.load(p, env={})
    assert "bench.cache" in str(e.value) and '"none"' in str(e.value) and '"home"' in str(e.value)


def test_wrong_type_in_list(tmp_path):
    p = write(tmp_path, lambda d: d["bench"].update(scenarios=["trivial", "huge"]))
    with pytest.raises(config.ConfigError, match=r"bench\.scenarios\.1"):
        config.load(p, env={})


def test_not_yaml(tmp_path):
    p = tmp_path / "config.yaml"
    p.write_text("bench: [unclosed\n")
    with pytest.raises(config.ConfigError, match="not valid YAML"):
        config.load(p, env={})


def test_overrides_apply_validate_and_are_recorded():
    cfg = config.load(env={"WLH_SET": "bench.iterations=2 trace.creation_sites=false"})
    assert cfg["bench"]["iterations"] == 2 and cfg["trace"]["creation_sites"] is False
    assert cfg.overrides == {"bench.iterations": 2, "trace.creation_sites": False}
    with pytest.raises(config.ConfigError, match="bench.iterations.*got 0"):
        config.load(env={"WLH_SET": "bench.iterations=0"})
    with pytest.raises(config.ConfigError, match="'bench.nope' is not a config key"):
        config.load(env={"WLH_SET": "bench.nope=1"})
    with pytest.raises(config.ConfigError, match="not of the form"):
        config.load(env={"WLH_SET": "iterations"})


def test_checkout_from_environment():
    cfg = config.load(env={"WLH_BINDINGS_CHECKOUT": "some/where"})
    assert cfg["inventory"]["checkout"] == "some/where" and cfg["source_route"]["checkout"] == "some/where"
