#!/usr/bin/env bash
# Idempotent setup for a fresh machine: Redis from the OS packages, the Python virtualenv, daprd built
# once from the Dapr Go module and cached, the trained intent model. Safe to run again: each step
# checks first and says what it does.
#   SETUP_TEST=1    also installs what the test suite needs (Chromium for the browser tests, checkov,
#                   and ShellCheck for the deployment scripts).
#   DAPR_VERSION=x  builds and uses that Dapr runtime instead of the pinned one (scripts/build-daprd.sh);
#                   helpdeskctl and the tests pick the same version from the same variable.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [[ $apt_updated -eq 0 ]]; then
    say "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  say "installing $* (Debian packages)"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. Python 3.11+
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { say "Python 3.11 or newer is required"; exit 1; }

# 2. Redis
if ! command -v redis-server >/dev/null; then
  apt_install redis-server
  # The package starts a system Redis on 6379; the helpdesk runs its own on other ports.
else
  say "redis-server present ($(redis-server --version | awk '{print $3}'))"
fi

# 3. Browser for the browser tests
if [[ "${SETUP_TEST:-0}" == "1" ]]; then
  if ! command -v chromium >/dev/null; then
    apt_install chromium
  else
    say "chromium present"
  fi
  # Japanese glyphs for the browser tests' screenshots (otherwise Japanese renders as empty boxes).
  if ! dpkg -s fonts-ipafont-gothic >/dev/null 2>&1; then
    apt_install fonts-ipafont-gothic
  fi
  # The azd hooks and the Azure smoke check are shell scripts: tests/contract/test_azure_scripts.py
  # lints them.
  if ! command -v shellcheck >/dev/null; then
    apt_install shellcheck
  else
    say "shellcheck present"
  fi
fi

# 4. Python virtualenv, installed against the lock file; re-installed only when they change.
stamp=".venv/.helpdesk-installed"
want="$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)"
if [[ ! -x .venv/bin/python ]]; then
  say "creating .venv"
  "$PYTHON" -m venv .venv
fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  say "installing Python dependencies into .venv (requirements.lock)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c requirements.lock -e ".[gateway,nlp,dialogue,evaluator,ops,dev]"
  echo "$want" > "$stamp"
else
  say "Python dependencies up to date"
fi

# 4b. checkov, the IaC scan of deploy/ and the Dockerfiles in tests/contract/test_bicep_static.py. It
#     pins dependencies that conflict with the project's (pycep-parser, packaging), so it lives in a
#     virtualenv of its own under .venv/tools, installed from requirements-checkov.lock.
if [[ "${SETUP_TEST:-0}" == "1" ]]; then
  tools=".venv/tools/checkov"
  tools_want="$(sha256sum requirements-checkov.lock | cut -c1-16)"
  if [[ ! -x "$tools/bin/checkov" || "$(cat "$tools/.installed" 2>/dev/null)" != "$tools_want" ]]; then
    say "installing checkov into $tools (requirements-checkov.lock)"
    "$PYTHON" -m venv "$tools"
    "$tools/bin/python" -m pip install -q --upgrade pip
    "$tools/bin/python" -m pip install -q -r requirements-checkov.lock
    echo "$tools_want" > "$tools/.installed"
  else
    say "checkov up to date"
  fi
fi

# 5. daprd, built once and cached outside the repository
DAPRD_PATH="$(scripts/build-daprd.sh | tail -n 1)"
say "daprd: $DAPRD_PATH"

# 5b. The Dapr module of that runtime and the components-contrib module it requires, in the Go module
#     cache (a build-time download, like daprd's): tests/contract/test_azure_components.py checks the
#     Azure components' metadata against components-contrib's metadata.yaml files from there.
if command -v go >/dev/null; then
  say "components-contrib: $(scripts/build-daprd.sh --modules | tail -n 1)"
else
  say "Go not found: the components-contrib metadata for the contract tests cannot be fetched"
fi

# 6. The intent model, trained from services/nlp/intents (skipped when up to date)
.venv/bin/helpdeskctl nlu train --if-stale

say "ready"
