"""Failure themes: discovery (:class:`ThemeModel`) and stable ids across periods (:class:`ThemeRegistry`)."""

from ._config import DEFAULT_STOP_WORDS, ThemeConfig
from ._model import ThemeModel
from ._registry import ThemeRegistry

__all__ = ["ThemeConfig", "ThemeModel", "ThemeRegistry", "DEFAULT_STOP_WORDS"]
