"""README.md must stay true: its documented rules are generated from the code's defaults."""

from __future__ import annotations

from pathlib import Path

from qa_insights.trends import TrendConfig, status_rules_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_states_the_current_emerging_theme_rules():
    rules = status_rules_markdown(TrendConfig()).split("\n", 1)[1].strip()
    assert rules in README.read_text(encoding="utf-8")


def test_readme_has_the_two_setup_commands_ci_runs():
    readme = README.read_text(encoding="utf-8")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    for command in ("bash scripts/install.sh && python3 -m qa_insights run --sample --out runs/sample",
                    "python3 -m pytest"):
        assert command in readme
        assert command in ci
