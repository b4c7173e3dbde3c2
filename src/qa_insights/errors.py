"""Exceptions raised by qa_insights.

Every error a user can cause (bad input file, bad config, a foreign state file) derives from
:class:`QAInsightsError`, so that the CLI can turn it into exit code 2 with a clear message.
"""

from __future__ import annotations

__all__ = ["QAInsightsError", "InputError", "ConfigError", "StateError"]


class QAInsightsError(Exception):
    """Base class of the errors a user can act on."""


class InputError(QAInsightsError):
    """An input file or DataFrame that cannot be read at all.

    Parameters
    ----------
    message : str
        What is wrong, in words a user can act on.
    source : str, optional
        The file (or ``"<DataFrame>"``) the problem is in.
    row : int, optional
        1-based data row number (header excluded) where it applies.
    column : str, optional
        Column name where it applies.
    """

    def __init__(self, message: str, *, source: str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        self.source = source
        self.row = row
        self.column = column
        where = []
        if source is not None:
            where.append(str(source))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.message = message


class ConfigError(QAInsightsError):
    """A configuration file or value that does not validate."""


class StateError(QAInsightsError):
    """A state database or saved artefact that is corrupt, foreign or of another version."""
