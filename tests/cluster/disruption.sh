#!/usr/bin/env bash
# disruption.sh STATE restart|new-tag|delete|liveness|drain: one disruption under steady load
# through the Service's ClusterIP (load_start below: a new connection per request, no retries, so
# every failure a client would see is counted), its endpoints watched. README.md says what each
# one requires and measures (cluster.rollout_restart, cluster.rollout_new_tag, cluster.pod_delete,
# cluster.liveness, cluster.drain).
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

settled() { [[ $(ready_pods):$(kn get pods -l "${SELECTOR}" --no-headers | wc -l) == 3:3 ]]; }
# settle: a steady state to disturb: 3 pods, all Ready, none terminating (the previous test's
# old pods gone).
settle() { wait_until 90 "3 pods Ready and no other pod" settled; }

# Epoch milliseconds (of now, of a log line's time), to set beside the endpoints watch's records.
now_ms() { date +%s%3N; }
to_ms() { date -u -d "$1" +%s%3N; }

# load_start: what watches a disruption, until load_stop:
# - LOAD_LOG: GET / through the Service's ClusterIP, by one curl about 30 times a second, each on
#   a new connection (Connection: close: what a client without keep-alive sees), 2 s timeout, no
#   retry; a line per request, "BODY CURL_EXIT HTTP_STATUS" (line-buffered, so a request the stop
#   interrupts is not recorded). The URL's fragment only numbers the requests: it is not sent.
# - WATCH_LOG: the Service's endpoints, a line per change, "EPOCH_MS IP,IP,..." (or <none>).
LOAD_PID="" WATCH_PID="" LOAD_LOG="" WATCH_LOG=""
load_start() {
  LOAD_LOG="${STATE}/load.log" WATCH_LOG="${STATE}/endpoints.watch"
  stdbuf -oL curl -s --rate 30/s --max-time 2 -H 'Connection: close' -w ' %{exitcode} %{http_code}\n' \
    "http://$(service_ip)/#[1-1000000]" >"${LOAD_LOG}" 2>/dev/null &
  LOAD_PID=$!
  # No --request-timeout (kc's 30 s would end the watch).
  (kubectl --context "${CONTEXT}" -n "${NS}" get endpoints "${APP}" -w --no-headers -o custom-columns=IPS:.subsets[*].addresses[*].ip |
    while IFS= read -r line; do printf '%s %s\n' "$(now_ms)" "${line}"; done) >"${WATCH_LOG}" &
  WATCH_PID=$!
  trap load_kill EXIT # never left running by a failed test
  sleep 1
}
# load_kill: ends curl, the watch's subshell and its children (kubectl, the reader).
load_kill() {
  local -a watch
  mapfile -t watch < <(pgrep -P "${WATCH_PID}")
  kill "${LOAD_PID}" "${WATCH_PID}" "${watch[@]}" 2>/dev/null || true
  wait "${LOAD_PID}" "${WATCH_PID}" 2>/dev/null || true
  trap - EXIT
}
# load_stop NAME: load_kill, then the requests in LOAD_TOTAL and the failed ones in LOAD_FAILED:
# every line but the contract's exact answer with curl exit 0 and status 200 (logged).
LOAD_FAILED=0 LOAD_TOTAL=0
load_stop() {
  load_kill
  local ok="${EXPECTED_ROOT_BODY} 0 200"
  LOAD_TOTAL="$(grep -cE ' [0-9]+ [0-9]{3}$' "${LOAD_LOG}" || true)"
  LOAD_FAILED=$((LOAD_TOTAL - $(grep -cxF "${ok}" "${LOAD_LOG}" || true)))
  if ((LOAD_FAILED > 0)); then
    log "failed requests of '$1' (body, curl exit, HTTP status):"
    grep -vxF "${ok}" "${LOAD_LOG}" | head -n 20 >&2
  fi
  ((LOAD_TOTAL > 0)) || fail "the load of '$1' sent no request"
}
# Fewest addresses in the endpoints over the watch.
min_endpoints() { awk '{n = ($2 == "<none>") ? 0 : split($2, a, ","); if (min == "" || n < min) min = n} END {print min}' "${WATCH_LOG}"; }
# left_endpoints IP T0: when (epoch ms) IP was first out of the endpoints at or after T0.
left_endpoints() { awk -v ip=",$1," -v t0="$2" '$1 >= t0 && index("," $2 ",", ip) == 0 {print $1; exit}' "${WATCH_LOG}"; }

rollout() { # rollout NAME CMD...: CMD starts a rollout; measure it under load, 0 failures required
  local name="$1"
  shift
  settle
  load_start
  local t0 t1
  t0="$(now_ms)"
  "$@" >&2
  kn rollout status "deployment/${APP}" --timeout=240s >&2 || fail "${name}: not rolled out within 240s"
  t1="$(now_ms)"
  sleep 2
  load_stop "${name}"
  figure "${name}: rolled out in $(((t1 - t0) / 1000)).$(((t1 - t0) % 1000 / 100)) s; ${LOAD_FAILED} of ${LOAD_TOTAL} GETs through the ClusterIP failed"
  ((LOAD_FAILED == 0)) || fail "${name}: ${LOAD_FAILED} failed requests, want 0"
  verify_rollout 60
}

# pod_log MSG FIELD: FIELD of the deleted pod's first log line of MSG (a JSON line).
pod_log() { grep -m1 "\"msg\":\"$1\"" "${STATE}/deleted-pod.log" | sed -E "s/.*\"$2\":\"?([^\",}]+).*/\1/" || true; }

delete_pod() {
  local pod ip
  settle
  pod="$(ready_pod_names | head -n1)"
  ip="$(kn get pod "${pod}" -o jsonpath='{.status.podIP}')"
  load_start
  kubectl --context "${CONTEXT}" -n "${NS}" logs -f "${pod}" >"${STATE}/deleted-pod.log" 2>&1 &
  local logs_pid=$! t0
  sleep 1
  t0="$(now_ms)"
  kn delete pod "${pod}" --wait=false >&2
  wait_until 120 "3 pods Ready after deleting ${pod}" three_ready
  wait_until 60 "the deleted pod's log stream to end" test ! -d "/proc/${logs_pid}"
  sleep 2
  load_stop "pod delete"
  local left draining stopped
  left="$(left_endpoints "${ip}" "${t0}")"
  draining="$(pod_log draining time)"
  stopped="$(pod_log stopped time)"
  [[ -n ${left} ]] || fail "the endpoints watch never dropped ${ip} (${pod})"
  [[ -n ${draining} && -n ${stopped} ]] || {
    cat "${STATE}/deleted-pod.log" >&2
    fail "no draining/stopped lines in ${pod}'s log"
  }
  local drain_ms stop_accept
  drain_ms="$(to_ms "${draining}")"
  stop_accept=$((drain_ms + $(pod_log draining drain_seconds) * 1000))
  figure "pod delete: ${LOAD_FAILED} of ${LOAD_TOTAL} GETs failed; ${pod} (${ip}) deleted at +0 ms, left the endpoints at +$((left - t0)) ms, got SIGTERM (log 'draining') at +$((drain_ms - t0)) ms, stopped accepting at +$((stop_accept - t0)) ms (draining + DRAIN_SECONDS), exited (log 'stopped') at +$(($(to_ms "${stopped}") - t0)) ms"
  ((left < stop_accept)) || fail "readiness: ${pod} left the endpoints at +$((left - t0)) ms, after it stopped accepting (+$((stop_accept - t0)) ms)"
  figure "readiness: ${pod} left the endpoints $((stop_accept - left)) ms before it stopped accepting"
}

drain_node() {
  settle
  local -a before
  mapfile -t before < <(ready_pod_names)
  load_start
  local t0 rc=0 out
  t0="$(now_ms)"
  out="$(kc drain "${NODE_NAME}" --ignore-daemonsets --delete-emptydir-data --timeout=40s 2>&1)" || rc=$?
  printf '%s\n' "${out}" >&2
  local took=$((($(now_ms) - t0) / 1000)) evicted=0 p blocked
  for p in "${before[@]}"; do ready_pod_names | grep -xF "${p}" >/dev/null || evicted=$((evicted + 1)); done
  blocked="$(grep -c 'violate the pod.s disruption budget' <<<"${out}" || true)"
  figure "drain: kubectl drain exit ${rc} after ${took} s (--timeout=40s); ${evicted} of 3 pods evicted, ${blocked} eviction attempts refused by the PodDisruptionBudget; Ready pods $(ready_pods), Pending (node cordoned, nowhere to go) $(kn get pods -l "${SELECTOR}" --field-selector=status.phase=Pending -o name | wc -l)"
  ((rc != 0)) || fail "drain: a single-node drain finished although the PDB allows 1 unavailable pod of 3 and nothing can reschedule"
  ((evicted == 1)) || fail "drain: ${evicted} pods evicted, want exactly 1 (PDB maxUnavailable 1)"
  t0="$(now_ms)"
  kc uncordon "${NODE_NAME}" >&2
  wait_until 120 "3 pods Ready after uncordon" three_ready
  local t1
  t1="$(now_ms)"
  sleep 2
  load_stop "drain"
  figure "drain+uncordon: ${LOAD_FAILED} of ${LOAD_TOTAL} GETs failed; fewest pods in the endpoints: $(min_endpoints); 3 Ready $(((t1 - t0) / 1000)) s after uncordon"
  (($(min_endpoints) >= 2)) || fail "drain: the endpoints fell to $(min_endpoints) pods (PDB maxUnavailable 1 of 3)"
}

freeze_pod() {
  local pod ip pid restarts
  settle
  pod="$(ready_pod_names | head -n1)"
  ip="$(kn get pod "${pod}" -o jsonpath='{.status.podIP}')"
  restarts="$(kn get pod "${pod}" -o jsonpath='{.status.containerStatuses[0].restartCount}')"
  pid="$(container_pid "${pod}")"
  [[ ${pid} =~ ^[1-9][0-9]*$ ]] || fail "no running task for ${pod}"
  load_start
  local t0 out left restarted
  t0="$(now_ms)"
  kill -STOP "${pid}"
  log "SIGSTOP sent to ${pod}'s process ${pid}"
  was_restarted() { [[ $(kn get pod "${pod}" -o jsonpath='{.status.containerStatuses[0].restartCount}') -gt ${restarts} ]]; }
  wait_until 180 "${pod} restarted after SIGSTOP" was_restarted
  restarted=$((($(now_ms) - t0) / 1000))
  wait_until 120 "3 pods Ready after the restart" three_ready
  load_stop "liveness"
  left="$(left_endpoints "${ip}" "${t0}")"
  out="$(kn get events --field-selector "involvedObject.name=${pod}" -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}' | grep -m1 'Liveness probe failed' || true)"
  [[ -n ${out} ]] || fail "no 'Liveness probe failed' event for ${pod}"
  [[ -n ${left} ]] || fail "${pod} never left the endpoints while frozen"
  figure "liveness: ${pod} SIGSTOPped; out of the endpoints after $(((left - t0) / 1000)).$(((left - t0) % 1000 / 100)) s (readiness), restarted by the kubelet after ${restarted} s (restartCount ${restarts} -> $((restarts + 1))); event '${out}'; ${LOAD_FAILED} of ${LOAD_TOTAL} GETs failed"
}

main() {
  use_state "$1"
  case "$2" in
  restart) rollout "rollout restart" kn rollout restart "deployment/${APP}" ;;
  new-tag)
    rollout "build-and-deploy.sh of image tag cluster-b" deploy_script cluster-b
    [[ $(kn get deployment "${APP}" -o jsonpath='{.spec.template.spec.containers[0].image}') == "${APP}:cluster-b" ]] ||
      fail "the Deployment does not run ${APP}:cluster-b"
    ;;
  delete) delete_pod ;;
  liveness) freeze_pod ;;
  drain) drain_node ;;
  *) fail "usage: $0 STATE restart|new-tag|delete|liveness|drain" ;;
  esac
}

main "$@"
