"""Writing the texts of a record: the user's ticket and the reviewer's comment, with the light
noise real ones have (typos, lower case, shorthand, channel wrappers, HTML debris).

Personal data is put in last, through placeholders the noise cannot touch, so that every value
the generator reports in ``pii_values`` appears in the ticket exactly as generated.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from ._attributes import AREA_MACROS, LANGUAGE_NAMES, MARKETS, QUEUE_SLA, QUEUES
from ._catalogue import AREA_SPECS, FailureMode
from ._phrases import COMMENT_PHRASES, CommentPhrases
from ._pii import make_pii
from ._ticket_phrases import TICKET_PHRASES, TicketPhrases
from ._ticket_phrases_i18n import I18N_TICKET_PHRASES

__all__ = ["comment_phrases", "ticket_phrases", "ticket_language", "noisify", "failure_comment",
           "pass_comment", "ticket_text", "ENGLISH_IN_OTHER_MARKET_SHARE"]

_WORD = re.compile(r"[A-Za-z]+")
# Placeholders for personal data: no letters, so no noise step ever rewrites them.
_PH = "\u27e6{}\u27e7"


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def comment_phrases(language: str = "en") -> CommentPhrases:
    """Reviewer-comment vocabulary for ``language``, English when there is none."""
    return COMMENT_PHRASES.get(language, COMMENT_PHRASES["en"])


#: Share of tickets in a non-English language that the user wrote in English all the same
#: (multilingual mode): the declared ``language`` then disagrees with the text.
ENGLISH_IN_OTHER_MARKET_SHARE = 0.04


def ticket_phrases(language: str, multilingual: bool = False) -> TicketPhrases:
    """Ticket vocabulary for ``language`` (a BCP-47 tag), English when there is none.

    Without ``multilingual`` only the English table is known (the generator's original
    behaviour); with it, the tables of :mod:`._ticket_phrases_i18n` too.
    """
    tables = {**I18N_TICKET_PHRASES, **TICKET_PHRASES} if multilingual else TICKET_PHRASES
    return tables.get(language) or tables.get(language.split("-")[0]) \
        or TICKET_PHRASES["en"]


def ticket_language(language: str, rng: np.random.Generator) -> str:
    """The language a ticket is actually written in (multilingual mode), given the declared one.

    English where the generator has no table for the declared language (zh, hi) and, for a
    small share (:data:`ENGLISH_IN_OTHER_MARKET_SHARE`), even where it has one. One draw always,
    so the stream of random numbers does not depend on the language.
    """
    english_anyway = rng.random() < ENGLISH_IN_OTHER_MARKET_SHARE
    if ticket_phrases(language, multilingual=True) is TICKET_PHRASES["en"] or english_anyway:
        return "en"
    return language


def _typo(text: str, rng: np.random.Generator) -> str:
    words = [m for m in _WORD.finditer(text) if len(m.group()) >= 5]
    if not words:
        return text
    m = _pick(rng, words)
    w = m.group()
    i = int(rng.integers(1, len(w) - 2))
    if rng.random() < 0.6:
        w2 = w[:i] + w[i + 1] + w[i] + w[i + 2:]      # swapped letters
    else:
        w2 = w[:i] + w[i + 1:]                         # dropped letter
    return text[:m.start()] + w2 + text[m.end():]


@lru_cache(maxsize=16)
def _abbreviation_patterns(abbreviations: tuple) -> tuple:
    return tuple((re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE), repl)
                 for word, repl in abbreviations)


def noisify(text: str, rng: np.random.Generator,
            abbreviations: tuple[tuple[str, tuple[str, ...]], ...], *, p_lower: float,
            p_abbrev: float, p_typo: float, p_trail: float) -> str:
    """Add human noise to ``text``: shorthand, one typo, all lower case, no final full stop.

    Each kind is applied with its probability; the number of random draws does not depend on
    the text, which keeps generation deterministic and stable when vocabulary changes.
    """
    do_abbrev, do_typo, do_lower, do_trail = rng.random(4) < (p_abbrev, p_typo, p_lower, p_trail)
    if do_abbrev:
        for pattern, repl in _abbreviation_patterns(abbreviations):
            if pattern.search(text) and rng.random() < 0.7:
                text = pattern.sub(_pick(rng, repl), text)
    if do_typo:
        text = _typo(text, rng)
    if do_lower:
        text = text.lower()
    if do_trail and text.endswith("."):
        text = text[:-1]
    return text


def _guideline(area: str, rng: np.random.Generator) -> str:
    section = AREA_SPECS[area].section
    sub = int(rng.integers(1, 7))
    return _pick(rng, (f"{section}.{sub}", f"{section}.{sub}", f"{section}.{sub}(b)",
                       f"§{section}.{sub}"))


def _slots(rec: dict, rng: np.random.Generator) -> dict[str, str]:
    area, queue = rec["policy_area_true"], rec["queue"]
    spec = AREA_SPECS[area]
    sla = QUEUE_SLA[queue]
    late = int(sla * (1.5 + 3 * rng.random())) + 1
    area_macros = AREA_MACROS[area]
    macro = rec["macro_id"]
    others = [m for m in area_macros if m != macro]
    wrong_queues = [q for q in QUEUES if q != spec.escalation_queue]
    return {
        "area": spec.words,
        "gl": _guideline(area, rng),
        "spec_queue": spec.escalation_queue,
        "harm": _pick(rng, spec.harms),
        "hours": _pick(rng, (f"{late}h", f"{late} hours")),
        "sla": f"{sla}h",
        "days": f"{int(rng.integers(2, 9))} days",
        "macro": macro if macro else "the standard macro",
        "right_macro": _pick(rng, others) if others else area_macros[0],
        "lang": LANGUAGE_NAMES[rec["language"]],
        "wrong_queue": _pick(rng, wrong_queues),
        "version": rec["policy_version"],
    }


def _with_remark(text: str, phrases: CommentPhrases, rng: np.random.Generator,
                 p: float) -> str:
    if rng.random() < p:
        sep = _pick(rng, (" ", " - ", " "))
        if sep == " - ":
            body = text.rstrip(".")
        else:
            body = text if text.endswith((".", "!", "?")) else text + "."
        return f"{body}{sep}{_pick(rng, phrases.remarks)}"
    return text


def failure_comment(mode: FailureMode, rec: dict, rng: np.random.Generator, *,
                    auto_fail: bool) -> tuple[str, int]:
    """A reviewer comment describing ``mode`` on record ``rec``.

    Returns
    -------
    (text, wording) : tuple
        The comment and the index of the wording it was written from.
    """
    phrases = comment_phrases("en")
    wordings = phrases.failure_wordings[mode.id]
    wording = int(rng.integers(len(wordings)))
    text = wordings[wording].format(**_slots(rec, rng))
    text = noisify(text, rng, phrases.abbreviations, p_lower=0.12, p_abbrev=0.2, p_typo=0.12,
                   p_trail=0.15)
    text = _with_remark(text, phrases, rng, 0.2)
    if auto_fail:
        text = f"{_pick(rng, phrases.auto_fail_prefix)} {text}"
    return text, wording


def pass_comment(rec: dict, rng: np.random.Generator) -> str | None:
    """A reviewer comment on a passed assessment; None when the reviewer left it blank."""
    phrases = comment_phrases("en")
    r = rng.random()
    if r < 0.08:
        return None
    pool = phrases.minor_pass_wordings if r < 0.28 else phrases.pass_wordings
    text = _pick(rng, pool).format(area=AREA_SPECS[rec["policy_area_true"]].words)
    return noisify(text, rng, phrases.abbreviations, p_lower=0.15, p_abbrev=0.1, p_typo=0.08,
                   p_trail=0.2)


def _amount(market: str, rng: np.random.Generator) -> str:
    m = MARKETS[market]
    raw = m.amount_scale * (0.2 + 2.8 * rng.random())
    magnitude = 10 ** max(0, len(str(int(raw))) - 2)
    n = int(round(raw / magnitude) * magnitude)
    sep = "." if market in ("ID", "VN", "BR", "DE") else ","
    return m.currency.format(n=f"{n:,}".replace(",", sep))


def ticket_text(rec: dict, rng: np.random.Generator, pii_rate: float, *,
                language: str | None = None) -> tuple[str, list[str]]:
    """The user's report for record ``rec``, as typed into its channel.

    ``language`` is the language to write in (see :func:`ticket_language`); ``None`` writes
    English whatever the record's ``language`` says (the generator's original behaviour).

    Returns
    -------
    (text, pii) : tuple
        The ticket text and the personal-data values inserted into it, in order.
    """
    area, market = rec["policy_area_true"], rec["market"]
    tp = TICKET_PHRASES["en"] if language is None else ticket_phrases(language, multilingual=True)
    template = _pick(rng, tp.templates[area])
    kinds: list[str] = []
    if rng.random() < pii_rate:
        spec = AREA_SPECS[area]
        kinds = [_pick(rng, spec.pii_kinds) for _ in range(1 + int(rng.random() < 0.25))]
    values = [make_pii(k, rng, MARKETS[market].phone_country) for k in kinds]
    who = _pick(rng, tp.who)
    inline = None
    if "{who}" in template and "handle" in kinds:
        inline = kinds.index("handle")
        lead = _pick(rng, ("this account", "this guy", "user", "this page"))
        who = f"{lead} {_PH.format(inline)}"
    body = template.format(who=who, rel=_pick(rng, tp.rel), when=_pick(rng, tp.when),
                           n=int(rng.integers(2, 9)), amount=_amount(market, rng),
                           thing=_pick(rng, tp.thing))
    for i, kind in enumerate(kinds):
        if i == inline:
            continue
        sentence = _pick(rng, tp.pii_sentences[kind]).replace("{pii}", _PH.format(i))
        sep = _pick(rng, (". ", ", ", " - ", "\n", ". "))
        body = f"{body}{sep}{sentence}"
    body = noisify(body, rng, tp.abbreviations, p_lower=0.3, p_abbrev=0.3, p_typo=0.2,
                   p_trail=0.3)
    if rng.random() < 0.1:
        body += _pick(rng, tp.tails)
    channel = rec["channel"]
    if rng.random() < 0.4:
        reason_area = area if rng.random() < 0.9 else _pick(rng, tuple(tp.report_reasons))
        body = _pick(rng, tp.channel_wrappers[channel]).format(
            body=body, reason=tp.report_reasons[reason_area])
    if channel in ("email", "web-form") and rng.random() < 0.12:
        # HTML debris of e-mail and web-form exports, which the clean stage must undo.
        body = body.replace("\n", "<br>").replace("'", "&#39;").replace(". ", ".&nbsp; ", 1)
    for i, value in enumerate(values):
        body = body.replace(_PH.format(i), value)
    return body, values
