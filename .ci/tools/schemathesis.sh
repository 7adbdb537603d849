#!/usr/bin/env bash
# OpenAPI-driven fuzzing of both HTTP APIs with schemathesis (PyPI, pinned below), run by
# test/e2e/api-fuzz.test.ts (so by `npm test`) and by hand after `npm run build`:
#
#   bash .ci/tools/schemathesis.sh            # install if needed, fuzz both APIs; exit 0 = no failure
#   bash .ci/tools/schemathesis.sh install    # only install; prints the schemathesis binary path
#
# What it runs against (all on loopback, all stopped on exit):
#   - a real control plane (dist/control-plane/main.js) with a bootstrap platform-admin token and
#     one organization created over the API, so authorized routes are exercised (the token goes in
#     every request; `ignored_auth` checks what happens without it). Its local runtime spawns the
#     stand-in node of the runtime tests (test/control-plane/runtimes/local/support/fake-node.mjs),
#     so a node the fuzzer manages to request costs nothing; its rate limit is off (one client
#     sends everything).
#   - a real 1-validator dev chain (dist/node/dev-net.js --validators 1), fuzzed through the node's
#     own /openapi.json.
#
# Checks: `--checks all`, with these knowingly excluded (each with its reason):
#   - positive_data_acceptance: a request valid by the schema may still be refused by a domain
#     rule the schema cannot state, with 400 by design: an Ed25519 signature that does not verify
#     (INVALID_SIGNATURE), founders that do not exist, a tier that does not fit the role
#     (INVALID_TIER), a kubeconfig without an encryption key (ENCRYPTION_NOT_CONFIGURED), a tx
#     whose bytes do not decode (CODEC_*, INVALID_TX) or a refused tx (422 BAD_NONCE, ...).
#     Random data never carries a valid signature, so this check cannot tell those from bugs.
#     Undocumented statuses are still caught by status_code_conformance, 5xx by not_a_server_error.
#   - ensure_resource_availability: a create retried with the same Idempotency-Key answers the
#     original 201 again (mutate.ts, by design, like any idempotent API), also after that resource
#     was deleted; the fuzzer reuses keys ("0", ...) across its phases, sees "created" then 404 and
#     cannot know the resource was deleted in an earlier phase. Tokens are the only resource deleted
#     outright (nodes and consortia go through DELETING / Terminating and stay readable), so this is
#     the only thing the check can report here. Disabling it for the token routes alone is not
#     enough: its stateful form (ST302) attributes the failure to the POST -> DELETE link, which the
#     per-operation configuration of 4.32.5 did not reach (seen once in three CI runs).
# Configured, not excluded: negative_data_rejection also accepts 413 / 414 / 431 (documented on every
# operation): an invalid value that is too long (e.g. a cursor over maxLength, a path parameter over
# the router's limit) is refused by the transport limits before the schema is looked at, which is
# still a refusal in the error shape, not an acceptance.
# Operations left out: the two server-sent-event streams (GET /v1/events of each API), which
# never end by design (their statuses and 401 are documented and covered by unit tests).
#
# Bounded in time: each API gets --max-time ${FUZZ_SECONDS_PER_API:-60} s (fuzzing repeats until the
# budget is spent), --max-examples per operation, a 10 s request timeout; the whole run (install
# excepted) stays under ~3 minutes on 2 cores. Reports (JUnit) go to $FUZZ_REPORT_DIR if set.
set -euo pipefail

VERSION=4.32.5
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.cache/schemathesis-$VERSION"
BIN="$VENV/bin/schemathesis"
log() { echo "[schemathesis.sh] $*" >&2; }

install() {
  if [[ -x "$BIN" ]] && "$BIN" --version 2>/dev/null | grep -q "$VERSION"; then return 0; fi
  log "installing schemathesis==$VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
  "$BIN" --version >&2
}

install
if [[ "${1:-run}" == "install" ]]; then echo "$BIN"; exit 0; fi

for f in dist/control-plane/main.js dist/node/dev-net.js dist/node/main.js; do
  [[ -f "$ROOT/$f" ]] || { log "$f missing: run npm run build first"; exit 2; }
done

SECONDS_PER_API="${FUZZ_SECONDS_PER_API:-60}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-30}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/consortia-fuzz-XXXXXX")"
CP_PID=""
NET_PID=""

cleanup() {
  local rc=$?
  [[ -n "$NET_PID" ]] && kill -TERM "$NET_PID" 2>/dev/null || true
  [[ -n "$CP_PID" ]] && kill -TERM "$CP_PID" 2>/dev/null || true
  for pid in $NET_PID $CP_PID; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # nodes the control plane's local runtime started (detached; pid files under its nodes dir)
  node --input-type=module -e "
    const { stopAllLocalNodes } = await import('$ROOT/dist/control-plane/runtimes/local/index.js');
    await stopAllLocalNodes(process.argv[1]);" "$WORK/nodes" 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    log "failed ($rc); logs:"
    tail -n 40 "$WORK/control-plane.log" "$WORK/devnet.log" 2>/dev/null >&2 || true
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { # url seconds
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; do
    (( $(date +%s) < deadline )) || { log "$1 did not answer within $2 s"; return 1; }
    sleep 0.2
  done
}

# ---- control plane
CP_PORT="$(free_port)"
CP_URL="http://127.0.0.1:$CP_PORT"
TOKEN="fuzz-platform-admin-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
mkdir -p "$WORK/nodes"
cat > "$WORK/control-plane.json" <<JSON
{
  "dataDir": "$WORK/store",
  "listen": "127.0.0.1:$CP_PORT",
  "bootstrapToken": "$TOKEN",
  "logLevel": "error",
  "rateLimitMax": 0,
  "tls": { "mode": "off" },
  "reconcileIntervalMs": 1000,
  "localRuntime": {
    "baseDir": "$WORK/nodes",
    "nodeEntrypoint": "$ROOT/test/control-plane/runtimes/local/support/fake-node.mjs",
    "hostRange": { "first": 240, "last": 250 }
  }
}
JSON
node "$ROOT/dist/control-plane/main.js" --config "$WORK/control-plane.json" > "$WORK/control-plane.log" 2>&1 &
CP_PID=$!
wait_http "$CP_URL/healthz" 30
ORG_ID="$(curl -fsS -X POST "$CP_URL/v1/organizations" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "{\"name\":\"fuzz-org\",\"adminPublicKeys\":[\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\"]}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
log "control plane at $CP_URL, organization $ORG_ID"

# ---- 1-validator dev chain
node "$ROOT/dist/node/dev-net.js" --validators 1 --block-interval-ms 500 --log-level warn --dir "$WORK/devnet" > "$WORK/devnet.out" 2> "$WORK/devnet.log" &
NET_PID=$!
deadline=$(( $(date +%s) + 60 ))
until grep -q '"devnet-ready"' "$WORK/devnet.out" 2>/dev/null; do
  kill -0 "$NET_PID" 2>/dev/null || { log "dev-net exited"; exit 1; }
  (( $(date +%s) < deadline )) || { log "dev-net not ready within 60 s"; exit 1; }
  sleep 0.2
done
NODE_URL="$(grep '"devnet-ready"' "$WORK/devnet.out" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["nodes"][0]["api"])')"
wait_http "$NODE_URL/readyz" 60
log "chain node at $NODE_URL"

# ---- fuzz
cat > "$WORK/schemathesis.toml" <<'TOML'
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "428", "429", "431"]

TOML
COMMON=(
  --checks all
  --exclude-checks positive_data_acceptance,ensure_resource_availability
  --max-examples "$MAX_EXAMPLES"
  --max-time "$SECONDS_PER_API"
  --request-timeout 10
  --exclude-path /v1/events
  --seed "${FUZZ_SEED:-20261207}"
  --no-color
  --warnings off
  --generation-database none
)
report() { # name
  if [[ -n "${FUZZ_REPORT_DIR:-}" ]]; then mkdir -p "$FUZZ_REPORT_DIR"; echo --report junit --report-junit-path "$FUZZ_REPORT_DIR/$1.xml"; fi
}
status=0
started=$(date +%s)
cd "$WORK" # schemathesis keeps a cache (.schemathesis/) in its working directory: the temp dir, not the repo
log "fuzzing the control plane"
# shellcheck disable=SC2046
"$BIN" --config-file "$WORK/schemathesis.toml" run "$CP_URL/openapi.json" "${COMMON[@]}" -H "Authorization: Bearer $TOKEN" $(report control-plane) || status=1
log "fuzzing the chain node"
# shellcheck disable=SC2046
"$BIN" --config-file "$WORK/schemathesis.toml" run "$NODE_URL/openapi.json" "${COMMON[@]}" $(report chain-node) || status=1
log "fuzzing took $(( $(date +%s) - started )) s; exit $status"
exit $status
