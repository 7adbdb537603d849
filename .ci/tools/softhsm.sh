#!/usr/bin/env bash
# Installs SoftHSM2 (Debian's softhsm2: a PKCS#11 token with Ed25519/CKM_EDDSA since 2.5) for the
# pkcs11 key custody tests (test/lib/custody, test/cli/keys-custody.test.ts), which create their
# own tokens in temp dirs. Idempotent; root only when something is missing.
set -euo pipefail
MODULE=/usr/lib/softhsm/libsofthsm2.so
if dpkg-query -W -f='${Status}' softhsm2 2>/dev/null | grep -q 'install ok installed' && [ -e "$MODULE" ]; then exit 0; fi
[ "$(id -u)" = 0 ] || { echo "softhsm.sh: need root to install softhsm2" >&2; exit 1; }
echo "softhsm.sh: installing softhsm2" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends softhsm2 >&2 \
  || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends softhsm2 >&2; }
[ -e "$MODULE" ] || { echo "softhsm.sh: $MODULE missing after install" >&2; exit 1; }
