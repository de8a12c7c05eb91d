"""Readers for the deployment files the contract tests compare: docker-compose.yml, the Dockerfiles,
dapr.yaml, components/ and the Bicep under deploy/.

They read files only (no Docker engine, no Azure, no network), so the comparisons run in every
`make test`.
"""

from __future__ import annotations

import functools
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS_DIR = ROOT / "components"
DEPLOY_DIR = ROOT / "deploy"


def dapr_version() -> str:
    """The daprd version `make run` builds (scripts/build-daprd.sh), the one everything else must use."""
    script = (ROOT / "scripts" / "build-daprd.sh").read_text()
    match = re.search(r'^DAPR_VERSION="\$\{DAPR_VERSION:-([0-9][0-9.]*)\}"', script, re.MULTILINE)
    assert match, "scripts/build-daprd.sh no longer pins DAPR_VERSION"
    return match.group(1)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def compose() -> dict[str, Any]:
    data = load_yaml(ROOT / "docker-compose.yml")
    assert isinstance(data, dict)
    return data


def run_file() -> dict[str, Any]:
    data = load_yaml(ROOT / "dapr.yaml")
    assert isinstance(data, dict)
    return data


def flag_value(command: list[str], flag: str) -> str | None:
    """The value of `--flag value` or `--flag=value` in an argument list."""
    for index, arg in enumerate(command):
        if arg == flag and index + 1 < len(command):
            return command[index + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


@dataclass(frozen=True)
class LocalComponent:
    """One self-hosted Dapr component of components/*.yaml."""

    name: str
    type: str
    scopes: tuple[str, ...]
    metadata: dict[str, str]
    env_refs: frozenset[str]
    path: Path


def local_components() -> dict[str, LocalComponent]:
    found: dict[str, LocalComponent] = {}
    for path in sorted(COMPONENTS_DIR.glob("*.yaml")):
        doc = load_yaml(path)
        if doc.get("kind") != "Component":
            continue
        items = doc["spec"].get("metadata") or []
        found[doc["metadata"]["name"]] = LocalComponent(
            name=doc["metadata"]["name"],
            type=doc["spec"]["type"],
            scopes=tuple(doc.get("scopes") or ()),
            metadata={i["name"]: str(i["value"]) for i in items if "value" in i},
            env_refs=frozenset(i["envRef"] for i in items if "envRef" in i),
            path=path,
        )
    return found


def local_resiliency() -> dict[str, Any]:
    docs = [load_yaml(p) for p in sorted(COMPONENTS_DIR.glob("*.yaml"))]
    matches = [d for d in docs if d.get("kind") == "Resiliency"]
    assert len(matches) == 1, "expected exactly one Resiliency resource in components/"
    resiliency: dict[str, Any] = matches[0]
    return resiliency


def allowed_secrets(app_id: str) -> set[str]:
    """The secrets an app's sidecar may read (components/config/<app>.yaml)."""
    config = load_yaml(COMPONENTS_DIR / "config" / f"{app_id}.yaml")
    scopes = config["spec"]["secrets"]["scopes"]
    return {name for scope in scopes for name in scope.get("allowedSecrets") or ()}


# ---- Dockerfiles --------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str | None:
        values = self.all(keyword)
        return values[-1] if values else None


def dockerfile_stages(path: Path) -> list[Stage]:
    """Instructions per build stage, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        else:
            assert stages, f"{path}: instruction before FROM"
            stages[-1].instructions.append((keyword, args))
    return stages


def exec_form(args: str) -> list[str]:
    """CMD/ENTRYPOINT/HEALTHCHECK CMD arguments as a list (JSON exec form or shell words)."""
    args = args.strip()
    if args.startswith("["):
        parsed = yaml.safe_load(args)
        assert isinstance(parsed, list)
        return [str(a) for a in parsed]
    return shlex.split(args)


# ---- Bicep --------------------------------------------------------------------------------------


@functools.cache
def bicep(path: Path) -> dict[str, Any]:
    """The parsed tree of one .bicep file (pycep), cached: parsing is the slow part of these tests."""
    from pycep import BicepParser

    tree = BicepParser().parse(text=path.read_text())
    assert isinstance(tree, dict)
    return dict(tree)


def bicep_files() -> list[Path]:
    return sorted(DEPLOY_DIR.rglob("*.bicep"))
