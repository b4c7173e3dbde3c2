"""Tests of qa_insights.embed on the real bundled all-MiniLM-L6-v2 and a banking77 sample."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import sqlite3

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.base import clone

from qa_insights._base import sha256_file
from qa_insights.embed import (
    DEFAULT_BACKEND,
    EmbedConfig,
    EmbeddingCache,
    TextEncoder,
    combine_embeddings,
    default_model_path,
)
from qa_insights.embed._onnx_export import _verified
from qa_insights.errors import ConfigError, StateError

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def _no_network(*args, **kwargs):
    raise OSError("network access attempted during an offline test")


@pytest.fixture(scope="module", autouse=True)
def private_cache_dirs(tmp_path_factory):
    """ONNX exports and onnxruntime's own files go to a temporary folder, not ~/.cache."""
    root = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root))
        mp.setenv("QA_INSIGHTS_CACHE_DIR", str(root / "qa_insights"))
        yield root


@pytest.fixture(scope="module")
def sample_texts(banking77_test_csv) -> list[str]:
    frame = pd.read_csv(banking77_test_csv)
    return frame["text"].sample(n=200, random_state=0).tolist()


@pytest.fixture(scope="module")
def torch_vectors(sample_texts) -> np.ndarray:
    return TextEncoder(backend="torch").encode(sample_texts)


@pytest.fixture(scope="module")
def default_encoder(private_cache_dirs) -> TextEncoder:
    """The default backend, exported and loaded with the network unavailable."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _no_network)
        enc = TextEncoder().fit()
        enc.encode(["warm up"])
    return enc


# ---------------------------------------------------------------------------- model and offline
def test_bundled_weights_are_the_published_minilm():
    assert sha256_file(default_model_path() / "model.safetensors") == MINILM_SHA256


def test_offline_load_and_encode_without_network(monkeypatch, default_encoder):
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    with pytest.raises(OSError, match="network access attempted"):
        socket.create_connection(("127.0.0.1", 9))
    enc = TextEncoder(backend="torch")
    vectors = enc.encode(["my card has not arrived", "I was charged twice"])
    assert vectors.shape == (2, 384)
    assert default_encoder.onnx_export_seconds_ > 0  # the export itself ran offline
    assert default_encoder.encode(["my card has not arrived"]).shape == (1, 384)


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        TextEncoder(model=tmp_path / "no-such-model").encode(["x"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no model weights"):
        TextEncoder(model=tmp_path / "empty").fit()


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ConfigError, match="backend must be"):
        TextEncoder(backend="gpu").encode(["x"])


# ---------------------------------------------------------------------------- fidelity
def test_default_backend_matches_torch(default_encoder, sample_texts, torch_vectors):
    assert DEFAULT_BACKEND != "torch"
    ours = default_encoder.encode(sample_texts)
    assert ours.dtype == np.float32 and ours.shape == (200, 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosine = (ours * torch_vectors).sum(axis=1)
    assert cosine.min() >= 0.99
    # unrelated texts must not be near-identical (guards against a constant output)
    off_diagonal = ours @ ours.T - np.eye(len(ours))
    assert np.median(off_diagonal) < 0.5


def test_default_backend_is_batch_invariant(default_encoder, sample_texts):
    base = default_encoder.encode(sample_texts)
    other = TextEncoder(batch_size=7)
    order = np.random.default_rng(1).permutation(len(sample_texts))
    shuffled = other.encode([sample_texts[i] for i in order])
    assert np.abs(shuffled - base[order]).max() <= 1e-5
    alone = other.encode([sample_texts[0]])
    assert np.abs(alone[0] - base[0]).max() <= 1e-5


def test_same_meaning_is_closer_than_different_meaning(default_encoder):
    a, b, c = default_encoder.encode([
        "My new card still has not arrived", "I am still waiting for my card to be delivered",
        "What is the exchange rate for euros?"])
    assert a @ b > a @ c + 0.2


# ---------------------------------------------------------------------------- dedup, empty, long
def test_duplicates_are_encoded_once(default_encoder, sample_texts):
    enc = TextEncoder().fit()  # fit loads the model and probes its dimension
    seen = []
    runner = enc._runner
    original = runner.encode_batch

    def counting(ids, mask):
        seen.append(len(ids))
        return original(ids, mask)

    runner.encode_batch = counting
    texts = sample_texts[:20] * 3 + sample_texts[:5]
    vectors = enc.encode(texts)
    assert sum(seen) == 20 and enc.n_encoded_ == 20 and enc.n_unique_ == 20
    assert enc.n_texts_ == 65
    np.testing.assert_array_equal(vectors[:20], vectors[20:40])
    np.testing.assert_array_equal(vectors[:5], vectors[60:])
    np.testing.assert_allclose(vectors[:20], default_encoder.encode(sample_texts[:20]), atol=1e-6)


def test_empty_and_missing_texts_get_the_empty_string_embedding(default_encoder):
    vectors = default_encoder.encode(["", None, float("nan"), "hello"])
    assert default_encoder.n_empty_ == 3 and default_encoder.n_unique_ == 2
    np.testing.assert_array_equal(vectors[0], vectors[1])
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    reference = TextEncoder(backend="torch").encode([""])[0]
    assert float(vectors[0] @ reference) > 0.999
    assert default_encoder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="not a single string"):
        default_encoder.encode("just one string")
    with pytest.raises(TypeError, match="position 1"):
        default_encoder.encode(["ok", 3])


def test_long_texts_are_truncated_and_counted(default_encoder, caplog):
    head = " ".join(f"word{i}" for i in range(300))  # far more than 256 wordpieces
    texts = [head + " the card arrived broken", head + " totally different ending", "short"]
    with caplog.at_level(logging.INFO, logger="qa_insights.embed"):
        vectors = default_encoder.encode(texts)
    assert default_encoder.n_truncated_ == 2
    assert "truncated" in caplog.text
    # only the first 256 wordpieces count, so different tails give the same vector
    np.testing.assert_array_equal(vectors[0], vectors[1])
    assert float(vectors[0] @ vectors[2]) < 0.99
    short = TextEncoder(max_seq_length=16)
    short.encode(["one two three", head])
    assert short.n_truncated_ == 1 and short.fingerprint.endswith(":16")


# ---------------------------------------------------------------------------- cache
def test_cache_hits_on_rerun_and_misses_for_another_fingerprint(tmp_path, sample_texts):
    db = tmp_path / "state.db"
    first = TextEncoder(cache=str(db))
    v1 = first.encode(sample_texts[:50])
    assert first.n_encoded_ == 50 and first.n_cache_hits_ == 0

    again = TextEncoder(cache=str(db)).fit()
    again._runner.encode_batch = lambda *a: pytest.fail("a cached text went through the model")
    v2 = again.encode(sample_texts[:50] + sample_texts[:10])
    assert again.n_encoded_ == 0 and again.n_cache_hits_ == 50
    np.testing.assert_array_equal(v2[:50], v1)

    partly = TextEncoder(cache=str(db))
    partly.encode(sample_texts[40:60])
    assert partly.n_cache_hits_ == 10 and partly.n_encoded_ == 10

    other = TextEncoder(cache=str(db), max_seq_length=128)
    assert other.fingerprint != first.fingerprint
    other.encode(sample_texts[:5])
    assert other.n_cache_hits_ == 0 and other.n_encoded_ == 5
    assert EmbeddingCache(db).count(first.fingerprint) == 60

    # the cache holds hashes and vectors, never the text
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("state.db-*"))
    assert sample_texts[0].encode() not in raw


def test_cache_remembers_truncation(tmp_path):
    long_text = " ".join(["refund"] * 400)
    first = TextEncoder(cache=str(tmp_path / "c.db"))
    first.encode([long_text, "short"])
    second = TextEncoder(cache=str(tmp_path / "c.db"))
    second.encode([long_text, "short"])
    assert second.n_encoded_ == 0 and second.n_truncated_ == 1


def test_corrupt_cache_file_is_a_clear_error_or_rebuilt(tmp_path):
    bad = tmp_path / "cache.db"
    bad.write_bytes(b"this is not sqlite " * 200)
    with pytest.raises(StateError, match="not a usable"):
        EmbeddingCache(bad)
    with pytest.raises(StateError):
        TextEncoder(cache=str(bad)).encode(["x"])
    with pytest.warns(RuntimeWarning, match="moved it to"):
        cache = EmbeddingCache(bad, rebuild_if_corrupt=True)
    assert cache.count() == 0
    assert list(tmp_path.glob("cache.db.corrupt-*"))
    enc = TextEncoder(cache=cache)
    enc.encode(["after rebuild"])
    assert enc.n_encoded_ == 1 and cache.count() == 1


def test_foreign_database_is_refused(tmp_path):
    db = tmp_path / "foreign.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE embed_cache (id INTEGER PRIMARY KEY, payload TEXT)")
    with pytest.raises(StateError, match="not a qa_insights embedding cache"):
        EmbeddingCache(db)


def test_wrong_dimension_is_detected(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.db")
    digest = "a" * 64
    cache.put("fp", [digest], np.ones((1, 3), np.float32), [4])
    assert cache.get("fp", [digest], dim=3)[0][digest].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(StateError, match="3-dimensional"):
        cache.get("fp", [digest], dim=384)
    with pytest.raises(StateError, match="3-dimensional"):
        cache.put("fp", ["b" * 64], np.ones((1, 5), np.float32), [4])
    # a vector blob of the wrong length (written behind the cache's back) is caught too
    with sqlite3.connect(tmp_path / "c.db") as conn:
        conn.execute("UPDATE embed_cache SET vector = ? WHERE text_sha256 = ?",
                     (b"\0" * 8, digest))
    fresh = EmbeddingCache(tmp_path / "c.db")
    with pytest.raises(StateError, match="8 bytes"):
        fresh.get("fp", [digest], dim=3)


def test_cache_lookup_is_chunked(tmp_path):
    cache = EmbeddingCache(f"sqlite:///{tmp_path / 'big.db'}")
    rng = np.random.default_rng(0)
    hashes = [f"{i:064x}" for i in range(5000)]
    vectors = rng.standard_normal((5000, 8)).astype(np.float32)
    cache.put("fp", hashes, vectors, np.arange(5000))
    found, counts = cache.get("fp", hashes[::-1] + ["f" * 64], dim=8)
    assert len(found) == 5000 and counts[hashes[4999]] == 4999
    np.testing.assert_array_equal(found[hashes[1234]], vectors[1234])
    assert cache.get("other", hashes[:10], dim=8)[0] == {}


# ---------------------------------------------------------------------------- ONNX file cache
def test_exported_onnx_file_is_reused_and_verified(default_encoder, private_cache_dirs, tmp_path):
    again = TextEncoder()
    again.fit()
    assert again.onnx_export_seconds_ == 0.0
    onnx_dir = private_cache_dirs / "qa_insights" / "onnx"
    model = next(onnx_dir.glob("*-fp32-*.onnx"))
    manifest = model.with_suffix(".json")
    meta = json.loads(manifest.read_text())
    assert meta["weights_sha256"] == MINILM_SHA256 and meta["onnx_sha256"] == sha256_file(model)
    assert _verified(model, manifest, MINILM_SHA256, "fp32")
    copy, copy_manifest = tmp_path / model.name, tmp_path / manifest.name
    shutil.copy(model, copy)
    shutil.copy(manifest, copy_manifest)
    with open(copy, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\xff\xff\xff\xff")
    assert not _verified(copy, copy_manifest, MINILM_SHA256, "fp32")
    assert not _verified(model, manifest, "0" * 64, "fp32")


# ---------------------------------------------------------------------------- sklearn contract
def test_sklearn_style(default_encoder, sample_texts):
    enc = TextEncoder(batch_size=16, verbose=False)
    assert enc.get_params()["batch_size"] == 16
    assert not hasattr(enc, "n_texts_")  # __init__ stores only
    cloned = clone(enc)
    assert cloned.get_params() == enc.get_params()
    series = pd.Series(sample_texts[:10], index=range(100, 110))
    out = enc.fit(series).transform(series)
    np.testing.assert_allclose(out, default_encoder.encode(sample_texts[:10]), atol=1e-6)
    assert enc.dim == 384 and enc.n_features_out_ == 384
    assert len(enc.get_feature_names_out()) == 384


# ---------------------------------------------------------------------------- combine
def test_combine_embeddings_rules():
    comment = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    ticket = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    has_c = [True, True, False, False]
    has_t = [True, False, True, False]
    out = combine_embeddings(comment, ticket, has_c, has_t, "comment+ticket", 0.75)
    expected_first = np.array([0.75, 0.25, 0.0]) / np.hypot(0.75, 0.25)
    np.testing.assert_allclose(out[0], expected_first, atol=1e-6)
    np.testing.assert_allclose(out[1], [1.0, 0.0, 0.0])  # ticket missing: comment alone
    np.testing.assert_allclose(out[2], [0.0, 0.0, 1.0])  # comment missing: ticket alone
    np.testing.assert_array_equal(out[3], [0.0, 0.0, 0.0])  # nothing to embed
    only_comment = combine_embeddings(comment, ticket, has_c, has_t, "comment")
    np.testing.assert_allclose(only_comment[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(only_comment[2], [0.0, 0.0, 1.0])  # falls back to the ticket
    only_ticket = combine_embeddings(comment, ticket, has_c, has_t, "ticket")
    np.testing.assert_allclose(only_ticket[0], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(only_ticket[1], [1.0, 0.0, 0.0])
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match="comment_weight"):
        combine_embeddings(comment, ticket, has_c, has_t, "comment+ticket", 1.5)
    with pytest.raises(ValueError, match="same shape"):
        combine_embeddings(comment, ticket[:2], has_c, has_t)


def test_embed_config_validates():
    cfg = EmbedConfig()
    assert cfg.backend == "auto" and cfg.combine == "comment+ticket" and cfg.comment_weight == 0.7
    with pytest.raises(ValidationError):
        EmbedConfig(batchsize=3)
    with pytest.raises(ValidationError):
        EmbedConfig(comment_weight=2.0)
    with pytest.raises(ValidationError):
        EmbedConfig(backend="cuda")
