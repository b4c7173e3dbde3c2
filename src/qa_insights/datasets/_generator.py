"""Generate realistic QA assessments with planted, exactly known failure themes.

Background records draw a policy area, a market and the rest of the operational attributes, then
pass or fail; a failure gets a background failure mode and one of its wordings. Planted themes add
records of a reserved failure mode whose share of each period follows a pattern, a set share of
them carrying the theme's root-cause attributes. The truth table says, per record, what was
planted, so later stages can be scored against it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..schema import CANONICAL_COLUMNS
from ._attributes import (
    AGENTS, CHANNELS, LANGUAGE_NAMES, MACROS, MARKETS, POLICY_VERSIONS, QUEUES, REVIEWERS,
    ROOT_CAUSE_DIMENSIONS,
)
from ._catalogue import FAILURE_MODES, FailureMode
from ._records import Drawer, choice, month_ordinal, pick, version_days

__all__ = ["PlantedTheme", "GeneratedData", "generate_assessments", "default_planted",
           "DEFAULT_PERIODS", "PATTERNS", "TRUTH_COLUMNS", "I18N_TRUTH_COLUMNS",
           "MALFORMED_REASONS"]

logger = logging.getLogger(__name__)

DEFAULT_PERIODS: tuple[str, ...] = ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09",
                                    "2026-10")
PATTERNS: tuple[str, ...] = ("sudden", "gradual", "fading", "stable")
TRUTH_COLUMNS: tuple[str, ...] = (
    "record_id", "period", "failure_mode", "policy_area_true", "planted_theme",
    "root_cause_match", "malformed_reason", "wording",
)
#: Extra truth columns with ``multilingual_tickets``: the language the ticket is really written in
#: (it differs from the declared ``language`` for a few records, on purpose).
I18N_TRUTH_COLUMNS: tuple[str, ...] = ("ticket_language",)
MALFORMED_REASONS: tuple[str, ...] = (
    "no_text", "bad_timestamp", "duplicate_id", "bad_qa_result", "bad_qa_score",
)
_VERSIONS = tuple(v for v, _ in POLICY_VERSIONS)


@dataclass(frozen=True)
class PlantedTheme:
    """A failure theme planted in generated data, with its known root cause.

    Parameters
    ----------
    name : str
        Theme name, as it appears in the truth table.
    failure_mode : str
        A reserved id of :data:`FAILURE_MODES` (background never uses it).
    start_period : str
        First month with theme records ("2026-09"); may precede the generated months.
    pattern : {"sudden", "gradual", "fading", "stable"}
        ``sudden``/``stable``: ``peak_share`` from ``start_period`` on. ``gradual``: rises
        linearly to ``peak_share`` at the last generated month. ``fading``: ``peak_share`` at
        ``start_period``, falling linearly to zero at ``end_period``.
    peak_share : float
        Share of a month's records that belong to the theme at full strength.
    root_cause : dict
        1-3 record attributes (``market``, ``queue``, ``macro_id``, ...) that cause it.
    end_period : str, optional
        No theme records in this month or later; required for ``fading``.
    concentration : float
        Share of theme records that carry every root-cause attribute; the rest look like
        background (and match not all of them).
    """

    name: str
    failure_mode: str
    start_period: str
    pattern: str
    peak_share: float
    root_cause: Mapping[str, str]
    end_period: str | None = None
    concentration: float = 0.85

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a planted theme needs a non-empty name")
        mode = FAILURE_MODES.get(self.failure_mode)
        if mode is None or not mode.reserved:
            reserved = sorted(k for k, m in FAILURE_MODES.items() if m.reserved)
            raise ValueError(f"theme {self.name!r}: failure_mode must be a reserved mode, one of "
                             f"{reserved}; got {self.failure_mode!r}")
        start = month_ordinal(self.start_period)
        if self.pattern not in PATTERNS:
            raise ValueError(f"theme {self.name!r}: pattern must be one of {PATTERNS}")
        if not 0.0 < float(self.peak_share) < 1.0:
            raise ValueError(f"theme {self.name!r}: peak_share must be in (0, 1)")
        if not 0.0 < float(self.concentration) <= 1.0:
            raise ValueError(f"theme {self.name!r}: concentration must be in (0, 1]")
        if self.end_period is not None and month_ordinal(self.end_period) <= start:
            raise ValueError(f"theme {self.name!r}: end_period must come after start_period")
        if self.pattern == "fading" and self.end_period is None:
            raise ValueError(f"theme {self.name!r}: a fading theme needs end_period")
        cause = dict(self.root_cause)
        if not 1 <= len(cause) <= 3:
            raise ValueError(f"theme {self.name!r}: root_cause needs 1 to 3 attributes")
        _check_root_cause(self.name, cause, mode)
        # A private copy, so that the frozen theme cannot change through the caller's dict.
        object.__setattr__(self, "root_cause", dict(sorted(cause.items())))

    def __hash__(self) -> int:
        return hash((self.name, self.failure_mode, self.start_period, self.pattern,
                     self.peak_share, tuple(self.root_cause.items()), self.end_period,
                     self.concentration))

    def share(self, period: str, last_period: str) -> float:
        """Share of ``period``'s records that belong to this theme (``last_period``: the last
        generated month, where a gradual theme peaks)."""
        p, s = month_ordinal(period), month_ordinal(self.start_period)
        e = None if self.end_period is None else month_ordinal(self.end_period)
        if p < s or (e is not None and p >= e):
            return 0.0
        if self.pattern == "gradual":
            top = (e - 1) if e is not None else month_ordinal(last_period)
            return self.peak_share * min(1.0, (p - s + 1) / max(1, top - s + 1))
        if self.pattern == "fading":
            return self.peak_share * (e - p) / (e - s)
        return float(self.peak_share)

    def matches(self, record: Mapping[str, object]) -> bool:
        """True when ``record`` carries every root-cause attribute of this theme."""
        return all(record.get(k) == v for k, v in self.root_cause.items())


def _check_root_cause(name: str, cause: dict, mode: FailureMode) -> None:
    valid = {
        "market": tuple(MARKETS), "language": tuple(LANGUAGE_NAMES), "queue": QUEUES,
        "channel": CHANNELS, "agent_id": tuple(AGENTS), "reviewer_id": tuple(REVIEWERS),
        "macro_id": MACROS, "policy_version": _VERSIONS,
    }
    for dim, value in cause.items():
        if dim not in ROOT_CAUSE_DIMENSIONS:
            raise ValueError(f"theme {name!r}: root_cause dimension {dim!r} is not one of "
                             f"{ROOT_CAUSE_DIMENSIONS}")
        if value not in valid[dim]:
            raise ValueError(f"theme {name!r}: unknown {dim} {value!r}")
    market = cause.get("market") or (AGENTS[cause["agent_id"]].market
                                     if "agent_id" in cause else None)
    language = cause.get("language")
    if language is not None:
        if mode.requires == "non_english" and language == "en":
            raise ValueError(f"theme {name!r}: {mode.id} happens only on non-English tickets")
        if market is not None and language not in dict(MARKETS[market].languages):
            raise ValueError(f"theme {name!r}: language {language!r} is not spoken in "
                             f"market {market!r}")
    elif mode.requires == "non_english" and market is not None \
            and all(lang == "en" for lang, _ in MARKETS[market].languages):
        raise ValueError(f"theme {name!r}: market {market!r} has no non-English tickets")


@dataclass(frozen=True)
class GeneratedData:
    """Generated assessments and their ground truth.

    Attributes
    ----------
    records : DataFrame
        The data-contract columns, every value a string as in a raw export (missing: NaN).
    truth : DataFrame
        One row per record, same order: :data:`TRUTH_COLUMNS`.
    planted : list of PlantedTheme
        The themes actually planted.
    pii_values : list of str
        Every personal-data value inserted into a ticket text, once each.
    distractors : dict
        Theme name -> {attribute: value} over-represented in the theme without causing it.
    periods : list of str
        The generated months.
    """

    records: pd.DataFrame
    truth: pd.DataFrame
    planted: list[PlantedTheme]
    pii_values: list[str]
    distractors: dict[str, dict[str, str]] = field(default_factory=dict)
    periods: list[str] = field(default_factory=list)


def default_planted(periods: Sequence[str] | None = None) -> list[PlantedTheme]:
    """The themes planted in the bundled sample, placed relative to ``periods``.

    One sudden emerging theme from the second-to-last month with a two-attribute cause, one
    gradual theme from the second month with a one-attribute cause, and one theme fading from
    the first month to nothing by the second-to-last.
    """
    p = list(DEFAULT_PERIODS if periods is None else periods)
    if len(p) < 3:
        raise ValueError("default_planted needs at least 3 periods")
    return [
        PlantedTheme(
            name="refund-link macro sent to scam victims",
            failure_mode="scam_refund_macro_to_victims", start_period=p[-2], pattern="sudden",
            peak_share=0.06, root_cause={"market": "ID", "macro_id": "MAC-SC-07"}),
        PlantedTheme(
            name="ID photo requested from minors",
            failure_mode="minor_asked_for_id_photo", start_period=p[1], pattern="gradual",
            peak_share=0.05, root_cause={"queue": "account-recovery"}),
        PlantedTheme(
            name="auto-translated self-harm resources garbled",
            failure_mode="auto_translate_garbled_resources", start_period=p[0],
            pattern="fading", peak_share=0.05, root_cause={"macro_id": "MAC-SH-03"},
            end_period=p[-2]),
    ]




def _check_periods(periods: Sequence[str] | None) -> list[str]:
    periods = list(DEFAULT_PERIODS if periods is None else periods)
    if not periods:
        raise ValueError("periods must name at least one month")
    ordinals = [month_ordinal(p) for p in periods]
    if ordinals != sorted(set(ordinals)):
        raise ValueError("periods must be distinct months in increasing order")
    return periods


def _check_counts(records_per_period: int | Sequence[int], periods: list[str]) -> list[int]:
    if isinstance(records_per_period, (int, np.integer)):
        counts = [int(records_per_period)] * len(periods)
    else:
        counts = [int(n) for n in records_per_period]
        if len(counts) != len(periods):
            raise ValueError(f"records_per_period has {len(counts)} entries for "
                             f"{len(periods)} periods")
    if any(n < 0 for n in counts):
        raise ValueError("records_per_period must not be negative")
    return counts


def _check_planted(planted: Sequence[PlantedTheme]) -> list[PlantedTheme]:
    planted = list(planted)
    for theme in planted:
        if not isinstance(theme, PlantedTheme):
            raise TypeError(f"planted themes must be PlantedTheme, got {type(theme).__name__}")
    for attr in ("name", "failure_mode"):
        values = [getattr(t, attr) for t in planted]
        if len(values) != len(set(values)):
            raise ValueError(f"planted themes must have distinct {attr}s: {values}")
    return planted


def _distractors(planted: list[PlantedTheme], rng: np.random.Generator,
                 strength: float) -> dict[str, dict[str, str]]:
    """An attribute outside each theme's cause to over-represent in it: a plausible reviewer
    (one who covers the cause's market), else a channel."""
    out: dict[str, dict[str, str]] = {}
    if strength <= 0:
        return out
    for theme in planted:
        cause = theme.root_cause
        if "reviewer_id" not in cause:
            market = cause.get("market") or (AGENTS[cause["agent_id"]].market
                                             if "agent_id" in cause else None)
            pool = [r.id for r in REVIEWERS.values() if market is None or market in r.markets]
            out[theme.name] = {"reviewer_id": pick(rng, pool)}
        elif "channel" not in cause:
            out[theme.name] = {"channel": pick(rng, CHANNELS)}
    return out


_BAD_RESULTS = ("pending", "pass/fail", "?", "escalated", "3")
_BAD_SCORES = ("140", "-12", "eighty", "101", "1000")


def _corrupt(row: dict, reason: str, rng: np.random.Generator) -> None:
    """Give ``row`` the defect named by ``reason`` (the id is handled by the caller)."""
    if reason == "no_text":
        blank = pick(rng, (None, None, None, " ", "   "))
        row["ticket_text"], row["reviewer_comment"] = blank, pick(rng, (None, blank))
    elif reason == "bad_timestamp":
        s = row["assessed_at"]
        row["assessed_at"] = pick(rng, (
            s[:5] + "13" + s[7:], s[:8] + "32" + s[10:], s[:11] + "25" + s[13:], "pending",
            None))
    elif reason == "bad_qa_result":
        row["qa_result"] = pick(rng, _BAD_RESULTS)
    elif reason == "bad_qa_score":
        row["qa_score"] = pick(rng, _BAD_SCORES)


def _check_version_in_force(theme: PlantedTheme, period: str, count: int) -> None:
    version = theme.root_cause.get("policy_version")
    if version is None or count == 0:
        return
    cause = theme.root_cause
    market = cause.get("market") or (AGENTS[cause["agent_id"]].market
                                     if "agent_id" in cause else None)
    markets = [market] if market else list(MARKETS)
    if not any(version_days(version, m, month_ordinal(period)) for m in markets):
        raise ValueError(f"theme {theme.name!r}: policy version {version} is not in force in "
                         f"{period}{' in ' + market if market else ''}; start the theme later")


def _check_rate(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def generate_assessments(
    periods: Sequence[str] | None = None,
    records_per_period: int | Sequence[int] = 800,
    planted: Sequence[PlantedTheme] | None = None,
    fail_rate: float = 0.35,
    policy_label_rate: float = 0.6,
    pii_rate: float = 0.15,
    malformed_rate: float = 0.0,
    distractor_strength: float = 0.3,
    seed: int = 0,
    multilingual_tickets: bool = False,
) -> GeneratedData:
    """Generate QA assessments in the data contract's shape, with planted themes and truth.

    Parameters
    ----------
    periods : list of str, optional
        Months to generate ("2026-05", ...); default: the six months ending 2026-10.
    records_per_period : int or list of int
        Valid records per month (planted ones included), or one count per month.
    planted : list of PlantedTheme, optional
        Themes to plant; None plants :func:`default_planted`, ``[]`` plants none.
    fail_rate : float
        Share of background assessments that fail.
    policy_label_rate : float
        Share of records whose ``policy_area`` the reviewer filled in (5% of those mislabelled).
    pii_rate : float
        Share of ticket texts that carry personal data.
    malformed_rate : float
        Extra malformed rows, as a share of the valid ones (see :data:`MALFORMED_REASONS`).
    distractor_strength : float
        Probability that a theme record carries the theme's distractor attribute.
    seed : int
        Seed of the one ``numpy.random.default_rng`` the whole run draws from.
    multilingual_tickets : bool
        Write ticket text in the record's declared ``language`` (Malay, Indonesian, Thai,
        Vietnamese, Filipino, Portuguese, German; English where the generator has no phrases,
        i.e. zh and hi). A few tickets (4% of those declared in another language) are written in
        English all the same, so the declared tag is wrong for them: truth column
        ``ticket_language`` says what the text really is. Reviewer comments stay English.
        ``False`` (default) keeps every text English, as the bundled sample was generated.

    Returns
    -------
    GeneratedData
        ``records`` (all strings, as exported), ``truth`` (row-aligned), ``planted``,
        ``pii_values``, ``distractors``, ``periods``.

    Examples
    --------
    >>> data = generate_assessments(records_per_period=50, planted=[], seed=1)
    >>> len(data.records), list(data.truth.columns)[:3]
    (300, ['record_id', 'period', 'failure_mode'])
    """
    periods = _check_periods(periods)
    counts = _check_counts(records_per_period, periods)
    fail_rate = _check_rate("fail_rate", fail_rate)
    policy_label_rate = _check_rate("policy_label_rate", policy_label_rate)
    pii_rate = _check_rate("pii_rate", pii_rate)
    malformed_rate = _check_rate("malformed_rate", malformed_rate)
    distractor_strength = _check_rate("distractor_strength", distractor_strength)
    planted = _check_planted(default_planted(periods) if planted is None else planted)

    plan: list[list[tuple[PlantedTheme, int]]] = []
    for period, n in zip(periods, counts):
        row = [(t, int(round(t.share(period, periods[-1]) * n))) for t in planted]
        if sum(k for _, k in row) > 0.9 * n:
            raise ValueError(f"planted themes take more than 90% of {period}'s records")
        for theme, k in row:
            _check_version_in_force(theme, period, k)
        plan.append(row)

    rng = np.random.default_rng(seed)
    drawer = Drawer(rng, fail_rate=fail_rate, policy_label_rate=policy_label_rate,
                    pii_rate=pii_rate, multilingual_tickets=bool(multilingual_tickets))
    distractors = _distractors(planted, rng, distractor_strength)
    rows: list[tuple[dict, dict]] = []
    pii_values: dict[str, None] = {}   # insertion-ordered set
    for period, n, themes in zip(periods, counts, plan):
        ordinal = month_ordinal(period)
        drawn = []
        for theme, k in themes:
            mode = FAILURE_MODES[theme.failure_mode]
            for _ in range(k):
                match = rng.random() < theme.concentration
                fixed = dict(theme.root_cause) if match else {}
                if theme.name in distractors and rng.random() < distractor_strength:
                    fixed.update(distractors[theme.name])
                drawn.append(drawer.record(ordinal, mode=mode, fixed=fixed, theme=theme,
                                           reject_cause=not match))
        drawn.extend(drawer.record(ordinal) for _ in range(n - sum(k for _, k in themes)))
        # Exports come in time order; planted records must not stand out by position.
        drawn.sort(key=lambda d: d[1]["_ts"])
        for row, truth, pii in drawn:
            truth["period"] = period
            pii_values.update(dict.fromkeys(pii))
            rows.append((row, truth))
        logger.debug("generated %d records for %s (%s planted)", n, period,
                     {t.name: k for t, k in themes})

    counter = 0

    def next_id(period: str) -> str:
        nonlocal counter
        counter += 1
        return f"QA-{period[:4]}-{counter:06d}"

    for row, truth in rows:
        row["record_id"] = truth["record_id"] = next_id(truth["period"])
    valid_ids = [row["record_id"] for row, _ in rows]

    n_bad = int(round(malformed_rate * len(rows)))
    reasons = [MALFORMED_REASONS[i % len(MALFORMED_REASONS)] for i in range(n_bad)]
    for i in rng.permutation(n_bad):
        reason = reasons[int(i)]
        k = choice(rng, range(len(periods)), [max(n, 1) for n in counts])
        period = periods[k]
        row, truth, pii = drawer.record(month_ordinal(period),
                                        pii_rate=0.0 if reason == "no_text" else None)
        _corrupt(row, reason, rng)
        truth.update(period=period, malformed_reason=reason)
        if reason == "duplicate_id" and valid_ids:
            original = pick(rng, valid_ids)
            first = next(j for j, (r, _) in enumerate(rows) if r["record_id"] == original)
            row["record_id"] = original
            pos = int(rng.integers(first + 1, len(rows) + 1))
        else:
            row["record_id"] = next_id(period)
            pos = int(rng.integers(0, len(rows) + 1))
        truth["record_id"] = row["record_id"]
        pii_values.update(dict.fromkeys(pii))
        rows.insert(pos, (row, truth))

    records = pd.DataFrame([r for r, _ in rows], columns=list(CANONICAL_COLUMNS), dtype="str")
    truth_columns = list(TRUTH_COLUMNS) + (list(I18N_TRUTH_COLUMNS) if multilingual_tickets else [])
    truth_df = pd.DataFrame([t for _, t in rows], columns=truth_columns)
    truth_df = truth_df.astype({c: "str" for c in truth_columns
                                if c not in ("root_cause_match", "wording")})
    truth_df["root_cause_match"] = truth_df["root_cause_match"].astype(bool)
    truth_df["wording"] = truth_df["wording"].astype("Int64")
    return GeneratedData(records=records, truth=truth_df, planted=planted,
                         pii_values=list(pii_values), distractors=distractors,
                         periods=periods)
