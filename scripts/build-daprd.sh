#!/usr/bin/env bash
# Build daprd once from the Dapr Go module and cache it by version outside the repository.
#
# Why not `go install`: dapr's go.mod carries `replace` directives, which only apply when dapr is the
# main module, so the module is copied to a writable directory and built there.
# Why the tags: without `stablecomponents` no component registers and daprd panics at start-up.
#
# Prints the path of the binary on its last line. Honours:
#   DAPRD          an existing daprd binary: nothing is built
#   DAPR_VERSION   the runtime version, e.g. 1.16.0 (default: the pinned one below). Each version is built
#                  once and cached on its own; helpdeskctl, the runner and the tests use the same variable.
#   HELPDESK_CACHE the cache root (default: ${XDG_CACHE_HOME:-~/.cache}/helpdesk)
#
# `build-daprd.sh --modules` builds nothing: it makes sure the Dapr module of DAPR_VERSION and the
# components-contrib module that version requires are in the Go module cache (the contract tests read
# components-contrib's metadata.yaml files from there) and prints the components-contrib directory.
set -euo pipefail

DAPR_VERSION="${DAPR_VERSION:-1.18.2}"
DAPR_VERSION="${DAPR_VERSION#v}"
CACHE_ROOT="${HELPDESK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helpdesk}"
TARGET="$CACHE_ROOT/dapr-$DAPR_VERSION/daprd"

say() { printf '[daprd] %s\n' "$*" >&2; }

[[ "$DAPR_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] || {
  say "DAPR_VERSION=$DAPR_VERSION is not a Dapr release version (like 1.18.2)"
  exit 2
}

# The public checksum database is not reachable from every build machine. The dapr module itself is
# fetched through the module proxy; every dependency is still pinned by hash in dapr's own go.sum,
# which `go build` verifies. Only the lookup of hashes not in go.sum is skipped.
export GOSUMDB="${GOSUMDB:-off}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

# The directory of one module version in the Go module cache (downloaded first if missing).
module_dir() {
  go mod download -json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error","no Dir")))'
}

if [[ "${1:-}" == "--modules" ]]; then
  command -v go >/dev/null || { say "Go is required to fetch the Dapr modules"; exit 1; }
  DAPR_DIR="$(module_dir "github.com/dapr/dapr@v$DAPR_VERSION")"
  CONTRIB_VERSION="$(awk '$1 == "github.com/dapr/components-contrib" {print $2; exit}' "$DAPR_DIR/go.mod")"
  [[ -n "$CONTRIB_VERSION" ]] || { say "no components-contrib requirement in dapr v$DAPR_VERSION's go.mod"; exit 1; }
  CONTRIB_DIR="$(module_dir "github.com/dapr/components-contrib@$CONTRIB_VERSION")"
  say "dapr v$DAPR_VERSION requires components-contrib $CONTRIB_VERSION: $CONTRIB_DIR"
  echo "$CONTRIB_DIR"; exit 0
fi

if [[ -n "${DAPRD:-}" ]]; then
  [[ -x "$DAPRD" ]] || { say "DAPRD=$DAPRD is not an executable file"; exit 1; }
  say "using DAPRD=$DAPRD (no build)"
  echo "$DAPRD"; exit 0
fi
if [[ -x "$TARGET" ]]; then
  say "cached: $TARGET"
  echo "$TARGET"; exit 0
fi

command -v go >/dev/null || { say "Go is required to build daprd (go 1.26.6 or newer)"; exit 1; }
say "building daprd v$DAPR_VERSION with $(go version | awk '{print $3}') (first time only; several minutes)"

say "downloading github.com/dapr/dapr@v$DAPR_VERSION"
MODDIR="$(module_dir "github.com/dapr/dapr@v$DAPR_VERSION")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/daprd-build.XXXXXX")"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cp -r "$MODDIR" "$WORK/dapr"
chmod -R u+w "$WORK/dapr"
cd "$WORK/dapr"

say "downloading dependencies (progress below)"
go mod download -x 2>&1 | awk '/^# get .*200 OK/ {n++; if (n % 100 == 0) printf "[daprd]   %d modules fetched\n", n > "/dev/stderr"} /: 40[0-9] / {print > "/dev/stderr"}'

say "compiling (go build -tags stablecomponents; progress: packages compiled)"
mkdir -p "$(dirname "$TARGET")"
CGO_ENABLED=0 go build -v -trimpath -tags stablecomponents \
  -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION" \
  -o "$TARGET.tmp" ./cmd/daprd 2>&1 | awk '{n++; if (n % 200 == 0) printf "[daprd]   %d packages compiled\n", n > "/dev/stderr"}'
[[ -x "$TARGET.tmp" ]] || { say "build failed"; exit 1; }
mv "$TARGET.tmp" "$TARGET"
say "built $TARGET ($("$TARGET" --version 2>/dev/null || echo "version unknown"))"
echo "$TARGET"
