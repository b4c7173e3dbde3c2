"""What runs on the workers: per-partition steps of the monthly job, and the per-process encoder.

Each function takes one partition (a pandas DataFrame of loaded records) and what earlier steps
left for that partition in worker memory, and returns either a small summary for the driver or
a per-partition object that stays on the worker for the next step. Nothing here reads or writes
the state database; the driver does that.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import schema

__all__ = ["build_encoder", "worker_encoder", "Embedded", "Assigned"]

logger = logging.getLogger(__name__)

# one encoder per worker process and embed config: loading the model is the expensive part
_ENCODERS: dict[str, object] = {}
_ENCODERS_LOCK = threading.Lock()


def build_encoder(embed_config, cache=None, verbose: bool = False):
    """The text encoder the pipeline uses for ``embed_config`` (one place to change it).

    Returns
    -------
    qa_insights.embed.TextEncoder
    """
    from .. import embed

    factory = getattr(embed, "build_encoder", None)
    if factory is not None:
        return factory(embed_config, cache=cache, verbose=verbose)
    return embed.TextEncoder(model=embed_config.model, backend=embed_config.backend,
                             batch_size=embed_config.batch_size,
                             max_seq_length=embed_config.max_seq_length,
                             n_threads=embed_config.n_threads, cache=cache, verbose=verbose)


def worker_encoder(embed_config):
    """This process's encoder for ``embed_config``, built (and its model loaded) once."""
    key = embed_config.model_dump_json()
    with _ENCODERS_LOCK:
        encoder = _ENCODERS.get(key)
        if encoder is None:
            encoder = build_encoder(embed_config)
            _ENCODERS[key] = encoder
            logger.info("loaded the embedding model in this worker")
    return encoder


def _texts(records: pd.DataFrame, column: str) -> pd.Series:
    return records[column].fillna("").astype(str)


def in_theme_scope(records: pd.DataFrame) -> np.ndarray:
    """Records themes are found for: failed or without a result, with some text."""
    comments, tickets = _texts(records, schema.REVIEWER_COMMENT), _texts(records,
                                                                          schema.TICKET_TEXT)
    has_text = ((comments.str.strip() != "") | (tickets.str.strip() != "")).to_numpy()
    failed_or_unknown = (records[schema.QA_RESULT].astype("string").str.lower() != "pass") \
        .fillna(True).to_numpy()
    return failed_or_unknown & has_text


def theme_docs(records: pd.DataFrame) -> pd.Series:
    """The theme's displayed text: the reviewer comment, or the ticket where there is none."""
    comments, tickets = _texts(records, schema.REVIEWER_COMMENT), _texts(records,
                                                                          schema.TICKET_TEXT)
    return comments.where(comments.str.strip() != "", tickets)


# ---------------------------------------------------------------------------------------------
@dataclass
class Embedded:
    """A partition's embeddings, kept once per distinct text / text pair.

    ``vectors[comment_idx[i]]`` is row ``i``'s comment embedding, ``vectors[ticket_idx[i]]`` its
    ticket's, ``pairs[pair_idx[i]]`` its combined theme vector (as the pipeline computes them).
    """

    vectors: np.ndarray
    comment_idx: np.ndarray
    ticket_idx: np.ndarray
    has_comment: np.ndarray
    has_ticket: np.ndarray
    pairs: np.ndarray
    pair_idx: np.ndarray
    n_texts: int = 0
    #: raw multilingual vectors per distinct text (NaN rows for English), None without a routed
    #: encoder: what the policy classifier reads a non-English text with
    native: np.ndarray | None = None

    def native_rows(self, idx) -> np.ndarray | None:
        return None if self.native is None else self.native[idx]

    def comment_vecs(self, rows) -> np.ndarray:
        return self.vectors[self.comment_idx[rows]]

    def theme_vecs(self, rows) -> np.ndarray:
        return self.pairs[self.pair_idx[rows]]

    def policy_index(self) -> np.ndarray:
        """Per row, the text the policy area is read from: the ticket, else the comment."""
        return np.where(self.has_ticket, self.ticket_idx, self.comment_idx)


def embed_partition(records: pd.DataFrame, embed_config) -> Embedded:
    """Embed a partition's comments and tickets (each distinct text once) and combine them."""
    from ..embed import combine_embeddings, last_native

    comments, tickets = _texts(records, schema.REVIEWER_COMMENT), _texts(records,
                                                                          schema.TICKET_TEXT)
    codes, uniques = pd.factorize(pd.concat([comments, tickets], ignore_index=True), sort=False)
    n = len(records)
    encoder = worker_encoder(embed_config)
    vectors = encoder.encode(list(uniques)) if len(uniques) else np.zeros(
        (0, encoder.dim), dtype=np.float32)
    native = last_native(encoder, len(uniques)) if len(uniques) else None
    comment_idx, ticket_idx = codes[:n].astype(np.int64), codes[n:].astype(np.int64)
    has_comment = (comments.str.strip() != "").to_numpy()
    has_ticket = (tickets.str.strip() != "").to_numpy()
    pair_codes = comment_idx * max(len(uniques), 1) + ticket_idx
    pair_keys, first, pair_idx = np.unique(pair_codes, return_index=True, return_inverse=True)
    pairs = combine_embeddings(vectors[comment_idx[first]], vectors[ticket_idx[first]],
                               has_comment[first], has_ticket[first], mode=embed_config.combine,
                               comment_weight=embed_config.comment_weight) if len(first) \
        else np.zeros((0, vectors.shape[1]), dtype=np.float32)
    logger.info("embedded a partition of %d records: %d distinct texts, %d distinct pairs",
                n, len(uniques), len(pair_keys))
    return Embedded(vectors, comment_idx, ticket_idx, has_comment, has_ticket, pairs,
                    pair_idx.ravel().astype(np.int64), len(uniques), native)


def labelled_policy_rows(records: pd.DataFrame, emb: Embedded, taxonomy):
    """Human policy labels of a partition, their embeddings, raw multilingual vectors (None
    without a routed encoder) and texts: supervised mode's training rows."""
    from ..pipeline import _lenient_labels, policy_texts

    human = pd.Series(_lenient_labels(taxonomy, records[schema.POLICY_AREA]), dtype=object)
    labelled = human.notna().to_numpy()
    idx = emb.policy_index()[labelled]
    texts = policy_texts(records, emb.has_ticket)[labelled].tolist()
    return human[labelled].tolist(), emb.vectors[idx], emb.native_rows(idx), texts


def policy_partition(records: pd.DataFrame, emb: Embedded, classifier, taxonomy) -> pd.DataFrame:
    """Policy area of every record of a partition: the reviewer's label, else the model's."""
    from ..pipeline import _lenient_labels

    human = pd.Series(_lenient_labels(taxonomy, records[schema.POLICY_AREA]),
                      index=records.index, dtype=object)
    labelled = human.notna().to_numpy()
    index = emb.policy_index()
    distinct, first, inverse = np.unique(index, return_index=True, return_inverse=True)
    if len(distinct):
        from ..pipeline import policy_texts

        texts = policy_texts(records, emb.has_ticket)[first].tolist()
        predicted = classifier.predict_frame(texts, embeddings=emb.vectors[distinct],
                                             native=emb.native_rows(distinct))
        area_model = predicted["policy_area"].to_numpy(dtype=object)[inverse.ravel()]
        conf_model = predicted["policy_confidence"].to_numpy(dtype=float)[inverse.ravel()]
    else:
        area_model, conf_model = np.array([], dtype=object), np.array([], dtype=float)
    area = human.where(labelled, pd.Series(area_model, index=records.index, dtype=object))
    confidence = pd.Series(np.where(labelled, 1.0, conf_model), index=records.index, dtype=float)
    source = pd.Series(np.where(labelled, "reviewer", "model"), index=records.index)
    return pd.DataFrame({"policy_area": area.astype("string"), "policy_confidence": confidence,
                         "policy_source": source})


# ---------------------------------------------------------------------------------------------
def sample_candidates(records: pd.DataFrame, periods: list[str], size: int | None,
                      seed: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per period, the partition's ``size`` in-scope records with the smallest seeded key hash,
    and its number of in-scope records per period.

    The overall sample (the smallest over all partitions) is then what
    :func:`qa_insights.themes.sample_by_key` picks from all the period's records.
    """
    from ..themes._model import key_hashes

    scope = in_theme_scope(records)
    out, n_scope = [], {}
    for p in periods:
        rows = np.flatnonzero((records[schema.PERIOD] == p).to_numpy() & scope)
        n_scope[p] = int(len(rows))
        ids = records[schema.RECORD_ID].iloc[rows].astype(str).to_numpy(dtype=object)
        frame = pd.DataFrame({"period": p, "record_id": ids, "hash": key_hashes(ids, seed),
                              "position": rows})
        frame = frame.sort_values(["hash", "record_id"], kind="stable")
        out.append(frame if size is None else frame.head(size))
    if not out:
        return pd.DataFrame({"period": [], "record_id": [], "hash": np.array([], np.uint64),
                             "position": np.array([], np.int64)}), n_scope
    return pd.concat(out, ignore_index=True), n_scope


def take_rows(records: pd.DataFrame, emb: Embedded, positions: np.ndarray):
    """Record ids, theme texts and theme vectors of some rows (the fit sample)."""
    positions = np.asarray(positions, dtype=np.int64)
    docs = theme_docs(records).iloc[positions].tolist()
    ids = records[schema.RECORD_ID].iloc[positions].astype(str).tolist()
    return ids, docs, emb.theme_vecs(positions)


@dataclass
class Assigned:
    """A partition's themes: local theme number per row (``-1`` outlier, ``-2`` out of scope)
    under its period's model, and what the driver needs summed over partitions."""

    labels: np.ndarray
    theme_counts: dict[str, np.ndarray] = field(default_factory=dict)
    sub_counts: dict[str, np.ndarray] = field(default_factory=dict)
    n_scope: dict[str, int] = field(default_factory=dict)
    vector_sums: np.ndarray | None = None
    vector_counts: np.ndarray | None = None

    def summary(self) -> "Assigned":
        """The same without the per-row labels (what goes back to the driver)."""
        return Assigned(np.zeros(0, dtype=np.int64), self.theme_counts, self.sub_counts,
                        self.n_scope, self.vector_sums, self.vector_counts)


def assign_partition(records: pd.DataFrame, emb: Embedded, models: dict, fitted: dict,
                     last_period: str) -> Assigned:
    """Theme of every in-scope record under its period's fitted model (each distinct theme
    vector once; by record id from ``fitted`` for the periods the model was fitted on whole);
    counts per theme and sub-theme, and theme-vector sums of the last period."""
    scope = in_theme_scope(records)
    labels = np.full(len(records), -2, dtype=np.int64)
    out = Assigned(labels)
    period_of = records[schema.PERIOD].to_numpy()
    for p, model in models.items():
        rows = np.flatnonzero((period_of == p) & scope)
        n_themes, n_sub = len(model.centroids_), len(model.sub_centroids_)
        if len(rows) and p in fitted:
            ids = records[schema.RECORD_ID].iloc[rows].astype(str)
            theme = fitted[p][0].reindex(ids).to_numpy(dtype=np.int64)
            sub = fitted[p][1].reindex(ids).to_numpy(dtype=np.int64)
            labels[rows] = theme
        elif len(rows):
            distinct, inverse = np.unique(emb.pair_idx[rows], return_inverse=True)
            vecs = emb.pairs[distinct]
            theme = model.transform(None, vecs)
            sub = model.assign_sub_themes(vecs, theme)
            theme, sub = theme[inverse.ravel()], sub[inverse.ravel()]
            labels[rows] = theme
        else:
            theme = sub = np.zeros(0, dtype=np.int64)
        out.theme_counts[p] = np.bincount(theme[theme >= 0], minlength=n_themes)
        out.sub_counts[p] = np.bincount(sub[sub >= 0], minlength=n_sub)
        out.n_scope[p] = int(len(rows))
        if p == last_period:
            dim = emb.pairs.shape[1]
            sums = np.zeros((n_themes, dim))
            themed = rows[theme >= 0]
            np.add.at(sums, theme[theme >= 0], emb.theme_vecs(themed).astype(np.float64))
            out.vector_sums, out.vector_counts = sums, out.theme_counts[p].copy()
    return out


def assignment_columns(records: pd.DataFrame, assigned: Assigned, policy: pd.DataFrame,
                       theme_ids: dict) -> pd.DataFrame:
    """The per-record columns of the assignments output, theme numbers mapped to registry ids,
    and ``qa_result`` (stored with them in the state)."""
    period = records[schema.PERIOD].to_numpy()
    ids = [theme_ids.get((p, int(t))) if t >= 0 else None
           for p, t in zip(period, assigned.labels)]
    records = records.reset_index(drop=True)
    policy = policy.reset_index(drop=True)
    return pd.DataFrame({
        "record_id": records[schema.RECORD_ID],
        "period": records[schema.PERIOD],
        "theme_id": pd.Series(ids, dtype="string"),
        "is_outlier": pd.Series(assigned.labels == -1, dtype=bool),
        "in_theme_scope": assigned.labels != -2,
        "policy_area": policy["policy_area"],
        "policy_confidence": policy["policy_confidence"],
        "policy_source": policy["policy_source"],
        "qa_result": records[schema.QA_RESULT],
    })


# ---------------------------------------------------------------------------------------------
@dataclass
class CauseParts:
    """A partition's share of the root-cause inputs of the chosen (period, theme) pairs."""

    counts: dict[str, pd.DataFrame]
    failed_phrases: dict[str, Counter]
    n_records: dict[str, int]
    n_failed: dict[str, int]
    theme_records: dict[tuple[str, str], pd.DataFrame]
    comment_vectors: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]

    def theme_comment_vecs(self, key: tuple[str, str]) -> np.ndarray:
        """The comment embeddings of a chosen theme's records here, one row per record."""
        distinct, inverse = self.comment_vectors[key]
        return distinct[inverse]


def cause_partition(records: pd.DataFrame, emb: Embedded, assigned: Assigned, theme_ids: dict,
                    chosen: list[tuple[str, str]], dims: list[str],
                    max_ngram: int) -> CauseParts:
    """Counts per (theme, dimension values), phrase document frequencies of failed comments and
    totals per period, and the chosen themes' own records with their comment embeddings (each
    distinct one once)."""
    from ..root_causes import phrase_counts

    period = records[schema.PERIOD].astype(str).to_numpy()
    theme = pd.array([theme_ids.get((p, int(t))) if t >= 0 else None
                      for p, t in zip(period, assigned.labels)], dtype="string")
    failed = (records[schema.QA_RESULT].astype("string").str.lower() == "fail") \
        .fillna(False).to_numpy(dtype=bool)
    comments = _texts(records, schema.REVIEWER_COMMENT)
    periods = sorted({p for p, _ in chosen})
    out = CauseParts({}, {}, {}, {}, {}, {})
    for p in periods:
        in_p = period == p
        frame = pd.DataFrame({d: records[d].astype("string") for d in dims})[in_p]
        frame["theme_id"] = theme[in_p]
        out.counts[p] = (frame.groupby(list(frame.columns), dropna=False, sort=True,
                                       observed=True).size().rename("count").reset_index()
                         if len(frame) else frame.assign(count=pd.Series(dtype="int64")))
        texts = comments[in_p & failed].value_counts(sort=False)
        out.failed_phrases[p] = phrase_counts(texts.index.tolist(), max_ngram,
                                              weights=texts.to_numpy())
        out.n_records[p] = int(in_p.sum())
        out.n_failed[p] = int((in_p & failed).sum())
    keep = [c for c in (schema.RECORD_ID, *dims, schema.REVIEWER_COMMENT, schema.QA_RESULT)
            if c in records.columns]
    keep = list(dict.fromkeys(keep))
    for p, t in chosen:
        rows = np.flatnonzero((period == p) & (theme == t).fillna(False).to_numpy(dtype=bool))
        out.theme_records[(p, t)] = records[keep].iloc[rows].reset_index(drop=True)
        distinct, inverse = np.unique(emb.comment_idx[rows], return_inverse=True)
        out.comment_vectors[(p, t)] = (emb.vectors[distinct], inverse.ravel())
    return out
