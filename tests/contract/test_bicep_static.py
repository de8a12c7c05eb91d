"""Static validation of the Azure deployment: every Bicep file parses, the template hangs together, and an
IaC security scan (checkov) passes, every suppression carrying its reason. No Azure, no network.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.deployfiles import DEPLOY_DIR, ROOT, bicep, bicep_files

CHECKOV = ROOT / ".venv" / "tools" / "checkov" / "bin" / "checkov"
"""checkov lives in a virtualenv of its own (requirements-checkov.lock, installed by `make setup-test`):
it pins versions that conflict with the project's (pycep-parser, packaging)."""


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(DEPLOY_DIR)))
def test_every_bicep_file_parses(path: Path) -> None:
    tree = bicep(path)
    assert tree.get("resources") or tree.get("modules"), f"{path.name} declares nothing"


def test_main_deploys_at_subscription_scope() -> None:
    assert bicep(DEPLOY_DIR / "main.bicep")["globals"]["scope"]["value"] == "subscription"


def test_main_uses_every_module_and_only_modules_that_exist() -> None:
    used = {m["detail"]["path"] for m in bicep(DEPLOY_DIR / "main.bicep")["modules"].values()}
    present = {str(p.relative_to(DEPLOY_DIR)) for p in (DEPLOY_DIR / "modules").glob("*.bicep")}
    assert used == present


def test_every_module_call_passes_only_parameters_the_module_declares() -> None:
    for name, module in bicep(DEPLOY_DIR / "main.bicep")["modules"].items():
        declared = bicep(DEPLOY_DIR / module["detail"]["path"])["parameters"]
        config = module["config"].get("config", module["config"])  # a conditional module nests it
        passed = set(config["params"])
        assert passed <= set(declared), f"{name}: unknown {sorted(passed - set(declared))}"
        required = {p for p, spec in declared.items() if "default" not in spec}
        assert required <= passed, f"{name}: missing {sorted(required - passed)}"


def test_the_parameters_file_matches_the_template() -> None:
    declared = bicep(DEPLOY_DIR / "main.bicep")["parameters"]
    parameters = json.loads((DEPLOY_DIR / "main.parameters.json").read_text())["parameters"]
    assert set(parameters) <= set(declared)
    required = {p for p, spec in declared.items() if "default" not in spec}
    assert required <= set(parameters)


def test_outputs_are_upper_snake_case_for_azd() -> None:
    outputs = bicep(DEPLOY_DIR / "main.bicep")["outputs"]
    assert outputs
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in outputs)


def test_every_abbreviation_used_is_defined() -> None:
    abbreviations = json.loads((DEPLOY_DIR / "abbreviations.json").read_text())
    used = set(re.findall(r"abbrs\.(\w+)", (DEPLOY_DIR / "main.bicep").read_text()))
    assert used
    assert used <= set(abbreviations)


def test_every_container_app_carries_its_azd_service_tag() -> None:
    app = bicep(DEPLOY_DIR / "modules" / "container-app.bicep")["resources"]["app"]["config"]
    tags = app["tags"]["function"]
    assert tags["type"] == "union"
    assert {"'azd-service-name'": "serviceName"} in tags["parameters"].values()


# ---- checkov -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    assert CHECKOV.exists(), "checkov is missing: run `make setup-test` (scripts/setup.sh installs it)"
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(DEPLOY_DIR),
            "--directory",
            str(ROOT / "services"),
            "--framework",
            "bicep",
            "dockerfile",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.stdout, result.stderr
    return merged_reports(result.stdout)


def merged_reports(output: str) -> dict[str, Any]:
    """checkov prints one JSON document per scanned directory (an object, or a list of them for several
    frameworks); merge them into one report per framework."""
    decoder = json.JSONDecoder()
    reports: list[dict[str, Any]] = []
    position = 0
    while position < len(output):
        if output[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(output, position)
        reports.extend(document if isinstance(document, list) else [document])
    merged: dict[str, Any] = {}
    for report in reports:
        kind = report["check_type"]
        if kind not in merged:
            merged[kind] = {"summary": dict.fromkeys(("parsing_errors", "resource_count"), 0), "results": {}}
        target = merged[kind]
        for key in ("parsing_errors", "resource_count"):
            target["summary"][key] += report["summary"][key]
        for key, items in report["results"].items():
            target["results"].setdefault(key, []).extend(items)
    return merged


def test_checkov_scans_every_bicep_file_and_dockerfile(checkov_report: dict[str, Any]) -> None:
    assert set(checkov_report) == {"bicep", "dockerfile"}
    for report in checkov_report.values():
        assert report["summary"]["parsing_errors"] == 0, report["results"].get("parsing_errors")
        assert report["results"].get("passed_checks"), "checkov checked nothing"
        assert report["summary"]["resource_count"] > 0


def test_checkov_finds_no_failure(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['file_path']} {c['resource']}"
        for report in checkov_report.values()
        for c in report["results"].get("failed_checks", [])
    ]
    assert not failed


def test_every_checkov_suppression_says_why(checkov_report: dict[str, Any]) -> None:
    for report in checkov_report.values():
        for check in report["results"].get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment") or ""
            assert len(reason.strip()) >= 40, f"{check['check_id']} in {check['file_path']}: {reason!r}"
