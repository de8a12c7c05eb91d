#!/usr/bin/env bash
# Smoke check of the helpdesk on Azure Container Apps, for an operator after `azd up` (it also runs as
# the azd `postdeploy` hook). Read-only, except for one flag key it writes and removes again.
#
#   1. each app runs its deployed image (not the placeholder) in a healthy latest revision whose
#      replicas are all ready: a replica is ready when the service's /readyz answers, which it does
#      once its Dapr sidecar has loaded every component the service needs;
#   2. the public /readyz of the gateway and the evaluator says so too;
#   3. one chat is answered through the gateway's public endpoint;
#   4. every service reads the flags from App Configuration: one flag is written as it is in force with
#      only its description changed (nothing behaves differently), the sentinel key is bumped, and each
#      service's log must show it taking up the change; then the store gets back what it held.
#
# Values come from the azd environment: azd passes them to its hooks; by hand, run
#   eval "$(azd env get-values)" && scripts/smoke-azure.sh
# Needs az (logged in, with the containerapp extension), curl and python3. HELPDESK_SMOKE_WAIT_SECONDS
# (default 300) bounds every wait; the exit status is the number of failed checks (0: all passed).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

APPS=(gateway nlp dialogue evaluator)
WAIT="${HELPDESK_SMOKE_WAIT_SECONDS:-300}"
POLL="${HELPDESK_SMOKE_POLL_SECONDS:-10}"
PLACEHOLDER="traefik/whoami"
failures=0

say() { printf '[smoke] %s\n' "$*" >&2; }
pass() { printf '[smoke] ok    %s\n' "$*" >&2; }
fail() {
  printf '[smoke] FAIL  %s\n' "$*" >&2
  failures=$((failures + 1))
}

missing=()
for name in AZURE_RESOURCE_GROUP SERVICE_GATEWAY_NAME SERVICE_NLP_NAME SERVICE_DIALOGUE_NAME \
  SERVICE_EVALUATOR_NAME SERVICE_GATEWAY_URI SERVICE_EVALUATOR_URI AZURE_APP_CONFIGURATION_ENDPOINT \
  HELPDESK_FLAGS_SENTINEL_KEY; do
  [[ -n "${!name:-}" ]] || missing+=("$name")
done
if ((${#missing[@]})); then
  say "not set: ${missing[*]} (run through azd, or eval \"\$(azd env get-values)\" first)"
  exit 1
fi
for tool in az curl python3; do
  command -v "$tool" >/dev/null || { say "$tool is required"; exit 1; }
done
RG="$AZURE_RESOURCE_GROUP"

# bash 3 (macOS) has no ${name^^}.
upper() { printf '%s' "$1" | tr '[:lower:]' '[:upper:]'; }

app_name() {
  local variable
  variable="SERVICE_$(upper "$1")_NAME"
  printf '%s' "${!variable}"
}

# Reads one field of a JSON document on stdin ("a.b.0.c"); empty when absent.
field() {
  python3 -c '
import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    if isinstance(value, list) and part.isdigit() and int(part) < len(value):
        value = value[int(part)]
    elif isinstance(value, dict):
        value = value.get(part)
    else:
        value = None
print("" if value is None else (json.dumps(value) if isinstance(value, (dict, list)) else value))
' "$1"
}

# ---- 1. revisions and replicas ------------------------------------------------------------------------

# "<app>: <reason>" when a replica of the revision is not ready, nothing when all are.
replicas_not_ready() {
  az containerapp replica list --name "$1" --resource-group "$RG" --revision "$2" --output json |
    python3 -c '
import json, sys
replicas = json.load(sys.stdin)
if not replicas:
    print("no replica running")
for replica in replicas:
    name, properties = replica.get("name"), replica.get("properties", {})
    state = properties.get("runningState")
    if state != "Running":
        print("replica %s is %s" % (name, state))
    for container in properties.get("containers", []):
        if not container.get("ready"):
            print("replica %s: container %s not ready (%s, %s restarts)" % (
                name, container.get("name"), container.get("runningState"), container.get("restartCount")))
'
}

check_app() {
  local service="$1" app revision image health running problems deadline
  app="$(app_name "$service")"
  deadline=$((SECONDS + WAIT))
  while true; do
    revision="$(az containerapp show --name "$app" --resource-group "$RG" \
      --query properties.latestRevisionName --output tsv 2>/dev/null)"
    image="$(az containerapp show --name "$app" --resource-group "$RG" \
      --query 'properties.template.containers[0].image' --output tsv 2>/dev/null)"
    if [[ -n "$revision" ]]; then
      health="$(az containerapp revision show --name "$app" --resource-group "$RG" --revision "$revision" \
        --query properties.healthState --output tsv 2>/dev/null)"
      running="$(az containerapp revision show --name "$app" --resource-group "$RG" --revision "$revision" \
        --query properties.runningState --output tsv 2>/dev/null)"
      problems="$(replicas_not_ready "$app" "$revision")"
      if [[ "$image" != *"$PLACEHOLDER"* && "$health" == "Healthy" && -z "$problems" ]]; then
        pass "$service: revision $revision healthy ($running), every replica ready (components loaded)"
        return
      fi
    fi
    if ((SECONDS >= deadline)); then
      if [[ "$image" == *"$PLACEHOLDER"* ]]; then
        fail "$service: still runs the placeholder image; run azd deploy"
      else
        fail "$service: revision ${revision:-none} is ${health:-unknown} (${running:-unknown}) ${problems//$'\n'/; }"
      fi
      return
    fi
    sleep "$POLL"
  done
}

for service in "${APPS[@]}"; do check_app "$service"; done

# ---- 2. public readiness ---------------------------------------------------------------------------

for service in gateway evaluator; do
  variable="SERVICE_$(upper "$service")_URI"
  url="${!variable%/}/readyz"
  body="$(curl --silent --show-error --max-time 10 "$url" 2>&1)"
  if [[ "$(field status <<<"$body" 2>/dev/null)" == "ready" ]]; then
    pass "$service: $url ready ($(field detail <<<"$body"))"
  else
    fail "$service: $url answered ${body:0:200}"
  fi
done

# ---- 3. one chat through the public endpoint --------------------------------------------------------

if [[ -z "${HELPDESK_API_KEY:-}" ]]; then
  fail "chat: no HELPDESK_API_KEY in the azd environment (set the key you registered: azd env set HELPDESK_API_KEY ...)"
else
  gateway="${SERVICE_GATEWAY_URI%/}"
  response="$(curl --silent --show-error --max-time 30 --write-out '\n%{http_code}' "$gateway/v1/chat" \
    -H "authorization: Bearer $HELPDESK_API_KEY" -H 'content-type: application/json' \
    -d '{"message": "How do I reset my password?"}' 2>&1)"
  status="${response##*$'\n'}"
  body="${response%$'\n'*}"
  turn="$(field turn_id <<<"$body" 2>/dev/null)"
  deadline=$((SECONDS + 60))
  # 202: the answer was not ready within the gateway's wait; it is fetched from the turn's address.
  while [[ "$status" == "202" && -n "$turn" ]] && ((SECONDS < deadline)); do
    sleep 2
    response="$(curl --silent --show-error --max-time 10 --write-out '\n%{http_code}' \
      "$gateway/v1/messages/$turn" -H "authorization: Bearer $HELPDESK_API_KEY" 2>&1)"
    body="${response%$'\n'*}"
    [[ -n "$(field answer <<<"$body" 2>/dev/null)" || "$(field escalated <<<"$body" 2>/dev/null)" == "true" ]] &&
      status=200
  done
  answer="$(field answer <<<"$body" 2>/dev/null)"
  if [[ "$status" == "200" && (-n "$answer" || "$(field escalated <<<"$body" 2>/dev/null)" == "true") ]]; then
    pass "chat: answered (${answer:0:80})"
  else
    fail "chat: HTTP $status ${body:0:200}"
  fi
fi

# ---- 4. flags from App Configuration -----------------------------------------------------------------

appconfig() { az appconfig "$@" --endpoint "$AZURE_APP_CONFIGURATION_ENDPOINT" --auth-mode login; }

bump() { appconfig kv set --key "$HELPDESK_FLAGS_SENTINEL_KEY" --value "$(date -u +%Y%m%dT%H%M%SZ)-$RANDOM" --yes --output none; }

# How many times a service's recent log shows it taking up a change of the flag.
reads() {
  az containerapp logs show --name "$(app_name "$1")" --resource-group "$RG" --type console --tail 300 \
    --format text 2>/dev/null | grep 'flags_changed' | grep -c "$2"
}

# The probe: the first flag of flags/defaults.json, written as it is in force now (the store's
# definition, else the default) with only its description changed: every service takes it up as a
# change, and nothing behaves differently. Afterwards the store gets back what it held.
flag="$(python3 -c 'import json; print(next(iter(json.load(open("flags/defaults.json")))))')"
key="helpdesk.flags.$flag"
original="$(appconfig kv list --key "$key" --query '[0].value' --output tsv 2>/dev/null)"
probe="$(python3 -c '
import json, sys
raw, default = sys.argv[1], json.load(open("flags/defaults.json"))[sys.argv[2]]
try:
    definition = json.loads(raw) if raw else default
except ValueError:
    definition = {"value": raw}
if not isinstance(definition, dict) or not ("value" in definition or "split" in definition):
    definition = {"value": definition}
definition["description"] = "smoke check " + sys.argv[3]
print(json.dumps(definition))
' "$original" "$flag" "$(date -u +%Y%m%dT%H%M%SZ)")"

declare -a before=()
for index in "${!APPS[@]}"; do before[index]="$(reads "${APPS[index]}" "$flag")"; done
if appconfig kv set --key "$key" --value "$probe" --content-type application/json --yes --output none && bump; then
  for index in "${!APPS[@]}"; do
    service="${APPS[index]}"
    deadline=$((SECONDS + WAIT))
    seen=""
    while ((SECONDS < deadline)); do
      if (($(reads "$service" "$flag") > ${before[index]:-0})); then
        seen=yes
        break
      fi
      sleep "$POLL"
    done
    if [[ -n "$seen" ]]; then
      pass "$service: took up a change of flag $flag from App Configuration"
    else
      fail "$service: its log shows no change of flag $flag taken up from App Configuration"
    fi
  done
else
  fail "flags: could not write $key (App Configuration Data Owner on the store?)"
fi
if [[ -n "$original" ]]; then
  restore=(kv set --key "$key" --value "$original" --content-type application/json --yes --output none)
else
  restore=(kv delete --key "$key" --yes --output none)
fi
if ! { appconfig "${restore[@]}" && bump; } >/dev/null 2>&1; then
  say "flags: put back $key yourself (it holds the definition in force, so nothing changes meanwhile)"
fi

if ((failures)); then
  say "$failures check(s) failed"
else
  say "every check passed"
fi
exit "$failures"
