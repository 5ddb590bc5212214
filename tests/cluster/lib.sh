# shellcheck shell=bash disable=SC2034  # constants for the scripts that source this file
# Shared by the tests/cluster scripts (sourced): the cluster's fixed addresses and names, kubectl
# against the test cluster, its pods, and the deploy script's run against it. Builds on
# tests/lib.sh: scripts/log.sh's log and die, fail, skip (exit 77; a failure under
# FA_TESTS_NO_SKIP=1), need_cmd, wait_until, EXPECTED_ROOT_BODY, http_expect, assert_contained.
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# The arguments of the script that sources this file (use_state runs it again with them).
readonly SCRIPT_ARGS=("$@")

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
# Every process of the cluster but the containers (cluster.sh node_namespaces).
readonly NODE_CGROUP=/sys/fs/cgroup/pids/fa-cluster
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
  need_root
  local probe=/sys/fs/cgroup/memory/fa-cluster-probe.$$
  [[ -d /sys/fs/cgroup/memory ]] || skip "no cgroup v1 memory controller at /sys/fs/cgroup/memory (kubelet 1.20 with cgroupfs needs it)"
  mkdir "${probe}" 2>/dev/null || skip "cannot create cgroups under /sys/fs/cgroup/memory (no cgroup access)"
  rmdir "${probe}"
}

# The cluster's state directory (first argument of every test script) and kubectl against it.
# use_state STATE: also needs what every test on the node needs, and runs the script again in the
# node's network namespace (where the cluster's addresses are) and cgroup (so that `cluster.sh
# down` ends what it leaves running).
STATE=""
use_state() {
  need_node_privileges
  STATE="$1"
  [[ -f ${STATE}/kubeconfig ]] || fail "no running test cluster in ${STATE} (cluster.up failed or did not run)"
  export KUBECONFIG="${STATE}/kubeconfig"
  local node
  node="$(node_pid)"
  if [[ $(readlink /proc/self/ns/net) != "$(readlink "/proc/${node}/ns/net")" ]]; then
    echo "$$" >"${NODE_CGROUP}/cgroup.procs"
    exec nsenter -t "${node}" -n -- "$0" "${SCRIPT_ARGS[@]}"
  fi
}
# node_pid: the PID holding the node's namespaces, checked to be the cluster's.
node_pid() {
  local pid
  if ! pid="$(cat "${STATE}/pids/node" 2>/dev/null)" || ! grep -qx "${pid}" "${NODE_CGROUP}/cgroup.procs"; then
    fail "the test node's process (${STATE}/pids/node) is not running"
  fi
  printf '%s\n' "${pid}"
}
kc() { kubectl --context "${CONTEXT}" --request-timeout=30s "$@"; }
kn() { kc -n "${NS}" "$@"; }
ctr_k8s() { ctr --address "${STATE}/containerd.sock" -n k8s.io "$@"; }

service_ip() { kn get service "${APP}" -o jsonpath='{.spec.clusterIP}'; }
# Pods Running, Ready and not terminating, one name per line.
ready_pod_names() {
  kn get pods -l "${SELECTOR}" --no-headers \
    -o custom-columns=N:.metadata.name,D:.metadata.deletionTimestamp,P:.status.phase,R:.status.containerStatuses[0].ready |
    awk '$2 == "<none>" && $3 == "Running" && $4 == "true" {print $1}'
}
ready_pods() { ready_pod_names | wc -l; }
three_ready() { (($(ready_pods) == 3)); }
# container_pid POD: the node PID of the pod's favorite-athlete container.
container_pid() {
  local id
  id="$(kn get pod "$1" -o jsonpath='{.status.containerStatuses[0].containerID}')"
  [[ -n ${id} ]] || fail "pod $1 has no container ID"
  ctr_k8s tasks ls | awk -v id="${id#containerd://}" '$1 == id {print $2}'
}

# The Ingress host build-and-deploy.sh is given, as for minikube: <app>.<node IP>.nip.io. There is
# no DNS here, so the script's verify step falls back to curl --resolve HOST:80:NODE_IP, and the
# Ingress stand-in (ingress.sh) on the node IP routes it.
readonly INGRESS_HOST="${APP}.${NODE_IP}.nip.io"

# deploy_script TAG [ARGS...]: build-and-deploy.sh's cluster mode against this cluster, as a user of a
# non-minikube context runs it, the image tagged TAG: built and loaded by image.sh (`podman` on PATH
# and --image-load archive:), applied through the 1.20 shim (bin/kubectl first on PATH), verified
# on the Ingress host. The build stage's tests are skipped (--skip-tests): image.sh replaces that
# stage (CI runs them in image.smoke_podman and ctest -L unit). The script's settings are set here
# alone (deploy.sh broken adds timeouts).
deploy_script() {
  [[ -x ${STATE}/bin/podman ]] || fail "no podman shim in ${STATE}/bin (cluster.image did not run)"
  local tag="$1"
  shift
  PATH="${HERE}/bin:${STATE}/bin:${PATH}" FA_CONTAINER_ENGINE=podman FA_POLL_INTERVAL_SECONDS=1 FA_IMAGE_TAG="${tag}" \
    "${REPO}/build-and-deploy.sh" --context "${CONTEXT}" --image-load "archive:${HERE}/image.sh ${STATE} --import" \
    --host "${INGRESS_HOST}" --skip-tests "$@"
}

# verify_rollout SECONDS: the Deployment rolled out and 3 pods are Ready.
verify_rollout() {
  kn rollout status "deployment/${APP}" --timeout="$1s" >&2 || fail "deployment/${APP} did not roll out within $1s"
  local ready
  ready="$(ready_pods)"
  ((ready == 3)) || fail "${ready} pods Ready, want 3"
}
