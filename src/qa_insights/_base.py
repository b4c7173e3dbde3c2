"""Small shared building blocks: the strict config base class and hashing helpers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError

__all__ = ["StrictModel", "sha256_text", "sha256_file", "read_yaml", "format_validation_error"]


class StrictModel(BaseModel):
    """Base of every stage config: unknown keys are errors (spaCy/confection style)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


def sha256_text(text: str) -> str:
    """Hex sha256 of a text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def read_yaml(path: str | os.PathLike, what: str = "config file") -> Any:
    """Parse a YAML file; any problem is a :class:`ConfigError` naming the file (and line).

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file is, for the message ("policy taxonomy", "routing table", ...).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the {what} ({exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{file}: not valid YAML{where}: {problem}") from None


def format_validation_error(exc: ValidationError) -> str:
    """One ``field.path: message`` per problem, joined with ``; ``."""
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
                     for err in exc.errors())
