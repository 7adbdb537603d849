#!/usr/bin/env bash
# Installs the Debian packages the real one-node cluster (test/k8s/cluster) and the image build
# (.ci/tools/images.sh) need: containerd + runc, the CNI plugins, iptables and conntrack for
# kube-proxy, buildah and mmdebstrap for images, gcc for the pause binary. Idempotent; root only.
set -euo pipefail
PKGS=(containerd runc containernetworking-plugins iptables conntrack buildah mmdebstrap gcc libc6-dev openssl iproute2 util-linux)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
[ "$(id -u)" = 0 ] || { echo "cluster-packages.sh: need root to install ${missing[*]}" >&2; exit 1; }
echo "cluster-packages.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
  || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
