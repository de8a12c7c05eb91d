"""The Teams app package template: valid JSON, the bot wired to a placeholder app id, icons of the sizes
Teams requires, a Japanese localisation, and every placeholder explained in docs/teams.md."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "appPackage"
PLACEHOLDER = re.compile(r"\$\{\{([A-Z_]+)\}\}")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_manifest_names_the_bot_and_its_icons() -> None:
    manifest = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))
    [bot] = manifest["bots"]
    assert bot["botId"] == "${{BOT_ID}}"
    assert png_size(PACKAGE / manifest["icons"]["color"]) == (192, 192)
    assert png_size(PACKAGE / manifest["icons"]["outline"]) == (32, 32)
    assert "${{GATEWAY_DOMAIN}}" in manifest["validDomains"]
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000


def test_the_japanese_localisation_covers_the_names() -> None:
    manifest = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))
    [language] = manifest["localizationInfo"]["additionalLanguages"]
    localised = json.loads((PACKAGE / language["file"]).read_text(encoding="utf-8"))
    assert {"name.short", "name.full", "description.short", "description.full"} <= set(localised)


def test_every_placeholder_is_explained_in_the_docs() -> None:
    placeholders = set(PLACEHOLDER.findall((PACKAGE / "manifest.json").read_text(encoding="utf-8")))
    docs = (ROOT / "docs" / "teams.md").read_text(encoding="utf-8")
    assert placeholders
    assert {p for p in placeholders if f"${{{{{p}}}}}" not in docs} == set()
