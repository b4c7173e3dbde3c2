"""Tests of qa_insights.config: the composed pipeline config and its YAML loading."""

from __future__ import annotations

import pytest

from qa_insights.config import CONFIG_DIR, PipelineConfig, load_config
from qa_insights.errors import ConfigError


def test_shipped_default_config_loads():
    config = load_config()
    assert isinstance(config, PipelineConfig)
    assert (CONFIG_DIR / "qa_insights.yaml").is_file()


def test_yaml_values_reach_the_stages(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 7\nload:\n  period: week\n  column_map: {Comment: reviewer_comment}\n")
    config = load_config(path)
    assert config.seed == 7
    assert config.load.period == "week"
    assert config.load.column_map == {"Comment": "reviewer_comment"}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("seed: 1\nsede: 2\n", r"sede: Extra inputs are not permitted"),
        ("load:\n  period: fortnight\n", r"load\.period"),
        ("- just\n- a list\n", "expected a mapping"),
        ("seed: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        load_config(path)
    assert "bad.yaml" in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
