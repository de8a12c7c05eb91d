"""The static sentence encoder: BERT WordPiece, table look-up embeddings, distillation, and the intent
model with the embedding block (a small random encoder stands in for the distilled MiniLM)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from helpdesk.events import Language
from services.nlp import intent_model_store
from services.nlp.pipeline.encoder import StaticEncoder, basic_words, distil_arrays, wordpiece
from services.nlp.pipeline.intents import Example, IntentClassifier, TrainingOptions, prepare
from services.nlp.pipeline.training import FittedModel, train

VOCABULARY = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "!", "reset", "my", "pass", "##word",
    "vpn", "is", "down", "cafe", "the", "weather", "today", "forgot", "cannot", "connect", "to", "東",
]  # fmt: skip


def small_encoder(dimensions: int = 8) -> StaticEncoder:
    rng = np.random.default_rng(0)
    table = rng.normal(size=(len(VOCABULARY), dimensions)).astype(np.float16)
    return StaticEncoder({t: i for i, t in enumerate(VOCABULARY)}, table, "test")


class TestWordPiece:
    def test_basic_words_lower_case_strip_accents_and_split_punctuation(self) -> None:
        assert basic_words("Café, VPN-down!") == ["cafe", ",", "vpn", "-", "down", "!"]

    def test_cjk_characters_are_words_of_their_own(self) -> None:
        assert basic_words("東京tower") == ["東", "京", "tower"]

    def test_longest_match_first_with_continuations(self) -> None:
        index = {t: i for i, t in enumerate(VOCABULARY)}
        ids = wordpiece("Unaffable password!", index, index["[UNK]"])
        assert [VOCABULARY[i] for i in ids] == ["un", "##aff", "##able", "pass", "##word", "!"]

    def test_a_word_that_cannot_be_split_is_unknown(self) -> None:
        index = {t: i for i, t in enumerate(VOCABULARY)}
        assert wordpiece("reset xyz", index, index["[UNK]"]) == [index["reset"], index["[UNK]"]]


class TestStaticEncoder:
    def test_embedding_is_the_unit_mean_of_token_vectors(self) -> None:
        encoder = small_encoder()
        vector = encoder.embed("vpn down", Language.EN)
        expected = encoder.table[[12, 14]].astype(np.float64).mean(axis=0)
        assert np.allclose(vector, expected / np.linalg.norm(expected))

    def test_japanese_and_unknown_text_get_zeros(self) -> None:
        encoder = small_encoder()
        assert not encoder.embed("東", Language.JA).any()
        assert not encoder.embed("zzz qqq", Language.EN).any()

    def test_save_and_load(self, tmp_path: Path) -> None:
        encoder = small_encoder()
        encoder.save(tmp_path / "encoder.npz")
        loaded = StaticEncoder.load(tmp_path / "encoder.npz")
        assert loaded.vocabulary == encoder.vocabulary
        assert np.array_equal(loaded.table, encoder.table)

    def test_a_file_that_is_not_an_encoder_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "bad.npz").write_bytes(b"nope")
        with pytest.raises(ValueError, match="not a static encoder"):
            StaticEncoder.load(tmp_path / "bad.npz")


def test_distillation_gives_one_reduced_vector_per_token() -> None:
    hidden, layers, vocabulary = 8, 2, VOCABULARY
    rng = np.random.default_rng(1)

    def dense(name: str, rows: int, cols: int) -> dict[str, np.ndarray]:
        return {f"{name}.weight": rng.normal(size=(rows, cols)), f"{name}.bias": rng.normal(size=rows)}

    def norm(name: str) -> dict[str, np.ndarray]:
        return {f"{name}.weight": np.ones(hidden), f"{name}.bias": np.zeros(hidden)}

    weights: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": rng.normal(size=(len(vocabulary), hidden)),
        "embeddings.position_embeddings.weight": rng.normal(size=(16, hidden)),
        "embeddings.token_type_embeddings.weight": rng.normal(size=(2, hidden)),
        **norm("embeddings.LayerNorm"),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}"
        for part in ("query", "key", "value"):
            weights |= dense(f"{p}.attention.self.{part}", hidden, hidden)
        weights |= dense(f"{p}.attention.output.dense", hidden, hidden) | norm(
            f"{p}.attention.output.LayerNorm"
        )
        weights |= dense(f"{p}.intermediate.dense", 4 * hidden, hidden) | dense(
            f"{p}.output.dense", hidden, 4 * hidden
        )
        weights |= norm(f"{p}.output.LayerNorm")
    config = {"num_hidden_layers": layers, "num_attention_heads": 2, "hidden_size": hidden}
    table = distil_arrays({f"bert.{k}": v for k, v in weights.items()}, config, vocabulary, dimensions=4)
    assert table.shape == (len(vocabulary), 4)
    assert table.dtype == np.float16
    assert np.isfinite(table.astype(np.float32)).all()
    assert np.array_equal(table, distil_arrays(weights, config, vocabulary, dimensions=4))


EXAMPLES = [
    *(
        Example(t, "password_reset")
        for t in ("reset my password", "forgot my password", "パスワードを忘れた")
    ),
    *(Example(t, "vpn") for t in ("vpn is down", "cannot connect to vpn", "VPNにつながらない")),
    *(Example(t, "out_of_scope") for t in ("the weather today", "cafe", "天気")),
]


def test_serving_scores_with_the_embedding_block_equal_scikit_learn_scores() -> None:
    fitted = FittedModel(EXAMPLES, c=1.0, encoder=small_encoder(), encoder_weight=2.0)
    from services.nlp.pipeline.intents import Calibration

    serving = fitted.classifier(Calibration(1.0, 0.0, 0.0, "none", 0.0, None))
    texts = ["reset my password", "vpn down", "東京", "unaffable"]
    assert np.allclose(
        serving.score_many(texts), fitted.reference_scores([prepare(t) for t in texts]), atol=1e-4
    )


def test_model_with_encoder_survives_save_and_load(tmp_path: Path) -> None:
    model = train(EXAMPLES, options=TrainingOptions(folds=3), encoder=small_encoder())
    assert model.encoder is not None
    model.save(tmp_path / "model.npz")
    loaded = IntentClassifier.load(tmp_path / "model.npz")
    assert loaded.encoder is not None
    assert loaded.encoder_weight == 2.0
    for text in ["forgot password", "vpn is down", "weather"]:
        assert loaded.predict(text) == model.predict(text)


def test_fingerprint_changes_when_the_encoder_appears(tmp_path: Path) -> None:
    intents = tmp_path / "intents"
    intents.mkdir()
    (intents / "x.yaml").write_text("vpn:\n  en: [vpn down]\noos:\n  en: [weather]\n", encoding="utf-8")
    encoders = tmp_path / "encoders"
    without = intent_model_store.fingerprint(intents, TrainingOptions(), encoders)
    small_encoder().save(intent_model_store.encoder_path(encoders))
    assert intent_model_store.fingerprint(intents, TrainingOptions(), encoders) != without
    assert intent_model_store.cached_encoder(encoders) is not None


def test_the_service_trains_with_the_cached_encoder_at_start_up(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from helpdesk.memory_ports import memory_runtime
    from services.nlp.app import create_app
    from services.nlp.settings import NlpSettings

    intents = tmp_path / "intents"
    intents.mkdir()
    (intents / "x.yaml").write_text(
        "vpn:\n  en: [vpn is down, cannot connect to vpn, vpn error]\n"
        "password_reset:\n  en: [reset my password, forgot my password, new password]\n"
        "oos:\n  en: [the weather today, cafe, football]\n",
        encoding="utf-8",
    )
    settings = NlpSettings(
        intents_dir=intents, model_dir=tmp_path / "models", encoder_dir=tmp_path / "encoders"
    )
    small_encoder().save(intent_model_store.encoder_path(settings.encoder_dir))  # type: ignore[arg-type]
    with TestClient(create_app(settings, memory_runtime("nlp"))):
        pass
    (model_file,) = (tmp_path / "models").iterdir()
    assert model_file == intent_model_store.model_path(
        intents, settings.model_dir, settings.training, settings.encoder_dir
    )
    assert IntentClassifier.load(model_file).encoder is not None


def test_ascii_text_is_split_as_by_the_general_path() -> None:
    """ASCII text takes a shortcut; a trailing non-ASCII word sends the same text the general way."""
    rng = random.Random(5)
    alphabet = [chr(code) for code in range(128)]
    samples = ["Can't log in -- VPN (error 0x80) at 9:30am?!", "tab\there\x0bvertical\x7fdel\r\nnext", ""]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(2000)]
    for text in samples:
        assert basic_words(text) == basic_words(f"{text} é")[:-1], repr(text)
