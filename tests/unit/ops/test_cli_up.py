"""`helpdeskctl up --secrets`: a bad file is refused before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpdesk_ops.cli import app


@pytest.mark.parametrize(
    "content",
    ['{"openai-api-key": 42}', '["sk-not-an-object"]', "not json"],
)
def test_a_secrets_file_that_is_not_an_object_of_strings_is_refused(tmp_path: Path, content: str) -> None:
    secrets = tmp_path / "secrets.json"
    secrets.write_text(content)
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, ["up", "--secrets", str(secrets), "--run-dir", str(run_dir)])
    assert result.exit_code == 2
    assert "--secrets" in result.output
    assert not run_dir.exists()
