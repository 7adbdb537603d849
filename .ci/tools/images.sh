#!/usr/bin/env bash
# Builds the two container images from the repository's Dockerfiles without a Docker engine and
# without pulling a base image (`npm run images`):
#   consortia/node:<tag>           node-image/Dockerfile (chain node)
#   consortia/control-plane:<tag>  Dockerfile (control plane)
#
# The Dockerfiles' default base is the official node:20-bookworm-slim image; here the bases are
# made from Debian packages instead (trixie ships Node 20) with mmdebstrap, imported into buildah:
#   localhost/consortia-base-build:<recipe hash>    nodejs + npm   (NODE_IMAGE, build stages)
#   localhost/consortia-base-runtime:<recipe hash>  nodejs, no npm (NODE_RUNTIME_IMAGE, final stage)
# each with a `node` user and group (uid/gid 1000) like the official images. The images are built
# with buildah (overlay storage, chroot isolation, host network, --layers) and exported as
# docker-archive tarballs that `docker load` and `ctr -n k8s.io images import` accept:
#   <repo>/.cache/images/consortia-node-<tag>.tar, consortia-control-plane-<tag>.tar
#
# Usage: images.sh [--only node|control-plane] [--tag TAG] [--name-prefix PREFIX]
#                  [--force] [--refresh-base] [--ca-file FILE]
#   --only           build one image (default: both)
#   --tag            image tag (default $IMAGE_TAG or "dev")
#   --name-prefix    repository prefix (default $IMAGE_NAME_PREFIX or "consortia"), e.g.
#                    123456789012.dkr.ecr.eu-west-1.amazonaws.com/consortia -> <prefix>/node:<tag>
#   --force          rebuild and re-export even when the archive is up to date
#   --refresh-base   rebuild the Debian base tarballs (picks up new Debian point/security updates;
#                    otherwise they are cached by recipe hash and never refreshed)
#   --ca-file        extra CA certificates for npm in the build (default $NODE_EXTRA_CA_CERTS, else
#                    none): lets `npm ci` work behind a TLS-intercepting proxy. The host's
#                    /etc/ssl/certs/ca-certificates.crt plus this file are bind-mounted during RUN
#                    steps over the base's own bundle and named by the NODE_EXTRA_CA_CERTS build
#                    arg; they are never copied into a layer.
# Environment: IMAGE_TAG, IMAGE_NAME_PREFIX, CONSORTIA_IMAGES_CACHE (default <repo>/.cache/images),
#   CONSORTIA_BASE_SUITE (trixie), CONSORTIA_DEBIAN_MIRROR (http://deb.debian.org/debian),
#   CONSORTIA_DEBIAN_SECURITY_MIRROR (http://deb.debian.org/debian-security).
#
# An archive is reused (nothing built) when the hash of its inputs (package.json, package-lock.json,
# tsconfig.json, src/**, the image's Dockerfile + ignore file, node-image/entrypoint.sh, the base
# tarballs, the image name and this script) equals the one recorded in <archive>.inputs.
# Needs root (buildah with overlay storage, mmdebstrap in root mode) and installs buildah and
# mmdebstrap with apt-get when missing. Logs go to stderr; the last line of stdout is one JSON object:
#   {"node":{"image":"consortia/node:dev","archive":"...","bytes":N,"archiveBytes":M,"built":true},
#    "controlPlane":{...}}   (bytes: uncompressed image size; archiveBytes: size of the tarball)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SELF="$REPO_ROOT/.ci/tools/images.sh"
CACHE_DIR="${CONSORTIA_IMAGES_CACHE:-$REPO_ROOT/.cache/images}"
# Bump RECIPE when the way the base tarballs are made changes (hooks, excludes, ...).
RECIPE=1
SUITE="${CONSORTIA_BASE_SUITE:-trixie}"
MIRROR="${CONSORTIA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${CONSORTIA_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# passwd: useradd/groupadd for the node user here and for the control plane's own user.
# g++, make, python3: node-gyp (with npm) builds pkcs11js, the node image's one native addon, in the build stage only.
BUILD_PACKAGES="nodejs,npm,ca-certificates,passwd,g++,make,python3"
RUNTIME_PACKAGES="nodejs,ca-certificates,passwd"
HOST_CA=/etc/ssl/certs/ca-certificates.crt
# The build's CA bundle is bind-mounted over the bases' own bundle (package ca-certificates): a
# file that exists, so the mount point leaves no empty file behind in the images' layers.
CA_IN_BUILD=/etc/ssl/certs/ca-certificates.crt

TAG="${IMAGE_TAG:-dev}"
PREFIX="${IMAGE_NAME_PREFIX:-consortia}"
ONLY=""
FORCE=0
REFRESH_BASE=0
CA_FILE=""

log() { echo "[images.sh] $*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//' >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) ONLY="${2:-}"; shift 2 ;;
    --only=*) ONLY="${1#*=}"; shift ;;
    --tag) TAG="${2:-}"; shift 2 ;;
    --tag=*) TAG="${1#*=}"; shift ;;
    --name-prefix) PREFIX="${2:-}"; shift 2 ;;
    --name-prefix=*) PREFIX="${1#*=}"; shift ;;
    --ca-file) CA_FILE="${2:-}"; shift 2 ;;
    --ca-file=*) CA_FILE="${1#*=}"; shift ;;
    --force) FORCE=1; shift ;;
    --refresh-base) REFRESH_BASE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
  esac
done
case "$ONLY" in
  ""|all) TARGETS=(node control-plane) ;;
  node|control-plane) TARGETS=("$ONLY") ;;
  *) die "--only must be node or control-plane (got '$ONLY')" ;;
esac
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid tag '$TAG'"
PREFIX="${PREFIX%/}"
[[ -n "$PREFIX" && "$PREFIX" =~ ^[a-z0-9][a-z0-9._/:-]*$ ]] || die "invalid name prefix '$PREFIX'"
if [[ -z "$CA_FILE" ]]; then
  if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "${NODE_EXTRA_CA_CERTS}" ]]; then CA_FILE="$NODE_EXTRA_CA_CERTS"; fi
elif [[ ! -f "$CA_FILE" ]]; then
  die "--ca-file $CA_FILE does not exist"
fi

[[ "$(id -u)" = 0 ]] || die "needs root (buildah overlay storage, mmdebstrap root mode)"

# --- tools ---
need=()
command -v buildah >/dev/null || need+=(buildah)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
# the suite's archive key (bookworm's debian-archive-keyring has trixie's since 2023.3+deb12u1)
[[ -f "/usr/share/keyrings/debian-archive-$SUITE-stable.gpg" ]] || need+=(debian-archive-keyring)
if [[ ${#need[@]} -gt 0 ]]; then
  log "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need[@]}" >&2 \
    || { apt-get update >&2 && apt-get install -y --no-install-recommends "${need[@]}" >&2; }
fi

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.lock"
flock 9 || die "cannot lock $CACHE_DIR/.lock"

BUILDAH=(buildah --storage-driver overlay)
BUILD_CA=""
if [[ -f "$HOST_CA" || -n "$CA_FILE" ]]; then
  BUILD_CA="$CACHE_DIR/build-ca.crt"
  {
    if [[ -f "$HOST_CA" ]]; then cat "$HOST_CA"; fi
    if [[ -n "$CA_FILE" && "$(readlink -f "$CA_FILE")" != "$(readlink -f "$HOST_CA")" ]]; then cat "$CA_FILE"; fi
  } > "$BUILD_CA.tmp"
  mv "$BUILD_CA.tmp" "$BUILD_CA"
fi
t0=$(date +%s)
since() { echo "$(( $(date +%s) - $1 ))s"; }
sha() { sha256sum | cut -c1-64; }
ARCH="$(dpkg --print-architecture)"

# --- Debian base tarballs (cached by recipe hash) and images ---
# Customize hooks run in the finished chroot: the official images' node user; no host resolv.conf
# or hostname baked in, and a plain /etc/hosts (container runtimes bind-mount all three).
HOOKS=(
  'chroot "$1" groupadd --gid 1000 node'
  'chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  ': > "$1/etc/resolv.conf"; : > "$1/etc/hostname"; printf "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" > "$1/etc/hosts"; chmod 0644 "$1/etc/resolv.conf" "$1/etc/hostname" "$1/etc/hosts"'
  'rm -rf "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old "$1"/var/log/apt/* "$1"/var/log/*.log'
)
DPKG_OPTS=(
  'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*'
  'path-exclude=/usr/share/locale/*' 'path-include=/usr/share/locale/locale.alias'
  'path-exclude=/usr/share/lintian/*'
)
SOURCES=(
  "deb $MIRROR $SUITE main"
  "deb $MIRROR $SUITE-updates main"
  "deb $SECURITY_MIRROR $SUITE-security main"
)

recipe_hash() { # kind packages
  printf '%s\n' "recipe=$RECIPE" "kind=$1" "packages=$2" "suite=$SUITE" "arch=$ARCH" "variant=minbase" \
    "${SOURCES[@]}" "${HOOKS[@]}" "${DPKG_OPTS[@]}" | sha | cut -c1-16
}

BASE_IMAGE=()    # kind -> image name (build, runtime)
BASE_TARBALL=()
BASE_SHA=()      # sha256 of the tarball: part of the images' inputs
BASE_PACKAGES=()

base_label() { # image: the tarball sha256 it was imported from ("" when absent)
  "${BUILDAH[@]}" inspect --type image --format '{{index .OCIv1.Config.Labels "org.consortia.base.tarball-sha256"}}' \
    "$1" 2>/dev/null || true
}

make_base() { # index kind packages
  local i="$1" kind="$2" pkgs="$3" h tar args hook opt label
  h="$(recipe_hash "$kind" "$pkgs")"
  BASE_PACKAGES[$i]="$pkgs"
  tar="$CACHE_DIR/base-$kind-$SUITE-$h.tar"
  BASE_IMAGE[$i]="localhost/consortia-base-$kind:$h"
  BASE_TARBALL[$i]="$tar"
  if [[ "$REFRESH_BASE" = 0 && -s "$tar" && -s "$tar.sha256" ]]; then
    BASE_SHA[$i]="$(cat "$tar.sha256")"
    return
  fi
  label="$(base_label "${BASE_IMAGE[$i]}")"
  if [[ "$REFRESH_BASE" = 0 && -n "$label" ]]; then
    # A fresh clone on a machine that built this base before: buildah's storage still has it.
    log "base $kind: no cached tarball, reusing image ${BASE_IMAGE[$i]}"
    BASE_SHA[$i]="$label"
    return
  fi
  local t; t=$(date +%s)
  log "mmdebstrap $SUITE ($kind: $pkgs) -> $tar"
  args=(--variant=minbase --architectures="$ARCH" --include="$pkgs" --format=tar)
  for opt in "${DPKG_OPTS[@]}"; do args+=(--dpkgopt="$opt"); done
  for hook in "${HOOKS[@]}"; do args+=(--customize-hook="$hook"); done
  rm -f "$tar.tmp"
  mmdebstrap "${args[@]}" "$SUITE" "$tar.tmp" "${SOURCES[@]}" </dev/null 2> >(sed -u 's/^/[mmdebstrap] /' >&2)
  # Device nodes are left out: container runtimes provide /dev.
  if tar -tf "$tar.tmp" --wildcards './dev/?*' >/dev/null 2>&1; then
    tar --delete --wildcards './dev/?*' -f "$tar.tmp"
  fi
  sha256sum < "$tar.tmp" | cut -c1-64 > "$tar.sha256.tmp"
  mv "$tar.tmp" "$tar" && mv "$tar.sha256.tmp" "$tar.sha256"
  BASE_SHA[$i]="$(cat "$tar.sha256")"
  log "base $kind tarball: $(stat -c %s "$tar") bytes in $(since "$t")"
}

import_base() { # index kind: (re)import when the image is missing or was made from another tarball
  local i="$1" kind="$2" img="${BASE_IMAGE[$1]}" ctr t
  if [[ "$(base_label "$img")" = "${BASE_SHA[$i]}" ]]; then return; fi
  t=$(date +%s)
  log "importing ${BASE_TARBALL[$i]} as $img"
  ctr="$("${BUILDAH[@]}" from scratch)"
  "${BUILDAH[@]}" add "$ctr" "${BASE_TARBALL[$i]}" / >/dev/null
  "${BUILDAH[@]}" config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd '["node"]' \
    --label "org.opencontainers.image.title=consortia-base-$kind" \
    --label "org.opencontainers.image.description=Debian $SUITE minbase + ${BASE_PACKAGES[$i]//,/ }" \
    --label "org.consortia.base.tarball-sha256=${BASE_SHA[$i]}" \
    "$ctr"
  "${BUILDAH[@]}" commit --quiet --rm --format docker "$ctr" "$img" >/dev/null
  log "imported $img in $(since "$t")"
}

make_base 0 build "$BUILD_PACKAGES"
make_base 1 runtime "$RUNTIME_PACKAGES"

# --- the two images ---
hash_inputs() { # dockerfile ignorefile image-ref
  (
    cd "$REPO_ROOT"
    printf '%s\n' "image=$3" "base-build=${BASE_SHA[0]}" "base-runtime=${BASE_SHA[1]}"
    find src -type f -print0 | LC_ALL=C sort -z \
      | xargs -0 sha256sum -- package.json package-lock.json tsconfig.json node-image/entrypoint.sh "$1" "$2" "$SELF"
  ) | sha
}

image_bytes() { # image: uncompressed size = sum of its layers' sizes (uncompressed tars in local storage;
  # `buildah images` prints the same figure rounded, e.g. "215 MB")
  "${BUILDAH[@]}" inspect --type image --format '{{.Manifest}}' "$1" \
    | grep -o '"layers":.*' | grep -o '"size":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'
}

# buildah would store a registry-less name as localhost/<name>, and the docker-archive then
# carried both names as RepoTags: so a name without a registry is stored fully qualified the way
# docker reads it (consortia/node -> docker.io/consortia/node) and the archive carries that one.
qualified() {
  local first="${1%%/*}"
  if [[ "$1" == */* && ( "$first" == *.* || "$first" == *:* || "$first" == localhost ) ]]; then echo "$1"
  else echo "docker.io/$1"; fi
}

declare -A RESULT_JSON
build_one() { # target
  local target="$1" dockerfile ignorefile ref stored archive stamp inputs t bytes abytes key
  case "$target" in
    node) dockerfile=node-image/Dockerfile; ignorefile=node-image/Dockerfile.dockerignore; key=node ;;
    control-plane) dockerfile=Dockerfile; ignorefile=.dockerignore; key=controlPlane ;;
  esac
  ref="$PREFIX/$target:$TAG"
  stored="$(qualified "$ref")"
  archive="$CACHE_DIR/consortia-$target-$TAG.tar"
  stamp="$archive.inputs"
  inputs="$(hash_inputs "$dockerfile" "$ignorefile" "$ref")"
  if [[ "$FORCE" = 0 && -s "$archive" && -f "$stamp" ]] && grep -qx "inputs=$inputs" "$stamp"; then
    bytes="$(sed -n 's/^bytes=//p' "$stamp")"
    abytes="$(stat -c %s "$archive")"
    log "$ref: inputs unchanged ($inputs), reusing $archive"
    log "$ref: image ${bytes} bytes uncompressed, archive ${abytes} bytes"
    RESULT_JSON[$key]="{\"image\":\"$ref\",\"archive\":\"$archive\",\"bytes\":${bytes:-0},\"archiveBytes\":$abytes,\"built\":false}"
    return
  fi
  import_base 0 build
  import_base 1 runtime
  t=$(date +%s)
  local args=(
    --isolation chroot --network host --layers --pull=never --format docker
    -f "$dockerfile" --ignorefile "$ignorefile"
    --build-arg "NODE_IMAGE=${BASE_IMAGE[0]}"
    --build-arg "NODE_RUNTIME_IMAGE=${BASE_IMAGE[1]}"
    -t "$stored"
  )
  if [[ -n "$BUILD_CA" ]]; then
    args+=(-v "$BUILD_CA:$CA_IN_BUILD:ro" --build-arg "NODE_EXTRA_CA_CERTS=$CA_IN_BUILD")
  fi
  if [[ "$target" = control-plane ]]; then
    args+=(--build-arg "VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$REPO_ROOT/package.json")")
  fi
  local previous
  previous="$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$stored" 2>/dev/null || true)"
  log "buildah build ${args[*]} $REPO_ROOT"
  (cd "$REPO_ROOT" && "${BUILDAH[@]}" build "${args[@]}" .) >&2
  # The image this tag named before is now unnamed: drop it (its layers stay while the build
  # cache uses them) so that rebuilds do not pile up images.
  if [[ -n "$previous" && "$("${BUILDAH[@]}" images --filter dangling=true --no-trunc --quiet)" == *"$previous"* ]]; then
    "${BUILDAH[@]}" rmi "$previous" >/dev/null 2>&1 || true
  fi
  log "$ref: built in $(since "$t")"
  t=$(date +%s)
  rm -f "$archive" "$stamp" "$archive.tmp"
  "${BUILDAH[@]}" push --quiet "$stored" "docker-archive:$archive.tmp:$stored" >&2
  mv "$archive.tmp" "$archive"
  bytes="$(image_bytes "$stored")"
  abytes="$(stat -c %s "$archive")"
  printf '%s\n' "inputs=$inputs" "image=$ref" "bytes=$bytes" "builtAt=$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$stamp"
  log "$ref: exported $archive in $(since "$t")"
  log "$ref: image ${bytes} bytes uncompressed ($("${BUILDAH[@]}" images --format '{{.Size}}' "$stored" | head -n1)), archive ${abytes} bytes"
  log "$ref: in buildah storage as $stored"
  RESULT_JSON[$key]="{\"image\":\"$ref\",\"archive\":\"$archive\",\"bytes\":${bytes:-0},\"archiveBytes\":$abytes,\"built\":true}"
}

for target in "${TARGETS[@]}"; do build_one "$target"; done

log "done in $(since "$t0")"
json="{"
sep=""
for key in node controlPlane; do
  [[ -n "${RESULT_JSON[$key]:-}" ]] || continue
  json+="$sep\"$key\":${RESULT_JSON[$key]}"
  sep=","
done
echo "$json}"
