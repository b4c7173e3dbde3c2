"""Language detection and the check of the contract's declared ``language`` column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("py3langid", reason="the multilingual extra (py3langid) is not installed")

from qa_insights.datasets import generate_assessments  # noqa: E402
from qa_insights.errors import ConfigError, InputError  # noqa: E402
from qa_insights.lang import (  # noqa: E402
    UNDETERMINED, check_declared_languages, detect_languages, language_family, normalise_tag,
)

# one safety report per language, written for this test (not in the benchmark or the generator)
SENTENCES = {
    "en": "Someone keeps sending my daughter creepy messages and asking where she lives.",
    "ms": "Ada orang asyik hantar mesej pelik kepada anak perempuan saya dan tanya di mana dia tinggal.",
    "id": "Ada orang yang terus mengirim pesan aneh ke putriku dan menanyakan di mana dia tinggal.",
    "th": "มีคนส่งข้อความแปลกๆ มาหาลูกสาวของฉันตลอด และถามว่าเธออาศัยอยู่ที่ไหน",
    "vi": "Có người cứ gửi tin nhắn kỳ lạ cho con gái tôi và hỏi cháu sống ở đâu.",
    "fil": "May taong paulit-ulit na nagpapadala ng kakaibang mensahe sa anak kong babae at tinatanong kung saan siya nakatira.",
    "pt": "Alguém fica mandando mensagens estranhas para a minha filha e perguntando onde ela mora.",
    "de": "Jemand schickt meiner Tochter ständig seltsame Nachrichten und fragt, wo sie wohnt.",
}


def test_detects_each_supported_language():
    got = detect_languages(list(SENTENCES.values()))
    assert list(got.columns) == ["language", "confidence", "english_probability"]
    assert got["language"].tolist() == list(SENTENCES)
    assert (got["confidence"] > 0.5).all()
    # the probability of English is what the encoder routes on
    assert got.loc[0, "english_probability"] > 0.9
    assert (got["english_probability"].iloc[1:] < 0.01).all()


def test_short_empty_and_placeholder_only_texts_are_undetermined():
    got = detect_languages(["ok", "", None, np.nan, "[EMAIL] [PHONE] 0123456789",
                            "https://example.com/a/b @someone"])
    assert (got["language"] == UNDETERMINED).all()
    assert (got["confidence"] == 0.0).all()
    assert got["english_probability"].isna().all()


def test_placeholders_do_not_pull_a_text_towards_english():
    text = "[HANDLE] hantar mesej ugutan kepada saya setiap hari [URL] [EMAIL] [PHONE]"
    assert detect_languages([text])["language"].iloc[0] in {"ms", "id"}


def test_keeps_series_index_and_is_deterministic():
    series = pd.Series(list(SENTENCES.values()), index=[10 * i for i in range(len(SENTENCES))])
    first = detect_languages(series)
    assert first.index.tolist() == series.index.tolist()
    pd.testing.assert_frame_equal(first, detect_languages(series))
    with pytest.raises(InputError):
        detect_languages("a single string")


def test_tags_are_normalised_and_malay_indonesian_are_one_family():
    assert normalise_tag("pt-BR") == "pt"
    assert normalise_tag("tl") == "fil"
    assert normalise_tag(None) is None and normalise_tag(" ") is None
    assert language_family("id") == language_family("ms") == "ms"
    assert language_family("th") == "th"


def _records(rows):
    return pd.DataFrame(rows, columns=["record_id", "ticket_text", "language"])


def test_reports_confident_disagreements_only():
    records = _records([
        ("QA-1", SENTENCES["th"], "en"),       # Thai text declared English: reported
        ("QA-2", SENTENCES["id"], "ms"),       # Indonesian declared Malay: same family
        ("QA-3", SENTENCES["ms"], "id"),       # and the other way round
        ("QA-4", SENTENCES["pt"], "pt-BR"),    # region subtag: agrees
        ("QA-5", SENTENCES["fil"], "fil"),     # Filipino: agrees (detector says tl)
        ("QA-6", "tolong bantu", "de"),        # too short to judge: not reported
        ("QA-7", SENTENCES["de"], None),       # nothing declared: nothing to check
        ("QA-8", SENTENCES["vi"], "th"),       # Vietnamese declared Thai: reported
    ])
    before = records.copy()
    found = check_declared_languages(records)
    assert found["record_id"].tolist() == ["QA-1", "QA-8"]
    assert found["declared_language"].tolist() == ["en", "th"]
    assert found["detected_language"].tolist() == ["th", "vi"]
    assert (found["confidence"] >= 0.9).all()
    assert found.index.tolist() == [0, 7]
    pd.testing.assert_frame_equal(records, before)   # reported, never overwritten


def test_check_validates_its_arguments():
    records = _records([("QA-1", SENTENCES["en"], "en")])
    with pytest.raises(InputError):
        check_declared_languages(records.drop(columns="language"))
    with pytest.raises(ConfigError):
        check_declared_languages(records, min_confidence=1.5)
    assert check_declared_languages(records.iloc[:0]).empty


def test_finds_the_generators_planted_wrong_tags():
    data = generate_assessments(records_per_period=120, planted=[], seed=5,
                                multilingual_tickets=True)
    records, truth = data.records, data.truth
    declared = records["language"].map(language_family)
    wrong = set(truth.loc[records["language"].notna()
                          & (declared != truth["ticket_language"].map(language_family)),
                          "record_id"])
    assert len(wrong) >= 20
    found = set(check_declared_languages(records)["record_id"])
    assert found <= wrong                       # no false alarm
    assert len(found) >= 0.9 * len(wrong)
