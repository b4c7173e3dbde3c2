"""Routing of flags to the stakeholder groups that own them (``configs/routing.yaml``).

A rule names one or more of ``policy_area``, ``queue`` and ``market`` (each a list of values) and
the groups it routes to. A rule matches a flag when every field it names matches at least one of
the flag's values for that field; a flag goes to the groups of every matching rule, in rule
order, without repeats, or to ``default`` when no rule matches. So a child-safety flag from the
Indonesian market reaches both the child-safety team and the APAC leads: findings cascade to
every team that owns a part of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from .._base import StrictModel, format_validation_error, read_yaml
from ..errors import ConfigError

__all__ = ["RoutingRule", "RoutingTable", "default_routing_path"]

_FIELDS = ("policy_area", "queue", "market")


def default_routing_path() -> Path:
    """Path of the routing table shipped with the package (``configs/routing.yaml``)."""
    return Path(__file__).resolve().parents[1] / "configs" / "routing.yaml"


class RoutingRule(StrictModel):
    """One routing rule: values to match (any of each named field) and the groups to notify."""

    name: str | None = None
    policy_area: list[str] | None = None
    queue: list[str] | None = None
    market: list[str] | None = None
    route_to: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_names_a_field(self) -> "RoutingRule":
        if all(getattr(self, f) is None for f in _FIELDS):
            raise ValueError("a rule must name at least one of policy_area, queue, market")
        for f in _FIELDS:
            if getattr(self, f) == []:
                raise ValueError(f"{f}: an empty list can never match; leave the field out")
        return self

    def matches(self, policy_area: str | None, queues: Iterable[str],
                markets: Iterable[str]) -> bool:
        """Whether every field this rule names matches one of the given values."""
        given = {"policy_area": {policy_area} - {None}, "queue": set(queues),
                 "market": set(markets)}
        return all(getattr(self, f) is None or bool(given[f] & set(getattr(self, f)))
                   for f in _FIELDS)


class RoutingTable(StrictModel):
    """Rules from policy area / queue / market to stakeholder groups, with a default group.

    Parameters
    ----------
    default : list of str
        Groups of a flag that no rule matches.
    rules : list of RoutingRule
        Checked in order; every matching rule adds its groups.
    """

    default: list[str] = Field(min_length=1)
    rules: list[RoutingRule] = Field(default_factory=list)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "RoutingTable":
        """Read and validate a routing table; :class:`ConfigError` names the file and problem."""
        path = Path(path)
        data = read_yaml(path, "routing table")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{path}: invalid routing table: "
                              f"{format_validation_error(exc)}") from exc

    @classmethod
    def default_table(cls) -> "RoutingTable":
        """The routing table shipped with the package."""
        return cls.from_yaml(default_routing_path())

    def route(self, policy_area: str | None = None, queues: Iterable[str] = (),
              markets: Iterable[str] = ()) -> list[str]:
        """Groups a flag goes to, given its policy area and the queues and markets involved."""
        queues, markets = list(queues), list(markets)
        groups: list[str] = []
        for rule in self.rules:
            if rule.matches(policy_area, queues, markets):
                groups.extend(g for g in rule.route_to if g not in groups)
        return groups or list(self.default)
