"""Scale-out on dask: a LocalCluster of 2 worker processes gives the single-machine results."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
import dask.dataframe as dd  # noqa: E402

from qa_insights import pipeline  # noqa: E402
from qa_insights.config import PipelineConfig  # noqa: E402
from qa_insights.datasets import generate_assessments  # noqa: E402
from qa_insights.embed import EmbedConfig  # noqa: E402
from qa_insights.errors import InputError  # noqa: E402
from qa_insights.root_causes import (RootCauseConfig, count_combinations,  # noqa: E402
                                     rank_root_causes, rank_root_causes_from_counts)
from qa_insights.themes import ThemeModel  # noqa: E402
from qa_insights.themes._model import key_hashes, sample_by_key  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PERIODS = ["2026-07", "2026-08", "2026-09"]
# the tables a distributed run must reproduce; the lead's period cache stores some of them in
# the state database, which changes dtypes (not values) on the single-machine side
COMPARED = ["assignments", "themes", "root_causes", "flags", "phrases", "summary"]


def _config(**themes) -> PipelineConfig:
    # the multilingual route is another stage's concern; both runs use the English encoder
    embed = {"multilingual": "off"} if "multilingual" in EmbedConfig.model_fields else {}
    return PipelineConfig(themes=themes, embed=embed)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    frame = generate_assessments(periods=PERIODS, records_per_period=200, seed=3).records
    # rows set aside, inside the first partition: an unreadable date, no text, a repeated id
    frame.loc[5, "assessed_at"] = "not a date"
    frame.loc[7, ["ticket_text", "reviewer_comment"]] = [np.nan, np.nan]
    frame.loc[9, "record_id"] = frame.loc[3, "record_id"]
    return frame


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def _assert_tables_equal(single, dist) -> None:
    for name in COMPARED:
        left, right = getattr(single, name), getattr(dist, name)
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True),
                                      check_dtype=False, check_exact=False, rtol=1e-9,
                                      obj=name)


# --------------------------------------------------------------------------- no cluster needed
def test_sample_by_key_does_not_depend_on_row_order_or_partitioning():
    keys = [f"QA-{i:05d}" for i in range(500)]
    picked = {keys[i] for i in sample_by_key(keys, 40, 7)}
    shuffled = list(np.random.default_rng(0).permutation(keys))
    assert {shuffled[i] for i in sample_by_key(shuffled, 40, 7)} == picked
    # each of 3 partitions proposes its 40 lowest hashes; the 40 lowest of those are the sample
    proposals = []
    for chunk in np.array_split(np.asarray(shuffled, dtype=object), 3):
        h = key_hashes(list(chunk), 7)
        order = sorted(range(len(chunk)), key=lambda i: (int(h[i]), chunk[i]))[:40]
        proposals += [(int(h[i]), chunk[i]) for i in order]
    assert {k for _, k in sorted(proposals)[:40]} == picked
    # another seed draws another sample; no size keeps everything, in input order
    assert {keys[i] for i in sample_by_key(keys, 40, 8)} != picked
    assert sample_by_key(keys, None, 7).tolist() == list(range(500))


def test_root_cause_ranking_from_partition_counts_equals_ranking_from_records():
    rng = np.random.default_rng(1)
    n = 3000
    records = pd.DataFrame({
        "record_id": [f"r{i:05d}" for i in range(n)],
        "market": rng.choice(["MY", "ID", "PH", "GB"], n),
        "queue": rng.choice(["q1", "q2", "q3"], n),
        "macro_id": rng.choice(["M1", "M2", None], n),
        "reviewer_comment": rng.choice(["no escalation", "wrong macro", "closed early"], n),
    })
    # the planted cause: a record from market MY is four times as likely to be in the theme
    in_theme = rng.random(n) < np.where(records["market"] == "MY", 0.6, 0.15)
    config = RootCauseConfig(keep_collapsed=True)
    whole = rank_root_causes(records, in_theme, config=config)
    assert whole.iloc[0]["attributes"] == {"market": "MY"} and len(whole) > 1
    dims = ["market", "queue", "macro_id"]
    chunks = np.array_split(np.arange(n), 4)
    counts = pd.concat([count_combinations(records.iloc[c], dims, in_theme[c]) for c in chunks],
                       ignore_index=True)
    assert counts["count"].sum() == n and len(counts) < n
    parts = rank_root_causes_from_counts(counts, "in_theme", theme_records=records[in_theme],
                                         dimensions=dims, config=config)
    pd.testing.assert_frame_equal(whole, parts)


def test_theme_model_with_sample_keys_fits_the_hashed_sample_in_input_order():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(3, 16))
    emb = np.repeat(centres, 60, axis=0) + 0.05 * rng.normal(size=(180, 16))
    docs = [f"failure {i // 60} wording {i % 4}" for i in range(180)]
    keys = [f"id-{i}" for i in range(180)]
    model = ThemeModel(sample_size=90, min_theme_size=10, random_state=0)
    model.fit(docs, emb, sample_keys=keys)
    sample = sample_by_key(keys, 90, 0)
    np.testing.assert_allclose(model.reference_embeddings_,
                               (emb[sample] / np.linalg.norm(emb[sample], axis=1,
                                                             keepdims=True)).astype(np.float32))
    # every record labelled by the transform rule; sizes count all of them
    np.testing.assert_array_equal(model.labels_, model.transform(None, emb))
    assert model.themes_["size"].sum() == (model.labels_ >= 0).sum()
    assert model.n_themes_ == 3


# --------------------------------------------------------------------------- on a LocalCluster
@pytest.mark.slow
def test_distributed_run_equals_single_machine_run(data, client, tmp_path):
    from qa_insights.distributed import run_distributed

    config = _config()
    single = pipeline.run(data, tmp_path / "single", config)
    dist = run_distributed(dd.from_pandas(data, npartitions=3, sort=False), tmp_path / "dist",
                           config, client=client)
    _assert_tables_equal(single, dist)
    # rows read = used + set aside, and the quarantine says which rows and why (global rows)
    assert dist.load.counts == single.load.counts
    assert dist.load.counts["rows_read"] == len(data)
    pd.testing.assert_frame_equal(single.load.quarantine, dist.load.quarantine)
    assert len(dist.assignments) == dist.load.counts["rows_used"] == 597
    for name in ("assignments.parquet", "themes.parquet", "root_causes.parquet", "flags.jsonl",
                 "report.html", "manifest.json"):
        assert (tmp_path / "dist" / name).is_file()


@pytest.mark.slow
def test_distributed_run_with_sampled_fit_equals_single_machine_run(data, client, tmp_path):
    config = _config(sample_size=60)
    single = pipeline.run(data, tmp_path / "single", config)
    # the batch job's own entry point: a dask DataFrame and a client send it to the cluster
    dist = pipeline.run(dd.from_pandas(data, npartitions=4, sort=False), tmp_path / "dist",
                        config, client=client)
    assert dist.load.n_partitions == 4
    _assert_tables_equal(single, dist)


@pytest.mark.slow
def test_sampled_fit_on_parquet_files_equals_a_single_machine_fit(data, client, tmp_path):
    """Themes fitted on a hash-drawn sample across 3 Parquet files on 2 workers group the
    records exactly as ThemeModel.fit(sample_keys=record ids) on one machine."""
    from qa_insights.distributed import load_partitioned, run_distributed
    from qa_insights.embed import TextEncoder, combine_embeddings
    from qa_insights.load import load_records

    folder = tmp_path / "parts"
    folder.mkdir()
    for k, chunk in enumerate(np.array_split(np.arange(len(data)), 3)):
        data.iloc[chunk].to_parquet(folder / f"part-{k}.parquet", index=False)
    config = _config(sample_size=60)
    dist = run_distributed(folder, tmp_path / "dist", config, client=client)
    assert dist.load.n_partitions == 3 and dist.load.counts["rows_set_aside"] == 3

    records = load_records(data, config.load, clean=config.clean).records
    encoder = TextEncoder()
    comments = records["reviewer_comment"].fillna("").astype(str)
    tickets = records["ticket_text"].fillna("").astype(str)
    has_c, has_t = (comments.str.strip() != "").to_numpy(), (tickets.str.strip() != "").to_numpy()
    vecs = combine_embeddings(encoder.encode(comments.tolist()), encoder.encode(tickets.tolist()),
                              has_c, has_t, mode=config.embed.combine,
                              comment_weight=config.embed.comment_weight)
    scope = ((records["qa_result"].astype("string") != "pass").fillna(True).to_numpy()
             & (has_c | has_t))
    docs = comments.where(has_c, tickets)
    for p in PERIODS:
        rows = np.flatnonzero((records["period"] == p).to_numpy() & scope)
        assert len(rows) > 60  # the sample path is taken
        model = ThemeModel.from_config(config.themes, random_state=config.seed)
        model.fit(docs.iloc[rows].tolist(), vecs[rows],
                  sample_keys=records["record_id"].iloc[rows].tolist())
        ids = records["record_id"].iloc[rows].to_numpy()
        single_groups = {frozenset(ids[model.labels_ == t]) for t in range(model.n_themes_)}
        mine = dist.assignments[dist.assignments["period"] == p].dropna(subset=["theme_id"])
        dist_groups = {frozenset(g["record_id"]) for _, g in mine.groupby("theme_id")}
        assert dist_groups == single_groups
        got = dist.themes[dist.themes["period"] == p]
        assert sorted(map(tuple, got.loc[got["count"] > 0, "keywords"])) == \
            sorted(map(tuple, model.themes_["keywords"]))

    # a record id in two partitions is an input error, named in the message
    data.iloc[[0]].to_parquet(folder / "part-9.parquet", index=False)
    with pytest.raises(InputError, match="more than one partition"):
        load_partitioned(folder, config.load, config.clean, client=client)
