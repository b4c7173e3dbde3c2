"""Fake personal data in the formats users really type: emails, phone numbers (MY, ID, TH, PH,
GB, in several notations), URLs, @handles, Luhn-valid card numbers, IP addresses and long
account numbers.

Every value is synthetic; the generator records each one it inserts so that tests can check that
nothing downstream leaks it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PII_KINDS", "make_pii", "luhn_valid"]

PII_KINDS: tuple[str, ...] = ("email", "phone", "url", "handle", "card", "ip", "account")

_NAMES = ("aisyah", "budi", "siti", "nguyen", "maria", "john", "ahmad", "putri", "somchai",
          "jessica", "rizal", "amir", "joana", "lukas", "priya", "mei", "kevin", "nurul")
_MAIL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "yahoo.com.my",
                 "ymail.com", "icloud.com", "hotmail.co.uk")
_URLS = (
    "https://bit.ly/{a}", "http://claim-refund-{n}.xyz/verify?id={d}", "https://t.me/+{a}",
    "www.parcel-track-{n}.info/pay", "https://instagram.com/p/{a}/",
    "https://www.facebook.com/profile.php?id={d}", "https://tinyurl.com/{a}",
    "https://www.tiktok.com/@{h}/video/{d}",
)
_ALNUM = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, size=n))


def _token(rng: np.random.Generator, n: int) -> str:
    return "".join(_ALNUM[int(i)] for i in rng.integers(0, len(_ALNUM), size=n))


def _phone(rng: np.random.Generator, country: str) -> str:
    if country == "MY":
        p, a, b = f"1{int(rng.integers(0, 10))}", _digits(rng, 3), _digits(rng, 4)
        return _pick(rng, (f"+60 {p}-{a} {b}", f"0{p}-{a} {b}", f"+60{p}{a}{b}", f"0{p}{a}{b}"))
    if country == "ID":
        p, a, b = f"8{int(rng.integers(11, 99))}", _digits(rng, 4), _digits(rng, 4)
        return _pick(rng, (f"+62 {p}-{a}-{b}", f"0{p} {a} {b}", f"+62{p}{a}{b}", f"0{p}-{a}-{b}"))
    if country == "TH":
        p, a, b = f"{_pick(rng, ('6', '8', '9'))}{int(rng.integers(0, 10))}", _digits(rng, 3), \
            _digits(rng, 4)
        return _pick(rng, (f"+66 {p} {a} {b}", f"0{p}-{a}-{b}", f"0{p}{a}{b}"))
    if country == "PH":
        p, a, b = f"9{int(rng.integers(10, 99))}", _digits(rng, 3), _digits(rng, 4)
        return _pick(rng, (f"+63 {p} {a} {b}", f"0{p}-{a}-{b}", f"0{p}{a}{b}", f"+63{p}{a}{b}"))
    # GB mobile numbers; 07700 900xxx is Ofcom's range reserved for drama, so never a real line.
    b = _digits(rng, 3)
    return _pick(rng, (f"+44 7700 900{b}", f"07700 900{b}", f"+44 (0)7700 900 {b}",
                       f"07700900{b}"))


def luhn_valid(number: str) -> bool:
    """True when the digits of ``number`` pass the Luhn checksum (as real card numbers do)."""
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) >= 12 and total % 10 == 0


def _card(rng: np.random.Generator) -> str:
    body = _pick(rng, ("4", "5")) + _digits(rng, 14)
    for check in range(10):
        if luhn_valid(body + str(check)):
            break
    number = body + str(check)
    groups = [number[i:i + 4] for i in range(0, 16, 4)]
    return _pick(rng, (" ".join(groups), "-".join(groups), number))


def _ip(rng: np.random.Generator) -> str:
    # Public-looking first octets only; private ranges would be realistic for no user.
    first = _pick(rng, (36, 49, 103, 110, 115, 125, 171, 180, 182, 202, 203, 223))
    rest = rng.integers(1, 255, size=3)
    return f"{first}.{int(rest[0])}.{int(rest[1])}.{int(rest[2])}"


def _handle(rng: np.random.Generator) -> str:
    sep = _pick(rng, ("", "_", ".", ""))
    return f"@{_pick(rng, _NAMES)}{sep}{_pick(rng, _NAMES)}{int(rng.integers(1, 999))}"


def make_pii(kind: str, rng: np.random.Generator, phone_country: str = "GB") -> str:
    """One synthetic personal-data value of ``kind`` (one of :data:`PII_KINDS`)."""
    if kind == "email":
        sep = _pick(rng, (".", "_", ""))
        return (f"{_pick(rng, _NAMES)}{sep}{_pick(rng, _NAMES)}{int(rng.integers(1, 99))}"
                f"@{_pick(rng, _MAIL_DOMAINS)}")
    if kind == "phone":
        return _phone(rng, phone_country)
    if kind == "url":
        return _pick(rng, _URLS).format(a=_token(rng, 7), n=int(rng.integers(10, 99)),
                                        d=_digits(rng, 9), h=_handle(rng)[1:])
    if kind == "handle":
        return _handle(rng)
    if kind == "card":
        return _card(rng)
    if kind == "ip":
        return _ip(rng)
    if kind == "account":
        return _digits(rng, 1).replace("0", "7") + _digits(rng, int(rng.integers(9, 15)))
    raise ValueError(f"unknown PII kind {kind!r}; expected one of {PII_KINDS}")
