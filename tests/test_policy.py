"""Tests of qa_insights.policy: taxonomy validation, zero-shot and supervised classification,
abstention, persistence without pickle, evaluation helpers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from qa_insights.errors import ConfigError, InputError, StateError
from qa_insights.policy import (
    PolicyClassifier,
    PolicyConfig,
    PolicyTaxonomy,
    confusion_table,
    cross_validate_policy,
    default_taxonomy_path,
    evaluate_policy,
    label_matrix,
    load_policy_classifier,
    save_policy_classifier,
)

AREA_IDS = ["bullying_harassment", "hate_speech", "child_safety", "sexual_exploitation",
            "violent_graphic", "self_harm_suicide", "dangerous_acts", "violent_extremism",
            "scams_fraud", "account_security", "privacy_doxxing", "impersonation", "other"]

# Hand-written tickets with an unambiguous area; none is an example phrase of the taxonomy
# (checked below), so the zero-shot model has to generalise to them.
CLEAR_CASES = [
    ("he keeps sending me messages calling me ugly and fat", "bullying_harassment"),
    ("kids in my class made a page to laugh at my acne and tag me in it", "bullying_harassment"),
    ("someone is pretending to be me with my photos on a new profile", "impersonation"),
    ("there is a page using our shop's logo and name pretending to be us", "impersonation"),
    ("I want to end it all tonight, I can't go on", "self_harm_suicide"),
    ("my sister keeps cutting her arms and posting the pictures", "self_harm_suicide"),
    ("they posted my home address and my parents' phone numbers", "privacy_doxxing"),
    ("I paid for a pair of shoes and the seller blocked me after", "scams_fraud"),
    ("a man online asked for money to visit me and then disappeared with it", "scams_fraud"),
    ("somebody hacked my account and changed my email and password", "account_security"),
    ("comments saying black people are monkeys under my video", "hate_speech"),
    ("an older guy keeps asking my 13 year old son for nude photos", "child_safety"),
    ("video of people torturing a cat for fun", "violent_graphic"),
    ("kids trying the choking challenge they saw in a video", "dangerous_acts"),
    ("account sharing videos that praise the terrorist attack and recruit fighters",
     "violent_extremism"),
    ("my ex posted my intimate photos without consent", "sexual_exploitation"),
    ("how do I change the language of the app", "other"),
]
# measured 17/17 with all-MiniLM-L6-v2; the bound leaves room for a re-worded example
MIN_CLEAR_ACCURACY = 0.85

GIBBERISH = ["asdkjh qwpoeiru zmxncb", "lorem ipsum dolor sit amet consectetur",
             "xq7 zz9 pp0 kk3 ll2", "1234 5678 9012 3456 7890"]


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def encoder():
    from qa_insights.embed import TextEncoder
    return TextEncoder()


@pytest.fixture(scope="session")
def taxonomy():
    return PolicyTaxonomy.default()


@pytest.fixture(scope="session")
def zero_shot(encoder, taxonomy):
    return PolicyClassifier(taxonomy, encoder=encoder).fit()


@pytest.fixture(scope="session")
def clear_embeddings(encoder):
    return encoder.encode([t for t, _ in CLEAR_CASES])


def _labelled_from_taxonomy(taxonomy):
    """A small labelled set: each area's examples, labelled with the area."""
    texts = [ex for a in taxonomy.areas for ex in a.examples]
    labels = [a.id for a in taxonomy.areas for _ in a.examples]
    return texts, labels


@pytest.fixture(scope="session")
def supervised_data(encoder, taxonomy):
    """Taxonomy examples as labelled records (dense areas only), with their embeddings."""
    texts, labels = _labelled_from_taxonomy(taxonomy)
    emb = encoder.encode(texts)
    return texts, labels, emb


# ---------------------------------------------------------------- taxonomy
def test_default_taxonomy_loads_with_the_agreed_ids(taxonomy):
    assert taxonomy.ids == AREA_IDS
    for area in taxonomy.areas:
        assert area.severity in {"low", "medium", "high", "critical"}
        assert len(area.examples) >= 10
        assert area.description
    assert len(taxonomy.sha256) == 64


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "areas.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _raw_default():
    return yaml.safe_load(default_taxonomy_path().read_text(encoding="utf-8"))


def test_bad_yaml_names_the_file(tmp_path):
    path = _write(tmp_path, "areas: [\n  - id: x\n   bad indent: ]")
    with pytest.raises(ConfigError, match="areas.yaml.*not valid YAML"):
        PolicyTaxonomy.from_yaml(path)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml"):
        PolicyTaxonomy.from_yaml(tmp_path / "nope.yaml")


def test_duplicate_id_names_file_and_area(tmp_path):
    raw = _raw_default()
    raw["areas"][1]["id"] = "bullying_harassment"
    raw["areas"][1]["aliases"] = []
    path = _write(tmp_path, raw)
    with pytest.raises(ConfigError, match=r"areas\.yaml.*\n.*'bullying_harassment': duplicate id"):
        PolicyTaxonomy.from_yaml(path)


@pytest.mark.parametrize("field, value, message", [
    ("description", None, "description"),
    ("description", "   ", "description: Value error, must not be empty"),
    ("examples", [], "examples"),
    ("severity", "urgent", "unknown severity 'urgent'"),
    ("id", "Hate Speech", "snake_case"),
])
def test_invalid_area_field_names_file_area_and_field(tmp_path, field, value, message):
    raw = _raw_default()
    if value is None:
        del raw["areas"][1][field]
    else:
        raw["areas"][1][field] = value
    path = _write(tmp_path, raw)
    with pytest.raises(ConfigError) as err:
        PolicyTaxonomy.from_yaml(path)
    text = str(err.value)
    assert str(path) in text and message in text
    assert "hate_speech" in text or "'Hate Speech'" in text


def test_every_problem_is_reported_at_once(tmp_path):
    raw = _raw_default()
    raw["areas"][0]["severity"] = "huge"
    del raw["areas"][3]["examples"]
    with pytest.raises(ConfigError) as err:
        PolicyTaxonomy.from_yaml(_write(tmp_path, raw))
    assert "bullying_harassment" in str(err.value) and "sexual_exploitation" in str(err.value)


def test_alias_claimed_twice_is_an_error(tmp_path):
    raw = _raw_default()
    raw["areas"][1]["aliases"].append("bullying")
    with pytest.raises(ConfigError, match="alias 'bullying' is already used"):
        PolicyTaxonomy.from_yaml(_write(tmp_path, raw))


def test_labels_map_through_ids_and_aliases(taxonomy):
    assert taxonomy.canonical_labels(["Bullying", "hate speech", "HR", None, float("nan"),
                                      "unknown", "Fake Account"]) == [
        "bullying_harassment", "hate_speech", "bullying_harassment", None, None, None,
        "impersonation"]
    with pytest.raises(ConfigError, match="weather"):
        taxonomy.canonical_labels(["weather", "scam"])


def test_label_matrix_single_and_multi(taxonomy):
    m = label_matrix(["scam", None], taxonomy)
    assert m[0, taxonomy.ids.index("scams_fraud")] == 1 and np.nansum(m[0]) == 1
    assert np.isnan(m[1]).all()
    multi = label_matrix(pd.DataFrame({"hate_speech": [1, 0, np.nan]}), taxonomy)
    assert multi[:, 1].tolist()[:2] == [1.0, 0.0] and np.isnan(multi[2]).all()
    with pytest.raises(InputError):
        label_matrix(pd.DataFrame({"hate_speech": [2]}), taxonomy)


def test_policy_config_is_strict_and_feeds_the_classifier():
    with pytest.raises(ValidationError):
        PolicyConfig(thresold=0.5)
    with pytest.raises(ValidationError):
        PolicyConfig(min_labels=3, calibration_folds=5)
    clf = PolicyClassifier(**PolicyConfig(mode="supervised", C=2.0).classifier_params())
    assert clf.mode == "supervised" and clf.C == 2.0


# ---------------------------------------------------------------- zero-shot
def test_clear_cases_are_not_taxonomy_examples(taxonomy):
    examples = {ex.lower() for a in taxonomy.areas for ex in a.examples}
    assert not examples & {t.lower() for t, _ in CLEAR_CASES}


def test_zero_shot_puts_clear_cases_in_the_right_area(zero_shot, clear_embeddings):
    proba = zero_shot.predict_proba(embeddings=clear_embeddings)
    top = zero_shot.classes_[proba.argmax(axis=1)]
    truth = np.array([a for _, a in CLEAR_CASES])
    misses = [(t, p) for (t, _), p, ok in zip(CLEAR_CASES, top, top == truth) if not ok]
    assert (top == truth).mean() >= MIN_CLEAR_ACCURACY, misses
    # the five cases the issue names must all be right
    named = [0, 2, 4, 6, 7]
    assert list(top[named]) == [CLEAR_CASES[i][1] for i in named]


def test_zero_shot_texts_and_embeddings_agree(zero_shot, clear_embeddings):
    texts = [t for t, _ in CLEAR_CASES[:4]]
    np.testing.assert_allclose(zero_shot.predict_proba(texts),
                               zero_shot.predict_proba(embeddings=clear_embeddings[:4]),
                               atol=1e-6)


def test_gibberish_and_off_topic_abstain(zero_shot, encoder):
    pred = zero_shot.predict(GIBBERISH)
    assert list(pred) == ["unknown"] * len(GIBBERISH)


def test_threshold_controls_abstention(zero_shot, clear_embeddings):
    clf = PolicyClassifier(zero_shot.taxonomy, encoder=zero_shot.encoder, threshold=0.0).fit()
    assert "unknown" not in set(clf.predict(embeddings=clear_embeddings))
    clf.set_params(threshold=1.0)  # no refit needed
    assert set(clf.predict(embeddings=clear_embeddings)) == {"unknown"}


def test_predict_frame_shape_and_content(zero_shot, clear_embeddings):
    texts = pd.Series([t for t, _ in CLEAR_CASES[:3]], index=["a", "b", "c"])
    frame = zero_shot.predict_frame(texts)
    assert list(frame.index) == ["a", "b", "c"]
    assert list(frame.columns) == ["policy_area", "policy_confidence", "unknown",
                                   "alternatives", "policy_areas"]
    proba = zero_shot.predict_proba(texts)
    np.testing.assert_allclose(frame["policy_confidence"], proba.max(axis=1))
    assert list(frame["policy_area"]) == list(zero_shot.predict(texts))
    for i, (alts, conf) in enumerate(zip(frame["alternatives"], frame["policy_confidence"])):
        scores = [a["score"] for a in alts]
        assert len(alts) == 3 and scores == sorted(scores, reverse=True)
        assert scores[0] <= conf
        assert frame["policy_area"].iat[i] not in {a["policy_area"] for a in alts}
        expected_multi = [c for c, p in sorted(zip(zero_shot.classes_, proba[i]),
                                               key=lambda cp: -cp[1])
                          if p >= zero_shot.multilabel_threshold]
        assert frame["policy_areas"].iat[i] == expected_multi
    assert frame["unknown"].tolist() == (frame["policy_area"] == "unknown").tolist()


def test_proba_columns_follow_classes(zero_shot, clear_embeddings):
    proba = zero_shot.predict_proba(embeddings=clear_embeddings)
    assert proba.shape == (len(CLEAR_CASES), len(AREA_IDS))
    assert list(zero_shot.classes_) == AREA_IDS
    assert ((proba >= 0) & (proba <= 1)).all()


def test_input_errors(zero_shot):
    with pytest.raises(InputError, match="single string"):
        zero_shot.predict_proba("one text")
    with pytest.raises(InputError, match="dimensions"):
        zero_shot.predict_proba(embeddings=np.zeros((2, 10)))
    with pytest.raises(InputError, match="texts .X. or precomputed"):
        zero_shot.predict_proba()
    with pytest.raises(ConfigError, match="mode"):
        PolicyClassifier(mode="fancy", encoder=zero_shot.encoder).fit()
    with pytest.raises(ConfigError, match="labels"):
        PolicyClassifier(mode="supervised", encoder=zero_shot.encoder).fit(["x"])


def test_other_encoder_is_refused(zero_shot):
    class Other:
        fingerprint = "another-model"

        def encode(self, texts):
            return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)

    clf = PolicyClassifier(zero_shot.taxonomy, encoder=zero_shot.encoder).fit()
    clf.encoder = Other()
    with pytest.raises(StateError, match="another-model"):
        clf.predict(["some text"])


# ---------------------------------------------------------------- supervised
def test_supervised_fallback_and_determinism(supervised_data, taxonomy, zero_shot):
    texts, labels, emb = supervised_data
    # keep only 4 impersonation labels: too few, that area must fall back to zero-shot
    keep = [i for i, lab in enumerate(labels) if lab != "impersonation"] + \
        [i for i, lab in enumerate(labels) if lab == "impersonation"][:4]
    y = [labels[i] for i in keep]
    kw = dict(mode="supervised", encoder=zero_shot.encoder, taxonomy_rows=False, random_state=3)
    a = PolicyClassifier(taxonomy, **kw).fit(y=y, embeddings=emb[keep])
    b = PolicyClassifier(taxonomy, **kw).fit(y=y, embeddings=emb[keep])
    assert "impersonation" not in a.supervised_areas_
    assert "hate_speech" in a.supervised_areas_ and "other" in a.supervised_areas_
    probe = emb[:20]
    pa, pb = a.predict_proba(embeddings=probe), b.predict_proba(embeddings=probe)
    assert pa.tobytes() == pb.tobytes()
    imp = AREA_IDS.index("impersonation")
    np.testing.assert_array_equal(pa[:, imp], zero_shot.predict_proba(embeddings=probe)[:, imp])
    # the seed drives the out-of-fold split the sigmoids are fitted on, not the final weights
    c = PolicyClassifier(taxonomy, **{**kw, "random_state": 4}).fit(y=y, embeddings=emb[keep])
    assert not np.array_equal(c.calibration_, a.calibration_)
    np.testing.assert_allclose(c.coef_, a.coef_)
    assert a.blend_.shape == (len(a.supervised_areas_), 2)
    assert a.neighbour_units_.shape[0] == len(keep)
    np.testing.assert_allclose(a.centre_, emb[keep].mean(axis=0), atol=1e-6)


def test_neighbour_vote_hand_computed():
    from qa_insights.policy._supervised import neighbour_vote

    neighbours = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    labels = np.array([[1.0, 0.0], [0.0, np.nan], [0.0, 1.0]])
    q = np.array([[1.0, 0.0]])
    # k=1: the closest labelled row decides; column 1 skips nothing (row 0 is labelled 0)
    np.testing.assert_allclose(neighbour_vote(q, neighbours, labels, k=1, temperature=0.0),
                               [[1.0, 0.0]])
    # k=2, temperature 0: plain mean over rows 0 and 2 (cos 1, 0.6) for both columns
    np.testing.assert_allclose(neighbour_vote(q, neighbours, labels, k=2, temperature=0.0),
                               [[0.5, 0.5]])
    # temperature weights the closer row: exp(0) vs exp(10 * (0.6 - 1))
    w = np.exp(-4.0)
    np.testing.assert_allclose(neighbour_vote(q, neighbours, labels, k=2, temperature=10.0),
                               [[1 / (1 + w), w / (1 + w)]])
    # an area with no labelled neighbour votes 0.5
    np.testing.assert_allclose(neighbour_vote(q, neighbours, np.full((3, 1), np.nan), k=2,
                                              temperature=1.0), [[0.5]])


def test_supervised_learns_the_labelled_areas(supervised_data, taxonomy, zero_shot,
                                              clear_embeddings):
    _, labels, emb = supervised_data
    sup = PolicyClassifier(taxonomy, mode="supervised", encoder=zero_shot.encoder,
                           threshold=0.0).fit(y=labels, embeddings=emb)
    assert len(sup.supervised_areas_) == len(AREA_IDS)
    pred = sup.predict(embeddings=clear_embeddings)
    truth = np.array([a for _, a in CLEAR_CASES])
    assert (pred == truth).mean() >= MIN_CLEAR_ACCURACY


# ---------------------------------------------------------------- persistence
def test_save_load_round_trip(tmp_path, supervised_data, taxonomy, zero_shot, clear_embeddings):
    _, labels, emb = supervised_data
    sup = PolicyClassifier(taxonomy, mode="supervised", encoder=zero_shot.encoder,
                           taxonomy_rows=False).fit(y=labels, embeddings=emb)
    for clf, name in ((zero_shot, "zs"), (sup, "sup")):
        path = save_policy_classifier(clf, tmp_path / name)
        assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.joblib"))
        loaded = load_policy_classifier(path, encoder=zero_shot.encoder, taxonomy=taxonomy)
        before = clf.predict_proba(embeddings=clear_embeddings)
        after = loaded.predict_proba(embeddings=clear_embeddings)
        assert before.tobytes() == after.tobytes()
        assert loaded.supervised_areas_ == clf.supervised_areas_
        assert loaded.get_params(deep=False).keys() == clf.get_params(deep=False).keys()
    # texts work too, through the encoder whose fingerprint was checked
    loaded = PolicyClassifier.load(tmp_path / "zs", encoder=zero_shot.encoder)
    assert list(loaded.predict([CLEAR_CASES[0][0]])) == list(zero_shot.predict([CLEAR_CASES[0][0]]))


@pytest.fixture()
def saved(tmp_path, zero_shot):
    return save_policy_classifier(zero_shot, tmp_path / "model")


def test_tampered_saved_taxonomy_is_refused(saved, zero_shot):
    tax = json.loads((saved / "taxonomy.json").read_text())
    tax["areas"][0]["examples"].append("a new example")
    (saved / "taxonomy.json").write_text(json.dumps(tax))
    with pytest.raises(StateError, match="taxonomy.json.*modified after saving"):
        load_policy_classifier(saved, encoder=zero_shot.encoder)


def test_other_taxonomy_is_refused_with_the_difference(saved, zero_shot, tmp_path):
    raw = _raw_default()
    raw["areas"][8]["examples"].append("they sold me a fake watch")
    other = PolicyTaxonomy.from_yaml(_write(tmp_path, raw))
    with pytest.raises(ConfigError, match=r"changed areas \['scams_fraud'\].*retrain"):
        load_policy_classifier(saved, encoder=zero_shot.encoder, taxonomy=other)


def test_other_encoder_fingerprint_is_refused(saved):
    class Other:
        fingerprint = "something-else"

    with pytest.raises(StateError, match="something-else"):
        load_policy_classifier(saved, encoder=Other())


def test_format_version_and_corrupt_arrays_are_refused(saved, zero_shot):
    meta_file = saved / "policy_classifier.json"
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(StateError, match="format version 99"):
        load_policy_classifier(saved, encoder=zero_shot.encoder)
    meta_file.write_text(json.dumps(meta))
    np.save(saved / "arrays" / "coef.npy", np.ones((1, 384)), allow_pickle=False)
    with pytest.raises(StateError, match="coef.npy: sha256 differs"):
        load_policy_classifier(saved, encoder=zero_shot.encoder)
    with pytest.raises(StateError, match="no saved policy classifier"):
        load_policy_classifier(saved / "nothing-here")


def test_unfitted_cannot_be_saved(tmp_path):
    with pytest.raises(StateError, match="unfitted"):
        save_policy_classifier(PolicyClassifier(), tmp_path)


# ---------------------------------------------------------------- evaluation helpers
def test_evaluate_policy_hand_computed():
    y_true = ["a", "a", "a", "b", "b", "c"]
    y_pred = ["a", "a", "b", "b", "unknown", "unknown"]
    rep = evaluate_policy(y_true, y_pred, labels=["a", "b", "c"])
    assert rep.loc["a", "precision"] == 1.0 and rep.loc["a", "recall"] == pytest.approx(2 / 3)
    assert rep.loc["b", "precision"] == 0.5 and rep.loc["b", "recall"] == 0.5
    assert rep.loc["c", "recall"] == 0.0 and rep.loc["c", "support"] == 1
    assert rep.loc["a", "f1"] == pytest.approx(0.8)
    assert rep.loc["macro avg", "f1"] == pytest.approx((0.8 + 0.5 + 0.0) / 3)
    table = confusion_table(y_true, y_pred, labels=["a", "b", "c"])
    assert list(table.columns) == ["a", "b", "c", "unknown"]
    assert table.loc["a"].tolist() == [2, 1, 0, 0]
    assert table.loc["b"].tolist() == [0, 1, 0, 1]
    assert table.loc["c", "unknown"] == 1 and table.to_numpy().sum() == 6


def test_cross_validate_policy_zero_shot(supervised_data, taxonomy, zero_shot):
    texts, labels, emb = supervised_data
    est = PolicyClassifier(taxonomy, encoder=zero_shot.encoder, threshold=0.0)
    res = cross_validate_policy(est, y=labels, embeddings=emb, n_splits=3)
    assert res.confusion.to_numpy().sum() == len(labels)
    assert res.report.loc["macro avg", "support"] == len(labels)
    assert res.coverage == 1.0
    # taxonomy examples are mostly recognised as their own area
    assert res.report.loc["macro avg", "recall"] > 0.7
    assert sorted(res.predictions["fold"].unique()) == [0, 1, 2]


# ---------------------------------------------------------------- openai_moderation
@pytest.mark.slow
def test_supervised_beats_zero_shot_on_openai_moderation(openai_moderation_jsonl, taxonomy,
                                                         encoder):
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import train_test_split

    rows = [json.loads(x) for x in openai_moderation_jsonl.read_text(encoding="utf-8").splitlines()]
    single = {"S": "sexual_exploitation", "H": "hate_speech", "SH": "self_harm_suicide",
              "HR": "bullying_harassment", "V": "violent_graphic"}
    texts, labels = [], []
    for r in rows:
        # short rows with one positive category, or known-clean, keep this test fast
        if len(r["prompt"]) > 400:
            continue
        pos = [k for k in ("S", "H", "V", "HR", "SH", "S3", "H2", "V2") if r.get(k) == 1]
        if len(pos) == 1 and pos[0] in single:
            texts.append(r["prompt"]), labels.append(single[pos[0]])
        elif not pos and len([k for k in r if k != "prompt"]) == 8:
            texts.append(r["prompt"]), labels.append("other")
    emb = encoder.encode(texts)
    idx_tr, idx_te = train_test_split(np.arange(len(texts)), test_size=0.4, random_state=0,
                                      stratify=labels)
    y = np.array(labels)
    sup = PolicyClassifier(taxonomy, mode="supervised", encoder=encoder).fit(
        y=list(y[idx_tr]), embeddings=emb[idx_tr])
    zs = PolicyClassifier(taxonomy, encoder=encoder).fit()

    def macro_ap(clf):
        proba = clf.predict_proba(embeddings=emb[idx_te])
        return np.mean([average_precision_score(y[idx_te] == a,
                                                proba[:, list(clf.classes_).index(a)])
                        for a in sorted(set(labels))])

    ap_sup, ap_zs = macro_ap(sup), macro_ap(zs)
    # measured 0.522 against 0.498 on this split
    assert ap_sup > ap_zs + 0.01, (ap_sup, ap_zs)
    acc_sup = (sup.set_params(threshold=0.0).predict(embeddings=emb[idx_te]) == y[idx_te]).mean()
    assert acc_sup > 0.5  # measured 0.59 (six areas, no abstention)


def test_missing_labels_of_every_kind_are_unlabelled():
    import pandas as pd

    from qa_insights.policy import PolicyTaxonomy

    tax = PolicyTaxonomy.default()
    labels = pd.Series(["hate_speech", pd.NA, None, float("nan"), "", "unknown"], dtype=object)
    assert tax.canonical_labels(labels) == ["hate_speech", None, None, None, None, None]
    assert tax.canonical_labels(labels.astype("string")) == ["hate_speech"] + [None] * 5
