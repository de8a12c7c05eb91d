#!/usr/bin/env bash
# Writes the two git-ignored files `docker compose up` needs, once:
#   .secrets/compose.env    DAPR_API_TOKEN and APP_API_TOKEN shared by each app and its sidecar
#   .secrets/secrets.json   the local secret store (API key and operator key digests, signing key)
# Prints the new API key and operator key; they are stored only as digests. Existing files are kept
# (delete them to start over). Needs the virtualenv (`make setup`).
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p .secrets
chmod 700 .secrets
if [[ -f .secrets/compose.env && -f .secrets/secrets.json ]]; then
  echo "[compose-secrets] .secrets/compose.env and .secrets/secrets.json exist; nothing to do"
  exit 0
fi
umask 077
.venv/bin/python - <<'PY'
import json
import secrets
from pathlib import Path

from helpdesk_ops.seed import local_secrets

api_key = "hd_" + secrets.token_urlsafe(24)
operator_key = "hdop_" + secrets.token_urlsafe(24)
Path(".secrets/compose.env").write_text(
    f"DAPR_API_TOKEN={secrets.token_urlsafe(32)}\nAPP_API_TOKEN={secrets.token_urlsafe(32)}\n"
)
Path(".secrets/secrets.json").write_text(json.dumps(local_secrets(api_key, operator_key), indent=2))
print(f"[compose-secrets] API key:      {api_key}")
print(f"[compose-secrets] operator key: {operator_key}")
PY
# The sidecars run as a non-root user and read the secrets file through a read-only bind mount.
chmod 644 .secrets/secrets.json
