"""Textual causes: phrases most distinctive of a theme's comments against other failures.

Phrases are scored with the log-odds ratio under an informative Dirichlet prior (Monroe, Colaresi
& Quinn 2008, "Fightin' Words"), whose z-score does not favour rare phrases the way a raw
log-odds or a frequency ratio does.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from ._config import PhraseConfig

__all__ = ["distinctive_phrases", "distinctive_phrases_from_counts", "phrase_counts"]

# redaction placeholders such as [EMAIL] or <PHONE> say nothing about the cause
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]|<[A-Z_]+>")
_TOKEN = re.compile(r"[^\W\d_](?:[\w'-]*\w)?", re.UNICODE)
_STOP = frozenset(ENGLISH_STOP_WORDS)
COLUMNS = ("phrase", "count_in_theme", "count_other", "log_odds", "z_score")


def _phrases(text: str, max_ngram: int) -> list[str]:
    """1- to ``max_ngram``-grams that neither start nor end with a stop word ("asked for id")."""
    tokens = _TOKEN.findall(_PLACEHOLDER.sub(" ", text).lower())
    out = []
    for size in range(1, max_ngram + 1):
        for start in range(len(tokens) - size + 1):
            gram = tokens[start:start + size]
            if gram[0] in _STOP or gram[-1] in _STOP or (size == 1 and len(gram[0]) < 2):
                continue
            out.append(" ".join(gram))
    return out


def phrase_counts(texts: Iterable[str], max_ngram: int = 3, weights=None) -> Counter:
    """Number of texts each phrase occurs in (document frequency, so one long comment repeating a
    phrase does not dominate).

    ``weights`` (optional, one integer per text) counts a text that many times: distinct texts
    with their multiplicities give the same counts as the texts themselves.
    """
    counts: Counter = Counter()
    if weights is None:
        for text in texts:
            if isinstance(text, str) and text:
                counts.update(set(_phrases(text, max_ngram)))
        return counts
    for text, weight in zip(texts, weights):
        if isinstance(text, str) and text and weight:
            for phrase in set(_phrases(text, max_ngram)):
                counts[phrase] += int(weight)
    return counts


def distinctive_phrases(theme_comments: Sequence[str], other_comments: Sequence[str],
                        top: int | None = None, *, config: PhraseConfig | None = None
                        ) -> pd.DataFrame:
    """Phrases most distinctive of the theme's comments compared with other comments.

    Parameters
    ----------
    theme_comments, other_comments : sequence of str
        Redacted reviewer comments of the theme and of the comparison set (usually the period's
        other failed assessments).
    top : int, optional
        Number of phrases; default ``config.top``.
    config : PhraseConfig, optional

    Returns
    -------
    DataFrame
        Columns ``phrase``, ``count_in_theme`` / ``count_other`` (number of comments containing
        it), ``log_odds`` (log-odds ratio, theme vs other, with the Dirichlet prior) and
        ``z_score`` (its value over its standard error, the sort key), best first; only phrases
        over-represented in the theme and occurring at least ``min_count`` times in it.
    """
    config = config or PhraseConfig()
    theme = phrase_counts(theme_comments, config.max_ngram)
    other = phrase_counts(other_comments, config.max_ngram)
    return distinctive_phrases_from_counts(theme, other, top, config=config)


def distinctive_phrases_from_counts(theme: Counter, other: Counter, top: int | None = None, *,
                                    config: PhraseConfig | None = None) -> pd.DataFrame:
    """:func:`distinctive_phrases` from the two sets' :func:`phrase_counts`.

    Document frequencies add up over disjoint sets of comments, so counts gathered partition
    by partition give the same table as the comments themselves.

    Returns
    -------
    DataFrame
        As :func:`distinctive_phrases`.
    """
    config = config or PhraseConfig()
    top = config.top if top is None else top
    vocab = sorted(set(theme) | set(other))
    if not vocab:
        return pd.DataFrame({c: pd.Series(dtype=object if c == "phrase" else float)
                             for c in COLUMNS})
    y_i = np.array([theme.get(w, 0) for w in vocab], dtype=float)
    y_j = np.array([other.get(w, 0) for w in vocab], dtype=float)
    n_i, n_j = y_i.sum(), y_j.sum()
    total = y_i + y_j
    alpha = config.prior_scale * total / total.sum()
    a0 = alpha.sum()
    delta = (np.log((y_i + alpha) / (n_i + a0 - y_i - alpha))
             - np.log((y_j + alpha) / (n_j + a0 - y_j - alpha)))
    z = delta / np.sqrt(1.0 / (y_i + alpha) + 1.0 / (y_j + alpha))
    frame = pd.DataFrame({"phrase": vocab, "count_in_theme": y_i.astype(int),
                          "count_other": y_j.astype(int), "log_odds": delta, "z_score": z})
    frame = frame[(frame["count_in_theme"] >= config.min_count) & (frame["z_score"] > 0)]
    frame = frame[~_subsumed(frame)]
    frame = frame.sort_values(["z_score", "phrase"], ascending=[False, True], kind="stable")
    return frame.head(top).reset_index(drop=True)


def _subsumed(frame: pd.DataFrame) -> np.ndarray:
    """Phrases inside a longer listed phrase that occurs in as many theme comments ("asked" in
    "asked for id"): the longer one says the same with more context."""
    phrases = frame["phrase"].tolist()
    count_of = dict(zip(phrases, frame["count_in_theme"]))
    position = {p: i for i, p in enumerate(phrases)}
    drop = np.zeros(len(phrases), dtype=bool)
    for phrase, count in count_of.items():
        words = phrase.split()
        for size in range(1, len(words)):
            for start in range(len(words) - size + 1):
                part = " ".join(words[start:start + size])
                if count_of.get(part) == count:
                    drop[position[part]] = True
    return drop
