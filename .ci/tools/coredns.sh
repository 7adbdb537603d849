#!/usr/bin/env bash
# Builds (or reuses) CoreDNS from the Go module proxy and prints its path: the real cluster's DNS
# (test/k8s/cluster) runs it on the host, serving cluster.local from the API server.
# CoreDNS's go.mod has no replace directives, so a plain `go install` works.
# Cache: <repo>/.cache/tools; a copy under $HOME/.cache/consortia/tools is reused by fresh clones.
set -euo pipefail

COREDNS_VERSION="${COREDNS_VERSION:-v1.12.4}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${CONSORTIA_TOOLS_CACHE:-$ROOT/.cache/tools}"
SHARED_DIR="${HOME:-/root}/.cache/consortia/tools"
RECIPE=1
NAME="coredns-${COREDNS_VERSION}-r${RECIPE}"
log() { echo "coredns.sh: $*" >&2; }

usable() { [ -x "$1" ] && "$1" -version 2>/dev/null | grep -q "CoreDNS-${COREDNS_VERSION#v}"; }
for candidate in "$CACHE_DIR/$NAME/coredns" "$SHARED_DIR/$NAME/coredns"; do
  if usable "$candidate"; then echo "$candidate"; exit 0; fi
done
command -v go >/dev/null 2>&1 || { log "go is required to build coredns"; exit 1; }
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.$NAME.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if usable "$CACHE_DIR/$NAME/coredns"; then echo "$CACHE_DIR/$NAME/coredns"; exit 0; fi
TMP_BIN="$(mktemp -d "$CACHE_DIR/.build-XXXXXX")"
trap 'rm -rf "$TMP_BIN"' EXIT
log "building coredns ${COREDNS_VERSION} from the Go module proxy"
START=$(date +%s)
GOBIN="$TMP_BIN" GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0 \
  go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@${COREDNS_VERSION}"
mkdir -p "$CACHE_DIR/$NAME" && mv "$TMP_BIN/coredns" "$CACHE_DIR/$NAME/coredns"
log "built in $(( $(date +%s) - START ))s"
usable "$CACHE_DIR/$NAME/coredns" || { log "built binary does not report ${COREDNS_VERSION}"; exit 1; }
if mkdir -p "$SHARED_DIR/$NAME" 2>/dev/null && cp "$CACHE_DIR/$NAME/coredns" "$SHARED_DIR/$NAME/coredns.tmp.$$" 2>/dev/null; then
  mv "$SHARED_DIR/$NAME/coredns.tmp.$$" "$SHARED_DIR/$NAME/coredns"
fi
echo "$CACHE_DIR/$NAME/coredns"
