"""Small shared building blocks: the strict config base class and hashing helpers."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel", "sha256_text", "sha256_file"]


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
