"""`make eval`: the runner answers the golden set with the services' code and gates on thresholds."""

from __future__ import annotations

import csv
from pathlib import Path

from helpdesk_ops.evaluate import main


def test_the_runner_writes_reports_and_gates_on_thresholds(tmp_path: Path) -> None:
    lenient = ["--min-accuracy", "0", "--min-faq-accuracy", "0", "--min-groundedness", "0"]
    assert main(["--variants", "a,b", "--out", str(tmp_path), *lenient]) == 0
    with (tmp_path / "results.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    golden = (
        (Path(__file__).resolve().parents[3] / "bench" / "data" / "golden.jsonl").read_text().splitlines()
    )
    assert len(rows) == 2 * len([line for line in golden if line.strip()])
    assert {row["variant"] for row in rows} == {"a", "b"}
    assert (tmp_path / "report.html").exists()
    assert main(["--out", str(tmp_path), "--min-accuracy", "1.01"]) == 1
    assert main(["--dataset", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)]) == 2
