"""A small intent example file (two intents and out-of-scope examples in English and Japanese), for the
tests that train or fingerprint the intent model from a folder as the service and `helpdesk-nlu` do."""

from __future__ import annotations

from pathlib import Path

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


def intents_folder(parent: Path) -> Path:
    """`parent`/intents holding EXAMPLES as helpdesk.yaml."""
    directory = parent / "intents"
    directory.mkdir()
    (directory / "helpdesk.yaml").write_text(EXAMPLES, encoding="utf-8")
    return directory
