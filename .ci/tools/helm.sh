#!/usr/bin/env bash
# Builds (or reuses) the helm v3 CLI from the Go module proxy and prints its path.
# Why from source: the only network here is package registries, so no release tarballs.
# Cache: /work/main/.cache/tools (gitignored); a binary under $HOME/.cache/consortia/tools is reused.
# Idempotent: a second run prints the cached path without rebuilding.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.21.4}"   # go.mod says go 1.26.0: builds with the local go1.26
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${CONSORTIA_TOOLS_CACHE:-$ROOT/.cache/tools}"
SHARED_DIR="${HOME:-/root}/.cache/consortia/tools"
# Bump RECIPE when the build flags change, so that an old cached binary is not reused.
RECIPE=2
NAME="helm-${HELM_VERSION}-r${RECIPE}"

log() { echo "helm.sh: $*" >&2; }

# A cached binary counts only if it runs and reports the expected version.
usable() {
  [ -x "$1" ] && "$1" version --short 2>/dev/null | grep -q "^${HELM_VERSION}"
}

for candidate in "$CACHE_DIR/$NAME/helm" "$SHARED_DIR/$NAME/helm"; do
  if usable "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done

command -v go >/dev/null 2>&1 || { log "go is required to build helm"; exit 1; }

mkdir -p "$CACHE_DIR"
# Serialise concurrent builds (tests and CI may call this at once).
exec 9>"$CACHE_DIR/.$NAME.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if usable "$CACHE_DIR/$NAME/helm"; then echo "$CACHE_DIR/$NAME/helm"; exit 0; fi

TMP_BIN="$(mktemp -d "$CACHE_DIR/.build-XXXXXX")"
trap 'rm -rf "$TMP_BIN"' EXIT
log "building helm ${HELM_VERSION} from the Go module proxy (first run takes a few minutes)"
START=$(date +%s)
# Version metadata is injected the way helm's Makefile does, so `helm version` is truthful and
# `helm template`/`helm lint` assume the Kubernetes version of helm's client-go (major+1.minor,
# e.g. v0.36.x -> 1.36) instead of the v1.20 fallback.
GOMOD="$(go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
CLIENT_GO="$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$GOMOD" | head -1)"
[ -n "$CLIENT_GO" ] || { log "cannot read the client-go version from $GOMOD"; exit 1; }
LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
for pkg in pkg/lint/rules pkg/chartutil; do
  LDFLAGS="$LDFLAGS -X helm.sh/helm/v3/${pkg}.k8sVersionMajor=1 -X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${CLIENT_GO}"
done
GOBIN="$TMP_BIN" GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0 \
  go install -trimpath -ldflags "$LDFLAGS" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
mkdir -p "$CACHE_DIR/$NAME"
mv "$TMP_BIN/helm" "$CACHE_DIR/$NAME/helm"
log "built in $(( $(date +%s) - START ))s"
usable "$CACHE_DIR/$NAME/helm" || { log "built binary does not report ${HELM_VERSION}"; exit 1; }
# Share with later fresh clones on this machine (best effort).
if mkdir -p "$SHARED_DIR/$NAME" 2>/dev/null && cp "$CACHE_DIR/$NAME/helm" "$SHARED_DIR/$NAME/helm.tmp.$$" 2>/dev/null; then
  mv "$SHARED_DIR/$NAME/helm.tmp.$$" "$SHARED_DIR/$NAME/helm"
else
  log "could not refresh $SHARED_DIR (ignored)"
fi
echo "$CACHE_DIR/$NAME/helm"
