"""`helpdeskctl nlu`: the nlp service's intent model kept current, and measured on other data.

    helpdeskctl nlu train [--if-stale] [--no-encoder]     build the intent model into the model cache
    helpdeskctl nlu bench --train F --test F [--target-oos-recall R] [--refit-with-validation]
                          [--no-encoder]                  train on one file, measure on another

`bench` trains exactly the pipeline the service runs and prints, as its last line, one JSON object with
in_scope_accuracy, oos_recall, oos_precision, macro_f1, train_seconds, p50_ms and p99_ms.
(`python -m helpdesk_ops.nlu ...` is the same command line without the installed script.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Train the intent model, or measure it on other data.", no_args_is_help=True)

_SERVICE_DEFAULT = "Default: the nlp service's training option."
NoEncoder = Annotated[bool, typer.Option("--no-encoder", help="TF-IDF features only.")]
IfStale = Annotated[bool, typer.Option("--if-stale", help="Do nothing when the model is current.")]


@app.command()
def train(
    if_stale: IfStale = False,
    no_encoder: NoEncoder = False,
) -> None:
    """Build the intent model into the model cache (setup runs this)."""
    from services.nlp.public import NlpSettings, refresh_intent_model

    refreshed = refresh_intent_model(NlpSettings(), if_stale=if_stale, encoder=not no_encoder)
    print(json.dumps({"model": str(refreshed.path), "trained": refreshed.trained, **refreshed.summary}))


@app.command()
def bench(
    train: Annotated[Path, typer.Option("--train", help="CSV (text,label) or CLINC150 JSON.")],
    test: Annotated[Path, typer.Option("--test", help="CSV (text,label) or CLINC150 JSON (its test split).")],
    target_oos_recall: Annotated[
        float | None, typer.Option("--target-oos-recall", help=_SERVICE_DEFAULT)
    ] = None,
    c: Annotated[float | None, typer.Option("--c", help=f"SVM regularisation. {_SERVICE_DEFAULT}")] = None,
    refit_with_validation: Annotated[
        bool,
        typer.Option(
            "--refit-with-validation",
            help="After choosing the threshold, train the final model on training + validation examples.",
        ),
    ] = False,
    no_encoder: NoEncoder = False,
    encoder_weight: Annotated[float | None, typer.Option("--encoder-weight", help=_SERVICE_DEFAULT)] = None,
) -> None:
    """Train on one file, measure on another (`make nlu-bench`)."""
    from helpdesk_ops import intent_benchmark
    from services.nlp.public import NlpSettings, TrainingOptions, load_splits, train_intent_model

    train_set, validation, _ = load_splits(train)
    test_train, _, test_split = load_splits(test)
    test_set = test_split if test.suffix.lower() == ".json" and test_split else test_train
    service = TrainingOptions()
    options = TrainingOptions(
        c=service.c if c is None else c,
        target_oos_recall=service.target_oos_recall if target_oos_recall is None else target_oos_recall,
        refit_with_validation=refit_with_validation,
        encoder_weight=service.encoder_weight if encoder_weight is None else encoder_weight,
    )
    print(
        f"training on {len(train_set)} examples ({train}), held out: "
        f"{'validation split' if validation else 'k-fold'}",
        file=sys.stderr,
    )
    encoder_dir = None if no_encoder else NlpSettings().encoder_dir
    classifier = train_intent_model(train_set, validation, options, encoder_dir)
    print(f"testing on {len(test_set)} examples ({test})", file=sys.stderr)
    result = intent_benchmark.run(classifier, test_set)
    for row in intent_benchmark.tradeoff(classifier, test_set):
        print(json.dumps({"tradeoff": row}))
    print(json.dumps(result))


def main(argv: list[str] | None = None) -> None:
    """Run a command line (`argv`, or the process's); raises SystemExit only for a usage error."""
    app(args=argv, prog_name="helpdeskctl nlu", standalone_mode=argv is None)


if __name__ == "__main__":
    main()
