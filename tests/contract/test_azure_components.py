"""The Azure deployment checked against what runs it, not only against its own names
(tests/support/azure_checks has the checks):

- Every Dapr component of deploy/modules/dapr-components.bicep is compared with the metadata.yaml that
  components-contrib declares for its type, in the version the Dapr runtime in use is built with.
- Values made in one module and used in another are followed through main.bicep to where they are
  made.
- Role ids and the Redis access policy are pinned; topic scopes are derived from helpdesk/topics.py;
  the flags' sentinel key and the placeholder image are wired as the services and azd need them.

tests/contract/test_azure_mutations.py shows that each check catches the mistakes it is for.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from helpdesk.settings import ServiceSettings
from tests.support.azure_checks import CHECKS, RUNTIME, AzureFiles, declared
from tests.support.deployfiles import DEPLOY_DIR


@pytest.fixture(scope="module")
def files() -> AzureFiles:
    return AzureFiles.load()


def test_every_azure_component_type_is_one_the_runtime_is_built_with(files: AzureFiles) -> None:
    for component, properties in files.components().items():
        spec = declared(properties["componentType"], RUNTIME)
        assert spec.component_type == properties["componentType"], component
        assert properties["version"] == "v1"


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_azure_files_pass_every_check(files: AzureFiles, check: Any) -> None:
    assert check(files) == []


def test_the_configuration_store_is_the_alpha_component_the_docs_warn_about(files: AzureFiles) -> None:
    spec = declared(files.components()["configstore"]["componentType"], RUNTIME)
    guide = (DEPLOY_DIR.parent / "docs" / "deploy.md").read_text()
    assert spec.status == "alpha"
    assert "alpha" in guide
    assert "helpdesk.sentinel" in guide


def test_the_services_read_the_sentinel_setting_the_template_sets() -> None:
    assert "flags_sentinel_key" in ServiceSettings.model_fields


def test_the_parameters_file_keeps_azure_managed_redis_the_default() -> None:
    parameters = json.loads((DEPLOY_DIR / "main.parameters.json").read_text())["parameters"]
    assert parameters["redisOffering"]["value"] == "${HELPDESK_REDIS_OFFERING=managed}"
