"""Root-cause candidates of a failure theme, for human review.

Structural causes: attribute-value combinations (market, queue, channel, macro, policy version,
agent, reviewer, ...) over-represented among a theme's records, found by a pruned beam search and
reported with support, rates, risk ratio and interval, explanatory power, surprise, corrected
p-values and evidence (:func:`rank_root_causes`). Textual causes: the phrases most distinctive of
the theme's comments (:func:`distinctive_phrases`). A root-cause category from a configurable
taxonomy (:func:`tag_root_cause_category`) and the theme's impact on the fail rate
(:func:`theme_impact`). :func:`root_causes_for_theme` does all of it for one theme and period.
"""

from ._api import (CANDIDATE_COLUMNS, ThemeRootCauses, count_combinations,
                   format_root_cause_table, rank_root_causes, rank_root_causes_from_counts,
                   root_causes_for_theme, root_causes_from_counts, theme_impact)
from ._category import CategoryTag, RootCauseCategorizer, tag_root_cause_category
from ._config import (CategoryConfig, PhraseConfig, RootCauseCategory, RootCauseConfig,
                      default_categories)
from ._textual import distinctive_phrases, distinctive_phrases_from_counts, phrase_counts

__all__ = [
    "rank_root_causes", "root_causes_for_theme", "theme_impact", "ThemeRootCauses",
    "rank_root_causes_from_counts", "root_causes_from_counts", "count_combinations",
    "distinctive_phrases_from_counts", "phrase_counts",
    "format_root_cause_table", "CANDIDATE_COLUMNS", "distinctive_phrases",
    "tag_root_cause_category", "RootCauseCategorizer", "CategoryTag", "RootCauseConfig",
    "PhraseConfig", "CategoryConfig", "RootCauseCategory", "default_categories",
]
