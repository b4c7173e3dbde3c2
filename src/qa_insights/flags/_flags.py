"""Flags: the findings of a run that need a person, in a stable shape for other QA tools.

:func:`build_flags` turns a :class:`~qa_insights.outputs.RunTables` into one row per finding;
:func:`validate_flags` checks rows against the JSON Schema shipped in the package;
:func:`write_flags` writes JSON Lines, CSV and Parquet, :func:`write_flags_sql` upserts into a SQL
table, and :func:`read_flags_sql` reads it back (the ``previous`` flags of the next run).

Severity rule (:func:`flag_severity`). The policy area's severity from the taxonomy gives a base
level (low -> low, medium -> medium, high -> high; ``critical`` is always ``high``, whatever the
effect); the effect size then moves it one step: up when the effect ratio (a theme's rate ratio
against its baseline, a root cause's risk ratio, a policy area's rate ratio of failures) is at
least ``large_effect_ratio`` (or infinite: no baseline at all), down when it is below
``small_effect_ratio`` or the flag is a weak signal, never beyond low or high. A flag whose
policy area is unknown starts at ``unknown_severity``.

Status rule. Flags of earlier periods in ``previous`` are grouped by key: the kind's family (the
theme kinds new / emerging / growing / weak signal form one family, so a theme that goes from
emerging to growing stays one finding), the theme id and, for a policy spike, the policy area. A
flag is ``ongoing`` when its key's latest earlier flag was open (new or ongoing), else ``new``. A
key whose latest earlier flag was open and that is not flagged now is emitted once as
``resolved``. Rows of ``previous`` from the reported period itself are ignored, so re-running a
period gives the same flags.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from .._base import StrictModel, sha256_text
from .._io import atomic_write_text, write_csv_safe, write_parquet
from .._trends_config import STRONG_STATUSES, TrendConfig
from ..errors import InputError
from ..outputs import RunTables, as_list
from ..report import format_attributes
from ._routing import RoutingTable

__all__ = [
    "FlagConfig", "build_flags", "flag_severity", "flag_schema", "validate_flags",
    "flags_to_records", "write_flags", "write_flags_sql", "read_flags_sql", "FLAG_COLUMNS",
    "FLAG_KINDS", "SCHEMA_VERSION", "FLAGS_JSONL", "FLAGS_CSV", "FLAGS_PARQUET",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1.0"
#: Every kind of flag, in the order they are listed.
FLAG_KINDS: tuple[str, ...] = ("new_theme", "emerging_theme", "growing_theme", "weak_signal",
                               "root_cause", "policy_spike")
#: Columns of a flags table (and keys of a flag object), in order.
FLAG_COLUMNS: tuple[str, ...] = (
    "flag_id", "schema_version", "kind", "period", "theme_id", "theme_label", "policy_area",
    "severity", "score", "status", "summary", "root_causes", "evidence_record_ids", "route_to",
)
FLAGS_JSONL, FLAGS_CSV, FLAGS_PARQUET = "flags.jsonl", "flags.csv", "flags.parquet"

_LEVELS = ("low", "medium", "high")
_OPEN = ("new", "ongoing")
_THEME_KINDS = ("new_theme", "emerging_theme", "growing_theme", "weak_signal")
_KIND_TEXT = {"new_theme": "New theme", "emerging_theme": "Emerging theme",
              "growing_theme": "Growing theme", "weak_signal": "Weak signal",
              "root_cause": "Root cause", "policy_spike": "Policy spike"}
_LIST_COLUMNS = ("root_causes", "evidence_record_ids", "route_to")
_RC_FIELDS = ("support", "theme_count", "rate_in", "rate_out", "risk_ratio", "rr_ci_low",
              "rr_ci_high", "explanatory_power", "q_value", "score")


class FlagConfig(StrictModel):
    """What flags a run raises and where they go.

    Parameters
    ----------
    routing : RoutingTable
        Policy area / queue / market -> stakeholder groups (default: ``configs/routing.yaml``).
    kinds : list of str
        Kinds of flag to emit (default: all of :data:`FLAG_KINDS`).
    min_score : float
        Flags scoring below this are dropped (the score is the excess of records over the
        baseline expectation for theme and policy flags, the ranking score for root causes).
    max_evidence_ids : int
        Record ids listed per flag, at most.
    max_root_causes : int
        Root-cause candidates listed per flag.
    root_cause_max_q : float
        A theme's top candidate becomes a ``root_cause`` flag when its q-value is at most this.
    large_effect_ratio, small_effect_ratio : float
        Effect-ratio thresholds of the severity rule (see the module notes).
    unknown_severity : {"low", "medium", "high"}
        Base severity when the policy area is unknown or not in the taxonomy.
    context_min_share : float
        A queue or market takes part in routing when it holds at least this share of the flag's
        records in the period (the top root cause's queue and market always do).
    policy_trends : TrendConfig
        Rules of the policy-spike test (a policy area's share of failed assessments).
    """

    routing: RoutingTable = Field(default_factory=RoutingTable.default_table)
    kinds: list[Literal["new_theme", "emerging_theme", "growing_theme", "weak_signal",
                        "root_cause", "policy_spike"]] = Field(
        default_factory=lambda: list(FLAG_KINDS))
    min_score: float = 0.0
    max_evidence_ids: int = Field(20, ge=0)
    max_root_causes: int = Field(3, ge=0)
    root_cause_max_q: float = Field(0.05, gt=0, le=1)
    large_effect_ratio: float = Field(3.0, gt=1)
    small_effect_ratio: float = Field(1.5, ge=1)
    unknown_severity: Literal["low", "medium", "high"] = "medium"
    context_min_share: float = Field(0.2, gt=0, le=1)
    policy_trends: TrendConfig = Field(default_factory=TrendConfig)


# ---------------------------------------------------------------------------- small helpers
def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _json_number(value: Any) -> float | None:
    v = _float(value)
    return None if math.isnan(v) or math.isinf(v) else v


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def _attributes(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _flag_id(kind: str, period: str, theme_id: str | None, content: str) -> str:
    return sha256_text("\x1f".join([kind, period, theme_id or "", content]))[:16]


def _pct(value: Any) -> str:
    v = _float(value)
    return "n/a" if math.isnan(v) else f"{v:.1%}"


def _rr(value: Any) -> str:
    v = _float(value)
    return "n/a" if math.isnan(v) else "no baseline" if math.isinf(v) else f"{v:.1f}"


@lru_cache(maxsize=1)
def _default_area_severity() -> dict[str, str]:
    from ..policy import PolicyTaxonomy

    return {a.id: a.severity for a in PolicyTaxonomy.default().areas}


def flag_severity(area_severity: str | None, effect_ratio: float, *, weak: bool = False,
                  large_effect_ratio: float = 3.0, small_effect_ratio: float = 1.5,
                  unknown_severity: str = "medium") -> str:
    """Severity of a flag from its policy area's severity and its effect size.

    Parameters
    ----------
    area_severity : {"low", "medium", "high", "critical"} or None
        The policy area's severity in the taxonomy; ``None`` when the area is unknown.
    effect_ratio : float
        Rate ratio or risk ratio of the finding (``inf`` when there was no baseline; NaN when
        unknown, which counts as a moderate effect).
    weak : bool
        A weak signal: always counts as a small effect.

    Returns
    -------
    str
        ``"low"``, ``"medium"`` or ``"high"`` (rule in the module notes).

    Examples
    --------
    >>> flag_severity("critical", 1.1), flag_severity("medium", 8.0), flag_severity("high", 1.2)
    ('high', 'high', 'medium')
    """
    if area_severity == "critical":
        return "high"
    base = _LEVELS.index(area_severity if area_severity in _LEVELS else unknown_severity)
    ratio = _float(effect_ratio)
    if weak or (not math.isnan(ratio) and ratio < small_effect_ratio):
        step = -1
    elif not math.isnan(ratio) and ratio >= large_effect_ratio:
        step = 1
    else:
        step = 0
    return _LEVELS[min(2, max(0, base + step))]


# ---------------------------------------------------------------------------- building
class _Builder:
    """Holds the run's tables and the config while flags are assembled."""

    def __init__(self, tables: RunTables, config: FlagConfig,
                 area_severity: dict[str, str]) -> None:
        self.t = tables
        self.c = config
        self.sev = area_severity
        a = tables.assignments
        self.now = a[a["period"] == tables.period]
        rc = tables.root_causes
        self.rc = rc[rc["period"] == tables.period]

    def severity(self, area: str | None, ratio: float, weak: bool = False) -> str:
        return flag_severity(self.sev.get(area) if area else None, ratio, weak=weak,
                             large_effect_ratio=self.c.large_effect_ratio,
                             small_effect_ratio=self.c.small_effect_ratio,
                             unknown_severity=self.c.unknown_severity)

    def causes(self, theme_id: str) -> pd.DataFrame:
        rows = self.rc[self.rc["theme_id"] == theme_id]
        return rows.sort_values("rank", kind="mergesort")

    def cause_dicts(self, causes: pd.DataFrame) -> list[dict[str, Any]]:
        out = []
        for r in causes.head(self.c.max_root_causes).itertuples():
            item: dict[str, Any] = {"rank": int(r.rank), "attributes": _attributes(r.attributes)}
            for f in _RC_FIELDS:
                value = getattr(r, f)
                item[f] = (int(value) if f in ("support", "theme_count")
                           else _json_number(value))
            out.append(item)
        return out

    def context(self, records: pd.DataFrame, causes: pd.DataFrame) -> tuple[list, list]:
        """Queues and markets of a flag: frequent among its records, or in its top cause."""
        found: dict[str, list[str]] = {"queue": [], "market": []}
        for column in found:
            if column in records.columns and len(records):
                shares = records[column].dropna().astype(str).value_counts() / len(records)
                found[column] = sorted(shares[shares >= self.c.context_min_share].index)
        if not causes.empty:
            top = _attributes(causes.iloc[0]["attributes"])
            for column in found:
                if column in top and top[column] not in found[column]:
                    found[column].append(top[column])
        return found["queue"], found["market"]

    def evidence(self, *pools: Iterable[Any]) -> list[str]:
        out: list[str] = []
        for pool in pools:
            for rid in pool:
                rid = _text(rid)
                if rid is not None and rid not in out:
                    out.append(rid)
                if len(out) >= self.c.max_evidence_ids:
                    return out
        return out

    def flag(self, kind: str, theme_id: str | None, content: str, **fields) -> dict[str, Any]:
        return {"flag_id": _flag_id(kind, self.t.period, theme_id, content),
                "schema_version": SCHEMA_VERSION, "kind": kind, "period": self.t.period,
                "theme_id": theme_id, **fields}

    # ----------------------------------------------------------------- kinds
    def theme_flags(self) -> list[dict[str, Any]]:
        themes = self.t.themes
        rows = themes[(themes["period"] == self.t.period) & themes["theme_id"].notna()]
        out = []
        for r in rows.sort_values("theme_id", kind="mergesort").itertuples():
            weak = bool(r.weak_signal) if not pd.isna(r.weak_signal) else False
            if r.status in STRONG_STATUSES:
                kind = f"{r.status}_theme"
            elif weak:
                kind = "weak_signal"
            else:
                continue
            tid, label, area = str(r.theme_id), _text(r.label), _text(r.policy_area)
            causes = self.causes(tid)
            records = self.now[self.now["theme_id"].astype("string") == tid]
            queues, markets = self.context(records, causes)
            top = ""
            if not causes.empty:
                c0 = causes.iloc[0]
                top = (f"; top cause {format_attributes(c0['attributes'])} "
                       f"(RR {_rr(c0['risk_ratio'])})")
            summary = (f"{_KIND_TEXT[kind]} '{label}' ({tid}): {int(r.count)} records in "
                       f"{self.t.period}, {_pct(r.share)} of assessments vs "
                       f"{_pct(r.baseline_share)} before{top}.")
            if kind in self.c.kinds:
                out.append(self.flag(
                    kind, tid, "", theme_label=label, policy_area=area,
                    severity=self.severity(area, r.rate_ratio, weak=kind == "weak_signal"),
                    score=float(_json_number(r.score) or 0.0), summary=summary,
                    root_causes=self.cause_dicts(causes),
                    evidence_record_ids=self.evidence(
                        *(as_list(e) for e in causes["evidence_record_ids"].head(1)),
                        records["record_id"].sort_values(kind="mergesort")),
                    route_to=self.c.routing.route(area, queues, markets)))
            if kind != "weak_signal" and "root_cause" in self.c.kinds:
                out.extend(self.root_cause_flag(tid, label, area, causes, records))
        return out

    def root_cause_flag(self, tid: str, label: str | None, area: str | None,
                        causes: pd.DataFrame, records: pd.DataFrame) -> list[dict[str, Any]]:
        if causes.empty or not _float(causes.iloc[0]["q_value"]) <= self.c.root_cause_max_q:
            return []
        c0 = causes.iloc[0]
        attrs = _attributes(c0["attributes"])
        queues, markets = self.context(records.iloc[0:0], causes.head(1))
        support, theme_count = int(c0["support"]), int(c0["theme_count"])
        summary = (f"Root cause of theme '{label}' ({tid}) in {self.t.period}: "
                   f"{format_attributes(attrs)} holds {support} of its {theme_count} records "
                   f"({_pct(c0['explanatory_power'])}), risk ratio {_rr(c0['risk_ratio'])} "
                   f"(95% CI {_rr(c0['rr_ci_low'])}–{_rr(c0['rr_ci_high'])}).")
        return [self.flag(
            "root_cause", tid, json.dumps(attrs, sort_keys=True), theme_label=label,
            policy_area=area, severity=self.severity(area, c0["risk_ratio"]),
            score=float(_json_number(c0["score"]) or 0.0), summary=summary,
            root_causes=self.cause_dicts(causes),
            evidence_record_ids=self.evidence(as_list(c0["evidence_record_ids"])),
            route_to=self.c.routing.route(area, queues, markets))]

    def policy_flags(self) -> list[dict[str, Any]]:
        from ..trends import theme_trends

        a = self.t.assignments
        failed = a["qa_result"].astype("string").str.lower().eq("fail").fillna(False)
        area = a["policy_area"].astype("string")
        fails = a[failed.to_numpy(dtype=bool) & area.notna().to_numpy(dtype=bool)
                  & (area != "unknown").fillna(False).to_numpy(dtype=bool)]
        fails = fails[fails["period"] <= self.t.period]
        periods = [p for p in self.t.periods if p <= self.t.period
                   and p in set(fails["period"])]
        if self.t.period not in periods or len(periods) < 2:
            logger.info("policy spikes: no failed assessments in %s or no earlier period in the "
                        "assignments; none tested", self.t.period)
            return []
        frame = pd.DataFrame({"record_id": fails["record_id"], "period": fails["period"],
                              "theme_id": fails["policy_area"].astype(str)})
        trends = theme_trends(frame, self.c.policy_trends, periods=periods)
        rows = trends[(trends["period"] == self.t.period)
                      & trends["status"].isin(STRONG_STATUSES)]
        out = []
        for r in rows.sort_values("theme_id", kind="mergesort").itertuples():
            pa = str(r.theme_id)
            records = fails[(fails["period"] == self.t.period) & (fails["policy_area"] == pa)]
            queues, markets = self.context(records, pd.DataFrame())
            summary = (f"Policy spike in '{pa}': {int(r.count)} of {int(r.volume)} failed "
                       f"assessments in {self.t.period} ({_pct(r.share)}) vs "
                       f"{_pct(r.baseline_share)} before (rate ratio {_rr(r.rate_ratio)}, "
                       f"q = {_float(r.q_value):.2g}).")
            out.append(self.flag(
                "policy_spike", None, pa, theme_label=None, policy_area=pa,
                severity=self.severity(pa, r.rate_ratio),
                score=float(_json_number(r.score) or 0.0), summary=summary, root_causes=[],
                evidence_record_ids=self.evidence(records["record_id"].sort_values(
                    kind="mergesort")),
                route_to=self.c.routing.route(pa, queues, markets)))
        return out


def _key(kind: str, theme_id: Any, policy_area: Any) -> tuple[str, str, str]:
    family = "theme" if kind in _THEME_KINDS else kind
    return (family, _text(theme_id) or "",
            (_text(policy_area) or "") if kind == "policy_spike" else "")


def _apply_status(flags: list[dict[str, Any]], previous: pd.DataFrame | None,
                  tables: RunTables, config: FlagConfig) -> list[dict[str, Any]]:
    latest: dict[tuple, dict[str, Any]] = {}
    if previous is not None and not previous.empty:
        missing = {"flag_id", "kind", "period", "theme_id", "policy_area", "status"} - set(
            previous.columns)
        if missing:
            raise InputError(f"previous flags lack column(s): {', '.join(sorted(missing))}")
        earlier = previous[previous["period"].astype(str) < tables.period]
        earlier = earlier.sort_values(["period", "flag_id"], kind="mergesort")
        for row in earlier.to_dict("records"):
            key = _key(row["kind"], row["theme_id"], row["policy_area"])
            held = latest.get(key)
            if held is not None and held["period"] == row["period"]:
                if row["status"] in _OPEN:  # open if any flag of the key was open then
                    latest[key] = row
            else:
                latest[key] = row
    now_keys = set()
    for flag in flags:
        key = _key(flag["kind"], flag["theme_id"], flag["policy_area"])
        now_keys.add(key)
        held = latest.get(key)
        flag["status"] = "ongoing" if held is not None and held["status"] in _OPEN else "new"
    resolved = []
    for key, row in sorted(latest.items()):
        if key in now_keys or row["status"] not in _OPEN or row["kind"] not in config.kinds:
            continue
        what = (f"'{_text(row['theme_label'])}' ({_text(row['theme_id'])})"
                if _text(row["theme_id"]) else f"'{_text(row['policy_area'])}'")
        resolved.append({
            "flag_id": _flag_id(row["kind"], tables.period, _text(row["theme_id"]),
                                "resolved\x1f" + (_text(row["policy_area"]) or "")),
            "schema_version": SCHEMA_VERSION, "kind": row["kind"], "period": tables.period,
            "theme_id": _text(row["theme_id"]), "theme_label": _text(row.get("theme_label")),
            "policy_area": _text(row["policy_area"]),
            "severity": _text(row.get("severity")) or "low", "score": 0.0, "status": "resolved",
            "summary": (f"Resolved: {_KIND_TEXT[row['kind']].lower()} {what}, flagged in "
                        f"{row['period']}, is no longer flagged in {tables.period}."),
            "root_causes": [], "evidence_record_ids": [],
            "route_to": [str(g) for g in as_list(row.get("route_to"))]
            or list(config.routing.default)})
    return flags + resolved


def build_flags(tables: RunTables, config: FlagConfig | None = None,
                previous: pd.DataFrame | None = None, *,
                area_severity: dict[str, str] | None = None) -> pd.DataFrame:
    """The flags of the reported period: one row per finding that needs a person.

    Parameters
    ----------
    tables : RunTables
        What the run found; flags are raised for ``tables.period``.
    config : FlagConfig, optional
        Kinds, thresholds and routing; defaults when omitted.
    previous : DataFrame, optional
        Flags of earlier runs (:func:`read_flags_sql`, or a ``flags.parquet``), for the
        new / ongoing / resolved status; rows of ``tables.period`` itself are ignored.
    area_severity : dict, optional
        Policy area id -> severity; by default from ``PolicyTaxonomy.default()``.

    Returns
    -------
    DataFrame
        Columns :data:`FLAG_COLUMNS`; sorted by severity (high first), score (high first) and
        ``flag_id``. Same tables + previous -> same rows, same ids.
    """
    config = config if config is not None else FlagConfig()
    builder = _Builder(tables, config, area_severity if area_severity is not None
                       else _default_area_severity())
    flags = builder.theme_flags()
    if "policy_spike" in config.kinds:
        flags += builder.policy_flags()
    flags = [f for f in flags if f["score"] >= config.min_score]
    flags = _apply_status(flags, previous, tables, config)
    flags.sort(key=lambda f: (-_LEVELS.index(f["severity"]), -f["score"], f["flag_id"]))
    frame = pd.DataFrame([{c: f[c] for c in FLAG_COLUMNS} for f in flags],
                         columns=list(FLAG_COLUMNS))
    frame["score"] = frame["score"].astype(float)
    logger.info("flags for %s: %d (%s)", tables.period, len(frame),
                ", ".join(f"{k}={n}" for k, n in frame["kind"].value_counts().sort_index().items()))
    return frame


# ---------------------------------------------------------------------------- schema and I/O
def flag_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one flag, as shipped in ``qa_insights/schemas``."""
    text = resources.files("qa_insights").joinpath("schemas", "flag.schema.json").read_text(
        encoding="utf-8")
    return json.loads(text)


def flags_to_records(flags: pd.DataFrame) -> list[dict[str, Any]]:
    """Flags as plain JSON-ready dicts, keys in :data:`FLAG_COLUMNS` order (NaN -> None)."""
    out = []
    for row in flags.to_dict("records"):
        rec: dict[str, Any] = {}
        for c in FLAG_COLUMNS:
            value = row.get(c)
            if c in _LIST_COLUMNS:
                value = as_list(value)
                if c == "root_causes":
                    value = [{**item, "attributes": _attributes(item.get("attributes"))}
                             for item in value]
                else:
                    value = [str(v) for v in value]
            elif c == "score":
                value = _json_number(value)
                value = 0.0 if value is None else value
            else:
                value = _text(value)
            rec[c] = value
        out.append(rec)
    return out


def validate_flags(flags: pd.DataFrame) -> list[dict[str, Any]]:
    """Check every flag against :func:`flag_schema`; returns the flags as records.

    Raises
    ------
    InputError
        Listing every problem found (flag position, field path and message), not only the first.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(flag_schema())
    records = flags_to_records(flags)
    problems = []
    for i, rec in enumerate(records):
        for err in sorted(validator.iter_errors(rec), key=lambda e: list(e.path)):
            where = "/".join(str(p) for p in err.path) or "(flag)"
            problems.append(f"flag {i} ({rec.get('flag_id')}): {where}: {err.message}")
    if problems:
        raise InputError(f"{len(problems)} flag schema problem(s): " + "; ".join(problems[:20]),
                         source="<flags>")
    return records


def _flat(flags: pd.DataFrame, lists_as_json: bool) -> pd.DataFrame:
    records = flags_to_records(flags)
    frame = pd.DataFrame(records, columns=list(FLAG_COLUMNS))
    for c in _LIST_COLUMNS:
        if lists_as_json or c == "root_causes":
            frame[c] = [json.dumps(v, ensure_ascii=False, sort_keys=True, allow_nan=False)
                        for v in frame[c]]
    return frame


def write_flags(flags: pd.DataFrame, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Validate and write ``flags.jsonl``, ``flags.csv`` and ``flags.parquet`` atomically.

    JSON Lines holds one flag object per line, keys in :data:`FLAG_COLUMNS` order. In the CSV,
    list and object fields are JSON text and cells a spreadsheet would run as formulas are
    neutralised; in Parquet, ``root_causes`` is JSON text and the id lists are lists of strings.

    Returns
    -------
    dict
        ``{"jsonl": path, "csv": path, "parquet": path}``.
    """
    records = validate_flags(flags)
    out = Path(out_dir)
    lines = [json.dumps(r, ensure_ascii=False, allow_nan=False) for r in records]
    paths = {"jsonl": atomic_write_text(out / FLAGS_JSONL, "".join(x + "\n" for x in lines)),
             "csv": write_csv_safe(out / FLAGS_CSV, _flat(flags, lists_as_json=True)),
             "parquet": write_parquet(out / FLAGS_PARQUET, _flat(flags, lists_as_json=False))}
    logger.info("wrote %d flags to %s", len(records), out)
    return paths


def _sql_table(name: str):
    import sqlalchemy as sa

    return sa.Table(
        name, sa.MetaData(),
        sa.Column("flag_id", sa.String(16), primary_key=True),
        sa.Column("schema_version", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("period", sa.String(16), nullable=False, index=True),
        sa.Column("theme_id", sa.String(64)),
        sa.Column("theme_label", sa.Text),
        sa.Column("policy_area", sa.String(64)),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("root_causes", sa.Text, nullable=False),
        sa.Column("evidence_record_ids", sa.Text, nullable=False),
        sa.Column("route_to", sa.Text, nullable=False),
    )


def _open_store(url_or_store):
    from ..store import StateStore

    if isinstance(url_or_store, StateStore):
        return url_or_store, False
    return StateStore(url_or_store), True


def write_flags_sql(flags: pd.DataFrame, url_or_store, table: str = "qa_flags") -> int:
    """Upsert flags into a SQL table by ``flag_id`` (list fields as JSON text).

    Re-writing the same flags replaces their rows, so re-running a period adds no duplicates.
    The write is one transaction.

    Parameters
    ----------
    flags : DataFrame
        Output of :func:`build_flags`; validated first.
    url_or_store : str, path or StateStore
        A SQLAlchemy URL, a SQLite file path or an open :class:`~qa_insights.store.StateStore`.
    table : str
        Table name; created when missing.

    Returns
    -------
    int
        Rows written.
    """
    validate_flags(flags)
    rows = _flat(flags, lists_as_json=True).to_dict("records")
    store, owned = _open_store(url_or_store)
    try:
        tab = _sql_table(table)
        store.ensure(tab)
        with store.engine.begin() as conn:
            ids = [r["flag_id"] for r in rows]
            for start in range(0, len(ids), 500):
                conn.execute(tab.delete().where(tab.c.flag_id.in_(ids[start:start + 500])))
            if rows:
                conn.execute(tab.insert(), rows)
    finally:
        if owned:
            store.close()
    return len(rows)


def read_flags_sql(url_or_store, table: str = "qa_flags") -> pd.DataFrame:
    """All flags in a SQL table written by :func:`write_flags_sql` (empty when it is missing).

    Returns
    -------
    DataFrame
        Columns :data:`FLAG_COLUMNS`, list fields decoded, sorted by period and ``flag_id``.
    """
    import sqlalchemy as sa

    store, owned = _open_store(url_or_store)
    try:
        if not sa.inspect(store.engine).has_table(table):
            return pd.DataFrame(columns=list(FLAG_COLUMNS))
        tab = _sql_table(table)
        with store.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                sa.select(tab).order_by(tab.c.period, tab.c.flag_id))]
    finally:
        if owned:
            store.close()
    for r in rows:
        for c in _LIST_COLUMNS:
            r[c] = json.loads(r[c])
    return pd.DataFrame(rows, columns=list(FLAG_COLUMNS))
