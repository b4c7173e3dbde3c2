"""qa_insights: what is going wrong in Trust & Safety QA assessments, where, and why.

The package reads like the pipeline it implements::

    load -> clean (redact) -> embed -> themes -> trends -> policy -> root_causes -> report / flags

Public names live in private or stage modules and are re-exported here lazily, so that
``import qa_insights`` stays cheap (no torch import until an encoder is used).
"""

from __future__ import annotations

import importlib
import logging

from ._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "QAInsightsError": "qa_insights.errors",
    "InputError": "qa_insights.errors",
    "ConfigError": "qa_insights.errors",
    "load_records": "qa_insights.load",
    "LoadResult": "qa_insights.load",
    "Redactor": "qa_insights.clean",
    "redact": "qa_insights.clean",
    "clean_text": "qa_insights.clean",
    "TextEncoder": "qa_insights.embed",
    "PipelineConfig": "qa_insights.config",
    "load_config": "qa_insights.config",
    "ThemeModel": "qa_insights.themes",
    "ThemeRegistry": "qa_insights.themes",
    "theme_trends": "qa_insights.trends",
    "emerging_themes": "qa_insights.trends",
    "plot_theme_volume": "qa_insights.trends",
    "PolicyClassifier": "qa_insights.policy",
    "PolicyTaxonomy": "qa_insights.policy",
    "rank_root_causes": "qa_insights.root_causes",
    "root_causes_for_theme": "qa_insights.root_causes",
    "distinctive_phrases": "qa_insights.root_causes",
    "StateStore": "qa_insights.store",
    "run": "qa_insights.pipeline",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qa_insights' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
