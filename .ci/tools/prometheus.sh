#!/usr/bin/env bash
# Finds or installs a real Prometheus (Debian's `prometheus` package: prometheus + promtool) for the
# scrape test (test/e2e/prometheus-scrape.test.ts). Idempotent.
# Order: $PROMETHEUS_BIN -> prometheus on PATH -> apt-get install prometheus (as root).
# Prints the prometheus binary path on the last line of stdout (promtool sits beside it).
set -euo pipefail
log() { echo "[prometheus.sh] $*" >&2; }

if [[ -n "${PROMETHEUS_BIN:-}" && -x "${PROMETHEUS_BIN}" ]]; then echo "$PROMETHEUS_BIN"; exit 0; fi
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then command -v prometheus; exit 0; fi
if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
  log "installing Debian prometheus"
  # The package would start a system service; policy-rc.d in containers refuses, which is what we want.
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) >&2
  command -v prometheus && exit 0
fi
log "no prometheus found and cannot install it (need root and apt-get, or PROMETHEUS_BIN)"
exit 1
