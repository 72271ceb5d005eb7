#!/bin/sh
# Start a local grafana-server with the quicmesh provisioning (datasource + dashboards).
# Usage: grafana/run-grafana.sh [grafana-server args...]
#   QUICMESH_PROMETHEUS_URL   Prometheus to query (default http://127.0.0.1:9090)
#   GRAFANA_HOME              Grafana's install dir (default /usr/share/grafana)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export QUICMESH_PROMETHEUS_URL="${QUICMESH_PROMETHEUS_URL:-http://127.0.0.1:9090}"
export QUICMESH_GRAFANA_DASHBOARDS="${QUICMESH_GRAFANA_DASHBOARDS:-$here/dashboards}"
export GF_PATHS_PROVISIONING="$here/provisioning"
exec grafana-server --homepath "${GRAFANA_HOME:-/usr/share/grafana}" "$@"
