"""The word counter behind theme keywords: spaCy lookup lemmas, domain stop-words, 1–2-grams."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

__all__ = ["LemmaTokenizer", "make_vectorizer"]

logger = logging.getLogger(__name__)

# the lookup table strips a plural "s" from these verb forms ("does" -> "doe")
_FIXES = {"does": "do", "doesn": "do", "has": "have", "was": "be", "is": "be"}


class LemmaTokenizer:
    """Callable that splits a text into lower-cased lemmas of alphabetic words.

    Uses ``spacy.blank("en")`` with the lookup lemmatizer (from spacy-lookups-data), so no
    trained pipeline is needed. Numbers and punctuation are dropped; redaction placeholders
    (``[EMAIL]``) are left to the stop-word list.
    """

    def __init__(self) -> None:
        import spacy

        self._nlp = spacy.blank("en")
        self._nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        self._nlp.initialize()
        # QA comments repeat (templates, copy-paste): each distinct text goes through spaCy once
        # per tokenizer
        self._memo: dict[str, tuple[str, ...]] = {}

    def __call__(self, text: str) -> list[str]:
        lemmas = self._memo.get(text)
        if lemmas is None:
            # lookup tables hold lower-case forms ("Agents" is not found, "agents" is)
            lemmas = self._memo[text] = tuple(self._lemmas(self._nlp(text.lower())))
        return list(lemmas)

    def pipe(self, texts: Iterable[str]) -> list[list[str]]:
        """Lemmas of many texts, streamed through spaCy in batches."""
        return [self._lemmas(doc)
                for doc in self._nlp.pipe((t.lower() for t in texts), batch_size=256)]

    @staticmethod
    def _lemmas(doc) -> list[str]:
        out = []
        for tok in doc:
            if not tok.is_alpha or len(tok.text) < 2:
                continue
            lemma = _FIXES.get(tok.text, tok.lemma_ or tok.text)
            out.append(lemma.lower())
        return out


def make_vectorizer(stop_words: Iterable[str], ngram_range: tuple[int, int],
                    tokenizer: LemmaTokenizer | None = None) -> CountVectorizer:
    """A CountVectorizer over lemmas that drops English and domain stop-words.

    Parameters
    ----------
    stop_words : iterable of str
        Domain stop-words; they are lemmatised too so that "agents" matches "agent".
    ngram_range : (int, int)
        Smallest and largest n-gram.
    tokenizer : LemmaTokenizer, optional
        Reused when given (building one loads spaCy's lookup tables).

    Returns
    -------
    CountVectorizer
    """
    tok = tokenizer or LemmaTokenizer()
    words: set[str] = set()
    # CountVectorizer checks that the stop-words survive the tokenizer unchanged, so the
    # list holds their lemmas as well as their surface forms
    for word in (*ENGLISH_STOP_WORDS, *stop_words):
        words.update(tok(word))
        words.add(word.lower())
    return CountVectorizer(tokenizer=tok, lowercase=False, token_pattern=None,
                           stop_words=sorted(words), ngram_range=tuple(ngram_range))
