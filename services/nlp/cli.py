"""Operator commands of the nlp service.

    python -m services.nlp.cli train [--if-stale] [--no-encoder]   build the intent model into the cache
    python -m services.nlp.cli nlu-bench --train F --test F [--target-oos-recall R] [--refit-with-validation]
                                         [--no-encoder]

`nlu-bench` trains exactly the pipeline the service runs and prints, as its last line, one JSON object
with in_scope_accuracy, oos_recall, oos_precision, macro_f1, train_seconds, p50_ms and p99_ms.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services.nlp import benchmark, models
from services.nlp.pipeline.intents import TrainingOptions, describe, load_splits
from services.nlp.settings import NlpSettings


def train(if_stale: bool = False, settings: NlpSettings | None = None, encoder: bool = True) -> Path:
    """Train the helpdesk's intent model unless (with `if_stale`) the current one is already cached.
    With `encoder`, the static sentence encoder is distilled first when it is not cached yet."""
    settings = settings or NlpSettings()
    encoder_dir = settings.encoder_dir if encoder else None
    if encoder_dir is not None:
        models.build_encoder(encoder_dir)
    path = models.model_path(settings.intents_dir, settings.model_dir, settings.training, encoder_dir)
    if if_stale and path.exists():
        print(json.dumps({"model": str(path), "trained": False}))
        return path
    classifier, path = models.train(settings.intents_dir, settings.model_dir, settings.training, encoder_dir)
    for stale in settings.model_dir.glob("intents-*"):
        if stale != path:
            stale.unlink(missing_ok=True)
    print(json.dumps({"model": str(path), "trained": True, **describe(classifier)}))
    return path


def nlu_bench(args: argparse.Namespace) -> dict[str, object]:
    train_set, validation, _ = load_splits(Path(args.train))
    test_path = Path(args.test)
    test_train, _, test_split = load_splits(test_path)
    test = test_split if test_path.suffix.lower() == ".json" and test_split else test_train
    options = TrainingOptions(
        c=args.c,
        target_oos_recall=args.target_oos_recall,
        refit_with_validation=args.refit_with_validation,
        encoder_weight=args.encoder_weight,
    )
    print(
        f"training on {len(train_set)} examples ({args.train}), held out: "
        f"{'validation split' if validation else 'k-fold'}",
        file=sys.stderr,
    )
    from services.nlp.pipeline import training

    settings = NlpSettings()
    encoder = (
        None
        if args.no_encoder or settings.encoder_dir is None
        else models.build_encoder(settings.encoder_dir)
    )
    classifier = training.train(train_set, validation, options, encoder)
    print(f"testing on {len(test)} examples ({args.test})", file=sys.stderr)
    result = benchmark.run(classifier, test)
    for row in benchmark.tradeoff(classifier, test):
        print(json.dumps({"tradeoff": row}))
    print(json.dumps(result))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.nlp.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train_cmd = commands.add_parser("train", help="build the intent model into the model cache")
    train_cmd.add_argument("--if-stale", action="store_true", help="do nothing when the model is current")
    train_cmd.add_argument("--no-encoder", action="store_true", help="TF-IDF features only")
    bench = commands.add_parser("nlu-bench", help="train on one file, measure on another")
    bench.add_argument("--train", required=True, help="CSV (text,label) or CLINC150 JSON")
    bench.add_argument("--test", required=True, help="CSV (text,label) or CLINC150 JSON (its test split)")
    bench.add_argument("--target-oos-recall", type=float, default=TrainingOptions().target_oos_recall)
    bench.add_argument("--c", type=float, default=TrainingOptions().c, help="SVM regularisation")
    bench.add_argument(
        "--refit-with-validation",
        action="store_true",
        help="after choosing the threshold, train the final model on training + validation examples",
    )
    bench.add_argument("--no-encoder", action="store_true", help="TF-IDF features only")
    bench.add_argument("--encoder-weight", type=float, default=TrainingOptions().encoder_weight)
    args = parser.parse_args(argv)
    if args.command == "train":
        train(if_stale=args.if_stale, encoder=not args.no_encoder)
    else:
        nlu_bench(args)


if __name__ == "__main__":
    main()
