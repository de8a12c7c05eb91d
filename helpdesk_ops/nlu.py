"""`helpdeskctl nlu`: the nlp service's intent model kept current, and measured on other data.

    helpdeskctl nlu train [--if-stale] [--no-encoder]     build the intent model into the model cache
    helpdeskctl nlu bench --train F --test F [--max-accuracy-loss L] [--target-oos-recall R]
                          [--no-generic-oos] [--in-scope-only] [--refit-with-validation]
                          [--no-encoder]                  train on one file, measure on another

`bench` trains exactly the pipeline the service runs and prints, as its last line, one JSON object with
in_scope_accuracy, in_scope_accuracy_no_rejection (the best intent always taken: what the rejection costs
is the difference), oos_recall, oos_precision, macro_f1, train_seconds, p50_ms and p99_ms.
`--in-scope-only` trains on the in-scope rows of the training file alone and calibrates by k-fold: a
deployment with nothing but its intent examples (CLINC150's validation split is then not used).
(`python -m helpdesk_ops.nlu ...` is the same command line without the installed script.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from helpdesk.events import OUT_OF_SCOPE

app = typer.Typer(help="Train the intent model, or measure it on other data.", no_args_is_help=True)

_SERVICE_DEFAULT = "Default: the nlp service's training option."
NoEncoder = Annotated[bool, typer.Option("--no-encoder", help="TF-IDF features only.")]
IfStale = Annotated[bool, typer.Option("--if-stale", help="Do nothing when the model is current.")]
MaxAccuracyLoss = Annotated[
    float | None,
    typer.Option(
        "--max-accuracy-loss",
        help="Held-out in-scope accuracy the rejection may cost, a share (k-fold: counted 1.5 times). "
        "Default: the training pipeline's, chosen on CLINC150 (the helpdesk's own model takes "
        "HELPDESK_MAX_ACCURACY_LOSS).",
    ),
]
TargetOosRecall = Annotated[
    float | None,
    typer.Option(
        "--target-oos-recall",
        help="Stop rejecting once this share of the training file's own held-out oos examples is rejected "
        "(default: no target, the budget alone decides).",
    ),
]
NoGenericOos = Annotated[bool, typer.Option("--no-generic-oos", help="Without the generic out-of-scope set.")]
InScopeOnly = Annotated[
    bool,
    typer.Option(
        "--in-scope-only",
        help="Train on the in-scope rows of --train alone, calibrated by k-fold (no validation split).",
    ),
]


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
    max_accuracy_loss: MaxAccuracyLoss = None,
    target_oos_recall: TargetOosRecall = None,
    no_generic_oos: NoGenericOos = False,
    in_scope_only: InScopeOnly = False,
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
    if in_scope_only:
        train_set, validation = [e for e in train_set if e.label != OUT_OF_SCOPE], None
    test_train, _, test_split = load_splits(test)
    test_set = test_split if test.suffix.lower() == ".json" and test_split else test_train
    service = TrainingOptions()
    options = TrainingOptions(
        c=service.c if c is None else c,
        max_accuracy_loss=service.max_accuracy_loss if max_accuracy_loss is None else max_accuracy_loss,
        target_oos_recall=target_oos_recall,
        generic_oos=not no_generic_oos,
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
