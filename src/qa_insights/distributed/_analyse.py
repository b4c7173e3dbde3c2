"""The analysis stages of the monthly job over a partitioned dataset on a dask cluster.

Mirrors :func:`qa_insights.pipeline._analyse` step for step and gives the same tables:

* embed + policy area per partition on the workers (the model loaded once per worker process,
  each distinct text embedded once per partition); the embeddings stay on the workers;
* per period, the themes are found on the driver from a sample drawn by a seeded hash of the
  record id (each partition proposes its lowest hashes; only the sample's texts and vectors
  come back), the same sample :meth:`ThemeModel.fit` draws with ``sample_keys``;
* the fitted models go to the workers, which assign every record and send back counts;
* root causes from per-partition counts tables, phrase counts and the chosen themes' own
  records, summed on the driver.

The state (theme registry, stored assignments) is written by the driver in the same order as
the single-machine job, so re-runs and later months behave the same.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from .._pipeline_state import forget_from, load_assignments, save_period_assignments
from ._load import get_client
from ._workers import (assign_partition, assignment_columns, build_encoder, cause_partition,
                       embed_partition, labelled_policy_rows, policy_partition,
                       sample_candidates, take_rows)

__all__ = ["analyse"]

logger = logging.getLogger(__name__)

_ASSIGNMENT_COLUMNS = ["record_id", "period", "theme_id", "theme_label", "is_outlier",
                       "in_theme_scope", "policy_area", "policy_confidence", "policy_source"]


def _share(client, obj):
    """A future of ``obj`` on every worker.

    Anything larger than a few kB goes to the workers this way, never as a keyword argument of
    ``client.map``: distributed turns a large keyword argument into a task keyed by the
    argument's name, which collides across calls.
    """
    # in a list: a scattered dict would become one future per key, keyed by its keys
    return client.scatter([obj], broadcast=True)[0]


def _strip_encoder(estimator, *names: str):
    """A shallow copy without its encoder, to ship to the workers (they never encode with it)."""
    out = copy.copy(estimator)
    for name in names:
        if name in out.__dict__:
            setattr(out, name, None)
    return out


def analyse(records, periods: list[str], loaded, config, store, timer, verbose: bool = False,
            client=None) -> dict[str, Any]:
    """The analysis of :func:`qa_insights.pipeline.run` on a dask DataFrame of loaded records.

    Parameters
    ----------
    records : dask DataFrame
        Loaded records of the periods to process (from :func:`load_partitioned`, filtered to
        ``periods``).
    periods : list of str
        Periods to process, in order.
    loaded : PartitionedLoadResult
        For the dimensions root-cause ranking may search.
    config : PipelineConfig
    store : StateStore
    timer
        The pipeline's stage timer (``timer.stage(name)`` context manager).
    verbose : bool
        Unused on the workers; kept for the pipeline's signature.
    client : distributed.Client or str, optional

    Returns
    -------
    dict
        ``assignments``, ``themes``, ``root_causes``, ``phrases``, ``theme_map``,
        ``model_fingerprint``: what :func:`qa_insights.pipeline._analyse` returns.
    """
    from distributed import wait

    from ..pipeline import _theme_table
    from ..themes import ThemeRegistry

    client = get_client(client)
    parts = client.compute(list(records.to_delayed()))
    encoder = build_encoder(config.embed, verbose=verbose)
    with timer.stage("embed"):
        emb = client.map(embed_partition, parts, embed_config=_share(client, config.embed))
        wait(emb)
    with timer.stage("policy"):
        policy = _policy(client, parts, emb, config, encoder)
        wait(policy)

    registry = ThemeRegistry(store, config.themes)
    later = [p for p in registry.rewind(periods[0]) if p not in periods]
    forget_from(store, periods[0])
    if later:
        logger.warning("re-processing %s discarded the stored results of later periods %s; "
                       "run them again", periods[0], later)
    with timer.stage("themes"):
        models, fitted = _fit_models(client, parts, emb, periods, config, encoder.dim)
        models_f, fitted_f = _share(client, models), _share(client, fitted)
        assigned = client.map(assign_partition, parts, emb, models=models_f, fitted=fitted_f,
                              last_period=periods[-1])
        summaries = client.gather(client.map(lambda a: a.summary(), assigned))
        theme_ids: dict[tuple[str, int], str] = {}
        theme_info = []
        for p in periods:
            model = models[p]
            if p not in fitted:  # fitted on a sample: sizes count every record of the period
                model.set_counts(sum(s.theme_counts[p] for s in summaries),
                                 sum(s.sub_counts[p] for s in summaries),
                                 sum(s.n_scope[p] for s in summaries))
            mapping = registry.update(p, model)
            local_to_id = dict(zip(mapping["theme"], mapping["theme_id"]))
            theme_ids.update({(p, int(t)): tid for t, tid in local_to_id.items()})
            theme_info.append(model.themes_.assign(
                period=p, theme_id=[local_to_id[int(t)] for t in model.themes_["theme"]]))
        columns = client.map(assignment_columns, parts, assigned, policy,
                             theme_ids=_share(client, theme_ids))
        frame = pd.concat(client.gather(columns), ignore_index=True)
        for p in periods:
            in_p = frame[frame["period"] == p]
            save_period_assignments(store, p, in_p[["record_id", "period", "theme_id",
                                                     "qa_result", "policy_area"]])

    labels_now = registry.themes().set_index("theme_id")["label"]
    assignments = frame.assign(theme_label=frame["theme_id"].map(labels_now).astype("string"))
    assignments = assignments[_ASSIGNMENT_COLUMNS]

    with timer.stage("trends"):
        from ..trends import theme_trends

        trends = theme_trends(load_assignments(store, up_to=periods[-1]), config.trends)

    with timer.stage("root_causes"):
        causes, phrases, extras = _root_causes(client, parts, emb, assigned, theme_ids,
                                                  trends, periods, loaded, config, encoder)

    themes = _theme_table(trends, pd.concat(theme_info, ignore_index=True), labels_now,
                          extras, assignments)
    last = [s for s in summaries if s.vector_sums is not None]
    theme_map = None
    if last:
        sums = sum(s.vector_sums for s in last)
        counts = sum(s.vector_counts for s in last)
        names = {t: theme_ids[(periods[-1], t)] for t in range(len(counts)) if counts[t]}
        theme_map = _theme_map_from_sums(sums, counts, names, labels_now, config.seed)
    return {"assignments": assignments, "themes": themes, "root_causes": causes,
            "phrases": phrases, "theme_map": theme_map,
            "model_fingerprint": encoder.fingerprint}


def _policy(client, parts, emb, config, encoder):
    """Fit the policy classifier on the driver (supervised: on the labelled rows' embeddings,
    gathered in partition order) and predict on the workers."""
    from ..policy import PolicyClassifier, PolicyTaxonomy

    pcfg = config.policy
    taxonomy = (PolicyTaxonomy.from_yaml(pcfg.taxonomy_path) if pcfg.taxonomy_path
                else PolicyTaxonomy.default())
    params = pcfg.classifier_params()
    params["random_state"] = config.seed
    clf = PolicyClassifier(taxonomy, encoder=encoder, **params)
    if pcfg.mode == "supervised":
        rows = client.gather(client.map(labelled_policy_rows, parts, emb,
                                        taxonomy=_share(client, taxonomy)))
        labels = [y for part_labels, _, _, _ in rows for y in part_labels]
        texts = [t for _, _, _, part_texts in rows for t in part_texts]
        vecs = np.concatenate([v for _, v, _, _ in rows]) if rows else np.zeros((0, encoder.dim))
        native = None
        if any(n is not None for _, _, n, _ in rows):
            dim = next(n.shape[1] for _, _, n, _ in rows if n is not None)
            native = np.concatenate([n if n is not None else
                                     np.full((len(v), dim), np.nan, dtype=np.float32)
                                     for _, v, n, _ in rows])
        clf.fit(texts, y=labels, embeddings=vecs, native=native)
    else:
        clf.fit()
    shipped = _share(client, _strip_encoder(clf, "encoder"))
    return client.map(policy_partition, parts, emb, classifier=shipped,
                      taxonomy=_share(client, taxonomy))


def _fit_models(client, parts, emb, periods: list[str], config, dim: int):
    """One theme model per period, fitted on the driver on the hash-drawn sample.

    Returns the models and, for the periods small enough to be fitted whole, the labels the
    fit gave each record id (the single-machine job keeps those rather than re-assigning).
    """
    from ..themes import ThemeModel

    size = config.themes.sample_size
    gathered = client.gather(client.map(sample_candidates, parts,
                                        periods=_share(client, periods), size=size,
                                        seed=config.seed))
    for k, (frame, _) in enumerate(gathered):
        frame["partition"] = k
    pool = pd.concat([frame for frame, _ in gathered], ignore_index=True)
    in_scope = {p: sum(n[p] for _, n in gathered) for p in periods}
    models, fitted = {}, {}
    for p in periods:
        chosen = pool[pool["period"] == p].sort_values(["hash", "record_id"], kind="stable")
        if size is not None:
            chosen = chosen.head(size)
        # input order (partition, then row), the order a single machine fits the sample in
        chosen = chosen.sort_values(["partition", "position"], kind="stable")
        futures = {k: client.submit(take_rows, parts[k], emb[k], group["position"].to_numpy())
                   for k, group in chosen.groupby("partition", sort=True)}
        ids, docs, vecs = [], [], []
        for k in sorted(futures):
            part_ids, part_docs, part_vecs = futures[k].result()
            ids += part_ids
            docs += part_docs
            vecs.append(part_vecs)
        vecs = np.concatenate(vecs) if vecs else np.zeros((0, dim), dtype=np.float32)
        logger.info("period %s: fitting themes on %d sampled records", p, len(ids))
        model = ThemeModel.from_config(config.themes, random_state=config.seed)
        models[p] = model.fit(docs, vecs, sample_keys=ids)
        if size is None or in_scope[p] <= size:
            fitted[p] = (pd.Series(model.labels_, index=ids),
                         pd.Series(model.sub_labels_, index=ids))
    return models, fitted


def _root_causes(client, parts, emb, assigned, theme_ids: dict, trends: pd.DataFrame,
                 periods: list[str], loaded, config, encoder):
    """Root causes of every theme with a signal and of the largest themes, per period, from
    per-partition aggregates (as :func:`qa_insights.pipeline._root_causes`)."""
    from ..pipeline import _TOP_THEMES_FOR_CAUSES, cause_tables
    from ..root_causes import RootCauseCategorizer, phrase_counts, root_causes_from_counts

    categorizer = RootCauseCategorizer(encoder=encoder, config=config.root_causes.category).fit()
    dims = list(getattr(loaded, "dimensions_present", loaded.categorical_columns))
    counted = dims + [c for c in config.root_causes.extra_dimensions if c not in dims]
    chosen = []
    for p in periods:
        in_p = trends[(trends["period"] == p) & (trends["count"] > 0)]
        picked = set(in_p.loc[in_p["signal"] != "none", "theme_id"])
        picked |= set(in_p.nlargest(_TOP_THEMES_FOR_CAUSES, "count")["theme_id"])
        chosen += [(p, str(t)) for t in sorted(picked)]
    pieces = client.gather(client.map(
        cause_partition, parts, emb, assigned, theme_ids=_share(client, theme_ids),
        chosen=_share(client, chosen), dims=_share(client, counted),
        max_ngram=config.root_causes.phrases.max_ngram))
    results = []
    for p, theme_id in chosen:
        counts_p = pd.concat([x.counts[p] for x in pieces], ignore_index=True)
        counts = counts_p[counted + ["count"]].assign(
            in_theme=(counts_p["theme_id"] == theme_id).fillna(False).to_numpy(dtype=bool))
        theme_records = pd.concat([x.theme_records[(p, theme_id)] for x in pieces],
                                  ignore_index=True)
        # the category is computed here, on all the theme's comment vectors at once: a matrix
        # product's last bits depend on its shape, and the single-machine job does the same
        vecs = np.concatenate([x.theme_comment_vecs((p, theme_id)) for x in pieces])
        order = np.argsort(theme_records[schema.RECORD_ID].astype(str).to_numpy(), kind="stable")
        failed = (theme_records[schema.QA_RESULT].astype("string").str.lower() == "fail") \
            .fillna(False).to_numpy(dtype=bool)
        theme_failed = phrase_counts(
            theme_records[schema.REVIEWER_COMMENT].fillna("").astype(str)[failed].tolist(),
            config.root_causes.phrases.max_ngram)
        other = sum((x.failed_phrases[p] for x in pieces), Counter()) - theme_failed
        result = root_causes_from_counts(
            counts, theme_records, theme_id, p, other_phrases=other,
            n_records=sum(x.n_records[p] for x in pieces),
            n_failed=sum(x.n_failed[p] for x in pieces), dimensions=dims,
            config=config.root_causes, categorizer=categorizer,
            embeddings=vecs[order])
        results.append(result)
    return cause_tables(results)


def _theme_map_from_sums(sums: np.ndarray, counts: np.ndarray, names: dict[int, str],
                         labels: pd.Series, seed: int) -> pd.DataFrame | None:
    """2-D positions of the last period's theme centroids (PCA) from per-partition vector sums,
    as :func:`qa_insights.pipeline._theme_map` computes them from the vectors."""
    from sklearn.decomposition import PCA

    order = sorted(names, key=lambda t: names[t])
    if len(order) < 3:
        return None
    cents = np.stack([sums[t] / counts[t] for t in order]).astype(np.float32)
    xy = PCA(n_components=2, svd_solver="full", random_state=seed).fit_transform(cents)
    return pd.DataFrame({"theme_id": [names[t] for t in order], "x": xy[:, 0], "y": xy[:, 1],
                         "count": [int(counts[t]) for t in order],
                         "label": [labels.get(names[t], names[t]) for t in order]})
