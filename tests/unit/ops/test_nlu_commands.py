"""`helpdeskctl nlu train`: setup's command keeps the intent model cache current, once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk_ops import nlu
from tests.support.intent_examples import intents_folder


def test_train_if_stale_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HELPDESK_INTENTS_DIR", str(intents_folder(tmp_path)))
    monkeypatch.setenv("HELPDESK_MODEL_DIR", str(tmp_path / "models"))
    nlu.main(["train", "--if-stale", "--no-encoder"])
    first = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert first["trained"] is True
    nlu.main(["train", "--if-stale", "--no-encoder"])
    again = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert again["trained"] is False
    assert again["model"] == first["model"]
    assert [p.name for p in (tmp_path / "models").iterdir()] == [Path(first["model"]).name]
