"""Clean: text normalisation and redaction of personal data.

Stage two of the pipeline (load -> **clean** -> embed -> ...). :func:`clean_text` normalises one
text (Unicode NFKC, HTML, control and zero-width characters, whitespace); :class:`Redactor`
replaces personal data with typed placeholders (``[EMAIL]``, ``[PHONE]``, ``[URL]``,
``[HANDLE]``, ``[CARD]``, ``[IP]``, ``[ACCOUNT]``); :func:`clean_records` does both to the text
columns of a record table and returns how many of each kind it replaced.

Redaction is pattern-based (see :mod:`qa_insights._redact_patterns`): the patterns run on the
raw text so that Thai, which has no spaces, is covered. A blank spaCy English pipeline supplies
the tokens for the context rules ("account no. 1234567", "call 9123 4567") that catch numbers too
short or too plain to be recognised on their own, and ``nlp.pipe`` batches many texts.

Decisions worth knowing:

* Dates (``2026-10-03``, ``03/10/2026``), times, versions (``2026.09``), section numbers
  (``4.1.2``), scores (``40/100``) and short numbers are left alone.
* An id that mixes letters and at least ``min_id_digits`` (6) digits is an ``[ACCOUNT]``, so a
  record id such as ``QA-000123`` quoted inside a comment is redacted too: the redactor cannot
  tell it from a customer's account id, and over-redacting is the safe side. Record ids in the
  ``record_id`` column are not touched (it is not a text column).
* A text that is empty after cleaning stays an empty string; whether that row is usable is
  decided by loading, not here. Missing values stay missing.
* Nothing here logs a text or a piece of personal data, only counts.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from . import schema
from ._base import StrictModel
from ._redact_patterns import (
    KINDS, STAGES_BEFORE_CONTEXT, Claims, find_id_accounts, find_phones, find_spaced_accounts,
    to_ascii_digits,
)
from .errors import ConfigError

__all__ = ["KINDS", "clean_text", "Redactor", "redact", "CleanConfig", "clean_records"]

logger = logging.getLogger(__name__)

Kind = Literal["EMAIL", "PHONE", "URL", "HANDLE", "CARD", "IP", "ACCOUNT"]

# --- clean_text --------------------------------------------------------------------------------

# Blocks whose content is code, not text. Found with a scan rather than a lazy ``.*?`` regex,
# which is quadratic on many unclosed openers.
_BLOCK_OPEN = re.compile(r"<!--|<(script|style)\b[^<>]*+>", re.IGNORECASE)
_BLOCK_CLOSE = {
    "script": re.compile(r"</script\s*>", re.IGNORECASE),
    "style": re.compile(r"</style\s*>", re.IGNORECASE),
}
# Only real element names count as tags, so "I <3 it" or "x < y" stay text.
_HTML_ELEMENTS = (
    "a abbr address article aside b bdi bdo big blockquote body br button caption center cite "
    "code col colgroup dd del details dfn div dl dt em fieldset figcaption figure font footer "
    "form h1 h2 h3 h4 h5 h6 head header hr html i iframe img input ins kbd label legend li link "
    "main mark meta nav noscript ol option p pre q s samp section select small span strike "
    "strong sub summary sup table tbody td textarea tfoot th thead time title tr tt u ul var "
    "wbr"
).split()
# Elements that break a line: they become a space, so "a<br>b" does not become "ab".
_BREAKING = frozenset(
    "address article aside blockquote body br dd details div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 head header hr html li main nav ol p pre section summary "
    "table tbody td tfoot th thead title tr ul".split()
)
# The name is checked against the set in Python: an alternation of a hundred names would be
# tried at every "<".
_TAG = re.compile(r"<(?:(/?)([A-Za-z][A-Za-z0-9]*+)(?![:\-])(?:\s[^<>]*+)?/?>|[!?][^<>]*+>)")
_ELEMENT_SET = frozenset(_HTML_ELEMENTS)


def _replace_tag(match: re.Match) -> str:
    name = match.group(2)
    if name is None:
        return ""
    name = name.lower()
    if name not in _ELEMENT_SET:
        return match.group()
    return " " if name in _BREAKING else ""


# Zero-width and invisible format characters (incl. bidi controls, which can disguise text).
_INVISIBLE = [0x00AD, 0x034F, 0x061C, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F),
              *range(0x2060, 0x2070), 0xFEFF]
_WHITESPACE_CONTROLS = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x85]


def _build_translation() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in [*range(0x00, 0x20), *range(0x7F, 0xA0)]:
        table[code] = " " if code in _WHITESPACE_CONTROLS else None
    for code in _INVISIBLE:
        table[code] = None
    # Lone surrogates (from badly decoded input) cannot be written as UTF-8 downstream.
    for code in range(0xD800, 0xE000):
        table[code] = None
    return table


_TRANSLATION = _build_translation()


def _strip_html(text: str) -> str:
    pieces: list[str] = []
    pos = 0
    while True:
        opener = _BLOCK_OPEN.search(text, pos)
        if opener is None:
            pieces.append(text[pos:])
            break
        pieces.append(text[pos:opener.start()])
        pieces.append(" ")
        if opener.group(1) is None:
            close_at = text.find("-->", opener.end())
            close_end = close_at + 3 if close_at >= 0 else -1
        else:
            closer = _BLOCK_CLOSE[opener.group(1).lower()].search(text, opener.end())
            close_end = closer.end() if closer is not None else -1
        if close_end < 0:
            # An unclosed block runs to the end, as in a browser.
            break
        pos = close_end
    text = "".join(pieces)
    text = _TAG.sub(_replace_tag, text)
    return html.unescape(text)


def clean_text(text: str, *, strip_html: bool = True) -> str:
    """Normalise one text for analysis.

    HTML is removed (tags dropped, ``<script>``/``<style>`` blocks and comments dropped with
    their content, line-breaking tags such as ``<br>`` and ``<p>`` turned into spaces, entities
    unescaped); control, zero-width and bidi-control characters are removed; the text is
    NFKC-normalised; whitespace runs become one space; the ends are stripped. Linear in the
    length of the text.

    Parameters
    ----------
    text : str
        The text to clean.
    strip_html : bool, default True
        Whether to remove HTML and unescape entities; when False, ``<`` and ``&`` are kept as
        they are.

    Returns
    -------
    str
        The cleaned text (possibly empty).

    Examples
    --------
    >>> clean_text("<p>Hi&nbsp;there</p><script>x()</script>\\u200bok")
    'Hi there ok'
    """
    if not isinstance(text, str):
        raise TypeError(f"clean_text expects a str, got {type(text).__name__}")
    if strip_html:
        text = _strip_html(text)
    text = text.translate(_TRANSLATION)
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())


# --- redaction ---------------------------------------------------------------------------------

# Words after which a number is an account or a phone number even when its shape alone does
# not say so (Malay, Indonesian, Vietnamese and Thai words included).
_ACCOUNT_WORDS = ["account", "acct", "acc", "a/c", "akaun", "rekening", "rek", "iban", "khoản",
                  "บัญชี", "id", "uid", "userid", "customer", "member", "order", "transaction",
                  "txn", "ref", "reference", "invoice"]
_PHONE_WORDS = ["phone", "tel", "telephone", "mobile", "hp", "handphone", "call", "whatsapp",
                "wa", "sms", "text", "telefon", "telepon", "sđt", "thoại", "โทร", "viber",
                "telegram", "contact"]
_FILLERS = ["no", "no.", "nr", "num", "number", "nombor", "nomor", "số", "is", "at", "me", "on",
            "my", "saya", "ke", "di", ":", ".", "#", "-", "=", "(", ")"]
_NUMBER_START = r"^(?:\(|\+?[0-9][0-9]*\)?)$"
_NUMBER_PART = r"^(?:[0-9]+\)?|[\-.()])$"
_CONTEXT_MIN_PHONE_DIGITS = 8
_CONTEXT_MAX_PHONE_DIGITS = 15
_CONTEXT_WORD = re.compile(
    r"(?<![A-Za-z])(?:" + "|".join(re.escape(word) for word in sorted(
        _ACCOUNT_WORDS + _PHONE_WORDS, key=len, reverse=True)) + r")(?![A-Za-z])",
    re.IGNORECASE,
)
# characters of text tokenised after a keyword, and the distance between window starts
_WINDOW = 128
_WINDOW_STEP = 64
_DIGIT = re.compile(r"[0-9]")


def _context_patterns(words: list[str]) -> list[list[dict]]:
    return [[
        {"LOWER": {"IN": words}},
        {"LOWER": {"IN": _FILLERS}, "OP": "*"},
        {"TEXT": {"REGEX": _NUMBER_START}},
        {"TEXT": {"REGEX": _NUMBER_PART}, "OP": "*"},
    ]]


class Redactor:
    """Replace personal data in texts with typed placeholders.

    Every kind is always detected, so that precedence does not depend on ``kinds`` (turning
    ``EMAIL`` off does not make an address's domain a ``[URL]``); only the kinds listed are
    replaced. The spaCy pipeline is built on first use.

    Parameters
    ----------
    kinds : sequence of str, optional
        Kinds to redact, out of :data:`KINDS`; default all.
    min_account_digits : int, default 9
        A run of at least this many digits (plain, dashed, or in groups of 3-6 separated by
        spaces) is an ``ACCOUNT``.
    min_id_digits : int, default 6
        An id mixing letters and at least this many digits (``ACC-00981234``) is an
        ``ACCOUNT``, as is a number of this many digits after a word such as "account".
    placeholder_format : str, default "[{kind}]"
        Format of the placeholder; ``{kind}`` is replaced by the kind's name.
    batch_size : int, default 256
        Texts per ``nlp.pipe`` batch in :meth:`redact_many`.

    Attributes
    ----------
    counts_ : collections.Counter
        Number of replacements per kind made by this redactor so far (set on first use).

    Examples
    --------
    >>> Redactor().redact("email me at siti.aminah@gmail.com or call +60 12-345 6789")
    'email me at [EMAIL] or call [PHONE]'
    """

    def __init__(self, kinds: Sequence[str] | None = None, *, min_account_digits: int = 9,
                 min_id_digits: int = 6, placeholder_format: str = "[{kind}]",
                 batch_size: int = 256) -> None:
        self.kinds = kinds
        self.min_account_digits = min_account_digits
        self.min_id_digits = min_id_digits
        self.placeholder_format = placeholder_format
        self.batch_size = batch_size

    @functools.cached_property
    def _settings(self) -> tuple[frozenset[str], dict[str, str]]:
        kinds = KINDS if self.kinds is None else tuple(str(k).upper() for k in self.kinds)
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ConfigError(f"unknown redaction kind(s) {unknown}; choose from {list(KINDS)}")
        for name in ("min_account_digits", "min_id_digits", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if "{kind}" not in self.placeholder_format:
            raise ConfigError("placeholder_format must contain '{kind}'")
        try:
            placeholders = {kind: self.placeholder_format.format(kind=kind) for kind in KINDS}
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"placeholder_format is not a valid format string: {exc}") from exc
        return frozenset(kinds), placeholders

    def _check_params(self) -> None:
        """Validate the parameters (raises :class:`ConfigError`)."""
        self._settings  # noqa: B018 - the cached property validates on first access

    @functools.cached_property
    def nlp(self):
        """The blank English spaCy pipeline (tokenizer only)."""
        import spacy

        nlp = spacy.blank("en")
        # English splits "id" as the apostrophe-less "I'd"; in tickets it is an identifier
        for form in ("id", "Id", "ID"):
            nlp.tokenizer.add_special_case(form, [{"ORTH": form}])
        return nlp

    @functools.cached_property
    def _matcher(self):
        from spacy.matcher import Matcher

        matcher = Matcher(self.nlp.vocab)
        matcher.add("ACCOUNT", _context_patterns(_ACCOUNT_WORDS), greedy="LONGEST")
        matcher.add("PHONE", _context_patterns(_PHONE_WORDS), greedy="LONGEST")
        return matcher

    # -- detection --

    def _detect_batch(self, texts: list[str]) -> list[list[tuple[str, int, int]]]:
        """All personal data in each text, as sorted ``(kind, start, end)`` lists."""
        everything = [Claims(to_ascii_digits(text)) for text in texts]
        for claims in everything:
            for stage in STAGES_BEFORE_CONTEXT:
                for kind, start, end in stage(claims):
                    claims.claim(kind, start, end)
                claims.commit()
        self._claim_by_context(everything)
        later = (
            find_phones,
            functools.partial(find_spaced_accounts, min_account_digits=self.min_account_digits),
            functools.partial(find_id_accounts, min_account_digits=self.min_account_digits,
                              min_id_digits=self.min_id_digits),
        )
        for claims in everything:
            for stage in later:
                for kind, start, end in stage(claims):
                    claims.claim(kind, start, end)
                claims.commit()
        return [sorted(claims.spans, key=lambda span: span[1]) for claims in everything]

    def _claim_by_context(self, everything: list[Claims]) -> None:
        """Numbers made personal by the word before them ("account no. 1234567").

        spaCy tokenises only short windows that start at a keyword: its tokenizer is quadratic
        on long runs of punctuation, and the rest of the text is not needed.
        """
        windows: list[tuple[int, int]] = []
        for number, claims in enumerate(everything):
            pos = 0
            while (hit := _CONTEXT_WORD.search(claims.masked, pos)) is not None:
                if _DIGIT.search(claims.masked, hit.end(), hit.start() + _WINDOW):
                    windows.append((number, hit.start()))
                # windows overlap, so a keyword near a window's end still has its number
                pos = hit.start() + _WINDOW_STEP
        if not windows:
            return
        texts = (everything[n].text[s:s + _WINDOW] for n, s in windows)
        candidates: list[list[tuple[int, int, int, str]]] = [[] for _ in everything]
        strings = self.nlp.vocab.strings
        for (number, offset), doc in zip(windows, self.nlp.pipe(texts, batch_size=256)):
            for match_id, start, end in self._matcher(doc):
                span = _number_tokens(doc, start, end)
                if span is None:
                    continue
                kind = strings[match_id]
                first, last = span
                char_start = offset + doc[first].idx
                char_end = offset + doc[last - 1].idx + len(doc[last - 1].text)
                # accounts first: "account no 0123456789" is an account, not a phone
                candidates[number].append((char_start, kind != "ACCOUNT", char_end, kind))
        for claims, found in zip(everything, candidates):
            last_end = -1
            for char_start, _, char_end, kind in sorted(found):
                if char_start < last_end or not claims.free(char_start, char_end):
                    continue
                digits = sum(char.isdigit() for char in claims.text[char_start:char_end])
                if kind == "ACCOUNT":
                    wanted = digits >= self.min_id_digits
                else:
                    wanted = _CONTEXT_MIN_PHONE_DIGITS <= digits <= _CONTEXT_MAX_PHONE_DIGITS
                if wanted:
                    claims.claim(kind, char_start, char_end)
                    last_end = char_end
            claims.commit()

    def _redact_batch(self, texts: list[str]) -> list[tuple[str, Counter]]:
        selected, placeholders = self._settings
        out = []
        for text, spans in zip(texts, self._detect_batch(texts)):
            pieces: list[str] = []
            counts: Counter = Counter()
            pos = 0
            for kind, start, end in spans:
                if kind not in selected:
                    continue
                pieces.append(text[pos:start])
                pieces.append(placeholders[kind])
                counts[kind] += 1
                pos = end
            pieces.append(text[pos:])
            out.append(("".join(pieces), counts))
        return out

    def _record(self, counts: Counter) -> None:
        if not hasattr(self, "counts_"):
            self.counts_ = Counter()
        self.counts_.update(counts)

    # -- public API --

    def find(self, text: str) -> list[tuple[str, int, int]]:
        """Personal data in ``text`` that this redactor would replace.

        Returns
        -------
        list of (kind, start, end)
            Character offsets into ``text``, sorted by start, non-overlapping.
        """
        selected, _ = self._settings
        spans = self._detect_batch([_check_str(text)])[0]
        return [span for span in spans if span[0] in selected]

    def redact(self, text: str) -> str:
        """Return ``text`` with personal data replaced by placeholders."""
        self._check_params()
        redacted, counts = self._redact_batch([_check_str(text)])[0]
        self._record(counts)
        return redacted

    def redact_many(self, texts: Iterable[str | None]) -> list[str | None]:
        """Redact many texts, in batches of ``batch_size`` (tokenised with ``nlp.pipe``).

        Missing values (``None``, ``pd.NA``, NaN) come back as ``None``.

        Returns
        -------
        list of str or None
            One entry per input, in order.
        """
        redacted, counts = self._redact_many_counted(texts)
        for item in counts:
            self._record(item)
        return redacted

    def _redact_many_counted(self, texts: Iterable[str | None]
                             ) -> tuple[list[str | None], list[Counter]]:
        self._check_params()
        items: list[str | None] = []
        for text in texts:
            if text is None or (pd.api.types.is_scalar(text) and not isinstance(text, str)
                                and pd.isna(text)):
                items.append(None)
            else:
                items.append(_check_str(text))
        present = [text for text in items if text is not None]
        results: list[tuple[str, Counter]] = []
        for begin in range(0, len(present), self.batch_size):
            results.extend(self._redact_batch(present[begin:begin + self.batch_size]))
        found = iter(results)
        out: list[str | None] = []
        counts: list[Counter] = []
        for text in items:
            redacted, kinds = next(found) if text is not None else (None, Counter())
            out.append(redacted)
            counts.append(kinds)
        return out, counts


def _number_tokens(doc, start: int, end: int) -> tuple[int, int] | None:
    """Token range ``[first, last)`` of the number that ends a context match, or None."""
    first = end
    while first > start + 1 and re.match(_NUMBER_PART, doc[first - 1].text):
        first -= 1
    # "+60" starts a number but is not a later part of one
    if first > start + 1 and re.match(_NUMBER_START, doc[first - 1].text):
        first -= 1
    while first < end and doc[first].text != "(" and not _has_digit(doc[first].text):
        first += 1
    while end > first and not _has_digit(doc[end - 1].text):
        end -= 1
    # a trailing lone digit is a count ("012 345 6789 3 times"), not part of the number
    if end - first > 1 and len(doc[end - 1].text) == 1:
        end -= 1
        while end > first and not _has_digit(doc[end - 1].text):
            end -= 1
    return (first, end) if first < end else None


def _has_digit(text: str) -> bool:
    return any(char.isdigit() for char in text)


def _check_str(text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"expected a str, got {type(text).__name__}")
    return text


@functools.lru_cache(maxsize=1)
def _default_redactor() -> Redactor:
    return Redactor()


def redact(text: str) -> str:
    """Return ``text`` with every kind of personal data replaced, using default settings.

    Examples
    --------
    >>> redact("my IG is @bunga_23")
    'my IG is [HANDLE]'
    """
    return _default_redactor().redact(text)


# --- records -----------------------------------------------------------------------------------

class CleanConfig(StrictModel):
    """Settings of the clean stage.

    Parameters
    ----------
    strip_html : bool
        Remove HTML and unescape entities.
    redact : bool
        Replace personal data with placeholders.
    kinds : list of str
        Kinds to redact (all by default); must not be empty when ``redact`` is true.
    min_account_digits : int
        Digits for a plain number to count as an account number (6-30).
    min_id_digits : int
        Digits for a letters-and-digits id to count as an account number (4-30).
    """

    strip_html: bool = True
    redact: bool = True
    kinds: list[Kind] = Field(default_factory=lambda: list(KINDS))
    min_account_digits: int = Field(9, ge=6, le=30)
    min_id_digits: int = Field(6, ge=4, le=30)

    @field_validator("kinds", mode="before")
    @classmethod
    def _upper_kinds(cls, value):
        if isinstance(value, (list, tuple)):
            return [item.upper() if isinstance(item, str) else item for item in value]
        return value

    @field_validator("kinds")
    @classmethod
    def _unique_kinds(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("kinds must not repeat")
        return value

    @model_validator(mode="after")
    def _kinds_when_redacting(self) -> CleanConfig:
        if self.redact and not self.kinds:
            raise ValueError("kinds is empty while redact is true; set redact: false instead")
        return self


def clean_records(frame: pd.DataFrame, config: CleanConfig | None = None,
                  columns: Sequence[str] = schema.TEXT_COLUMNS
                  ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Clean and redact the text columns of a record table.

    Parameters
    ----------
    frame : pandas.DataFrame
        Records; columns in ``columns`` that are absent are skipped.
    config : CleanConfig, optional
        Settings; default ``CleanConfig()``.
    columns : sequence of str
        Text columns to process; default the ticket text and reviewer comment.

    Returns
    -------
    frame : pandas.DataFrame
        A copy with those columns cleaned (and redacted). Missing values stay missing; a text
        that is empty after cleaning stays ``""``. String dtypes are kept.
    counts : dict of str to int
        Replacements per kind, every kind of :data:`KINDS` present (zeros included).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"clean_records expects a pandas DataFrame, got {type(frame).__name__}")
    config = config if config is not None else CleanConfig()
    redactor = Redactor(config.kinds, min_account_digits=config.min_account_digits,
                        min_id_digits=config.min_id_digits)
    out = frame.copy()
    totals: Counter = Counter()
    texts_seen = 0
    for column in columns:
        if column not in out.columns:
            continue
        series = out[column]
        present = series.notna().to_numpy()
        values = series.to_numpy(dtype=object)
        # Ticket texts repeat (templates, macros): each distinct text is processed once.
        multiplicity = Counter(str(value) for value in values[present])
        distinct = list(multiplicity)
        cleaned = [clean_text(text, strip_html=config.strip_html) for text in distinct]
        if config.redact:
            cleaned, found = redactor._redact_many_counted(cleaned)
            for text, counts in zip(distinct, found):
                for kind, number in counts.items():
                    totals[kind] += number * multiplicity[text]
        mapping = dict(zip(distinct, cleaned))
        result = values.copy()
        result[present] = [mapping[str(value)] for value in values[present]]
        texts_seen += int(present.sum())
        if isinstance(series.dtype, pd.StringDtype):
            out[column] = pd.Series(result, index=series.index, name=column).astype(series.dtype)
        else:
            out[column] = pd.Series(result, index=series.index, name=column, dtype=object)
    counts = {kind: int(totals.get(kind, 0)) for kind in KINDS}
    logger.info("cleaned %d texts; redactions %s", texts_seen, counts)
    return out, counts
