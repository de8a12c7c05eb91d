#!/usr/bin/env bash
# azd `postprovision` hook (azure.yaml): what the template leaves out on purpose, written once and never
# overwritten, so that the deploy that follows starts a helpdesk that can answer.
#
#   Key Vault (AZURE_KEY_VAULT_NAME), the secrets the sidecars read (components/config/*.yaml):
#     gateway-api-keys    the user key HELPDESK_API_KEY and the operator key, as digests
#     operator-keys       the operator key HELPDESK_OPERATOR_KEY, as a digest
#     web-session-key     random; signs the web chat's session tokens
#     teams-app-password  HELPDESK_TEAMS_APP_PASSWORD, only when given
#     openai-api-key      HELPDESK_OPENAI_API_KEY, only when given
#   App Configuration (AZURE_APP_CONFIGURATION_ENDPOINT): the sentinel key HELPDESK_FLAGS_SENTINEL_KEY,
#     whose change makes every sidecar hand the flags to its service (docs/deploy.md, "Feature flags").
#
# azd hands its environment's values to hooks as variables. A key left unset is generated; the vault
# keeps only its digest, and the key itself goes back into the azd environment (`azd env set`, the
# git-ignored .azure/<environment>/.env) for the operator and scripts/smoke-azure.sh. Run from a
# terminal, the hook asks for the optional secrets it was not given. A fresh role assignment can take
# minutes to apply: calls refused meanwhile are retried for HELPDESK_HOOK_WAIT_SECONDS (300).
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '[postprovision] %s\n' "$*" >&2; }

for name in AZURE_KEY_VAULT_NAME AZURE_APP_CONFIGURATION_ENDPOINT HELPDESK_FLAGS_SENTINEL_KEY; do
  [[ -n "${!name:-}" ]] || { say "$name is not set: run this hook through azd (azd provision)"; exit 1; }
done
command -v az >/dev/null || { say "the Azure CLI (az) is required"; exit 1; }

VAULT="$AZURE_KEY_VAULT_NAME"
STORE="$AZURE_APP_CONFIGURATION_ENDPOINT"
WAIT="${HELPDESK_HOOK_WAIT_SECONDS:-300}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Runs "$@" until it succeeds, for at most WAIT seconds (role assignments that have not applied yet).
retrying() {
  local deadline=$((SECONDS + WAIT)) output
  while true; do
    if output="$("$@" 2>"$WORK/error")"; then
      printf '%s' "$output"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      cat "$WORK/error" >&2
      return 1
    fi
    say "refused ($(head -c 160 "$WORK/error" | tr '\n' ' ')); retrying while the role assignment applies"
    sleep "${HELPDESK_HOOK_RETRY_SECONDS:-15}"
  done
}

new_key() { python3 -c 'import secrets, sys; print(sys.argv[1] + secrets.token_urlsafe(24))' "$1"; }

# {"<sha256 of key>": {"user_id": ..., "roles": [...]}, ...} from "key user_id role,role" triples.
key_table() {
  python3 -c '
import hashlib, json, sys
args = sys.argv[1:]
table = {}
for key, user, roles in zip(args[0::3], args[1::3], args[2::3]):
    table[hashlib.sha256(key.encode()).hexdigest()] = {"user_id": user, "roles": roles.split(",")}
print(json.dumps(table))
' "$@"
}

remember() {
  if command -v azd >/dev/null; then
    azd env set "$1" "$2" >/dev/null
    say "$1 kept in the azd environment (azd env get-value $1)"
  else
    say "azd not found: keep $1 yourself, it is not stored anywhere else"
  fi
}

put_secret() {
  printf '%s' "$2" >"$WORK/value"
  retrying az keyvault secret set --vault-name "$VAULT" --name "$1" --file "$WORK/value" \
    --encoding utf-8 --output none >/dev/null
  say "secret $1 set"
}

ask() {
  local value=""
  if [[ -t 0 ]]; then
    read -r -s -p "[postprovision] $1 (Enter to skip): " value
    echo >&2
  fi
  printf '%s' "$value"
}

existing="$(retrying az keyvault secret list --vault-name "$VAULT" --query '[].name' --output tsv)"
has() { grep -qx "$1" <<<"$existing"; }

# The first user and operator keys, unless the vault holds keys already (then they are never replaced).
if ! has gateway-api-keys || ! has operator-keys; then
  API_KEY="${HELPDESK_API_KEY:-}"
  OPERATOR_KEY="${HELPDESK_OPERATOR_KEY:-}"
  if [[ -z "$API_KEY" ]]; then
    API_KEY="$(new_key hd_)"
    remember HELPDESK_API_KEY "$API_KEY"
  fi
  if [[ -z "$OPERATOR_KEY" ]]; then
    OPERATOR_KEY="$(new_key hdop_)"
    remember HELPDESK_OPERATOR_KEY "$OPERATOR_KEY"
  fi
  if ! has gateway-api-keys; then
    put_secret gateway-api-keys "$(key_table "$API_KEY" first-client user "$OPERATOR_KEY" first-operator user,operator)"
  fi
  if ! has operator-keys; then
    put_secret operator-keys "$(key_table "$OPERATOR_KEY" first-operator operator)"
  fi
else
  say "gateway-api-keys and operator-keys present: kept as they are"
fi

if ! has web-session-key; then
  put_secret web-session-key "$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
fi

if ! has teams-app-password; then
  password="${HELPDESK_TEAMS_APP_PASSWORD:-}"
  [[ -n "$password" ]] || password="$(ask "Teams bot client secret")"
  if [[ -n "$password" ]]; then put_secret teams-app-password "$password"; fi
fi

if ! has openai-api-key && [[ -z "${AZURE_OPENAI_ENDPOINT:-}" ]]; then
  key="${HELPDESK_OPENAI_API_KEY:-}"
  [[ -n "$key" ]] || key="$(ask "OpenAI API key, for answers from a model without Azure OpenAI")"
  if [[ -n "$key" ]]; then put_secret openai-api-key "$key"; fi
fi

# The sentinel key: created once; operators change its value after changing flags.
sentinel="$(retrying az appconfig kv list --endpoint "$STORE" --auth-mode login \
  --key "$HELPDESK_FLAGS_SENTINEL_KEY" --query '[].key' --output tsv)"
if [[ -z "$sentinel" ]]; then
  retrying az appconfig kv set --endpoint "$STORE" --auth-mode login --key "$HELPDESK_FLAGS_SENTINEL_KEY" \
    --value "$(date -u +%Y%m%dT%H%M%SZ)" --yes --output none >/dev/null
  say "sentinel key $HELPDESK_FLAGS_SENTINEL_KEY created"
else
  say "sentinel key $HELPDESK_FLAGS_SENTINEL_KEY present"
fi
say "done"
