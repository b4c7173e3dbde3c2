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
