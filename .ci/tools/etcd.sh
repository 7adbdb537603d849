#!/usr/bin/env bash
# Finds or installs an etcd server binary for the test/k8s suite. Idempotent.
# Order: cached copy -> $ETCD_BIN -> etcd on PATH (Debian etcd-server) -> apt-get install etcd-server
# (when root) -> build go.etcd.io/etcd/server/v3 from the Go module proxy (wrapper module, since
# etcd's own go.mod has replace directives that `go install pkg@version` refuses).
# Prints the binary path on the last line of stdout.
set -euo pipefail

ETCD_VERSION="${ETCD_VERSION:-v3.5.21}"
REPO_ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE_DIR="${CONSORTIA_K8S_CACHE:-$REPO_ROOT/.cache/k8s}"
HOME_CACHE="${HOME:-/root}/.cache/consortia/k8s"
log() { echo "[etcd.sh] $*" >&2; }
mkdir -p "$CACHE_DIR"

if [[ -n "${ETCD_BIN:-}" && -x "${ETCD_BIN}" ]]; then echo "$ETCD_BIN"; exit 0; fi
if command -v etcd >/dev/null 2>&1; then log "using $(command -v etcd)"; command -v etcd; exit 0; fi
BIN="$CACHE_DIR/etcd-${ETCD_VERSION}"
if [[ -x "$BIN" ]]; then echo "$BIN"; exit 0; fi
if [[ -x "$HOME_CACHE/etcd-${ETCD_VERSION}" ]]; then cp "$HOME_CACHE/etcd-${ETCD_VERSION}" "$BIN"; echo "$BIN"; exit 0; fi

if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
  log "installing Debian etcd-server"
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server) >&2; then
    if command -v etcd >/dev/null 2>&1; then command -v etcd; exit 0; fi
  fi
  log "apt-get route failed; building from the Go module proxy"
fi

command -v go >/dev/null || { log "no etcd and no go toolchain"; exit 1; }
WORK="$CACHE_DIR/etcd-wrapper-${ETCD_VERSION}"
mkdir -p "$WORK" && cd "$WORK"
V="${ETCD_VERSION}"
cat > go.mod <<EOF
module consortia.local/etcd-wrapper

go 1.23

require go.etcd.io/etcd/server/v3 ${V}

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 ${V}
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 ${V}
	go.etcd.io/etcd/client/v2 => go.etcd.io/etcd/client/v2 v2.305.${V#v3.5.}
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 ${V}
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 ${V}
	go.etcd.io/etcd/raft/v3 => go.etcd.io/etcd/raft/v3 ${V}
)
EOF
printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
GOFLAGS=-mod=mod go mod tidy -e >&2
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$BIN.tmp.$$" go.etcd.io/etcd/server/v3
mv "$BIN.tmp.$$" "$BIN"
mkdir -p "$HOME_CACHE" && cp "$BIN" "$HOME_CACHE/" || true
echo "$BIN"
