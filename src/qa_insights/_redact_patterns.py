"""Regular-expression detectors of personal data, used by :mod:`qa_insights.clean`.

The detectors run on the raw text, not on tokens, because Thai (and pasted text in any language)
glues personal data to the words around it. Word boundaries are therefore ASCII-only: a Thai
letter next to an e-mail address does not hide it.

Every candidate pattern is linear: possessive quantifiers or bounded repeats, and the fiddly
checks (Luhn, octet ranges, date plausibility, digit counts) are done in Python on the match.

Detection is staged. Each stage sees a *masked* copy of the text in which the spans claimed by
earlier stages are blanked out (same length, so offsets stay valid). That makes overlaps
impossible and fixes precedence: an e-mail's domain is never also a URL, a card never a phone,
and a date is never a phone or account number.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterator

__all__ = ["KINDS", "MASK", "Claims", "to_ascii_digits", "luhn_ok", "STAGES_BEFORE_CONTEXT",
           "is_phone", "find_phones",
           "find_spaced_accounts", "find_id_accounts"]

#: Kinds of personal data, in the order the counts are reported.
KINDS: tuple[str, ...] = ("EMAIL", "PHONE", "URL", "HANDLE", "CARD", "IP", "ACCOUNT")

#: Blanks out claimed spans. NUL is not a word character, digit or separator in any pattern
#: below, so a masked span acts as a plain boundary.
MASK = "\x00"

Span = tuple[str, int, int]

_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")


def to_ascii_digits(text: str) -> str:
    """Map every Unicode decimal digit (Thai ๑๒๓, Arabic-Indic, ...) to its ASCII digit.

    One character becomes one character, so offsets into the result are offsets into ``text``.
    """
    return _NON_ASCII_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)


def luhn_ok(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn checksum used by payment cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class Claims:
    """Spans claimed so far, and the masked text the next stage searches.

    Parameters
    ----------
    text : str
        The text to search (already mapped to ASCII digits).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.masked = text
        self.spans: list[Span] = []
        self._pending: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        """Whether no earlier stage claimed any character of ``[start, end)``."""
        return MASK not in self.masked[start:end]

    def claim(self, kind: str | None, start: int, end: int) -> None:
        """Claim a span; an empty ``kind`` protects it (a date, a time) without redacting it."""
        if kind:
            self.spans.append((kind, start, end))
        self._pending.append((start, end))

    def commit(self) -> None:
        """Blank out the spans claimed in the stage that just ran."""
        if not self._pending:
            return
        pieces, pos = [], 0
        for start, end in sorted(self._pending):
            pieces.append(self.masked[pos:start])
            pieces.append(MASK * (end - start))
            pos = end
        pieces.append(self.masked[pos:])
        self.masked = "".join(pieces)
        self._pending.clear()


# --- URLs --------------------------------------------------------------------------------------

_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]"
_SCHEME_URL = re.compile(rf"(?<![A-Za-z0-9])(?P<prefix>https?://|www\.){_URL_CHARS}*+",
                         re.IGNORECASE)
_BARE_URL = re.compile(
    rf"(?<![A-Za-z0-9@.\-_/:])[A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)++(?P<path>/{_URL_CHARS}*+)?"
)
# Top-level domains accepted without a path: the common generic ones and those of the markets
# served. With a path ("bit.ly/abc") any alphabetic TLD is accepted.
_COMMON_TLDS = frozenset("""
com net org info biz edu gov mil int io co me ly app dev xyz site online shop store link club
live tv cc gg to tk ml ga cf gl ai asia
my id th vn ph sg uk us ca au nz in jp kr cn hk tw de fr nl es it ie eu
""".split())
_TRAILING_PUNCT = ".,;:!?'\"*"


def _trim_url(text: str, start: int, end: int) -> int:
    """End of a URL once trailing punctuation (and an unbalanced closing bracket) is dropped."""
    while end > start:
        last = text[end - 1]
        if last in _TRAILING_PUNCT:
            end -= 1
        elif last in ")]" and text.count("(" if last == ")" else "[", start, end) < text.count(
                last, start, end):
            end -= 1
        else:
            break
    return end


def _find_scheme_urls(claims: Claims) -> Iterator[Span]:
    for match in _SCHEME_URL.finditer(claims.masked):
        end = _trim_url(claims.masked, match.start(), match.end())
        if end > match.end("prefix"):
            yield "URL", match.start(), end


def _find_bare_urls(claims: Claims) -> Iterator[Span]:
    for match in _BARE_URL.finditer(claims.masked):
        host_end = match.start("path") if match.group("path") else match.end()
        labels = claims.masked[match.start():host_end].split(".")
        tld = labels[-1]
        if not (2 <= len(tld) <= 24 and tld.isascii() and tld.isalpha()):
            continue
        if any(not label or label[0] == "-" or label[-1] == "-" for label in labels):
            continue
        if match.group("path") is None and tld.lower() not in _COMMON_TLDS:
            continue
        yield "URL", match.start(), _trim_url(claims.masked, match.start(), match.end())


# --- e-mail addresses and handles ------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}"
    r"@[A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)++"
)
_HANDLE = re.compile(r"(?<![A-Za-z0-9._%+\-@])@[A-Za-z0-9_][A-Za-z0-9_.]{0,29}+")


def _find_emails(claims: Claims) -> Iterator[Span]:
    for match in _EMAIL.finditer(claims.masked):
        tld = match.group().rsplit(".", 1)[1]
        if 2 <= len(tld) <= 24 and tld.isalpha():
            yield "EMAIL", match.start(), match.end()


def _find_handles(claims: Claims) -> Iterator[Span]:
    for match in _HANDLE.finditer(claims.masked):
        end = match.end()
        while claims.masked[end - 1] == ".":
            end -= 1
        if end - match.start() >= 2:
            yield "HANDLE", match.start(), end


# --- IP addresses ------------------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![0-9.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![0-9]|\.[0-9])")
_IPV6 = re.compile(r"(?<![0-9A-Za-z:.])[0-9A-Fa-f:][0-9A-Fa-f:.]{1,44}+(?![0-9A-Za-z])")


def _find_ips(claims: Claims) -> Iterator[Span]:
    for match in _IPV4.finditer(claims.masked):
        if all(int(octet) <= 255 for octet in match.group().split(".")):
            yield "IP", match.start(), match.end()
    for match in _IPV6.finditer(claims.masked):
        candidate = match.group().rstrip(".")
        # a sentence-final colon ("fix:") is not part of an address, "::" at the end is
        if candidate.endswith(":") and not candidate.endswith("::"):
            candidate = candidate[:-1]
        if candidate.count(":") < 2:
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield "IP", match.start(), match.start() + len(candidate)


# --- payment cards -----------------------------------------------------------------------------

_CARD = re.compile(r"(?<![0-9])(?<![0-9][ \-])[0-9](?:[ \-]?+[0-9]){12,18}+(?![ \-]?[0-9])")


def _find_cards(claims: Claims) -> Iterator[Span]:
    for match in _CARD.finditer(claims.masked):
        digits = re.sub(r"[ \-]", "", match.group())
        # Card numbers start with 2-6 (Mastercard 2/5, Amex 3, Visa 4, Discover/UnionPay 6);
        # checking it keeps the 1-in-10 Luhn coincidences among other long numbers out.
        if digits[0] in "23456" and luhn_ok(digits):
            yield "CARD", match.start(), match.end()


# --- dates and times (protected, never redacted) -----------------------------------------------

_DATE_YMD = re.compile(r"(?<![0-9])([0-9]{4})([\-/.])([0-9]{1,2})\2([0-9]{1,2})(?![0-9])")
_DATE_DMY = re.compile(r"(?<![0-9])([0-9]{1,2})([\-/.])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})(?![0-9])")
_TIME = re.compile(r"(?<![0-9])([0-9]{1,2}):([0-9]{2})(?::[0-9]{2}(?:\.[0-9]+)?)?(?![0-9])")


def _find_dates_times(claims: Claims) -> Iterator[Span]:
    for match in _DATE_YMD.finditer(claims.masked):
        year, month, day = int(match.group(1)), int(match.group(3)), int(match.group(4))
        if 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31:
            yield "", match.start(), match.end()
    for match in _DATE_DMY.finditer(claims.masked):
        first, second = int(match.group(1)), int(match.group(3))
        if 1 <= first <= 31 and 1 <= second <= 31 and min(first, second) <= 12:
            yield "", match.start(), match.end()
    for match in _TIME.finditer(claims.masked):
        if int(match.group(1)) <= 24 and int(match.group(2)) <= 59:
            yield "", match.start(), match.end()


# --- phone numbers -----------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![A-Za-z0-9+\-./:_])"
    r"(?:\+[ ]?)?"
    r"(?:\([ ]?\+?[0-9]{1,4}[ ]?\)|[0-9]++)"
    r"(?:(?:[ .\-]|[ ]?(?=\())(?:\([0-9]{1,4}\)|[0-9]++)){0,7}+"
)
_NANP = re.compile(r"\(?[2-9][0-9]{2}\)?[ .\-]?[0-9]{3}[ .\-][0-9]{4}")
_GROUP = re.compile(r"[0-9]+")
MIN_PHONE_DIGITS = 8
MAX_PHONE_DIGITS = 15


def _cut_lone_digit(candidate: str) -> str:
    """Drop a trailing one-digit group, which is a count ("6789 3 times"), not part of a number."""
    groups = list(_GROUP.finditer(candidate))
    if len(groups) > 1 and len(groups[-1].group()) == 1:
        return candidate[:groups[-1].start()].rstrip(" .-(")
    return candidate


def is_phone(candidate: str) -> bool:
    """Whether a separated digit sequence has the shape of a phone number.

    International forms (``+60 12-345 6789``) need 8-15 digits. Local forms need the trunk
    ``0`` or an area code in brackets (``012-345 6789``, ``(03) 2345 6789``), or the North
    American ``415-555-0132`` shape; a bare ``12345678`` is not taken for a phone (it may be an
    account number, or a phone by context).
    """
    digits = sum(char.isdigit() for char in candidate)
    if not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        return False
    if candidate.startswith("+") or candidate.startswith("(+"):
        return True
    if candidate[0] in "0(":
        return True
    return _NANP.fullmatch(candidate) is not None


def find_phones(claims: Claims) -> Iterator[Span]:
    """Phone numbers in the masked text (see :func:`is_phone` for the shapes)."""
    for match in _PHONE.finditer(claims.masked):
        candidate = _cut_lone_digit(match.group().rstrip(" .-"))
        if is_phone(candidate):
            yield "PHONE", match.start(), match.start() + len(candidate)


# --- account and other id numbers --------------------------------------------------------------

_SPACED_DIGITS = re.compile(r"(?<![A-Za-z0-9])[0-9]{3,6}(?: [0-9]{3,6})++(?![A-Za-z0-9])")
# Only tokens with a digit are candidates; the lookahead skips the words of a text cheaply (the
# token's digits are still counted, so it only filters).
_ID_TOKEN = re.compile(
    r"(?<![A-Za-z0-9@_])(?=[A-Za-z0-9\-_/#]*[0-9])[A-Za-z0-9]++(?:[\-_/#][A-Za-z0-9]++)*+")


def find_spaced_accounts(claims: Claims, *, min_account_digits: int) -> Iterator[Span]:
    """Account numbers written in space-separated groups of 3-6 digits
    (``1234 5678 9012 3456``) with at least ``min_account_digits`` digits in all."""
    for match in _SPACED_DIGITS.finditer(claims.masked):
        if sum(char.isdigit() for char in match.group()) >= min_account_digits:
            yield "ACCOUNT", match.start(), match.end()


def find_id_accounts(claims: Claims, *, min_account_digits: int, min_id_digits: int
                     ) -> Iterator[Span]:
    """Account or id numbers in one token: digit runs of ``min_account_digits`` or more (plain
    or joined by ``-``, ``_``, ``/``, ``#``), or ids mixing letters and at least
    ``min_id_digits`` digits (``ACC-00981234``)."""
    for match in _ID_TOKEN.finditer(claims.masked):
        token = match.group()
        digits = sum(map(str.isdigit, token))
        has_letter = not token.isdigit() and any(map(str.isalpha, token))
        if digits >= (min_id_digits if has_letter else min_account_digits):
            yield "ACCOUNT", match.start(), match.end()


#: Stages that run before the token-context rules of :class:`qa_insights.clean.Redactor`, in
#: order of precedence. A stage yields ``(kind, start, end)``; kind ``""`` protects a span.
STAGES_BEFORE_CONTEXT: tuple[Callable[[Claims], Iterator[Span]], ...] = (
    _find_scheme_urls, _find_emails, _find_handles, _find_bare_urls, _find_ips, _find_cards,
    _find_dates_times,
)
