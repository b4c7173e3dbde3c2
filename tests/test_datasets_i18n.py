"""The generator's multilingual tickets (``generate_assessments(multilingual_tickets=True)``)."""

from __future__ import annotations

import re
import string

import numpy as np
import pandas as pd
import pytest

from qa_insights.datasets import (
    I18N_TRUTH_COLUMNS, MARKETS, SAMPLE_PARAMS, TRUTH_COLUMNS, generate_assessments,
    generate_sample,
)
from qa_insights.datasets._catalogue import AREA_SPECS
from qa_insights.datasets._text import ENGLISH_IN_OTHER_MARKET_SHARE, ticket_phrases
from qa_insights.datasets._ticket_phrases import TICKET_PHRASES
from qa_insights.datasets._ticket_phrases_i18n import I18N_TICKET_PHRASES
from qa_insights.schema import CANONICAL_COLUMNS

LANGUAGES = ("ms", "id", "th", "vi", "fil", "pt", "de")
SLOTS = {"who", "rel", "when", "n", "amount", "thing"}
PII_KINDS = set(TICKET_PHRASES["en"].pii_sentences)


@pytest.fixture(scope="module")
def data():
    return generate_assessments(records_per_period=300, seed=21, multilingual_tickets=True,
                                pii_rate=0.2, malformed_rate=0.02)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_a_complete_table(lang):
    table = I18N_TICKET_PHRASES[lang]
    assert set(table.templates) == set(AREA_SPECS) == set(table.report_reasons)
    assert all(len(t) >= 2 for t in table.templates.values())
    assert set(table.pii_sentences) == PII_KINDS
    assert all("{pii}" in s for group in table.pii_sentences.values() for s in group)
    assert set(table.channel_wrappers) == set(TICKET_PHRASES["en"].channel_wrappers)
    for channel, wrappers in table.channel_wrappers.items():
        assert all("{body}" in w for w in wrappers), channel
    for templates in table.templates.values():
        for template in templates:
            fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
            assert fields <= SLOTS, template
    # every wording is the language's own, none is an English template left untranslated
    english = {t for ts in TICKET_PHRASES["en"].templates.values() for t in ts}
    assert not english & {t for ts in table.templates.values() for t in ts}


def test_lookup_by_bcp47_tag_and_unchanged_default():
    assert ticket_phrases("pt-BR", multilingual=True) is I18N_TICKET_PHRASES["pt"]
    assert ticket_phrases("fil", multilingual=True) is I18N_TICKET_PHRASES["fil"]
    assert ticket_phrases("zh", multilingual=True) is TICKET_PHRASES["en"]
    assert ticket_phrases("ms") is TICKET_PHRASES["en"]    # the original, English-only lookup


def test_default_output_is_unchanged_by_the_option():
    # off by default: the same records and truth columns as before the option existed
    plain = generate_assessments(records_per_period=60, seed=4)
    off = generate_assessments(records_per_period=60, seed=4, multilingual_tickets=False)
    pd.testing.assert_frame_equal(plain.records, off.records)
    assert list(plain.truth.columns) == list(TRUTH_COLUMNS)


def test_multilingual_records_keep_the_contract_and_are_deterministic(data):
    assert list(data.records.columns) == list(CANONICAL_COLUMNS)
    assert list(data.truth.columns) == list(TRUTH_COLUMNS) + list(I18N_TRUTH_COLUMNS)
    again = generate_assessments(records_per_period=300, seed=21, multilingual_tickets=True,
                                 pii_rate=0.2, malformed_rate=0.02)
    pd.testing.assert_frame_equal(data.records, again.records)
    pd.testing.assert_frame_equal(data.truth, again.truth)


def test_ticket_language_follows_the_market_with_english_in_most_markets(data):
    records, truth = data.records, data.truth
    valid = truth["malformed_reason"].isna() | (truth["malformed_reason"] == "None")
    records, truth = records[valid.to_numpy()], truth[valid.to_numpy()]
    for market, group in truth.groupby(records["market"].to_numpy()):
        declared = {lang for lang, _ in MARKETS[market].languages}
        written = set(group["ticket_language"])
        assert written <= declared | {"en"}, market
        assert "en" in written, market   # some English tickets in every market
    share = truth["ticket_language"].value_counts(normalize=True)
    assert share["en"] < 0.6 and {"id", "th", "vi", "pt-BR", "de", "ms", "fil"} <= set(share.index)


def test_declared_language_is_wrong_only_where_the_truth_says_so(data):
    records, truth = data.records, data.truth
    has_table = records["language"].map(
        lambda t: isinstance(t, str) and ticket_phrases(t, multilingual=True)
        is not TICKET_PHRASES["en"])
    wrong = has_table & (truth["ticket_language"] != records["language"])
    # declared language has phrases but the text is English: about the configured share
    share = wrong.sum() / has_table.sum()
    assert 0.5 * ENGLISH_IN_OTHER_MARKET_SHARE < share < 2 * ENGLISH_IN_OTHER_MARKET_SHARE
    assert (truth.loc[wrong, "ticket_language"] == "en").all()


def test_texts_are_in_their_language(data):
    records, truth = data.records, data.truth
    thai = records["ticket_text"][(truth["ticket_language"] == "th").to_numpy()].dropna()
    assert len(thai) > 20
    assert thai.map(lambda t: bool(re.search(r"[\u0e00-\u0e7f]", t))).mean() > 0.95
    vi = records["ticket_text"][(truth["ticket_language"] == "vi").to_numpy()].dropna()
    assert vi.map(lambda t: bool(re.search(r"[ạảấầẩẫậắằẳẵặẹẻẽếềểễệịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]",
                                           t.lower()))).mean() > 0.9
    english_written = records["ticket_text"][(truth["ticket_language"] == "en").to_numpy()]
    assert not english_written.dropna().map(
        lambda t: bool(re.search(r"[\u0e00-\u0e7f]", t))).any()
    # reviewer comments stay English
    comments = records["reviewer_comment"].dropna()
    assert not comments.map(lambda t: bool(re.search(r"[\u0e00-\u0e7f]", t))).any()


def test_personal_data_still_appears_exactly_in_translated_tickets(data):
    records, truth = data.records, data.truth
    text = " ".join(records["ticket_text"].dropna())
    assert data.pii_values and all(v in text for v in data.pii_values)
    non_english = records["ticket_text"][(truth["ticket_language"] != "en").to_numpy()].dropna()
    assert non_english.str.contains(r"@\w|\d{4}", regex=True).any()


@pytest.mark.slow
def test_the_bundled_sample_matches_its_multilingual_setting():
    sample = generate_sample()
    multilingual = bool(SAMPLE_PARAMS.get("multilingual_tickets", False))
    has_thai = sample.records["ticket_text"].dropna().map(
        lambda t: bool(re.search(r"[\u0e00-\u0e7f]", t))).any()
    assert has_thai == multilingual
    expected = list(TRUTH_COLUMNS) + (list(I18N_TRUTH_COLUMNS) if multilingual else [])
    assert np.all(sample.truth.columns == expected)
