#!/usr/bin/env bash
# cluster.sh build | cluster.sh up STATE | cluster.sh down STATE: the throwaway single-node
# Kubernetes 1.20 of the cluster tests (README.md): every daemon a plain process of this machine
# (no system service) with its config, state, sockets and logs in STATE. `up` leaves them running
# (ctest fixture setup) with STATE/kubeconfig; `down` removes all `up` created and restores the
# sysctls, then fails if anything is left. `up` runs `down` first on leftovers, and on a failure.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Set by the kubelet (protectKernelDefaults is off); saved by `up`, restored by `down`. (The net.*
# ones kube-proxy sets are the node's network namespace's own.)
readonly SYSCTLS=(vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops
  kernel/keys/root_maxkeys kernel/keys/root_maxbytes)
readonly PAUSE_IMAGE=docker.io/library/fa-pause:1
# The cluster's one key and certificate (pki).
CRT="" KEY=""

# ---------------------------------------------------------------------------------------------
# The node: a `sleep` (STATE/pids/node) holding a network namespace and a mount namespace, in the
# pids cgroup NODE_CGROUP (lib.sh). Its network (the bridge with the node IP, the Service route,
# kube-proxy's iptables rules, the pods' veths) reaches nothing else on the machine, and the
# daemons' mounts (the kubelet's volumes, containerd's snapshots, the pods' network namespaces;
# /run, /var/log and /var/lib are its own tmpfs, where the kubelet, containerd and CNI keep what
# they keep outside STATE) stay in it. Every daemon, shim and test script of the cluster is in that
# cgroup, every container in the kubelet's kubepods: `down` kills both, and the namespaces and
# all in them go with their last process.
node_namespaces() {
  local node dir
  mkdir "${NODE_CGROUP}"
  setsid unshare --net --mount --propagation private -- sleep infinity </dev/null >/dev/null 2>&1 &
  node=$!
  echo "${node}" >"${STATE}/pids/node"
  echo "${node}" >"${NODE_CGROUP}/cgroup.procs"
  # unshare made the namespaces private before it exec'd sleep: only then may mounts go in.
  wait_until -p "${node}" 10 "the node's namespaces" grep -qx sleep "/proc/${node}/comm"
  for dir in /run /var/log /var/lib; do
    nsenter -t "${node}" -m -- mount -t tmpfs -o mode=0755 fa-node "${dir}"
  done
}
# start NAME CMD...: CMD in the node's mount namespace, in a session of its own, output to
# STATE/logs. (This process is already in the node's network namespace and cgroup.)
start() {
  local name="$1"
  shift
  log "starting ${name}"
  setsid nsenter -t "$(node_pid)" -m -- "$@" </dev/null >"${STATE}/logs/${name}.log" 2>&1 &
  echo $! >"${STATE}/pids/${name}"
}
# wait_up NAME SECONDS CMD...: CMD succeeds while NAME is running, else show NAME's log.
wait_up() {
  local name="$1" secs="$2"
  shift 2
  wait_until -p "$(cat "${STATE}/pids/${name}")" -l "${STATE}/logs/${name}.log" "${secs}" "${name} up" "$@"
  log "${name} is up"
}

# The node IP on a bridge with no ports but the pods' veths; ClusterIPs routed onto it.
network_up() {
  ip link set lo up
  ip link add "${BRIDGE}" type bridge
  ip addr add "${NODE_IP}/24" dev "${BRIDGE}"
  ip link set "${BRIDGE}" up
  ip route add "${SVC_CIDR}" dev "${BRIDGE}" src "${NODE_IP}"
}

# ---------------------------------------------------------------------------------------------
# One key and one self-signed certificate (openssl, valid 2 days), its own CA, for everything: the
# API server serves with it; it is the client identity, in the group system:masters, of kubectl
# (STATE/kubeconfig), every component and the API server's calls to the kubelet; it signs the
# service account tokens. These tests exercise the project's objects, not Kubernetes' own
# authorization. The kubelet serves with a certificate it makes itself (the API server does not
# verify it).
pki() {
  mkdir -p "${STATE}/pki"
  # SEC1 ("EC PRIVATE KEY"): 1.20 reads no EC key in PKCS#8 as the service account key.
  openssl ecparam -name prime256v1 -genkey -noout -out "${KEY}"
  # The first address of the Service range is the `kubernetes` Service's ClusterIP.
  openssl req -x509 -key "${KEY}" -days 2 -sha256 -subj /O=system:masters/CN=fa-admin -out "${CRT}" \
    -addext extendedKeyUsage=serverAuth,clientAuth \
    -addext "subjectAltName=IP:${NODE_IP},IP:${SVC_CIDR%.0/24}.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc" 2>/dev/null
  export KUBECONFIG="${STATE}/kubeconfig"
  kubectl config set-cluster "${CONTEXT}" --server="https://${NODE_IP}:6443" --certificate-authority="${CRT}" >/dev/null
  kubectl config set-credentials admin --client-certificate="${CRT}" --client-key="${KEY}" >/dev/null
  kubectl config set-context "${CONTEXT}" --cluster="${CONTEXT}" --user=admin >/dev/null
  kubectl config use-context "${CONTEXT}" >/dev/null
}

# ---------------------------------------------------------------------------------------------
control_plane_up() {
  local bin="$1"
  start etcd etcd --name fa --data-dir "${STATE}/etcd" \
    --listen-client-urls "http://${NODE_IP}:2379" --advertise-client-urls "http://${NODE_IP}:2379" \
    --listen-peer-urls "http://${NODE_IP}:2380" --initial-advertise-peer-urls "http://${NODE_IP}:2380" \
    --initial-cluster "fa=http://${NODE_IP}:2380"
  wait_up etcd 60 curl -fsS "http://${NODE_IP}:2379/health"
  start kube-apiserver "${bin}/kube-apiserver" --advertise-address="${NODE_IP}" --bind-address="${NODE_IP}" \
    --secure-port=6443 --etcd-servers="http://${NODE_IP}:2379" \
    --service-cluster-ip-range="${SVC_CIDR}" --client-ca-file="${CRT}" \
    --tls-cert-file="${CRT}" --tls-private-key-file="${KEY}" \
    --kubelet-client-certificate="${CRT}" --kubelet-client-key="${KEY}" \
    --kubelet-preferred-address-types=InternalIP --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="${KEY}" --service-account-signing-key-file="${KEY}"
  wait_up kube-apiserver 120 kc get --raw /readyz
  start kube-controller-manager "${bin}/kube-controller-manager" \
    --kubeconfig="${KUBECONFIG}" --leader-elect=false --port=0 --secure-port=0 \
    --service-account-private-key-file="${KEY}" --root-ca-file="${CRT}"
  start kube-scheduler "${bin}/kube-scheduler" --kubeconfig="${KUBECONFIG}" \
    --leader-elect=false --port=0 --secure-port=0
}

containerd_up() {
  local c="${STATE}/containerd"
  mkdir -p "${c}" "${STATE}/cni/net.d" "${STATE}/cni/ipam"
  cat >"${c}/config.toml" <<EOF
version = 2
root = "${c}/root"
state = "${c}/state"
[grpc]
  address = "${STATE}/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "${c}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # No registry is reachable: the sandbox (pause) image is built and imported by cluster.sh.
  sandbox_image = "${PAUSE_IMAGE}"
  # Root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below this process's.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${STATE}/cni/net.d"
EOF
  # Pods on the bridge, the node IP their gateway; isGateway=false: ip_forward is left alone.
  cat >"${STATE}/cni/net.d/10-fa-cluster.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "fa-cluster", "plugins": [
  {"type": "bridge", "bridge": "${BRIDGE}", "isGateway": false, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "${STATE}/cni/ipam",
            "ranges": [[{"subnet": "${POD_CIDR}", "rangeStart": "${POD_CIDR%.0/24}.10",
                         "rangeEnd": "${POD_CIDR%.0/24}.250", "gateway": "${NODE_IP}"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}}]}
EOF
  start containerd containerd --config "${c}/config.toml"
  wait_up containerd 60 ctr --address "${STATE}/containerd.sock" version
}

# The sandbox image (no registry.k8s.io/pause here): a process that holds the pod's namespaces
# until containerd SIGKILLs it, static busybox's `sleep infinity`, alone in a FROM scratch image.
pause_image() {
  local d="${STATE}/pause" busybox
  busybox="$(readlink -f "$(command -v busybox)")"
  file -L "${busybox}" | grep -q 'statically linked' || skip "${busybox} is not statically linked (Debian: busybox-static)"
  mkdir -p "${d}/ctx"
  install -m 0755 "${busybox}" "${d}/ctx/busybox"
  printf 'FROM scratch\nCOPY busybox /busybox\nENTRYPOINT ["/busybox", "sleep", "infinity"]\n' >"${d}/ctx/Containerfile"
  (
    podman_sandbox "${STATE}/podman" # the storage image.sh --podman uses
    podman build --pull=never --format docker --layers=false -t "${PAUSE_IMAGE}" "${d}/ctx" >/dev/null
    podman save --format docker-archive -o "${d}/pause.tar" "${PAUSE_IMAGE}"
  )
  "${HERE}/image.sh" "${STATE}" --import "${d}/pause.tar" "${PAUSE_IMAGE}"
}

node_up() {
  local bin="$1" k="${STATE}/kubelet"
  mkdir -p "${k}" "${STATE}/kubelet-plugins"
  cat >"${STATE}/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${NODE_IP}
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  x509: {clientCAFile: "${CRT}"}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failSwapOn: false
# Image GC off: the only images are the ones the tests imported (nothing could be pulled back).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
clusterDomain: cluster.local
EOF
  start kubelet "${bin}/kubelet" --config="${STATE}/kubelet.yaml" --kubeconfig="${KUBECONFIG}" \
    --container-runtime=remote --container-runtime-endpoint="unix://${STATE}/containerd.sock" \
    --root-dir="${k}" --cert-dir="${k}/pki" --volume-plugin-dir="${STATE}/kubelet-plugins" \
    --node-ip="${NODE_IP}" --hostname-override="${NODE_NAME}" --pod-infra-container-image="${PAUSE_IMAGE}"
  wait_up kubelet 180 node_ready
  cat >"${STATE}/proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: ${POD_CIDR}
hostnameOverride: ${NODE_NAME}
clientConnection: {kubeconfig: "${KUBECONFIG}"}
# Leave the machine's conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  start kube-proxy "${bin}/kube-proxy" --config="${STATE}/proxy.yaml"
  wait_up kube-proxy 60 curl -fsS "http://${NODE_IP}:10256/healthz"
}
node_ready() {
  [[ $(kc get node "${NODE_NAME}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}

# ---------------------------------------------------------------------------------------------
up() {
  STATE="$1"
  need_node_privileges
  local bin
  bin="$("${HERE}/build_k8s.sh")" || fail "building Kubernetes 1.20 failed"
  need_cmd etcd containerd containerd-shim-runc-v2 runc ctr kubectl openssl ip iptables \
    podman busybox file curl setsid unshare nsenter
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] || skip "no CNI plugins in /usr/lib/cni (containernetworking-plugins)"
  if [[ -e ${STATE} ]]; then
    log "${STATE} exists: removing the leftovers of a previous run first"
    down "${STATE}"
  fi
  [[ ! -d ${NODE_CGROUP} ]] || fail "${NODE_CGROUP} exists: another test cluster is running"
  local t0=${SECONDS}
  mkdir -p "${STATE}/logs" "${STATE}/pids"
  trap 'log "cluster.up failed: tearing down"; down "${STATE}"' EXIT
  local s
  for s in "${SYSCTLS[@]}"; do printf '%s %s\n' "${s}" "$(cat "/proc/sys/${s}")"; done >"${STATE}/sysctl"
  node_namespaces
  nsenter -t "$(node_pid)" -n -- "${BASH_SOURCE[0]}" --in-node "${STATE}" "${bin}"
  trap - EXIT
  figure "cluster up in $((SECONDS - t0)) s: Kubernetes $("${bin}/kubelet" --version | cut -d' ' -f2), node ${NODE_NAME} Ready at ${NODE_IP}, containerd $(containerd --version | cut -d' ' -f3), state in ${STATE}"
}

# in_node STATE BIN: the rest of `up`, run in the node's network namespace and cgroup.
in_node() {
  STATE="$1" CRT="$1/pki/fa.crt" KEY="$1/pki/fa.key"
  echo "${BASHPID}" >"${NODE_CGROUP}/cgroup.procs"
  network_up
  pki
  control_plane_up "$2"
  containerd_up
  pause_image
  node_up "$2"
}

# Kills every process of the cluster (SIGKILL: nothing of it is kept), then removes the cgroups,
# restores the sysctls and removes STATE.
down() {
  STATE="$1"
  [[ -d ${STATE} ]] || {
    log "nothing to tear down at ${STATE}"
    return 0
  }
  trap - EXIT
  set +e
  local -a pids
  local round
  for round in {1..40}; do
    mapfile -t pids < <(find "${NODE_CGROUP}" /sys/fs/cgroup/pids/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null)
    ((${#pids[@]})) || break
    ((round > 1)) || log "killing the cluster's ${#pids[@]} processes"
    kill -KILL "${pids[@]}" 2>/dev/null
    sleep 0.5
  done
  # The pods' cgroups (the kubelet's cgroupfs driver made kubepods/ in every v1 hierarchy).
  find /sys/fs/cgroup/*/kubepods "${NODE_CGROUP}" -depth -type d -exec rmdir {} + 2>/dev/null
  [[ ! -f ${STATE}/sysctl ]] || while read -r name value; do
    [[ $(cat "/proc/sys/${name}") == "${value}" ]] && continue
    log "restoring sysctl ${name//\//.} = ${value} (was $(cat "/proc/sys/${name}"))"
    echo "${value}" >"/proc/sys/${name}"
  done <"${STATE}/sysctl"
  rm -rf "${STATE}"
  set -e
  leftovers
}

# Fails if anything of the cluster is still there.
leftovers() {
  local -a left=()
  [[ -z $(find /sys/fs/cgroup/*/kubepods "${NODE_CGROUP}" -maxdepth 0 2>/dev/null) ]] || left+=("cgroups (processes)")
  [[ ! -e ${STATE} ]] || left+=("${STATE}")
  grep -qF " ${STATE}/" /proc/self/mountinfo && left+=("mounts under ${STATE}")
  if ((${#left[@]})); then fail "left behind after teardown: ${left[*]}"; fi
  log "teardown complete: no process, cgroup, mount or file of the cluster is left"
}

main() {
  case "${1:-}:$#" in
  build:1)
    need_node_privileges
    need_cmd go apt-get
    "${HERE}/build_k8s.sh"
    ;;
  up:2 | down:2) "$1" "$2" ;;
  --in-node:3) in_node "$2" "$3" ;;
  *) fail "usage: $0 build | $0 up STATE | $0 down STATE" ;;
  esac
}

main "$@"
