"""Realistic Trust & Safety QA assessments with planted ground truth, and the bundled sample.

:func:`generate_assessments` writes records in the data contract's shape: users' safety reports,
QA reviewers' comments on how the agent handled them, and the operational attributes (market,
queue, agent, macro, policy version, ...). Failure themes can be planted with a known start,
growth pattern and root cause; the truth table says which record is which, so theme discovery,
emerging-theme detection, root-cause ranking and redaction can be scored exactly.

Examples
--------
>>> from qa_insights.datasets import generate_assessments, PlantedTheme
>>> theme = PlantedTheme("refund macro to victims", "scam_refund_macro_to_victims",
...                      start_period="2026-09", pattern="sudden", peak_share=0.05,
...                      root_cause={"market": "ID", "macro_id": "MAC-SC-07"})
>>> data = generate_assessments(records_per_period=200, planted=[theme], seed=7)
>>> int(data.truth["planted_theme"].notna().sum())
20
"""

from __future__ import annotations

from ._attributes import (
    AGENTS, CHANNELS, LANGUAGE_NAMES, MACROS, MARKETS, POLICY_VERSIONS, QUEUES, REVIEWERS,
    ROOT_CAUSE_DIMENSIONS,
)
from ._catalogue import FAILURE_MODES, POLICY_AREAS, ROOT_CAUSE_CATEGORIES, FailureMode
from ._generator import (
    DEFAULT_PERIODS, I18N_TRUTH_COLUMNS, MALFORMED_REASONS, PATTERNS, TRUTH_COLUMNS,
    GeneratedData, PlantedTheme,
    default_planted, generate_assessments,
)
from ._sample import (
    SAMPLE_PARAMS, SAMPLE_PATH, SAMPLE_TRUTH_PATH, generate_sample, load_sample,
    load_sample_truth, write_sample,
)

__all__ = [
    "generate_assessments", "PlantedTheme", "GeneratedData", "default_planted",
    "FAILURE_MODES", "FailureMode", "POLICY_AREAS", "ROOT_CAUSE_CATEGORIES",
    "load_sample", "load_sample_truth", "generate_sample", "write_sample",
    "SAMPLE_PATH", "SAMPLE_TRUTH_PATH", "SAMPLE_PARAMS",
    "DEFAULT_PERIODS", "PATTERNS", "TRUTH_COLUMNS", "I18N_TRUTH_COLUMNS", "MALFORMED_REASONS",
    "MARKETS", "LANGUAGE_NAMES", "QUEUES", "CHANNELS", "AGENTS", "REVIEWERS", "MACROS",
    "POLICY_VERSIONS", "ROOT_CAUSE_DIMENSIONS",
]
