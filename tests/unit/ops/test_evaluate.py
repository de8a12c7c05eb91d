"""`make eval`: the runner answers the golden set with the services' code and gates on thresholds."""

from __future__ import annotations

from pathlib import Path

from helpdesk_ops.evaluate import main


def test_the_runner_writes_reports_and_gates_on_thresholds(tmp_path: Path) -> None:
    lenient = ["--min-accuracy", "0", "--min-faq-accuracy", "0", "--min-groundedness", "0"]
    assert main(["--variants", "a,b", "--out", str(tmp_path), *lenient]) == 0
    rows = (tmp_path / "results.csv").read_text(encoding="utf-8").splitlines()
    golden = (
        (Path(__file__).resolve().parents[3] / "bench" / "data" / "golden.jsonl").read_text().splitlines()
    )
    assert len(rows) == 1 + 2 * len([line for line in golden if line.strip()])
    assert (tmp_path / "report.html").exists()
    assert main(["--out", str(tmp_path), "--min-accuracy", "1.01"]) == 1
    assert main(["--dataset", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)]) == 2
