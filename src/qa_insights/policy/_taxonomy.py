"""The policy-area taxonomy: areas with descriptions, example phrases and severities.

The taxonomy is data (``configs/policy_areas.yaml``), validated on load so that a typo in the
file fails loudly with the file and the area named, not later inside the classifier.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, ValidationError, field_validator

from .._base import StrictModel, read_yaml, sha256_text
from ..errors import ConfigError

__all__ = ["PolicyArea", "PolicyTaxonomy", "SEVERITIES", "UNKNOWN", "default_taxonomy_path"]

#: Known severities, least to most severe.
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
#: Label given when the classifier abstains.
UNKNOWN = "unknown"

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def default_taxonomy_path() -> Path:
    """Path of the taxonomy shipped with the package (``configs/policy_areas.yaml``)."""
    return Path(__file__).resolve().parents[1] / "configs" / "policy_areas.yaml"


def _normalise_label(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(label).strip().lower()).strip("_")


@functools.lru_cache(maxsize=16)
def _label_index(areas: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str]:
    """Normalised id or alias -> area id, the first area claiming a label winning (as a scan in
    area order would), for ``(id, aliases)`` pairs in area order."""
    index: dict[str, str] = {}
    for area_id, aliases in areas:
        index.setdefault(area_id, area_id)
        for alias in aliases:
            index.setdefault(_normalise_label(alias), area_id)
    return index


def _canonical(label: Any, index: dict[str, str]) -> str | None:
    """:meth:`PolicyTaxonomy.canonical_label` with the taxonomy's :func:`_label_index`."""
    if label is None or label is pd.NA or (isinstance(label, float) and label != label):
        return None
    key = _normalise_label(label)
    if not key or key == UNKNOWN:
        return None
    area_id = index.get(key)
    if area_id is None:
        raise ValueError(f"policy_area label {label!r} matches no area id or alias")
    return area_id


class PolicyArea(StrictModel):
    """One policy area of the taxonomy.

    Attributes
    ----------
    id : str
        Stable snake_case id (stored in the database, reports and saved models).
    name, description : str
        Human name and a one-paragraph description (also zero-shot evidence).
    examples : list of str
        Short example phrases as users and reviewers write them (zero-shot evidence).
    severity : {"low", "medium", "high", "critical"}
    aliases : list of str
        Other names teams use for the area, to map human-assigned labels.
    translated_examples : dict of language tag -> list of str
        Reports written natively in other languages (``ms``, ``th``, ...). They are *not*
        similarity evidence (measured: native-language examples drown the topic in the
        language and lower accuracy); the zero-shot classifier learns from them how far a
        non-English text lands from the English evidence, i.e. how sure to be about it.
    """

    id: str
    name: str = Field(min_length=1)
    description: str
    examples: list[str]
    severity: Literal["low", "medium", "high", "critical"]
    aliases: list[str] = Field(default_factory=list)
    translated_examples: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError("must be snake_case: lower-case letters, digits and '_'")
        if value == UNKNOWN:
            raise ValueError(f"{UNKNOWN!r} is reserved for abstention")
        return value

    @field_validator("description")
    @classmethod
    def _check_description(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("examples")
    @classmethod
    def _check_examples(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value if isinstance(v, str)]
        if not cleaned or any(not v for v in cleaned):
            raise ValueError("must be a non-empty list of non-empty phrases")
        return cleaned

    @field_validator("translated_examples")
    @classmethod
    def _check_translated(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for tag, phrases in value.items():
            key = str(tag).strip().lower()
            if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", key):
                raise ValueError(f"{tag!r} is not a language tag (use e.g. 'ms', 'th', 'pt-br')")
            if key.split("-")[0] == "en":
                raise ValueError("English phrases belong in 'examples'")
            cleaned = [v.strip() for v in phrases if isinstance(v, str)]
            if not cleaned or len(cleaned) != len(phrases) or any(not v for v in cleaned):
                raise ValueError(f"{tag!r}: must be a non-empty list of non-empty phrases")
            out[key] = cleaned
        return out


class PolicyTaxonomy(StrictModel):
    """A validated list of policy areas.

    Build it with :meth:`from_yaml` (or :meth:`from_dict`); errors are
    :class:`~qa_insights.errors.ConfigError` naming the source and the area.

    Examples
    --------
    >>> tax = PolicyTaxonomy.from_yaml(default_taxonomy_path())
    >>> tax.area("impersonation").severity
    'medium'
    """

    version: int = 1
    areas: list[PolicyArea]
    source: str = Field(default="<dict>", exclude=True)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> "PolicyTaxonomy":
        """Validate a parsed taxonomy mapping; errors name ``source`` and the area."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: the taxonomy must be a mapping with an 'areas' list")
        raw_areas = data.get("areas")
        if not isinstance(raw_areas, list) or not raw_areas:
            raise ConfigError(f"{source}: 'areas' must be a non-empty list")
        unknown_keys = set(data) - {"version", "areas"}
        if unknown_keys:
            raise ConfigError(f"{source}: unknown top-level keys {sorted(unknown_keys)}")
        problems: list[str] = []
        areas: list[PolicyArea] = []
        for i, raw in enumerate(raw_areas):
            label = (f"area {raw.get('id')!r}" if isinstance(raw, Mapping) and raw.get("id")
                     else f"area #{i + 1}")
            if not isinstance(raw, Mapping):
                problems.append(f"{label}: must be a mapping")
                continue
            try:
                areas.append(PolicyArea.model_validate(dict(raw)))
            except ValidationError as exc:
                for err in exc.errors():
                    field = ".".join(str(p) for p in err["loc"]) or "(area)"
                    msg = err["msg"]
                    if err["type"] == "literal_error":
                        msg = f"unknown severity {err.get('input')!r}; use one of {list(SEVERITIES)}"
                    problems.append(f"{label}: {field}: {msg}")
        seen: dict[str, int] = {}
        for area in areas:
            seen[area.id] = seen.get(area.id, 0) + 1
        problems += [f"area {aid!r}: duplicate id ({n} areas use it)" for aid, n in seen.items()
                     if n > 1]
        if problems:
            raise ConfigError(f"{source}: invalid policy taxonomy:\n  " + "\n  ".join(problems))
        try:
            tax = cls(version=data.get("version", 1), areas=areas, source=source)
        except ValidationError as exc:
            raise ConfigError(f"{source}: invalid policy taxonomy: {exc}") from exc
        tax._check_aliases()
        return tax

    @classmethod
    def from_yaml(cls, path: str | Path) -> "PolicyTaxonomy":
        """Read and validate a taxonomy YAML file.

        Raises
        ------
        ConfigError
            The file is missing, is not YAML, or an area does not validate; the message names
            the file and the area.
        """
        path = Path(path)
        return cls.from_dict(read_yaml(path, "policy taxonomy"), source=str(path))

    @classmethod
    def default(cls) -> "PolicyTaxonomy":
        """The taxonomy shipped with the package."""
        return cls.from_yaml(default_taxonomy_path())

    def _check_aliases(self) -> None:
        owner: dict[str, str] = {}
        for area in self.areas:
            for name in (area.id, *area.aliases):
                key = _normalise_label(name)
                if key in owner and owner[key] != area.id:
                    raise ConfigError(f"{self.source}: area {area.id!r}: alias {name!r} is already "
                                      f"used by area {owner[key]!r}")
                owner[key] = area.id

    # ---------------------------------------------------------------- access
    @property
    def ids(self) -> list[str]:
        """Area ids in file order (the classifier's ``classes_`` order)."""
        return [a.id for a in self.areas]

    def area(self, area_id: str) -> PolicyArea:
        """The area with this id; ``KeyError`` if there is none."""
        for a in self.areas:
            if a.id == area_id:
                return a
        raise KeyError(area_id)

    def canonical_label(self, label: Any) -> str | None:
        """Map a human label (id, alias, any case/spacing) to an area id.

        Returns ``None`` for missing labels (None, NaN, empty, ``"unknown"``); raises
        ``ValueError`` for a label no area claims.
        """
        return _canonical(label, self._label_lookup())

    def canonical_labels(self, labels: Iterable[Any], *, strict: bool = True
                         ) -> list[str | None]:
        """:meth:`canonical_label` over many labels; the error lists every unmatched one.

        ``strict=False``: a label no area claims maps to ``None`` (unlabelled) instead.
        """
        index = self._label_lookup()
        out: list[str | None] = []
        bad: set[str] = set()
        for lab in labels:
            try:
                out.append(_canonical(lab, index))
            except ValueError:
                if strict:
                    bad.add(str(lab))
                else:
                    out.append(None)
        if bad:
            raise ConfigError(f"policy_area labels match no area id or alias in {self.source}: "
                              f"{sorted(bad)}")
        return out

    def _label_lookup(self) -> dict[str, str]:
        # keyed on the areas' current ids and aliases, so an edited taxonomy is indexed afresh
        return _label_index(tuple((a.id, tuple(a.aliases)) for a in self.areas))

    # ---------------------------------------------------------------- identity
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (what is saved beside a model)."""
        return self.model_dump(mode="json")

    def canonical_json(self) -> str:
        """Deterministic JSON of the content (sorted keys), the input of :attr:`sha256`."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))

    @property
    def sha256(self) -> str:
        """Hash of the content (not of the file's formatting or comments)."""
        return sha256_text(self.canonical_json())
