#!/usr/bin/env bash
# Builds the pod sandbox ("pause") image the real cluster's containerd uses (no pause image can be
# pulled here): pause.c compiled static, in an image from scratch, exported as a docker-archive
# that `ctr images import` takes. Prints the archive path on the last line; cached by content.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT_DIR="${CONSORTIA_IMAGES_CACHE:-$ROOT/.cache/images}"
IMAGE="${PAUSE_IMAGE:-localhost/consortia/pause:1}"
SRC="$ROOT/.ci/tools/pause.c"
RECIPE=1
KEY="$( (echo "$RECIPE $IMAGE"; cat "$SRC") | sha256sum | cut -c1-16)"
ARCHIVE="$OUT_DIR/pause-$KEY.tar"
log() { echo "pause-image.sh: $*" >&2; }
if [ -s "$ARCHIVE" ]; then echo "$ARCHIVE"; exit 0; fi
mkdir -p "$OUT_DIR"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"; [ -n "${CTR:-}" ] && buildah --storage-driver overlay rm "$CTR" >/dev/null 2>&1 || true' EXIT
gcc -static -Os -s -o "$WORK/pause" "$SRC"
CTR="$(buildah --storage-driver overlay from scratch)"
buildah --storage-driver overlay copy "$CTR" "$WORK/pause" /pause >/dev/null
buildah --storage-driver overlay config --entrypoint '["/pause"]' --user 65535:65535 "$CTR"
buildah --storage-driver overlay commit -q "$CTR" "$IMAGE" >/dev/null
rm -f "$ARCHIVE.tmp"
buildah --storage-driver overlay push -q "$IMAGE" "docker-archive:$ARCHIVE.tmp:$IMAGE" >&2
mv "$ARCHIVE.tmp" "$ARCHIVE"
log "built $IMAGE -> $ARCHIVE ($(stat -c %s "$ARCHIVE") bytes)"
echo "$ARCHIVE"
