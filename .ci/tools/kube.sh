#!/usr/bin/env bash
# Builds (or reuses) the Kubernetes server binaries from the Go module proxy:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl, in one
# `go build` so that the packages they share compile once (cold: about 10 min on 2 cores).
#
# k8s.io/kubernetes cannot be `go install`ed directly: its go.mod replaces every k8s.io/* staging
# module with ./staging/src/k8s.io/..., and those v0.0.0 requirements do not resolve outside the
# repo. So we write a tiny wrapper module that requires k8s.io/kubernetes@vX.Y.Z and replaces each
# staging module with its published v0.Y.Z twin, then build the cmd/* packages.
#
# Cache: $CONSORTIA_K8S_CACHE (default <repo>/.cache/k8s). A copy in $HOME/.cache/consortia/k8s is
# reused when present (CI clones afresh on the same machine) and refreshed after a build.
# Idempotent. Prints the directory holding the binaries on the last line of stdout.
# With an argument list (e.g. `kube.sh kube-apiserver`) only those are required to exist.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
REPO_ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE_DIR="${CONSORTIA_K8S_CACHE:-$REPO_ROOT/.cache/k8s}"
HOME_CACHE="${HOME:-/root}/.cache/consortia/k8s"
# Bump RECIPE when the build flags change, so that an old cached binary is not reused.
RECIPE=3
ALL=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
WANTED=("${@:-${ALL[@]}}")
[[ $# -gt 0 ]] || WANTED=("${ALL[@]}")
NAME="kube-${K8S_VERSION}-r${RECIPE}"
OUT="$CACHE_DIR/$NAME"

log() { echo "[kube.sh] $*" >&2; }

have_all() { local d="$1" b; for b in "${WANTED[@]}"; do [[ -x "$d/$b" ]] || return 1; done; }

mkdir -p "$CACHE_DIR"
if have_all "$OUT"; then log "reusing $OUT"; echo "$OUT"; exit 0; fi
if have_all "$HOME_CACHE/$NAME"; then
  log "copying from home cache $HOME_CACHE/$NAME"
  rm -rf "$OUT.tmp.$$" && cp -r "$HOME_CACHE/$NAME" "$OUT.tmp.$$" && rm -rf "$OUT" && mv "$OUT.tmp.$$" "$OUT"
  echo "$OUT"; exit 0
fi

command -v go >/dev/null || { log "go toolchain not found"; exit 1; }
STAGING_VERSION="v0.${K8S_VERSION#v1.}"
WORK="$CACHE_DIR/wrapper-${K8S_VERSION}"
mkdir -p "$WORK"
start=$(date +%s)
log "building ${ALL[*]} $K8S_VERSION (staging $STAGING_VERSION) in $WORK"

# Upstream go.mod, fetched through the module proxy (no git needed).
GOMOD_FILE="$(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "$GOMOD_FILE" ]] || { log "could not download go.mod of k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
GO_DIRECTIVE="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$GOMOD_FILE" | head -1)"

{
  echo "module consortia.local/kube-wrapper"
  echo
  echo "go ${GO_DIRECTIVE:-1.24.0}"
  echo
  echo "require k8s.io/kubernetes ${K8S_VERSION}"
  echo
  echo "replace ("
  # Lines like: k8s.io/api => ./staging/src/k8s.io/api
  grep -E '^\s*k8s\.io/[^ ]+ => \./staging/src/' "$GOMOD_FILE" | awk -v v="$STAGING_VERSION" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} > "$WORK/go.mod"
{
  printf '//go:build tools\n\npackage tools\n\nimport (\n'
  for b in "${ALL[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
  printf ')\n'
} > "$WORK/tools.go"
log "$(grep -c '=> ' "$WORK/go.mod") staging replaces generated"

cd "$WORK"
GOFLAGS=-mod=mod go mod tidy -e >&2 2>"$WORK/tidy.log" || { log "go mod tidy failed:"; tail -30 "$WORK/tidy.log" >&2; exit 1; }
# Version metadata the way kubernetes' hack/lib/version.sh injects it: /version must report
# the real gitVersion (clients and the control plane's cluster check read it).
MINOR="${K8S_VERSION#v1.}"; MINOR="${MINOR%%.*}"
LDFLAGS="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  LDFLAGS="$LDFLAGS -X $pkg.gitVersion=${K8S_VERSION} -X $pkg.gitMajor=1 -X $pkg.gitMinor=${MINOR} -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
TMP="$OUT.tmp.$$"
rm -rf "$TMP" && mkdir -p "$TMP"
pkgs=(); for b in "${ALL[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$LDFLAGS" -o "$TMP/" "${pkgs[@]}"
rm -rf "$OUT" && mv "$TMP" "$OUT"
log "built in $(( $(date +%s) - start ))s"
mkdir -p "$HOME_CACHE" && rm -rf "$HOME_CACHE/$NAME.tmp.$$" && cp -r "$OUT" "$HOME_CACHE/$NAME.tmp.$$" \
  && rm -rf "$HOME_CACHE/$NAME" && mv "$HOME_CACHE/$NAME.tmp.$$" "$HOME_CACHE/$NAME" || log "could not refresh home cache"
echo "$OUT"
