"""The operational world of the generator: markets, languages, queues, channels, agents,
reviewers, macros and policy versions.

Everything here is a fixed catalogue (no randomness), so that ``A-1042`` or ``MAC-SC-07`` means
the same thing whatever the seed; the generator draws from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Mapping

from ._catalogue import AREA_SPECS

__all__ = [
    "Market", "MARKETS", "LANGUAGE_NAMES", "QUEUES", "QUEUE_ROUTING", "QUEUE_SLA", "CHANNELS",
    "CHANNEL_WEIGHTS", "Agent", "AGENTS", "Reviewer", "REVIEWERS", "MACROS", "AREA_MACROS",
    "GENERIC_MACROS", "NO_VIOLATION_MACROS", "POLICY_VERSIONS", "OVERLAP_OLD_SHARE",
    "ROOT_CAUSE_DIMENSIONS", "version_rollout", "utc_offset",
]


@dataclass(frozen=True)
class Market:
    """A market: how often it reports, in which languages, and its money format."""

    weight: float
    languages: tuple[tuple[str, float], ...]   # BCP-47 tag, share of tickets
    currency: str                              # format with {n}
    amount_scale: int                          # typical amount of money lost
    region: str
    rollout_wave: int                          # 0 gets a new policy version first
    phone_country: str                         # whose phone formats users write


MARKETS: Mapping[str, Market] = MappingProxyType({
    "MY": Market(0.14, (("ms", 0.5), ("en", 0.4), ("zh", 0.1)), "RM {n}", 500, "APAC", 0, "MY"),
    "ID": Market(0.18, (("id", 0.9), ("en", 0.1)), "Rp {n}", 2_000_000, "APAC", 1, "ID"),
    "TH": Market(0.10, (("th", 0.85), ("en", 0.15)), "{n} baht", 5000, "APAC", 1, "TH"),
    "VN": Market(0.08, (("vi", 0.9), ("en", 0.1)), "{n} VND", 3_000_000, "APAC", 1, "TH"),
    "PH": Market(0.12, (("en", 0.55), ("fil", 0.45)), "PHP {n}", 8000, "APAC", 1, "PH"),
    "SG": Market(0.06, (("en", 0.85), ("zh", 0.1), ("ms", 0.05)), "S${n}", 400, "APAC", 0, "MY"),
    "GB": Market(0.10, (("en", 1.0),), "£{n}", 300, "EMEA", 0, "GB"),
    "BR": Market(0.10, (("pt-BR", 1.0),), "R$ {n}", 1500, "EMEA", 2, "GB"),
    "DE": Market(0.06, (("de", 0.9), ("en", 0.1)), "{n} €", 300, "EMEA", 2, "GB"),
    "IN": Market(0.06, (("en", 0.6), ("hi", 0.4)), "Rs {n}", 20000, "APAC", 1, "GB"),
})

LANGUAGE_NAMES: Mapping[str, str] = MappingProxyType({
    "en": "English", "ms": "Malay", "id": "Indonesian", "th": "Thai", "vi": "Vietnamese",
    "fil": "Filipino", "zh": "Chinese", "pt-BR": "Portuguese", "de": "German", "hi": "Hindi",
})

QUEUES: tuple[str, ...] = (
    "safety-reports", "safety-specialists", "child-safety-priority", "self-harm-priority",
    "scams", "account-recovery", "privacy-requests", "appeals",
)

_APPEALS_SHARE = 0.05

# Where each kind of report is routed; the small remainder is misrouting.
_ROUTING: dict[str, dict[str, float]] = {
    "bullying_harassment": {"safety-reports": 0.9, "safety-specialists": 0.05},
    "hate_speech": {"safety-reports": 0.6, "safety-specialists": 0.35},
    "child_safety": {"child-safety-priority": 0.85, "safety-reports": 0.1},
    "sexual_exploitation": {"child-safety-priority": 0.3, "safety-specialists": 0.4,
                            "safety-reports": 0.25},
    "violent_graphic": {"safety-reports": 0.85, "safety-specialists": 0.1},
    "self_harm_suicide": {"self-harm-priority": 0.8, "safety-reports": 0.15},
    "dangerous_acts": {"safety-reports": 0.7, "safety-specialists": 0.25},
    "violent_extremism": {"safety-specialists": 0.8, "safety-reports": 0.15},
    "scams_fraud": {"scams": 0.85, "safety-reports": 0.1},
    "account_security": {"account-recovery": 0.9, "safety-reports": 0.05},
    "privacy_doxxing": {"privacy-requests": 0.8, "safety-reports": 0.15},
    "impersonation": {"safety-reports": 0.6, "account-recovery": 0.35},
    "other": {"safety-reports": 0.95},
}


def _routing(area: str) -> tuple[tuple[str, float], ...]:
    base = _ROUTING[area]
    rest = max(0.0, 1.0 - _APPEALS_SHARE - sum(base.values()))
    others = [q for q in QUEUES if q not in base and q != "appeals"]
    weights = {q: base.get(q, rest / len(others) if q in others else 0.0) for q in QUEUES}
    weights["appeals"] = _APPEALS_SHARE
    return tuple((q, w) for q, w in weights.items() if w > 0)


#: Policy area -> ((queue, probability), ...).
QUEUE_ROUTING: Mapping[str, tuple[tuple[str, float], ...]] = MappingProxyType(
    {area: _routing(area) for area in AREA_SPECS})

QUEUE_SLA: Mapping[str, int] = MappingProxyType({
    "safety-reports": 24, "safety-specialists": 12, "child-safety-priority": 1,
    "self-harm-priority": 1, "scams": 24, "account-recovery": 48, "privacy-requests": 48,
    "appeals": 72,
})

CHANNELS: tuple[str, ...] = ("in-app", "email", "web-form", "chat")
CHANNEL_WEIGHTS: Mapping[str, tuple[float, ...]] = MappingProxyType({
    "default": (0.55, 0.12, 0.15, 0.18),
    "GB": (0.40, 0.30, 0.20, 0.10),
    "DE": (0.40, 0.30, 0.25, 0.05),
})


@dataclass(frozen=True)
class Agent:
    """A support agent: home market and queue, and relative workload."""

    id: str
    market: str
    queue: str
    weight: float


# (market, queue, number of agents): 60 agents; specialist queues are thin in small markets.
_ROSTER = (
    ("MY", "safety-reports", 3), ("MY", "scams", 1), ("MY", "account-recovery", 1),
    ("MY", "child-safety-priority", 1), ("MY", "self-harm-priority", 1), ("MY", "appeals", 1),
    ("ID", "safety-reports", 3), ("ID", "scams", 2), ("ID", "account-recovery", 1),
    ("ID", "child-safety-priority", 1), ("ID", "self-harm-priority", 1),
    ("TH", "safety-reports", 3), ("TH", "scams", 1), ("TH", "account-recovery", 1),
    ("TH", "self-harm-priority", 1),
    ("VN", "safety-reports", 3), ("VN", "scams", 1), ("VN", "account-recovery", 1),
    ("PH", "safety-reports", 3), ("PH", "scams", 1), ("PH", "account-recovery", 1),
    ("PH", "appeals", 1), ("PH", "privacy-requests", 1), ("PH", "safety-specialists", 1),
    ("SG", "safety-reports", 1), ("SG", "safety-specialists", 2),
    ("SG", "child-safety-priority", 1),
    ("GB", "safety-reports", 2), ("GB", "scams", 1), ("GB", "account-recovery", 1),
    ("GB", "privacy-requests", 1), ("GB", "safety-specialists", 1),
    ("GB", "child-safety-priority", 1), ("GB", "self-harm-priority", 1), ("GB", "appeals", 1),
    ("BR", "safety-reports", 2), ("BR", "scams", 1), ("BR", "account-recovery", 1),
    ("DE", "safety-reports", 2), ("DE", "account-recovery", 1),
    ("IN", "safety-reports", 3), ("IN", "scams", 1), ("IN", "account-recovery", 1),
)


def _agents() -> tuple[Agent, ...]:
    out = []
    for market, queue, count in _ROSTER:
        for _ in range(count):
            i = len(out)
            # Uneven workloads (0.6-1.4) without randomness, so the roster is seed-independent.
            out.append(Agent(f"A-{1001 + i}", market, queue, 0.6 + 0.2 * ((i * 7) % 5)))
    return tuple(out)


AGENTS: Mapping[str, Agent] = MappingProxyType({a.id: a for a in _agents()})


@dataclass(frozen=True)
class Reviewer:
    """A QA reviewer: the hub they work from (its time zone) and the markets they cover."""

    id: str
    hub: str
    markets: tuple[str, ...]


REVIEWERS: Mapping[str, Reviewer] = MappingProxyType({r.id: r for r in (
    Reviewer("R-01", "KUL", ("MY", "SG")),
    Reviewer("R-02", "KUL", ("MY", "SG", "VN")),
    Reviewer("R-03", "KUL", ("MY", "IN")),
    Reviewer("R-04", "JKT", ("ID",)),
    Reviewer("R-05", "JKT", ("ID", "VN")),
    Reviewer("R-06", "BKK", ("TH", "VN")),
    Reviewer("R-07", "MNL", ("PH", "SG")),
    Reviewer("R-08", "MNL", ("PH", "IN")),
    Reviewer("R-09", "DUB", ("GB", "DE")),
    Reviewer("R-10", "DUB", ("GB", "IN")),
    Reviewer("R-11", "BER", ("DE", "GB")),
    Reviewer("R-12", "SAO", ("BR",)),
)})

_AREA_CODES = {
    "bullying_harassment": ("BH", 5), "hate_speech": ("HS", 4), "child_safety": ("CS", 4),
    "sexual_exploitation": ("SE", 3), "violent_graphic": ("VG", 3),
    "self_harm_suicide": ("SH", 4), "dangerous_acts": ("DA", 3), "violent_extremism": ("VE", 3),
    "scams_fraud": ("SC", 8), "account_security": ("AS", 5), "privacy_doxxing": ("PV", 3),
    "impersonation": ("IM", 3), "other": ("OT", 3),
}
#: Policy area -> its macro ids (MAC-SC-07 is the refund / payment-link template).
AREA_MACROS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    area: tuple(f"MAC-{code}-{k:02d}" for k in range(1, n + 1))
    for area, (code, n) in _AREA_CODES.items()})
GENERIC_MACROS: tuple[str, ...] = ("MAC-GEN-01", "MAC-GEN-02", "MAC-GEN-03", "MAC-GEN-04")
NO_VIOLATION_MACROS: tuple[str, ...] = ("MAC-NV-01", "MAC-NV-02", "MAC-NV-03")
MACROS: tuple[str, ...] = (
    *(m for ms in AREA_MACROS.values() for m in ms), *GENERIC_MACROS, *NO_VIOLATION_MACROS)

#: (version, first day of its rollout to wave-0 markets); later waves follow 15 days apart.
POLICY_VERSIONS: tuple[tuple[str, date], ...] = (
    ("2025.10", date(2025, 10, 6)),
    ("2026.03", date(2026, 3, 2)),
    ("2026.09", date(2026, 8, 17)),
)
_WAVE_GAP_DAYS = 15
# After a market switches, some agents keep tagging cases with the old version for a while.
_OVERLAP_DAYS = 10
#: Share of cases still tagged with the old version during the overlap.
OVERLAP_OLD_SHARE = 0.3


def version_rollout(day: date, market: str) -> tuple[str, str | None]:
    """Policy version in force on ``day`` in ``market``, and the previous one while it lingers.

    Returns
    -------
    (current, lingering) : tuple
        ``lingering`` is the version some agents still record during the overlap, else None.
    """
    wave = MARKETS[market].rollout_wave
    current, previous, switched = POLICY_VERSIONS[0][0], None, None
    for version, start in POLICY_VERSIONS:
        market_start = start + timedelta(days=_WAVE_GAP_DAYS * wave)
        if day >= market_start:
            previous, current, switched = current, version, market_start
    if switched is not None and previous is not None and (day - switched).days < _OVERLAP_DAYS:
        return current, previous
    return current, None


_HUB_OFFSETS = {"KUL": 8, "JKT": 7, "BKK": 7, "MNL": 8, "SAO": -3}
_EU_STANDARD = {"DUB": 0, "BER": 1}


def _last_sunday(year: int, month: int) -> date:
    d = date(year, month + 1, 1) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def utc_offset(hub: str, ts: datetime) -> timezone:
    """Time zone of a reviewer hub at UTC instant ``ts`` (EU summer time for DUB and BER)."""
    if hub in _HUB_OFFSETS:
        return timezone(timedelta(hours=_HUB_OFFSETS[hub]))
    start = datetime.combine(_last_sunday(ts.year, 3), datetime.min.time(), timezone.utc)
    end = datetime.combine(_last_sunday(ts.year, 10), datetime.min.time(), timezone.utc)
    summer = start + timedelta(hours=1) <= ts < end + timedelta(hours=1)
    return timezone(timedelta(hours=_EU_STANDARD[hub] + (1 if summer else 0)))


#: Record columns a planted theme's root cause may name.
ROOT_CAUSE_DIMENSIONS: tuple[str, ...] = (
    "market", "language", "queue", "channel", "agent_id", "reviewer_id", "macro_id",
    "policy_version",
)
