"""The azd hooks and the deployment scripts, checked where no Azure subscription is reachable: they parse,
pass ShellCheck, are hooked into azure.yaml as azd's schema allows, and the postprovision hook does its
job against a stand-in `az` that answers with the Azure CLI's own JSON (tests/support/fake_az.py).
scripts/smoke-azure.sh runs against the real local stack in tests/integration/test_smoke_azure.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpdesk.auth import API_KEYS_SECRET, OPERATOR_KEYS_SECRET, WEB_SESSION_SECRET
from helpdesk.topics import AppId
from tests.support.deployfiles import ROOT, allowed_secrets, load_yaml

HOOK = ROOT / "scripts" / "azd-hooks" / "postprovision.sh"
SCRIPTS = [
    ROOT / "scripts" / "smoke-azure.sh",
    HOOK,
    ROOT / "scripts" / "setup.sh",
    ROOT / "scripts" / "build-daprd.sh",
]
FAKE = ROOT / "tests" / "support" / "fake_az.py"

# From azd's schema for azure.yaml (schemas/v1.0/azure.yaml.json in Azure/azure-dev): the command-level
# hook names and the properties a hook may have.
AZD_COMMAND_HOOKS = {
    f"{when}{command}"
    for when in ("pre", "post")
    for command in (
        "provision",
        "infracreate",
        "infradelete",
        "down",
        "up",
        "package",
        "publish",
        "deploy",
        "restore",
    )
}
AZD_HOOK_PROPERTIES = {
    "shell",
    "kind",
    "dir",
    "run",
    "continueOnError",
    "interactive",
    "windows",
    "posix",
    "secrets",
    "config",
}

NOT_SEEDED = {"azure-openai-api-key": "Azure OpenAI is called with the managed identity, never a key"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_deployment_script_parses_and_passes_shellcheck(script: Path) -> None:
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True, check=False).returncode == 0
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "ShellCheck is missing: run `make setup-test` (scripts/setup.sh installs it)"
    result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_azure_yaml_runs_the_hooks_as_azd_expects_them() -> None:
    hooks = load_yaml(ROOT / "azure.yaml")["hooks"]
    assert set(hooks) == {"postprovision", "postdeploy"}
    assert set(hooks) <= AZD_COMMAND_HOOKS
    for name, hook in hooks.items():
        assert set(hook) <= AZD_HOOK_PROPERTIES, name
        assert hook["shell"] in ("sh", "pwsh")
        script = ROOT / hook["run"]
        assert script.is_file(), name
        assert script.stat().st_mode & stat.S_IXUSR, (
            f"{hook['run']} must be executable (azd runs it directly)"
        )
        assert script.read_text().startswith("#!/usr/bin/env bash\n")
    assert hooks["postdeploy"]["run"] == "scripts/smoke-azure.sh"
    assert hooks["postprovision"]["interactive"] is True, "it may ask for the optional secrets"


def test_the_hook_seeds_every_secret_a_sidecar_may_read_or_says_why_not() -> None:
    secrets = {name for app in AppId for name in allowed_secrets(app.value)}
    hook = HOOK.read_text()
    for name in sorted(secrets - set(NOT_SEEDED)):
        assert name in hook, f"postprovision.sh does not seed {name}"
    guide = (ROOT / "docs" / "deploy.md").read_text()
    assert "azure-openai-api-key" in guide


# ---- the postprovision hook against a stand-in Azure CLI ---------------------------------------------


def fake_cli(directory: Path) -> Path:
    """A bin directory whose `az` and `azd` are the stand-in."""
    directory.mkdir()
    for name, extra in (("az", ""), ("azd", " --azd")):
        shim = directory / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}"{extra} "$@"\n')
        shim.chmod(0o755)
    return directory


def run_hook(
    tmp_path: Path, state: dict[str, Any], **env: str
) -> tuple[subprocess.CompletedProcess[str], dict]:
    state_file = tmp_path / "az-state.json"
    if not state_file.exists():
        state_file.write_text(json.dumps(state))
    bin_dir = tmp_path / "bin"
    if not bin_dir.exists():
        fake_cli(bin_dir)
    environment = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "FAKE_AZ_STATE": str(state_file),
        "AZURE_KEY_VAULT_NAME": "kv-test",
        "AZURE_APP_CONFIGURATION_ENDPOINT": "https://appcs-test.azconfig.io",
        "HELPDESK_FLAGS_SENTINEL_KEY": "helpdesk.sentinel",
        "HELPDESK_HOOK_RETRY_SECONDS": "0",
        **env,
    }
    result = subprocess.run(
        [str(HOOK)], capture_output=True, text=True, env=environment, stdin=subprocess.DEVNULL, timeout=120
    )
    return result, json.loads(state_file.read_text())


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def secret_sets(state: dict[str, Any]) -> list[str]:
    return [
        call[call.index("--name") + 1]
        for call in state["calls"]
        if call[1:4] == ["keyvault", "secret", "set"]
    ]


EMPTY = {"appconfig_endpoint": "https://appcs-test.azconfig.io", "secrets": {}, "appconfig": {}}


def test_on_an_empty_vault_the_hook_seeds_keys_that_sign_in_and_keeps_them_for_azd(tmp_path: Path) -> None:
    result, state = run_hook(tmp_path, EMPTY)

    assert result.returncode == 0, result.stderr
    secrets, kept = state["secrets"], state["azd_env"]
    api_key, operator_key = kept["HELPDESK_API_KEY"], kept["HELPDESK_OPERATOR_KEY"]
    assert api_key.startswith("hd_")
    assert operator_key.startswith("hdop_")
    assert json.loads(secrets[API_KEYS_SECRET]) == {
        digest(api_key): {"user_id": "first-client", "roles": ["user"]},
        digest(operator_key): {"user_id": "first-operator", "roles": ["user", "operator"]},
    }
    assert json.loads(secrets[OPERATOR_KEYS_SECRET]) == {
        digest(operator_key): {"user_id": "first-operator", "roles": ["operator"]}
    }
    assert len(secrets[WEB_SESSION_SECRET]) >= 32
    assert api_key not in json.dumps(secrets), "the vault keeps digests only"
    assert api_key not in result.stdout + result.stderr, "keys are not printed"
    assert set(secrets) == {API_KEYS_SECRET, OPERATOR_KEYS_SECRET, WEB_SESSION_SECRET}, (
        "optional ones skipped"
    )
    assert "helpdesk.sentinel" in state["appconfig"]


def test_run_again_the_hook_overwrites_nothing(tmp_path: Path) -> None:
    first, state = run_hook(tmp_path, EMPTY)
    assert first.returncode == 0, first.stderr
    sentinel = state["appconfig"]["helpdesk.sentinel"]

    again, state = run_hook(tmp_path, EMPTY)

    assert again.returncode == 0, again.stderr
    assert secret_sets(state) == [API_KEYS_SECRET, OPERATOR_KEYS_SECRET, WEB_SESSION_SECRET], "set once only"
    assert state["appconfig"]["helpdesk.sentinel"] == sentinel
    assert len([c for c in state["calls"] if c[0] == "azd"]) == 2, "the generated keys were kept once"


def test_keys_given_in_the_azd_environment_are_registered_and_optional_secrets_written(
    tmp_path: Path,
) -> None:
    result, state = run_hook(
        tmp_path,
        EMPTY,
        HELPDESK_API_KEY="hd_given-user-key",
        HELPDESK_OPERATOR_KEY="hdop_given-operator-key",
        HELPDESK_OPENAI_API_KEY="sk-test",
        HELPDESK_TEAMS_APP_PASSWORD="teams-secret",
    )

    assert result.returncode == 0, result.stderr
    assert digest("hd_given-user-key") in json.loads(state["secrets"][API_KEYS_SECRET])
    assert state["secrets"]["openai-api-key"] == "sk-test"
    assert state["secrets"]["teams-app-password"] == "teams-secret"
    assert "azd_env" not in state, "given keys are already in the azd environment"


def test_with_azure_openai_no_openai_key_is_written(tmp_path: Path) -> None:
    result, state = run_hook(
        tmp_path, EMPTY, HELPDESK_OPENAI_API_KEY="sk-test", AZURE_OPENAI_ENDPOINT="https://oai.example"
    )

    assert result.returncode == 0, result.stderr
    assert "openai-api-key" not in state["secrets"]


def test_the_hook_waits_for_a_role_assignment_that_has_not_applied_yet(tmp_path: Path) -> None:
    result, state = run_hook(tmp_path, {**EMPTY, "refuse": 3})

    assert result.returncode == 0, result.stderr
    assert "retrying while the role assignment applies" in result.stderr
    assert set(state["secrets"]) >= {API_KEYS_SECRET, OPERATOR_KEYS_SECRET, WEB_SESSION_SECRET}


def test_the_hook_gives_up_when_access_never_comes(tmp_path: Path) -> None:
    result, state = run_hook(tmp_path, {**EMPTY, "refuse": 1000}, HELPDESK_HOOK_WAIT_SECONDS="1")

    assert result.returncode != 0
    assert "Forbidden" in result.stderr
    assert state["secrets"] == {}
