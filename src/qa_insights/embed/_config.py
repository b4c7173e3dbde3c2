"""The validated configuration of the embedding stage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .._base import StrictModel

__all__ = ["EmbedConfig"]


class EmbedConfig(StrictModel):
    """Settings of the embedding stage (the ``embed:`` section of a pipeline config).

    Attributes
    ----------
    model : str or None
        A local sentence-transformers model directory; ``None`` is the bundled all-MiniLM-L6-v2.
    backend : str
        ``"auto"`` (the measured default, see :data:`qa_insights.embed.DEFAULT_BACKEND`),
        ``"torch"``, ``"onnx"`` or ``"onnx-int8-dynamic"``.
    batch_size : int
        Texts per forward pass.
    max_seq_length : int or None
        Wordpieces kept per text (longer texts are truncated and counted); ``None`` is the
        model's own limit (256 for all-MiniLM-L6-v2).
    n_threads : int or None
        CPU threads for the forward pass; ``None`` uses every CPU this process may run on.
    cache : bool
        Keep embeddings in the state database so repeated texts are never embedded twice.
    combine : {"comment", "comment+ticket", "ticket"}
        Which texts make the vector used for theme discovery (see
        :func:`qa_insights.embed.combine_embeddings`).
    comment_weight : float
        Weight of the reviewer comment in ``"comment+ticket"`` mode.
    """

    model: str | None = None
    backend: Literal["auto", "torch", "onnx", "onnx-int8-dynamic"] = "auto"
    batch_size: int = Field(64, ge=1, le=4096)
    max_seq_length: int | None = Field(None, ge=2, le=8192)
    n_threads: int | None = Field(None, ge=1, le=256)
    cache: bool = True
    combine: Literal["comment", "comment+ticket", "ticket"] = "comment+ticket"
    comment_weight: float = Field(0.7, ge=0.0, le=1.0)
