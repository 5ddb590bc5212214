# shellcheck shell=bash disable=SC2034  # constants for the scripts that source this file
# Shared by the tests/cluster scripts (sourced): the cluster's fixed addresses and names, logging,
# kubectl against the test cluster, and the load loop the disruption tests measure with. Builds on
# tests/image/lib.sh: scripts/log.sh's log and die, fail, skip (exit 77; a failure under
# FA_TESTS_NO_SKIP=1), need_cmd, EXPECTED_ROOT_BODY, assert_unprivileged.
# shellcheck source=tests/image/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../image/lib.sh"

# One cluster per machine: a bridge with no ports holds the node IP; pods get addresses on it,
# Services get ClusterIPs routed onto it. Nothing here is routed off the machine.
readonly NODE_IP=10.203.0.1
readonly POD_CIDR=10.203.0.0/24
readonly SVC_CIDR=10.204.0.0/24
readonly BRIDGE=fa0
readonly NODE_NAME=fa-node
readonly CONTEXT=fa-cluster-1.20
readonly NS=favorite-athlete
readonly APP=favorite-athlete
readonly SELECTOR=app.kubernetes.io/name=favorite-athlete
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
REPO="$(cd "${HERE}/../.." && pwd)"
readonly REPO

# Log lines with milliseconds (GNU date), to set beside the load loop's epoch-ms records.
LOG_DATE_FORMAT='%Y-%m-%dT%H:%M:%S.%3NZ'
# A figure the docs quote: one greppable line per measured result.
figure() { printf 'FIGURE: %s\n' "$*"; }
# Root, and cgroups this process can create (the kubelet makes the pods' cgroups).
need_node_privileges() {
  [[ ${EUID} -eq 0 ]] || skip "needs root (a kubelet, containerd, network namespaces, iptables)"
  local probe=/sys/fs/cgroup/memory/fa-cluster-probe.$$
  [[ -d /sys/fs/cgroup/memory ]] || skip "no cgroup v1 memory controller at /sys/fs/cgroup/memory (kubelet 1.20 with cgroupfs needs it)"
  mkdir "${probe}" 2>/dev/null || skip "cannot create cgroups under /sys/fs/cgroup/memory (no cgroup access)"
  rmdir "${probe}"
}

# The cluster's state directory (first argument of every test script) and kubectl against it.
STATE=""
use_state() {
  STATE="$1"
  [[ -f ${STATE}/kubeconfig ]] || fail "no running test cluster in ${STATE} (cluster.up failed or did not run)"
  export KUBECONFIG="${STATE}/kubeconfig"
}
kc() { kubectl --context "${CONTEXT}" --request-timeout=30s "$@"; }
kn() { kc -n "${NS}" "$@"; }
ctr_k8s() { ctr --address "${STATE}/containerd.sock" -n k8s.io "$@"; }

# Polls CMD... every 0.5 s until it succeeds, for at most SECONDS; fails with WHAT.
wait_for() {
  local secs="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "${what}: not within ${secs}s"
    sleep 0.5
  done
}

service_ip() { kn get service "${APP}" -o jsonpath='{.spec.clusterIP}'; }
# Pods Running, Ready and not terminating, one name per line.
ready_pod_names() {
  kn get pods -l "${SELECTOR}" --no-headers \
    -o custom-columns=N:.metadata.name,D:.metadata.deletionTimestamp,P:.status.phase,R:.status.containerStatuses[0].ready |
    awk '$2 == "<none>" && $3 == "Running" && $4 == "true" {print $1}'
}
ready_pods() { ready_pod_names | wc -l; }
three_ready() { (($(ready_pods) == 3)); }
settled() { [[ $(ready_pods):$(kn get pods -l "${SELECTOR}" --no-headers | wc -l) == 3:3 ]]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# settle: a steady state to disturb: 3 pods, all Ready, none terminating (the previous test's
# old pods gone).
settle() {
  wait_for 90 "3 pods Ready and no other pod" settled
}

# load_start URL: GETs URL back to back (one connection each, 2 s timeout), in the background,
# recording one line per request (epoch ms, curl exit, HTTP status, body ok) until load_stop.
LOAD_PID="" LOAD_LOG="" WATCH_PID=""
# Ends the load loop and a watch (a subshell: its children first), by their PIDs.
stop_background() {
  local p
  for p in ${WATCH_PID} ${LOAD_PID}; do
    pkill -P "${p}" 2>/dev/null || true
    kill "${p}" 2>/dev/null || true
  done
}
load_start() {
  LOAD_LOG="$(mktemp "${TMPDIR:-/tmp}/fa-load.XXXXXX")"
  "${HERE}/load.sh" "$1" "${EXPECTED_ROOT_BODY}" >"${LOAD_LOG}" 2>/dev/null &
  LOAD_PID=$!
  trap stop_background EXIT # never left running by a failed test
  sleep 1
}
# load_stop NAME: stops the loop, prints "NAME: total, failed" as a figure and returns the failures
# in LOAD_FAILED (the failed lines are logged with their timestamps).
LOAD_FAILED=0 LOAD_TOTAL=0
load_stop() {
  kill "${LOAD_PID}" 2>/dev/null || true
  wait "${LOAD_PID}" 2>/dev/null || true
  LOAD_TOTAL=$(wc -l <"${LOAD_LOG}")
  LOAD_FAILED=$(awk '$2 != 0 || $3 != 200 || $4 != "ok"' "${LOAD_LOG}" | wc -l)
  if ((LOAD_FAILED > 0)); then
    log "failed requests of '$1' (epoch ms, curl exit, HTTP status, body):"
    awk '$2 != 0 || $3 != 200 || $4 != "ok"' "${LOAD_LOG}" | head -n 20 >&2
  fi
  ((LOAD_TOTAL > 0)) || fail "the load loop of '$1' sent no request"
  rm -f "${LOAD_LOG}"
}

# The kustomization build-and-deploy.sh generates for this context (what it renders and applies).
readonly SCRIPT_OVERLAY="${REPO}/build/deploy/context-${CONTEXT}"

# The Ingress host build-and-deploy.sh is given, as for minikube: <app>.<node IP>.nip.io. There is
# no DNS here, so the script's verify step falls back to curl --resolve HOST:80:NODE_IP, and the
# Ingress stand-in (ingress.sh) on the node IP routes it.
readonly INGRESS_HOST="${APP}.${NODE_IP}.nip.io"

# deploy_script [ARGS...]: build-and-deploy.sh's cluster mode against this cluster, as a user of a
# non-minikube context runs it: podman (engine.sh, on PATH as `podman` by image.sh: it builds the
# runtime stage around the picked binary, see engine.sh), the image loaded with import.sh
# (--image-load archive:), the render through the 1.20 shim (--render-filter), verified on the
# Ingress host. The tag comes from IMAGE_TAG; the build stage's tests are skipped (--skip-tests)
# because engine.sh replaces that stage (CI runs them in image.smoke_podman and ctest -L unit).
deploy_script() {
  [[ -x ${STATE}/bin/podman ]] || fail "no podman shim in ${STATE}/bin (cluster.image did not run)"
  PATH="${STATE}/bin:${PATH}" CONTAINER_ENGINE=podman POLL_INTERVAL_SECONDS=1 \
    "${REPO}/build-and-deploy.sh" --context "${CONTEXT}" --image-load "archive:${HERE}/import.sh ${STATE}" \
    --render-filter "${HERE}/shim-1.20" --host "${INGRESS_HOST}" --skip-tests "$@"
}

# verify_rollout SECONDS: the Deployment rolled out and 3 pods are Ready.
verify_rollout() {
  kn rollout status "deployment/${APP}" --timeout="$1s" >&2 || fail "deployment/${APP} did not roll out within $1s"
  local ready
  ready="$(ready_pods)"
  ((ready == 3)) || fail "${ready} pods Ready, want 3"
}

# verify_answer: GET / through the Service's ClusterIP (kube-proxy's iptables rules) answers the
# contract: 200, JSON, the exact body. Prints the answer.
verify_answer() {
  local ip out
  ip="$(service_ip)"
  out="$(curl -sS --max-time 5 -w '\n%{http_code} %{content_type}' "http://${ip}/")" ||
    fail "GET http://${ip}/ (ClusterIP): curl failed"
  [[ ${out} == "${EXPECTED_ROOT_BODY}"$'\n'"200 application/json"* ]] ||
    fail "GET http://${ip}/ (ClusterIP) answered '${out//$'\n'/ | }', want 200 application/json ${EXPECTED_ROOT_BODY}"
  printf 'GET http://%s/ -> %s\n' "${ip}" "${out//$'\n'/ | }"
}
