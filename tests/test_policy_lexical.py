"""The n-gram view of the supervised policy model (qa_insights.policy._lexical)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from qa_insights.errors import InputError
from qa_insights.policy import PolicyClassifier, PolicyTaxonomy
from qa_insights.policy._lexical import (N_WORD_FEATURES, fit_idf, hashed_counts,
                                         lexical_features)
from qa_insights.policy._persist import load_policy_classifier, save_policy_classifier

# invented insults: no embedding model knows them, so only the words can tell the classes apart
INSULTS = ["zorglefink", "blimpwort", "quandrel"]
TOPICS = ["weather", "match schedule", "delivery"]


def _texts(ids, insult: bool) -> list[str]:
    words = INSULTS if insult else TOPICS
    verb = "called the reporter a" if insult else "asked the reporter about the"
    return [f"user {i} {verb} {words[i % 3]} in the group chat" for i in ids]


@pytest.fixture(scope="module")
def encoder():
    from qa_insights.embed import TextEncoder
    return TextEncoder()


@pytest.fixture(scope="module")
def data(encoder):
    """Texts whose only signal is a word; embeddings that are pure noise, the same for both."""
    rng = np.random.default_rng(0)
    train_ids, test_ids = np.arange(0, 60), np.arange(100, 140)
    texts = _texts(train_ids, True) + _texts(train_ids, False)
    labels = ["hate_speech"] * 60 + ["other"] * 60
    test = _texts(test_ids, True) + _texts(test_ids, False)
    truth = np.r_[np.ones(40), np.zeros(40)]

    def noise(n):
        x = rng.normal(size=(n, encoder.dim))
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    return texts, labels, noise(len(texts)), test, truth, noise(len(test))


def _fit(encoder, texts, labels, emb, **kw):
    return PolicyClassifier(PolicyTaxonomy.default(), mode="supervised", encoder=encoder,
                            taxonomy_rows=False, random_state=0, **kw).fit(
        texts, y=labels, embeddings=emb)


def test_the_words_decide_where_the_embeddings_cannot(encoder, data):
    texts, labels, emb, test, truth, test_emb = data
    hate = PolicyTaxonomy.default().ids.index("hate_speech")
    with_words = _fit(encoder, texts, labels, emb)
    without = _fit(encoder, texts, labels, emb, lexical=False)
    assert "hate_speech" in with_words.supervised_areas_
    assert len(without.lexical_coef_) == 0 and len(with_words.lexical_coef_) == 2
    p_words = with_words.predict_proba(test, embeddings=test_emb)[:, hate]
    p_emb = without.predict_proba(test, embeddings=test_emb)[:, hate]
    assert average_precision_score(truth, p_words) > 0.99
    assert average_precision_score(truth, p_emb) < 0.8
    # the sigmoid learned to trust the words for this area
    slope = with_words.lexical_slope_[with_words.supervised_areas_.index("hate_speech")]
    assert slope > 0
    assert (with_words.predict(test, embeddings=test_emb)[:40] == "hate_speech").all()


def test_a_model_fitted_on_texts_needs_them_to_predict(encoder, data):
    texts, labels, emb, test, _, test_emb = data
    clf = _fit(encoder, texts, labels, emb)
    with pytest.raises(InputError, match="texts"):
        clf.predict_proba(embeddings=test_emb)
    # a model fitted on embeddings alone still predicts from embeddings alone
    emb_only = PolicyClassifier(PolicyTaxonomy.default(), mode="supervised", encoder=encoder,
                                taxonomy_rows=False).fit(y=labels, embeddings=emb)
    assert emb_only.predict_proba(embeddings=test_emb).shape == (len(test), 13)


def test_round_trip_keeps_the_numbers_and_no_text(tmp_path, encoder, data):
    texts, labels, emb, test, _, test_emb = data
    clf = _fit(encoder, texts, labels, emb)
    path = save_policy_classifier(clf, tmp_path / "model")
    loaded = load_policy_classifier(path, encoder=encoder)
    before = clf.predict_proba(test, embeddings=test_emb)
    assert loaded.predict_proba(test, embeddings=test_emb).tobytes() == before.tobytes()
    # hashed columns and weights only: no word of the training texts is written
    for file in path.rglob("*"):
        if file.is_file():
            assert b"zorglefink" not in file.read_bytes(), file


def test_features_are_tf_idf_per_view():
    texts = ["abuse abuse report", "report spam"]
    counts = hashed_counts(texts)
    columns, idf = fit_idf(counts)
    assert (np.diff(columns) > 0).all() and len(columns) == len(idf)
    x = lexical_features(counts, columns, idf).toarray()
    n_word = int(np.searchsorted(columns, N_WORD_FEATURES))
    # each view of each row has unit length
    np.testing.assert_allclose(np.linalg.norm(x[:, :n_word], axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(x[:, n_word:], axis=1), 1.0)
    # a word in both texts weighs less than one in a single text (idf); a repeated word more
    # than once but less than twice (sublinear tf)
    words = lexical_features(hashed_counts(["abuse abuse report"]), columns, idf)[0, :n_word]
    values = np.sort(words.data)
    # report (tf 1, in both texts: idf 1), "abuse abuse" and "abuse report" (tf 1, idf
    # ln(3/2) + 1), abuse (tf 2 -> 1 + ln 2, same idf)
    idf_one = np.log(1.5) + 1
    np.testing.assert_allclose(values / values[0],
                               [1.0, idf_one, idf_one, (1 + np.log(2)) * idf_one])
    unseen = lexical_features(hashed_counts(["entirely new words"]), columns, idf)
    assert unseen[:, :n_word].nnz == 0
