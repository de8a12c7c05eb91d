"""The intent model: trained from the helpdesk's bilingual examples, it names the intent with confidence
and alternatives, and says "out of scope" when a message is not a helpdesk request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpdesk.events import OUT_OF_SCOPE
from services.nlp.pipeline.intents import (
    GENERIC_OOS,
    Calibration,
    Example,
    HeldOut,
    IntentClassifier,
    TrainingOptions,
    char_features,
    load_directory,
    load_generic_oos,
    load_splits,
    prepare,
    softmax,
)
from services.nlp.pipeline.training import (
    KFOLD_OPTIMISM,
    FittedModel,
    HeldOutScores,
    calibrate,
    operating_point,
    train,
)
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
    serving = fitted.classifier(Calibration(1.0, 0.0, 0.0, HeldOut.NONE, 0.0, None))
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
    def test_the_most_recall_within_the_accuracy_budget(self, classifier: IntentClassifier) -> None:
        calibration = classifier.calibration
        assert calibration.heldout == "k-fold"
        assert calibration.max_accuracy_loss == pytest.approx(
            NlpSettings().max_accuracy_loss / KFOLD_OPTIMISM
        )
        assert calibration.heldout_reference_accuracy is not None
        loss = calibration.heldout_reference_accuracy - calibration.heldout_accuracy
        assert 0 <= loss <= calibration.max_accuracy_loss + 1e-9
        assert calibration.heldout_oos_recall is not None  # the helpdesk's own oos examples
        assert calibration.heldout_oos_recall > 0.5
        assert calibration.heldout_generic_oos_recall is not None
        assert calibration.heldout_generic_oos_recall > 0.5

    def test_validation_split_is_used_when_given(self) -> None:
        train_set = [*toy("a"), Example("weather today", OUT_OF_SCOPE), Example("sports news", OUT_OF_SCOPE)]
        validation = [*toy("b"), Example("weather tomorrow", OUT_OF_SCOPE)]
        options = TrainingOptions(max_accuracy_loss=1.0, target_oos_recall=1.0)
        model = train(train_set, validation, options, generic=[])
        assert model.calibration.heldout == "validation"
        assert model.calibration.heldout_oos_recall == 1.0

    def test_a_recall_target_stops_rejecting_before_the_budget_is_spent(self) -> None:
        train_set = [*toy("a"), *OUT_OF_SCOPE_TOY[:3]]
        validation = [*toy("b"), *OUT_OF_SCOPE_TOY[3:]]
        spend_all = train(train_set, validation, TrainingOptions(max_accuracy_loss=1.0), generic=[])
        assert spend_all.calibration.heldout_accuracy == 0.0  # everything in scope rejected too
        stopped = train(
            train_set, validation, TrainingOptions(max_accuracy_loss=1.0, target_oos_recall=0.5), generic=[]
        )
        assert stopped.calibration.threshold < spend_all.calibration.threshold
        assert stopped.calibration.heldout_oos_recall is not None
        assert stopped.calibration.heldout_oos_recall >= 0.5
        assert stopped.calibration.heldout_accuracy > 0

    def test_without_out_of_scope_examples_the_generic_set_teaches_the_class(self) -> None:
        model = train(toy("a") * 3)
        assert OUT_OF_SCOPE in model.classes
        assert model.calibration.generic_oos_examples == len(load_generic_oos())
        assert model.calibration.heldout_oos_recall is None
        assert model.calibration.heldout_generic_oos_recall is not None
        assert model.predict("who painted the mona lisa").out_of_scope
        assert model.predict("モナリザを描いたのは誰").out_of_scope

    def test_without_any_out_of_scope_data_the_budget_alone_sets_the_threshold(self) -> None:
        budget = 0.15
        model = train(toy("a") * 3, options=TrainingOptions(generic_oos=False, max_accuracy_loss=budget))
        assert OUT_OF_SCOPE not in model.classes
        assert model.calibration.generic_oos_examples == 0
        assert model.calibration.threshold > 0
        reference = model.calibration.heldout_reference_accuracy
        assert reference is not None
        assert reference - model.calibration.heldout_accuracy <= budget / KFOLD_OPTIMISM + 1e-9

    def test_the_offset_is_part_of_the_served_bias(self) -> None:
        fitted = FittedModel([*toy("a"), *OUT_OF_SCOPE_TOY], c=1.0)
        plain = fitted.classifier(Calibration(1.0, 0.0, 0.0, HeldOut.NONE, 0.0, None))
        shifted = fitted.classifier(Calibration(1.0, 0.0, 0.0, HeldOut.NONE, 0.0, None, oos_offset=0.5))
        column = plain.classes.index(OUT_OF_SCOPE)
        delta = plain.score_many(["weather", "vpn"]) - shifted.score_many(["weather", "vpn"])
        assert np.allclose(delta[:, column], 0.5)
        assert np.allclose(np.delete(delta, column, axis=1), 0.0)

    def test_an_own_example_wins_over_a_generic_one(self) -> None:
        own = [
            *toy("a"),
            Example("Tell me a joke", "smalltalk"),
            Example("tell me another joke", "smalltalk"),
        ]
        generic = [Example(t, OUT_OF_SCOPE) for t in ("tell me a joke", "who won the match", "is it sunny")]
        model = train(own, options=TrainingOptions(folds=2), generic=generic)
        assert model.calibration.generic_oos_examples == 2
        assert model.trained_on[OUT_OF_SCOPE] == 2

    def test_a_validation_example_is_never_trained_on_as_generic(self) -> None:
        validation = [*toy("b"), Example("Who won the match?", OUT_OF_SCOPE)]
        generic = [Example(t, OUT_OF_SCOPE) for t in ("who won the match?", "is it sunny", "sing a song")]
        model = train(toy("a"), validation, TrainingOptions(), generic=generic)
        assert model.calibration.generic_oos_examples == 2
        assert model.trained_on[OUT_OF_SCOPE] == 2

    def test_refit_with_validation_trains_on_both(self) -> None:
        model = train(toy("a"), toy("b"), TrainingOptions(refit_with_validation=True), generic=[])
        assert sum(model.trained_on.values()) == len(toy("a")) + len(toy("b"))


class TestOperatingPoint:
    """The rule on held-out scores made by hand: intent `a` right for every in-scope message, with a
    margin that grows row by row; out of scope is a third column."""

    MARGINS = np.linspace(0.1, 1.0, 10)

    def held_out(self, oos_scores: np.ndarray | None = None) -> HeldOutScores:
        rows = [[m, 0.0, -5.0 if oos_scores is None else 0.0] for m in self.MARGINS]
        labels = ["a"] * len(rows)
        if oos_scores is not None:
            rows = [[r[0], r[1], o] for r, o in zip(rows, oos_scores, strict=True)]
            rows += [[0.0, 0.0, 1.0], [0.5, 0.0, 0.0], [0.9, 0.0, 1.5]]
            labels += [OUT_OF_SCOPE] * 3
        return HeldOutScores.of(np.array(rows), labels, ["a", "b", OUT_OF_SCOPE])

    def test_the_threshold_is_the_highest_that_stays_within_the_budget(self) -> None:
        held = self.held_out()
        point = operating_point(held, temperature=1.0, offset=0.0, budget=0.2)
        assert point is not None
        assert point.reference_accuracy == 1.0
        assert point.accuracy == pytest.approx(0.8)
        probs = softmax(held.scores, 1.0)[:, 0]
        assert point.threshold == pytest.approx(probs[2])  # the two least confident right answers go

    def test_without_budget_no_right_answer_is_rejected(self) -> None:
        point = operating_point(self.held_out(), temperature=1.0, offset=0.0, budget=0.0)
        assert point is not None
        assert point.accuracy == point.reference_accuracy == 1.0

    def test_an_offset_keeps_an_overeager_out_of_scope_class_within_the_budget(self) -> None:
        overeager = np.where(self.MARGINS < 0.45, 0.6, -1.0)  # the class wins over four right answers
        held = self.held_out(overeager)
        assert operating_point(held, temperature=1.0, offset=0.0, budget=0.2) is None
        point = operating_point(held, temperature=1.0, offset=0.5, budget=0.2)
        assert point is not None
        assert point.accuracy >= point.reference_accuracy - 0.2
        assert point.own_recall is not None
        assert point.own_recall > 0

    def test_the_offset_kept_is_the_one_that_rejects_the_most(self) -> None:
        held = self.held_out(np.where(self.MARGINS < 0.45, 0.6, -1.0))
        calibration = calibrate(held, TrainingOptions(max_accuracy_loss=0.2), HeldOut.VALIDATION)
        class_off = operating_point(held, temperature=calibration.temperature, offset=1000.0, budget=0.2)
        assert class_off is not None
        assert 0 < calibration.oos_offset < 1000.0
        assert calibration.heldout_oos_recall is not None
        assert class_off.own_recall is not None
        assert calibration.heldout_oos_recall > class_off.own_recall
        assert calibration.heldout_accuracy >= 0.8


class TestGenericSet:
    def test_english_and_japanese_with_attribution(self) -> None:
        import yaml

        text = GENERIC_OOS.read_text(encoding="utf-8")
        assert "Creative Commons Attribution 3.0" in text
        assert "Larson" in text
        assert "oos_test" in text  # the header says it is left out
        groups = yaml.safe_load(text)["oos"]
        assert set(groups) == {"clinc150_en", "en", "ja"}
        assert len(groups["clinc150_en"]) == 200
        assert len(groups["ja"]) >= 100

    def test_every_example_is_out_of_scope(self) -> None:
        examples = load_generic_oos()
        assert examples
        assert {e.label for e in examples} == {OUT_OF_SCOPE}

    def test_none_repeats_a_helpdesk_intent_example(self) -> None:
        own = {prepare(e.text) for e in load_directory(NlpSettings().intents_dir) if e.label != OUT_OF_SCOPE}
        assert not [e.text for e in load_generic_oos() if prepare(e.text) in own]


OUT_OF_SCOPE_TOY = [
    Example("weather today", OUT_OF_SCOPE),
    Example("sports news", OUT_OF_SCOPE),
    Example("明日の天気", OUT_OF_SCOPE),
    Example("weather tomorrow", OUT_OF_SCOPE),
    Example("football scores", OUT_OF_SCOPE),
    Example("野球の結果", OUT_OF_SCOPE),
]


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
