"""The canonical record schema of ``../shared/DATA_CONTRACT.md``.

One table, one row per QA assessment. Loading brings any input to this shape; every
other column is kept and passed through.
"""

from __future__ import annotations

__all__ = [
    "RECORD_ID", "ASSESSED_AT", "TICKET_TEXT", "REVIEWER_COMMENT", "QA_RESULT", "QA_SCORE",
    "POLICY_AREA", "PERIOD", "TEXT_COLUMNS", "REQUIRED_COLUMNS", "CATEGORICAL_COLUMNS",
    "OPTIONAL_COLUMNS", "CANONICAL_COLUMNS", "QA_RESULT_VALUES",
]

RECORD_ID = "record_id"
ASSESSED_AT = "assessed_at"
TICKET_TEXT = "ticket_text"
REVIEWER_COMMENT = "reviewer_comment"
QA_RESULT = "qa_result"
QA_SCORE = "qa_score"
POLICY_AREA = "policy_area"
#: Added by loading: the reporting period ("2026-10", "2026-W42" or "2026-Q4").
PERIOD = "period"

#: At least one of these must hold text.
TEXT_COLUMNS: tuple[str, ...] = (TICKET_TEXT, REVIEWER_COMMENT)
#: Columns an input must have (a text column may be absent if the other one is there).
REQUIRED_COLUMNS: tuple[str, ...] = (RECORD_ID, ASSESSED_AT)
#: Optional categorical dimensions: what root-cause ranking may search.
CATEGORICAL_COLUMNS: tuple[str, ...] = (
    "market", "language", "queue", "channel", "agent_id", "reviewer_id", "macro_id",
    "policy_version",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (QA_RESULT, QA_SCORE, POLICY_AREA, *CATEGORICAL_COLUMNS)
CANONICAL_COLUMNS: tuple[str, ...] = (
    RECORD_ID, ASSESSED_AT, TICKET_TEXT, REVIEWER_COMMENT, *OPTIONAL_COLUMNS,
)
QA_RESULT_VALUES: tuple[str, ...] = ("pass", "fail")
