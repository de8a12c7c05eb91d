"""Readers for the deployment files the contract tests compare: docker-compose.yml, the Dockerfiles,
dapr.yaml, components/ and the Bicep under deploy/, and the Dapr runtime's own sources (the Dapr and
components-contrib modules in the Go module cache, put there by `make setup`).

They read files only (no Docker engine, no Azure, no network), so the comparisons run in every
`make test`.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
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


@functools.cache
def bicep_text(text: str) -> dict[str, Any]:
    """The parsed tree of Bicep source held in memory (a mutated copy of a file, for instance)."""
    from pycep import BicepParser

    tree = BicepParser().parse(text=text)
    assert isinstance(tree, dict), "the Bicep text does not parse"
    return dict(tree)


def render(node: Any) -> str:
    """A pycep expression as compact Bicep-like text: `a.b.c`, `f(x, y)`, `x == y`, `c ? t : f`.

    pycep keeps string literals and identifiers alike (both plain strings), so callers tell them apart
    by the names a file declares."""
    if isinstance(node, bool):
        return "true" if node else "false"
    if node is None:
        return "null"
    if isinstance(node, str | int | float):
        return str(node)
    if isinstance(node, list):
        return "[" + ", ".join(render(item) for item in node) + "]"
    if isinstance(node, dict) and "operator" in node:
        kind = node["operator"]["type"]
        operands = [render(o) for o in node["operator"]["operands"].values()]
        if kind == "property_accessor":
            return ".".join(operands)
        if kind == "conditional":
            return f"{operands[0]} ? {operands[1]} : {operands[2]}"
        return f" {kind} ".join(operands)
    if isinstance(node, dict) and "function" in node:
        function = node["function"]
        arguments = [render(v) for v in function["parameters"].values() if v is not None]
        return f"{function['type']}({', '.join(arguments)})"
    if isinstance(node, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in node.items()) + "}"
    raise TypeError(f"unexpected Bicep node {node!r}")


# ---- the Dapr runtime's own sources, from the Go module cache ---------------------------------------


def runtime_dapr_version() -> str:
    """The Dapr runtime in use: DAPR_VERSION when set (`make integration-dapr`), else the pinned one."""
    return (os.environ.get("DAPR_VERSION") or dapr_version()).removeprefix("v")


def go_module_cache() -> Path:
    """Where `go mod download` keeps modules (GOMODCACHE); read only, never downloaded from here."""
    if os.environ.get("GOMODCACHE"):
        return Path(os.environ["GOMODCACHE"])
    go = shutil.which("go")
    if go:
        found = subprocess.run(
            [go, "env", "GOMODCACHE"], capture_output=True, text=True, timeout=60, check=False
        ).stdout.strip()
        if found:
            return Path(found)
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    return Path(gopath.split(os.pathsep)[0]) / "pkg" / "mod"


_MISSING_MODULE = (
    "{module} is not in the Go module cache ({cache}): run `make setup` "
    "(scripts/build-daprd.sh --modules fetches it for DAPR_VERSION={version})"
)


def dapr_module_dir(version: str) -> Path:
    """The source of Dapr `version` (github.com/dapr/dapr), as the daprd build downloaded it."""
    cache = go_module_cache()
    path = cache / "github.com" / "dapr" / f"dapr@v{version}"
    assert path.is_dir(), _MISSING_MODULE.format(module=path.name, cache=cache, version=version)
    return path


def components_contrib_version(version: str) -> str:
    """The components-contrib version that Dapr `version` requires (its go.mod)."""
    go_mod = (dapr_module_dir(version) / "go.mod").read_text()
    match = re.search(r"^\s*github\.com/dapr/components-contrib\s+(v\S+)", go_mod, re.MULTILINE)
    assert match, f"dapr v{version}'s go.mod requires no components-contrib"
    return match.group(1)


def components_contrib_dir(version: str) -> Path:
    """The components-contrib source that Dapr `version` is built with."""
    cache = go_module_cache()
    contrib = components_contrib_version(version)
    path = cache / "github.com" / "dapr" / f"components-contrib@{contrib}"
    assert path.is_dir(), _MISSING_MODULE.format(module=path.name, cache=cache, version=version)
    return path
