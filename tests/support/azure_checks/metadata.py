"""Every Dapr component of deploy/modules/dapr-components.bicep compared with the metadata.yaml that
components-contrib declares for its type, in the version the Dapr runtime in use is built with (the
pinned one, or DAPR_VERSION; the module is in the Go module cache after `make setup`): every name is
declared (or read by the runtime itself), every required field is there, literal values have the
declared type and allowed values."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import yaml

from tests.support.azure_checks.files import AzureFiles
from tests.support.deployfiles import (
    components_contrib_dir,
    components_contrib_version,
    dapr_module_dir,
    runtime_dapr_version,
)

RUNTIME = runtime_dapr_version()

AZURE_AUTH_KEYS = (
    "Certificate",
    "CertificateFile",
    "CertificatePassword",
    "ClientID",
    "ClientSecret",
    "TenantID",
    "AzureEnvironment",
    "AzureAuthMethods",
)
"""The Entra ID settings every component with the built-in `azuread` profile reads
(components-contrib common/authentication/azure/metadata-properties.go)."""


@dataclass(frozen=True)
class Declared:
    """What components-contrib declares for one component type (its metadata.yaml)."""

    component_type: str
    status: str
    fields: dict[str, dict[str, Any]]
    required: frozenset[str]
    entra_profile: tuple[dict[str, Any], ...] | None
    """The built-in `azuread` authentication profile's fields; None when the type has no Entra ID sign-in."""


@functools.cache
def azure_auth_names(version: str) -> frozenset[str]:
    source = (
        components_contrib_dir(version) / "common" / "authentication" / "azure" / "metadata-properties.go"
    ).read_text()
    names: set[str] = set()
    for key in AZURE_AUTH_KEYS:
        match = re.search(rf'"{key}":\s*\{{([^}}]*)\}}', source)
        assert match, f"components-contrib no longer declares the Azure auth setting {key}"
        names.update(re.findall(r'"(\w+)"', match.group(1)))
    assert "azureClientId" in names
    return frozenset(names)


@functools.cache
def runtime_names(kind: str, version: str) -> frozenset[str]:
    """Metadata that the Dapr runtime reads itself, not the component (lower case: it compares so)."""
    dapr = dapr_module_dir(version)
    if kind == "pubsub":
        source = (dapr / "pkg" / "scopes" / "scopes.go").read_text()
        names = set(re.findall(r'^\s*\w+\s*=\s*"(\w+)"', source, re.MULTILINE))
        assert {"publishingScopes", "subscriptionScopes", "allowedTopics"} <= names
    elif kind == "state":
        source = (dapr / "pkg" / "components" / "state" / "state_config.go").read_text()
        names = set(re.findall(r'strategyKey\s*=\s*"(\w+)"', source))
        assert names, "the state key prefix setting moved in the Dapr runtime"
    else:
        names = set()
    return frozenset(name.lower() for name in names)


@functools.cache
def declared(component_type: str, version: str) -> Declared:
    path = components_contrib_dir(version).joinpath(*component_type.split(".")) / "metadata.yaml"
    assert path.is_file(), f"components-contrib has no {component_type}"
    doc = yaml.safe_load(path.read_text())
    assert f"{doc['type']}.{doc['name']}" == component_type, path
    fields: dict[str, dict[str, Any]] = {item["name"]: item for item in doc.get("metadata") or []}
    for profile in doc.get("authenticationProfiles") or []:
        for item in profile.get("metadata") or []:
            fields.setdefault(item["name"], item)
    entra: tuple[dict[str, Any], ...] | None = None
    for profile in doc.get("builtinAuthenticationProfiles") or []:
        if profile["name"] == "azuread":
            entra = tuple(profile.get("metadata") or ())
            for item in entra:
                fields.setdefault(item["name"], item)
            for name in azure_auth_names(version):
                fields.setdefault(name, {"name": name, "type": "string"})
    required = frozenset(item["name"] for item in doc.get("metadata") or [] if item.get("required"))
    return Declared(component_type, str(doc.get("status")), fields, required, entra)


_DURATION = re.compile(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")


def _literals(files: AzureFiles, value: Any) -> list[str] | None:
    """The values a metadata value can take, when the files say: a literal, a parameter's default that
    main.bicep does not override, or a parameter's allowed values. None when it is computed elsewhere."""
    if not isinstance(value, str) or "${" in value:
        return None
    parameters = files.dapr["parameters"]
    if value in parameters:
        spec = parameters[value]
        allowed = [d["argument"] for d in spec.get("decorators", []) if d["type"] == "allowed"]
        if allowed:
            return [str(v) for v in allowed[0]]
        if value not in files.module_params("daprComponents") and "default" in spec:
            return [str(spec["default"])]
        return None
    if value in files.dapr.get("variables", {}):
        return None
    return [value]


def _value_problem(field: dict[str, Any], value: str) -> str | None:
    kind = field.get("type", "string")
    if kind == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", value):
        return "is not a number"
    if kind == "bool" and value.lower() not in ("true", "false"):
        return "is not true or false"
    if kind == "duration" and not _DURATION.fullmatch(value):
        return "is not a duration such as 15s"
    allowed = field.get("allowedValues")
    if allowed and value not in [str(a) for a in allowed]:
        return f"is not one of {allowed}"
    return None


def metadata_problems(files: AzureFiles, version: str = RUNTIME) -> list[str]:
    contrib = components_contrib_version(version)
    problems = []
    for component, properties in files.components().items():
        component_type = properties["componentType"]
        spec = declared(component_type, version)
        items = properties["metadata"]
        names = [item["name"] for item in items]
        where = f"{component} ({component_type}, components-contrib {contrib})"
        runtime = runtime_names(component_type.split(".")[0], version)
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"{where}: metadata {name!r} appears twice")
        for name in names:
            if name not in spec.fields and name.lower() not in runtime:
                problems.append(f"{where}: metadata {name!r} is not declared by the component")
        for name in sorted(spec.required - set(names)):
            problems.append(f"{where}: required metadata {name!r} is missing")
        if "azureClientId" in names:
            if spec.entra_profile is None:
                problems.append(f"{where}: the component has no Entra ID sign-in (azuread profile)")
            else:
                profile = [f["name"] for f in spec.entra_profile]
                needed = [f["name"] for f in spec.entra_profile if f.get("required")]
                for name in needed:
                    if name not in names:
                        problems.append(f"{where}: the Entra ID profile requires {name!r}")
                if profile and not needed and not set(profile) & set(names):
                    problems.append(f"{where}: the Entra ID profile needs one of {profile}")
        for item in items:
            field = spec.fields.get(item["name"])
            values = _literals(files, item.get("value"))
            if field is None or values is None:
                continue
            for value in values:
                wrong = _value_problem(field, value)
                if wrong:
                    problems.append(f"{where}: {item['name']} = {value!r} {wrong}")
    return problems
