"""Flags for other QA tools: findings that need a person, with severity, status and routing.

Public API: :func:`build_flags` (from a :class:`~qa_insights.outputs.RunTables`),
:class:`FlagConfig`, :class:`RoutingTable` / :class:`RoutingRule` (``configs/routing.yaml``),
:func:`flag_severity` (the severity rule), :func:`flag_schema` / :func:`validate_flags` (the JSON
Schema shipped in the package), and the writers :func:`write_flags` (JSON Lines, CSV, Parquet),
:func:`write_flags_sql` / :func:`read_flags_sql` (upsert by ``flag_id`` into a SQL table).
"""

from ._flags import (FLAG_COLUMNS, FLAG_KINDS, FLAGS_CSV, FLAGS_JSONL, FLAGS_PARQUET,
                     SCHEMA_VERSION, FlagConfig, build_flags, flag_schema, flag_severity,
                     flags_to_records, read_flags_sql, validate_flags, write_flags,
                     write_flags_sql)
from ._routing import RoutingRule, RoutingTable, default_routing_path

__all__ = [
    "build_flags", "FlagConfig", "RoutingTable", "RoutingRule", "default_routing_path",
    "flag_severity", "flag_schema", "validate_flags", "flags_to_records", "write_flags",
    "write_flags_sql", "read_flags_sql", "FLAG_COLUMNS", "FLAG_KINDS", "SCHEMA_VERSION",
    "FLAGS_JSONL", "FLAGS_CSV", "FLAGS_PARQUET",
]
