#!/usr/bin/env bash
# Fetches the Prometheus Operator CRDs (ServiceMonitor, PrometheusRule, ...) that the chart's
# optional objects need, from the Go module proxy (the prometheus-operator Go module ships them
# under example/prometheus-operator-crd/). Prints the directory holding the CRD YAML files.
# Idempotent: the Go module cache keeps the download.
set -euo pipefail
PROM_OPERATOR_VERSION="${PROM_OPERATOR_VERSION:-v0.85.0}"
command -v go >/dev/null 2>&1 || { echo "helm-crds.sh: go is required" >&2; exit 1; }
DIR="$(GOFLAGS=-mod=mod go mod download -json "github.com/prometheus-operator/prometheus-operator@${PROM_OPERATOR_VERSION}" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
CRDS="$DIR/example/prometheus-operator-crd"
[ -f "$CRDS/monitoring.coreos.com_servicemonitors.yaml" ] || { echo "helm-crds.sh: no CRDs under $CRDS" >&2; exit 1; }
echo "$CRDS"
