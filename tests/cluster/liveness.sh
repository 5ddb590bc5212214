#!/usr/bin/env bash
# liveness.sh STATE: SIGSTOP of one pod's process (from the node) under load through the
# ClusterIP. The readiness probe takes the frozen pod out of the endpoints, the liveness probe
# (/healthz, every 10 s, 3 failures) makes the kubelet restart the container; then 3 pods are
# Ready again. Figures: seconds to leave the endpoints and to the restart, failed requests (those
# routed to the frozen pod before readiness removed it: no retry below an Ingress).
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  need_node_privileges
  use_state "$1"
  local pod ip id pid restarts
  settle
  pod="$(ready_pod_names | head -n1)"
  ip="$(kn get pod "${pod}" -o jsonpath='{.status.podIP}')"
  restarts="$(kn get pod "${pod}" -o jsonpath='{.status.containerStatuses[0].restartCount}')"
  id="$(kn get pod "${pod}" -o jsonpath='{.status.containerStatuses[0].containerID}')"
  pid="$(ctr_k8s tasks ls | awk -v id="${id#containerd://}" '$1 == id {print $2}')"
  [[ ${pid} =~ ^[1-9][0-9]*$ ]] || fail "no running task for ${pod}"
  load_start "http://$(service_ip)/"
  local t0=${SECONDS} out left=""
  kill -STOP "${pid}"
  log "SIGSTOP sent to ${pod}'s process ${pid}"
  local deadline=$((SECONDS + 180))
  until [[ $(kn get pod "${pod}" -o jsonpath='{.status.containerStatuses[0].restartCount}') -gt ${restarts} ]]; do
    if [[ -z ${left} && $(kn get endpoints "${APP}" -o jsonpath='{.subsets[*].addresses[*].ip}') != *"${ip}"* ]]; then
      left=$((SECONDS - t0))
    fi
    ((SECONDS < deadline)) || fail "${pod} was not restarted within 180 s of SIGSTOP"
    sleep 1
  done
  local restarted=$((SECONDS - t0))
  wait_for 120 "3 pods Ready after the restart" three_ready
  load_stop "liveness"
  out="$(kn get events --field-selector "involvedObject.name=${pod}" -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}' | grep -m1 'Liveness probe failed' || true)"
  [[ -n ${out} ]] || fail "no 'Liveness probe failed' event for ${pod}"
  [[ -n ${left} ]] || fail "${pod} never left the endpoints while frozen"
  figure "liveness: ${pod} SIGSTOPped; out of the endpoints after ${left} s (readiness), restarted by the kubelet after ${restarted} s (restartCount ${restarts} -> $((restarts + 1))); event '${out}'; ${LOAD_FAILED} of ${LOAD_TOTAL} GETs failed"
}

main "$@"
