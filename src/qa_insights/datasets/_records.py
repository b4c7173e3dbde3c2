"""Drawing one assessment record: its attributes, texts, score and truth row.

:class:`Drawer` holds the one ``numpy`` generator of a run and draws records one at a time, so
that the same seed gives the same records whatever else changes around it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from ._attributes import (
    AGENTS, AREA_MACROS, CHANNEL_WEIGHTS, CHANNELS, GENERIC_MACROS, MARKETS, NO_VIOLATION_MACROS,
    OVERLAP_OLD_SHARE, QUEUE_ROUTING, REVIEWERS, utc_offset, version_rollout,
)
from ._catalogue import AREA_SPECS, FAILURE_MODES, FailureMode
from ._text import failure_comment, pass_comment, ticket_language, ticket_text

if TYPE_CHECKING:
    from ._generator import PlantedTheme

__all__ = ["Drawer", "month_ordinal", "month_start", "version_days", "pick", "choice"]

_PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# Labels reviewers confuse when they fill in the policy area by hand.
_CONFUSED_WITH = {
    "bullying_harassment": "hate_speech", "hate_speech": "bullying_harassment",
    "child_safety": "sexual_exploitation", "sexual_exploitation": "child_safety",
    "violent_graphic": "violent_extremism", "violent_extremism": "hate_speech",
    "self_harm_suicide": "dangerous_acts", "dangerous_acts": "self_harm_suicide",
    "scams_fraud": "account_security", "account_security": "scams_fraud",
    "privacy_doxxing": "bullying_harassment", "impersonation": "scams_fraud",
    "other": "bullying_harassment",
}
_MISLABEL_RATE = 0.05
_AUTO_FAIL_RATE = 0.03
_UTC_EXPORT_RATE = 0.15
_FIVE_STEP_REVIEWERS = ("R-03", "R-08")   # their QA form only allows multiples of 5


def month_ordinal(period: str) -> int:
    """Months since year 0 of a period like "2026-10"; ValueError for anything else."""
    m = _PERIOD_RE.match(period) if isinstance(period, str) else None
    if m is None:
        raise ValueError(f"period {period!r} is not a month like '2026-10'")
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def month_start(ordinal: int) -> datetime:
    """First instant (UTC) of the month ``ordinal``."""
    return datetime(ordinal // 12, ordinal % 12 + 1, 1, tzinfo=timezone.utc)


@lru_cache(maxsize=1024)
def version_days(version: str, market: str, ordinal: int) -> tuple[date, ...]:
    """UTC days of month ``ordinal`` on which ``version`` may be recorded in ``market``."""
    start, end = month_start(ordinal).date(), month_start(ordinal + 1).date()
    days = (start + timedelta(days=i) for i in range((end - start).days))
    return tuple(d for d in days if version in version_rollout(d, market))


def choice(rng: np.random.Generator, items: Sequence, weights: Sequence[float]):
    """One of ``items`` drawn with probability proportional to ``weights`` (one uniform draw;
    plain Python because numpy's ``choice(p=...)`` costs more per call than a whole record)."""
    u = rng.random() * sum(weights)
    acc = 0.0
    for item, w in zip(items, weights):
        acc += w
        if u < acc:
            return item
    return items[len(items) - 1]


def pick(rng: np.random.Generator, seq: Sequence):
    """One element of ``seq``, uniformly."""
    return seq[int(rng.integers(len(seq)))]


class Drawer:
    """Draws one record at a time from the shared generator ``rng``."""

    def __init__(self, rng: np.random.Generator, *, fail_rate: float, policy_label_rate: float,
                 pii_rate: float, multilingual_tickets: bool = False) -> None:
        self.rng = rng
        self.multilingual_tickets = multilingual_tickets
        self.fail_rate = fail_rate
        self.policy_label_rate = policy_label_rate
        self.pii_rate = pii_rate
        areas = tuple(AREA_SPECS)
        self.areas = areas
        self.area_weights = tuple(AREA_SPECS[a].weight for a in areas)
        self.background = {a: [(m, m.weight * m.areas.get(a, 0.0))
                               for m in FAILURE_MODES.values()
                               if not m.reserved and m.areas.get(a, 0.0) > 0] for a in areas}
        self._agent_pools: dict[tuple[str, str], tuple[list, list]] = {}
        self._market_tables: dict[tuple, tuple[list, list]] = {}

    # --- attributes -------------------------------------------------------------------------
    def _market(self, language: str | None, non_english: bool) -> str:
        key = (language, non_english)
        if key in self._market_tables:
            return choice(self.rng, *self._market_tables[key])
        names, weights = [], []
        for code, m in MARKETS.items():
            langs = dict(m.languages)
            if language is not None:
                w = m.weight * langs.get(language, 0.0)
            elif non_english:
                w = m.weight * (1.0 - langs.get("en", 0.0))
            else:
                w = m.weight
            if w > 0:
                names.append(code)
                weights.append(w)
        self._market_tables[key] = (names, weights)
        return choice(self.rng, names, weights)

    def _language(self, market: str, non_english: bool) -> str:
        langs = [(lang, w) for lang, w in MARKETS[market].languages
                 if not (non_english and lang == "en")]
        return choice(self.rng, [x for x, _ in langs], [w for _, w in langs])

    def _agent(self, market: str, queue: str) -> str:
        key = (market, queue)
        if key not in self._agent_pools:
            region = MARKETS[market].region
            for test in (lambda a: a.market == market and a.queue == queue,
                         lambda a: MARKETS[a.market].region == region and a.queue == queue,
                         lambda a: a.market == market):
                pool = [a for a in AGENTS.values() if test(a)]
                if pool:
                    break
            self._agent_pools[key] = ([a.id for a in pool], [a.weight for a in pool])
        ids, weights = self._agent_pools[key]
        return choice(self.rng, ids, weights)

    def _reviewer(self, market: str) -> str:
        local = [r.id for r in REVIEWERS.values() if market in r.markets]
        if local and self.rng.random() < 0.9:
            return pick(self.rng, local)
        return pick(self.rng, tuple(REVIEWERS))

    def _macro(self, area: str, mode: FailureMode | None) -> str | None:
        r = self.rng.random()
        if mode is not None and mode.id == "wrongly_closed_no_violation" and r < 0.85:
            return pick(self.rng, NO_VIOLATION_MACROS)
        if mode is not None and mode.id == "wrong_macro" and r < 0.7:
            other = [a for a in self.areas if a != area]
            return pick(self.rng, AREA_MACROS[pick(self.rng, other)])
        if r < 0.68:
            return pick(self.rng, AREA_MACROS[area])
        if r < 0.82:
            return pick(self.rng, GENERIC_MACROS)
        if r < 0.92:
            return pick(self.rng, NO_VIOLATION_MACROS)
        return None

    def _timestamp(self, ordinal: int, hub: str, version: str | None,
                   market: str) -> datetime:
        """A working-hours instant in the reviewer's hub, inside the UTC month ``ordinal`` (and
        on a day when ``version`` is in force in ``market``, if given)."""
        start, end = month_start(ordinal), month_start(ordinal + 1)
        if version is None:
            # A local working day may start before the UTC month does, hence day -1.
            days = tuple(start.date() + timedelta(days=i)
                         for i in range(-1, (end - start).days + 1))
        else:
            days = version_days(version, market, ordinal)
        for _ in range(100):
            day = pick(self.rng, days)
            if day.weekday() >= 5 and self.rng.random() < 0.8:
                continue  # reviewers mostly work weekdays
            local = datetime.combine(day, time(8)) + timedelta(seconds=int(
                self.rng.integers(0, 11 * 3600)))
            tz = utc_offset(hub, datetime.combine(day, time(12), timezone.utc))
            ts = local.replace(tzinfo=tz).astimezone(timezone.utc)
            if start <= ts < end and (version is None
                                      or version in version_rollout(ts.date(), market)):
                return ts
        return datetime.combine(days[len(days) // 2], time(12), timezone.utc)

    def attributes(self, area: str, ordinal: int, fixed: Mapping[str, str],
                   mode: FailureMode | None) -> dict:
        """Operational attributes of one record; ``fixed`` ones are set as given."""
        non_english = mode is not None and mode.requires == "non_english"
        agent = AGENTS[fixed["agent_id"]] if "agent_id" in fixed else None
        language = fixed.get("language")
        version = fixed.get("policy_version")
        market = fixed.get("market") or (agent.market if agent else None)
        for _ in range(100):
            if market is not None:
                break
            market = self._market(language, non_english)
            if version is not None and not version_days(version, market, ordinal):
                market = None
        if market is None:
            raise ValueError(f"policy version {version} is in force nowhere in month {ordinal}")
        if language is None:
            language = self._language(market, non_english)
        queue = fixed.get("queue") or (agent.queue if agent else None) or choice(
            self.rng, [q for q, _ in QUEUE_ROUTING[area]], [w for _, w in QUEUE_ROUTING[area]])
        channel = fixed.get("channel") or choice(
            self.rng, CHANNELS, CHANNEL_WEIGHTS.get(market, CHANNEL_WEIGHTS["default"]))
        agent_id = agent.id if agent else self._agent(market, queue)
        reviewer_id = fixed.get("reviewer_id") or self._reviewer(market)
        macro_id = fixed["macro_id"] if "macro_id" in fixed else self._macro(area, mode)
        ts = self._timestamp(ordinal, REVIEWERS[reviewer_id].hub, version, market)
        if version is None:
            current, lingering = version_rollout(ts.date(), market)
            version = lingering if lingering and self.rng.random() < OVERLAP_OLD_SHARE \
                else current
        return {"market": market, "language": language, "queue": queue, "channel": channel,
                "agent_id": agent_id, "reviewer_id": reviewer_id, "macro_id": macro_id,
                "policy_version": version, "policy_area_true": area, "_ts": ts}

    # --- records ----------------------------------------------------------------------------
    def _render_ts(self, ts: datetime, reviewer_id: str) -> str:
        if self.rng.random() < _UTC_EXPORT_RATE:
            return ts.strftime("%Y-%m-%dT%H:%M:%SZ")
        tz = utc_offset(REVIEWERS[reviewer_id].hub, ts)
        return ts.astimezone(tz).isoformat(timespec="seconds")

    def _score(self, failed: bool, severity: int, reviewer_id: str, auto_fail: bool) -> int:
        rng = self.rng
        if not failed:
            score = int(rng.integers(70, 78)) if rng.random() < 0.2 else int(rng.integers(78, 101))
        elif auto_fail:
            score = int(rng.integers(70, 90))
        elif severity >= 3:
            score = 0 if rng.random() < 0.3 else int(rng.integers(10, 46))
        elif severity == 2:
            score = int(rng.integers(30, 65))
        else:
            score = int(rng.integers(50, 70))
        if reviewer_id in _FIVE_STEP_REVIEWERS:
            score = 5 * (score // 5)  # rounding down keeps a fail below 70
        return score

    def record(self, ordinal: int, *, mode: FailureMode | None = None,
               fixed: Mapping[str, str] | None = None, area: str | None = None,
               theme: "PlantedTheme | None" = None, reject_cause: bool = False,
               pii_rate: float | None = None) -> tuple[dict, dict, list[str]]:
        """One record: (row of contract columns, truth row, personal data inserted).

        Without ``mode`` the record is background: it passes or fails at ``fail_rate``.
        ``reject_cause`` redraws until the record does not match ``theme``'s root cause.
        """
        rng = self.rng
        fixed = dict(fixed or {})
        if mode is None:
            area = choice(rng, self.areas, self.area_weights)
            if rng.random() < self.fail_rate:
                modes = self.background[area]
                mode = choice(rng, [m for m, _ in modes], [w for _, w in modes])
        elif area is None:
            areas = tuple(mode.areas)
            area = choice(rng, areas, [mode.areas[a] for a in areas])
        for _ in range(200):
            attrs = self.attributes(area, ordinal, fixed, mode)
            if not (reject_cause and theme.matches(attrs)):
                break
        else:
            raise ValueError(f"theme {theme.name!r}: background records always match its root "
                             f"cause {theme.root_cause}; choose a narrower cause")
        failed = mode is not None
        auto_fail = failed and rng.random() < _AUTO_FAIL_RATE
        if failed:
            comment, wording = failure_comment(mode, attrs, rng, auto_fail=auto_fail)
        else:
            comment, wording = pass_comment(attrs, rng), None
        written_in = ticket_language(attrs["language"], rng) if self.multilingual_tickets \
            else None
        text, pii = ticket_text(attrs, rng, self.pii_rate if pii_rate is None else pii_rate,
                                language=written_in)
        score = self._score(failed, mode.severity if failed else 0, attrs["reviewer_id"],
                            auto_fail)
        label = None
        if rng.random() < self.policy_label_rate:
            label = _CONFUSED_WITH[area] if rng.random() < _MISLABEL_RATE else area
        row = {
            "record_id": None,
            "assessed_at": self._render_ts(attrs["_ts"], attrs["reviewer_id"]),
            "ticket_text": text, "reviewer_comment": comment,
            "qa_result": "fail" if failed else "pass", "qa_score": str(score),
            "policy_area": label,
            **{k: attrs[k] for k in ("market", "language", "queue", "channel", "agent_id",
                                     "reviewer_id", "macro_id", "policy_version")},
        }
        truth = {
            "record_id": None, "period": None, "failure_mode": mode.id if failed else None,
            "policy_area_true": area, "planted_theme": theme.name if theme else None,
            "root_cause_match": bool(theme.matches(attrs)) if theme else False,
            "malformed_reason": None, "wording": wording, "_ts": attrs["_ts"],
        }
        if self.multilingual_tickets:
            truth["ticket_language"] = written_in
        return row, truth, pii
