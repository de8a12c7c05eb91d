"""The intent model: trained from the helpdesk's bilingual examples, it names the intent with confidence
and alternatives, and says "out of scope" when a message is not a helpdesk request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpdesk.events import OUT_OF_SCOPE
from services.nlp.pipeline.intents import (
    Calibration,
    Example,
    IntentClassifier,
    TrainingOptions,
    char_features,
    load_directory,
    load_splits,
    prepare,
)
from services.nlp.pipeline.training import FittedModel, train
from services.nlp.settings import NlpSettings

REQUIRED = {"greeting", "thanks", "goodbye", "human_agent"}


class TestExamplesFile:
    def test_about_twenty_intents_with_fifteen_examples_per_language(self) -> None:
        import yaml

        data = yaml.safe_load((NlpSettings().intents_dir / "helpdesk.yaml").read_text(encoding="utf-8"))
        intents = {k: v for k, v in data.items() if k != "oos"}
        assert intents.keys() >= REQUIRED
        assert len(intents) >= 20
        for name, by_language in intents.items():
            assert len(by_language["en"]) >= 15, name
            assert len(by_language["ja"]) >= 15, name

    def test_oos_label_becomes_out_of_scope(self) -> None:
        labels = {e.label for e in load_directory(NlpSettings().intents_dir)}
        assert OUT_OF_SCOPE in labels
        assert "oos" not in labels


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hello there", "greeting"),
        ("おはようございます、質問です", "greeting"),
        ("thank you so much", "thanks"),
        ("本当にありがとうございました", "thanks"),
        ("bye for now", "goodbye"),
        ("では、失礼します", "goodbye"),
        ("I want to speak to a human agent", "human_agent"),
        ("担当者と直接話したい", "human_agent"),
        ("I forgot my password again", "password_reset"),
        ("パスワードを忘れてしまいました", "password_reset"),
        ("the VPN won't connect from home", "vpn"),
        ("VPNに接続できません", "vpn"),
        ("I want to take annual leave next week", "leave_request"),
        ("来週有給を取りたい", "leave_request"),
        ("how do I submit my travel expenses", "expenses"),
        ("出張の交通費を精算したい", "expenses"),
    ],
)
def test_paraphrases_in_both_languages(classifier: IntentClassifier, text: str, intent: str) -> None:
    prediction = classifier.predict(text)
    assert not prediction.out_of_scope
    assert prediction.intent.name == intent
    assert 0.5 < prediction.intent.confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "what's the weather in Tokyo",
        "who won the world cup",
        "東京の天気を教えて",
        "美味しいラーメン屋を教えて",
    ],
)
def test_out_of_scope_in_both_languages(classifier: IntentClassifier, text: str) -> None:
    prediction = classifier.predict(text)
    assert prediction.out_of_scope
    assert prediction.intent.name == OUT_OF_SCOPE
    assert prediction.intent.alternatives, "the best guesses still travel for the dialogue service"
    assert all(a.name != OUT_OF_SCOPE for a in prediction.intent.alternatives)


def test_alternatives_are_other_intents_in_falling_confidence(classifier: IntentClassifier) -> None:
    intent = classifier.predict("my account is locked and I forgot my password").intent
    names = [a.name for a in intent.alternatives]
    assert len(names) == 3
    assert intent.name not in names
    confidences = [intent.confidence, *(a.confidence for a in intent.alternatives)]
    assert confidences == sorted(confidences, reverse=True)
    assert {intent.name, names[0]} == {"account_locked", "password_reset"}


def test_full_width_input_is_classified_like_ascii(classifier: IntentClassifier) -> None:
    assert classifier.predict("ＶＰＮ　ｉｓ　ｎｏｔ　ｃｏｎｎｅｃｔｉｎｇ").intent.name == "vpn"


def test_serving_scores_equal_scikit_learn_scores() -> None:
    examples = load_directory(NlpSettings().intents_dir)
    fitted = FittedModel(examples, c=1.0)
    serving = fitted.classifier(Calibration(1.0, 0.0, 0.0, "none", 0.0, None))
    texts = ["reset my password", "VPNにつながらない", "ｚｚｚｚ", "", "a  b\tc"]
    assert np.allclose(
        serving.score_many(texts), fitted.reference_scores([prepare(t) for t in texts]), atol=1e-5
    )


@pytest.mark.parametrize("text", ["reset my password", "a", "ab  cd", "パスワードをリセット", "x y z", ""])
def test_character_ngrams_match_scikit_learn(text: str) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    assert char_features(text) == reference(text)


def test_saved_model_predicts_the_same(classifier: IntentClassifier, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    classifier.save(path)
    loaded = IntentClassifier.load(path)
    for text in ["I forgot my password", "会議室を予約したい", "tell me a joke"]:
        assert loaded.predict(text) == classifier.predict(text)


@pytest.mark.parametrize("content", [b"garbage", b""])
def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "other.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not an intent model"):
        IntentClassifier.load(path)


def test_a_model_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    np.savez(path, meta=np.frombuffer(json.dumps({"format": 0}).encode(), dtype=np.uint8))
    with pytest.raises(ValueError, match="not an intent model"):
        IntentClassifier.load(path)


class TestThreshold:
    def test_chosen_on_held_out_data_to_reach_the_target_recall(self, classifier: IntentClassifier) -> None:
        calibration = classifier.calibration
        assert calibration.heldout == "k-fold"
        assert calibration.heldout_oos_recall is not None
        assert calibration.heldout_oos_recall >= NlpSettings().target_oos_recall

    def test_validation_split_is_used_when_given(self) -> None:
        train_set = [*toy("a"), Example("weather today", OUT_OF_SCOPE), Example("sports news", OUT_OF_SCOPE)]
        validation = [*toy("b"), Example("weather tomorrow", OUT_OF_SCOPE)]
        model = train(train_set, validation, TrainingOptions(target_oos_recall=1.0))
        assert model.calibration.heldout == "validation"
        assert model.calibration.heldout_oos_recall == 1.0

    def test_without_out_of_scope_examples_the_least_confident_are_rejected(self) -> None:
        model = train(toy("a") * 3)
        assert model.calibration.heldout_oos_recall is None
        assert model.calibration.threshold > 0

    def test_refit_with_validation_trains_on_both(self) -> None:
        model = train(toy("a"), toy("b"), TrainingOptions(refit_with_validation=True))
        assert sum(model.trained_on.values()) == len(toy("a")) + len(toy("b"))


def toy(variant: str) -> list[Example]:
    return [
        Example(f"reset my password {variant}", "password_reset"),
        Example(f"forgot password {variant}", "password_reset"),
        Example(f"パスワードを忘れた {variant}", "password_reset"),
        Example(f"vpn is down {variant}", "vpn"),
        Example(f"cannot connect to vpn {variant}", "vpn"),
        Example(f"VPNにつながらない {variant}", "vpn"),
    ]


class TestFileFormats:
    def test_csv_with_text_and_label(self, tmp_path: Path) -> None:
        path = tmp_path / "train.csv"
        path.write_text('text,label\n"hello, there",greeting\nweather,oos\n', encoding="utf-8")
        train, validation, test = load_splits(path)
        assert train == [Example("hello, there", "greeting"), Example("weather", OUT_OF_SCOPE)]
        assert validation is None
        assert test is None

    def test_csv_without_the_header_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "train.csv"
        path.write_text("sentence,intent\nhello,greeting\n", encoding="utf-8")
        with pytest.raises(ValueError, match="text,label"):
            load_splits(path)

    def test_clinc150_json_splits(self, tmp_path: Path) -> None:
        path = tmp_path / "data_full.json"
        path.write_text(
            json.dumps(
                {
                    "train": [["hi", "greeting"]],
                    "oos_train": [["weather", "oos"]],
                    "val": [["hello", "greeting"]],
                    "oos_val": [],
                    "test": [["hey", "greeting"]],
                    "oos_test": [["sports", "oos"]],
                }
            ),
            encoding="utf-8",
        )
        train, validation, test = load_splits(path)
        assert train == [Example("hi", "greeting"), Example("weather", OUT_OF_SCOPE)]
        assert validation == [Example("hello", "greeting")]
        assert test == [Example("hey", "greeting"), Example("sports", OUT_OF_SCOPE)]
