#!/bin/sh
# Consortia chain-node entrypoint: the same script starts the node in the container image and
# as a plain process from a checkout (after `npm run build`).
#
#   entrypoint.sh --config /etc/consortia/node.json      run with a config file (+ env overrides)
#   entrypoint.sh                                        run from CONSORTIA_NODE_* env only
#   entrypoint.sh keygen --key-file F --chain-id C       print {publicKey, proofOfPossession}
#
# Environment (each overrides the same key of the config file, see README "Chain node"):
#   CONSORTIA_NODE_ROLE, _CHAIN_ID, _DATA_DIR, _KEY_FILE, _GENESIS_FILE, _P2P_LISTEN, _P2P_ADVERTISE,
#   _API_LISTEN, _PEERS (pubhex@host:port,...), _LOG_LEVEL, ... ; CONSORTIA_NODE_CONFIG (config path).
#   CONSORTIA_NODE_GENESIS_JSON  sealed genesis JSON text, written to a file for the node.
#   CONSORTIA_NODE_MAIN          path of dist/node/main.js (default: image or checkout location).
set -eu

script_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
if [ -n "${CONSORTIA_NODE_MAIN:-}" ]; then
  main="$CONSORTIA_NODE_MAIN"
elif [ -f /app/dist/node/main.js ]; then
  main=/app/dist/node/main.js
else
  main="$script_dir/../dist/node/main.js"
fi
if [ ! -f "$main" ]; then
  echo "{\"level\":\"error\",\"msg\":\"node entrypoint not found\",\"path\":\"$main\",\"hint\":\"run npm run build\"}" >&2
  exit 1
fi

# Inside the image: listen on all interfaces and keep state in the /data volume unless told otherwise.
# Only applied when no config file is given, because env overrides the file.
has_config=0
for arg in "$@"; do
  case "$arg" in
    --config|--config=*|-c|keygen) has_config=1 ;;
  esac
done
if [ -n "${CONSORTIA_NODE_CONFIG:-}" ]; then has_config=1; fi
if [ "${CONSORTIA_CONTAINER:-0}" = "1" ] && [ "$has_config" = "0" ]; then
  export CONSORTIA_NODE_DATA_DIR="${CONSORTIA_NODE_DATA_DIR:-/data}"
  export CONSORTIA_NODE_API_LISTEN="${CONSORTIA_NODE_API_LISTEN:-0.0.0.0:26657}"
  export CONSORTIA_NODE_P2P_LISTEN="${CONSORTIA_NODE_P2P_LISTEN:-0.0.0.0:26656}"
fi

# Genesis passed as text (e.g. from a secret or a docker run -e): hand the node a file.
if [ -n "${CONSORTIA_NODE_GENESIS_JSON:-}" ] && [ -z "${CONSORTIA_NODE_GENESIS_FILE:-}" ]; then
  genesis_dir="${TMPDIR:-/tmp}/consortia-node-$$"
  mkdir -p "$genesis_dir"
  printf '%s' "$CONSORTIA_NODE_GENESIS_JSON" > "$genesis_dir/genesis.json"
  export CONSORTIA_NODE_GENESIS_FILE="$genesis_dir/genesis.json"
fi
unset CONSORTIA_NODE_GENESIS_JSON

# exec: the node becomes PID 1 of the container and receives SIGTERM directly.
# V8 flags: src/lib/node-flags.ts says why (a test keeps the two lists equal).
exec node --max-semi-space-size=32 "$main" "$@"
