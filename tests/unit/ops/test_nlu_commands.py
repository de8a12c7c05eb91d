"""`helpdeskctl nlu train`: setup's command keeps the intent model cache current, once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk_ops import nlu

EXAMPLES = """
vpn:
  en: [vpn is down, cannot connect to vpn, vpn error]
  ja: [VPNにつながらない, VPNが遅い, VPNのエラー]
printer:
  en: [printer is jammed, cannot print, printer offline]
  ja: [印刷できない, プリンターが動かない, 紙詰まり]
oos:
  en: [weather today, tell me a joke, football scores]
  ja: [明日の天気, 冗談を言って, 野球の結果]
"""


def test_train_if_stale_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    intents = tmp_path / "intents"
    intents.mkdir()
    (intents / "helpdesk.yaml").write_text(EXAMPLES, encoding="utf-8")
    monkeypatch.setenv("HELPDESK_INTENTS_DIR", str(intents))
    monkeypatch.setenv("HELPDESK_MODEL_DIR", str(tmp_path / "models"))
    nlu.main(["train", "--if-stale", "--no-encoder"])
    first = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert first["trained"] is True
    nlu.main(["train", "--if-stale", "--no-encoder"])
    again = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert again["trained"] is False
    assert again["model"] == first["model"]
    assert [p.name for p in (tmp_path / "models").iterdir()] == [Path(first["model"]).name]
