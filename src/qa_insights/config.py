"""The pipeline's configuration: one validated object per stage, composed here.

Each stage module defines its own ``<Stage>Config`` (a :class:`~qa_insights._base.StrictModel`,
unknown keys are errors); :class:`PipelineConfig` composes them, and :func:`load_config` reads
it from YAML (``configs/qa_insights.yaml`` is the documented default).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, ValidationError

from ._base import StrictModel, format_validation_error, read_yaml
from ._trends_config import TrendConfig
from .clean import CleanConfig
from .embed import EmbedConfig
from .errors import ConfigError
from .flags import FlagConfig
from .load import LoadConfig
from .policy import PolicyConfig
from .root_causes import RootCauseConfig
from .themes import ThemeConfig

__all__ = ["PipelineConfig", "load_config", "CONFIG_DIR"]

#: The configs shipped with the package (the repository's top-level ``configs/``).
CONFIG_DIR = Path(__file__).resolve().parent / "configs"


class PipelineConfig(StrictModel):
    """Configuration of a whole run.

    Parameters
    ----------
    seed : int
        Passed to every random part of every stage: same input + seed -> same output.
    load : LoadConfig
        Column mapping, reporting period (month / week / quarter), CSV options.
    clean : CleanConfig
        HTML stripping and the kinds of personal data redacted.
    embed : EmbedConfig
        Embedding model, backend, cache and how comment and ticket vectors are combined.
    themes : ThemeConfig
        Theme discovery and the registry's matching (defaults: ``configs/themes.yaml``).
    trends : TrendConfig
        Baseline window and the emerging-theme rules (defaults: ``configs/trends.yaml``).
    policy : PolicyConfig
        Policy-area classifier mode and abstention threshold.
    root_causes : RootCauseConfig
        Dimensions searched and the ranking's safeguards (defaults: ``configs/root_causes.yaml``).
    flags : FlagConfig
        Which findings become flags and who they are routed to (``configs/routing.yaml``).
    """

    seed: int = 42
    load: LoadConfig = Field(default_factory=LoadConfig)
    clean: CleanConfig = Field(default_factory=CleanConfig)
    embed: EmbedConfig = Field(default_factory=EmbedConfig)
    themes: ThemeConfig = Field(default_factory=ThemeConfig)
    trends: TrendConfig = Field(default_factory=TrendConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    root_causes: RootCauseConfig = Field(default_factory=RootCauseConfig)
    flags: FlagConfig = Field(default_factory=FlagConfig)


def load_config(path: str | os.PathLike | None = None) -> PipelineConfig:
    """Read and validate a pipeline config from YAML.

    Parameters
    ----------
    path : path, optional
        A YAML file; ``None`` reads ``configs/qa_insights.yaml`` shipped with the package.

    Raises
    ------
    ConfigError
        The file is missing, is not YAML, or has unknown keys or invalid values; the message
        names the file and each offending field.
    """
    file = Path(path) if path is not None else CONFIG_DIR / "qa_insights.yaml"
    raw = read_yaml(file, "config file")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping of settings, got {type(raw).__name__}")
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{file}: {format_validation_error(exc)}") from exc
