#!/usr/bin/env bash
# cluster.sh build | cluster.sh up STATE | cluster.sh down STATE: the throwaway single-node
# Kubernetes 1.20 of the cluster tests (README.md): every daemon a plain process of this machine
# (no system service) with its config, state, sockets and logs in STATE. `up` leaves them running
# (ctest fixture setup) with STATE/kubeconfig; `down` removes all `up` created and restores the
# sysctls, then fails if anything is left. `up` runs `down` first on leftovers, and on a failure.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Set by the kubelet (protectKernelDefaults is off) and kube-proxy (route_localnet); restored.
readonly SYSCTLS=(vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops
  kernel/keys/root_maxkeys kernel/keys/root_maxbytes net/ipv4/conf/all/route_localnet net/ipv4/ip_forward)
readonly PAUSE_IMAGE=docker.io/library/fa-pause:1

# ---------------------------------------------------------------------------------------------
# processes: started in their own session (they outlive this script), output to STATE/logs
start() {
  local name="$1"
  shift
  log "starting ${name}"
  setsid "$@" </dev/null >"${STATE}/logs/${name}.log" 2>&1 &
  echo $! >"${STATE}/pids/${name}"
}
alive() { [[ -f ${STATE}/pids/$1 ]] && kill -0 "$(cat "${STATE}/pids/$1")" 2>/dev/null; }
# stop NAME: SIGTERM, and SIGKILL after 10 s.
stop() {
  local name="$1" pid
  [[ -f ${STATE}/pids/${name} ]] || return 0
  pid="$(cat "${STATE}/pids/${name}")"
  rm -f "${STATE}/pids/${name}"
  kill -TERM "${pid}" 2>/dev/null || return 0
  if ! timeout 10 tail --pid="${pid}" -f /dev/null; then
    kill -KILL "${pid}" 2>/dev/null
    log "${name} (pid ${pid}) needed SIGKILL"
  fi
}
# wait_up NAME SECONDS CMD...: CMD succeeds while NAME is running, else show NAME's log.
wait_up() {
  local name="$1" secs="$2"
  shift 2
  wait_until -p "$(cat "${STATE}/pids/${name}")" -l "${STATE}/logs/${name}.log" "${secs}" "${name} up" "$@"
  log "${name} is up"
}

# ---------------------------------------------------------------------------------------------
# what exists before: recorded so `down` removes only what the cluster added
record_before() {
  mkdir -p "${STATE}/saved"
  local s
  for s in "${SYSCTLS[@]}"; do
    [[ ! -r /proc/sys/${s} ]] || printf '%s %s\n' "${s}" "$(cat "/proc/sys/${s}")"
  done >"${STATE}/saved/sysctl"
  local d
  for d in /run/netns /run/containerd /run/containerd/s /var/log/pods /var/log/containers /var/lib/cni /var/lib/cni/results; do
    if [[ -d ${d} ]]; then ls -A "${d}"; fi >"${STATE}/saved/$(tr / _ <<<"${d}")"
    [[ -d ${d} ]] || touch "${STATE}/saved/$(tr / _ <<<"${d}").absent"
  done
}
# remove_new DIR GLOB: removes the entries of DIR matching GLOB that record_before did not see,
# then DIR itself if it did not exist then (and is empty now).
remove_new() {
  local d="$1" glob="$2" saved e
  saved="${STATE}/saved/$(tr / _ <<<"${d}")"
  [[ -d ${d} && -f ${saved} ]] || return 0
  for e in "${d}"/${glob}; do
    [[ -e ${e} ]] || continue
    grep -qxF -- "${e##*/}" "${saved}" && continue
    if mountpoint -q "${e}"; then umount -l "${e}" || true; fi
    rm -rf "${e:?}"
  done
  if [[ -f ${saved}.absent ]]; then rmdir "${d}" 2>/dev/null || true; fi
}

# ---------------------------------------------------------------------------------------------
# network: bridge fa0 holds the node IP (no ports but the pods' veths); ClusterIPs routed onto it;
# nothing reaches the node IP from outside, nothing is forwarded off the bridge (ip_forward
# stays 0 anyway: the bridge plugin runs with isGateway=false)
network_up() {
  ip link show "${BRIDGE}" >/dev/null 2>&1 && fail "a link ${BRIDGE} already exists (another test cluster?)"
  ip link add "${BRIDGE}" type bridge
  ip addr add "${NODE_IP}/24" dev "${BRIDGE}"
  ip link set "${BRIDGE}" up
  ip route add "${SVC_CIDR}" dev "${BRIDGE}" src "${NODE_IP}"
  iptables -w -N FA-CLUSTER-INPUT
  iptables -w -A FA-CLUSTER-INPUT -i lo -j RETURN
  iptables -w -A FA-CLUSTER-INPUT -i "${BRIDGE}" -j RETURN
  iptables -w -A FA-CLUSTER-INPUT -d "${POD_CIDR}" -j DROP
  iptables -w -I INPUT 1 -j FA-CLUSTER-INPUT
  iptables -w -N FA-CLUSTER-FORWARD
  iptables -w -A FA-CLUSTER-FORWARD -i "${BRIDGE}" ! -o "${BRIDGE}" -j DROP
  iptables -w -A FA-CLUSTER-FORWARD -o "${BRIDGE}" ! -i "${BRIDGE}" -j DROP
  iptables -w -I FORWARD 1 -j FA-CLUSTER-FORWARD
}

# Deletes every rule of the built-in chains of TABLE that jumps to a chain matching REGEX (by
# rule number, highest first), then flushes and deletes those chains.
drop_chains() {
  local table="$1" regex="$2" builtin n chain
  for builtin in INPUT OUTPUT FORWARD PREROUTING POSTROUTING; do
    for n in $(iptables -w -t "${table}" -L "${builtin}" -n --line-numbers 2>/dev/null |
      awk -v re="^(${regex})$" 'NR > 2 && $2 ~ re {print $1}' | sort -rn); do
      iptables -w -t "${table}" -D "${builtin}" "${n}"
    done
  done
  local -a chains
  mapfile -t chains < <(iptables-save -t "${table}" | sed -nE "s/^:(${regex}) .*/\1/p")
  for chain in "${chains[@]}"; do iptables -w -t "${table}" -F "${chain}"; done
  for chain in "${chains[@]}"; do iptables -w -t "${table}" -X "${chain}"; done
}

network_down() {
  local t
  for t in filter nat mangle; do drop_chains "${t}" 'KUBE-[A-Z0-9-]*|FA-CLUSTER-[A-Z]*'; done
  ip link del "${BRIDGE}" 2>/dev/null || true
  ip route del "${SVC_CIDR}" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# certificates (openssl, one CA, valid 2 days) and kubeconfigs
cert() { # cert NAME CN O [SUBJECT_ALT_NAMES]
  local p="${STATE}/pki" subj="/CN=$2"
  [[ -z $3 ]] || subj="/O=$3/CN=$2"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "${subj}" \
    -keyout "${p}/$1.key" -out "${p}/$1.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [[ -z ${4:-} ]] || echo "subjectAltName=$4"
  } >"${p}/$1.ext"
  openssl x509 -req -in "${p}/$1.csr" -CA "${p}/ca.crt" -CAkey "${p}/ca.key" -CAcreateserial \
    -days 2 -sha256 -extfile "${p}/$1.ext" -out "${p}/$1.crt" 2>/dev/null
}
kubeconfig() { # kubeconfig FILE CERT_NAME
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ${CONTEXT}
  cluster: {server: "https://${NODE_IP}:6443", certificate-authority: "${STATE}/pki/ca.crt"}
users:
- name: $2
  user: {client-certificate: "${STATE}/pki/$2.crt", client-key: "${STATE}/pki/$2.key"}
contexts:
- name: ${CONTEXT}
  context: {cluster: ${CONTEXT}, user: $2}
current-context: ${CONTEXT}
EOF
}
pki() {
  local p="${STATE}/pki"
  mkdir -p "${p}"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -sha256 \
    -subj "/CN=fa-cluster-ca" -keyout "${p}/ca.key" -out "${p}/ca.crt" 2>/dev/null
  openssl genrsa -out "${p}/sa.key" 2048 2>/dev/null
  openssl rsa -in "${p}/sa.key" -pubout -out "${p}/sa.pub" 2>/dev/null
  # The first address of the Service range is the `kubernetes` Service's ClusterIP.
  cert apiserver kube-apiserver "" \
    "IP:${NODE_IP},IP:${SVC_CIDR%.0/24}.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  cert apiserver-kubelet kube-apiserver-kubelet-client system:masters
  cert admin fa-admin system:masters
  cert controller-manager system:kube-controller-manager ""
  cert scheduler system:kube-scheduler ""
  cert kubelet "system:node:${NODE_NAME}" system:nodes "IP:${NODE_IP},DNS:${NODE_NAME}"
  cert proxy system:kube-proxy ""
  kubeconfig "${STATE}/controller-manager.kubeconfig" controller-manager
  kubeconfig "${STATE}/scheduler.kubeconfig" scheduler
  kubeconfig "${STATE}/kubelet.kubeconfig" kubelet
  kubeconfig "${STATE}/proxy.kubeconfig" proxy
}

# ---------------------------------------------------------------------------------------------
control_plane_up() {
  local bin="$1"
  start etcd etcd --name fa --data-dir "${STATE}/etcd" \
    --listen-client-urls "http://${NODE_IP}:2379" --advertise-client-urls "http://${NODE_IP}:2379" \
    --listen-peer-urls "http://${NODE_IP}:2380" --initial-advertise-peer-urls "http://${NODE_IP}:2380" \
    --initial-cluster "fa=http://${NODE_IP}:2380"
  wait_up etcd 60 curl -fsS "http://${NODE_IP}:2379/health"
  local p="${STATE}/pki"
  start kube-apiserver "${bin}/kube-apiserver" --advertise-address="${NODE_IP}" --bind-address="${NODE_IP}" \
    --secure-port=6443 --insecure-port=0 --etcd-servers="http://${NODE_IP}:2379" \
    --service-cluster-ip-range="${SVC_CIDR}" --client-ca-file="${p}/ca.crt" \
    --tls-cert-file="${p}/apiserver.crt" --tls-private-key-file="${p}/apiserver.key" \
    --kubelet-client-certificate="${p}/apiserver-kubelet.crt" --kubelet-client-key="${p}/apiserver-kubelet.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="${p}/sa.pub" --service-account-signing-key-file="${p}/sa.key" \
    --api-audiences=https://kubernetes.default.svc.cluster.local \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --cert-dir="${STATE}/apiserver" --profiling=false
  kubeconfig "${STATE}/kubeconfig" admin
  export KUBECONFIG="${STATE}/kubeconfig"
  wait_up kube-apiserver 120 kc get --raw /readyz
  start kube-controller-manager "${bin}/kube-controller-manager" \
    --kubeconfig="${STATE}/controller-manager.kubeconfig" --leader-elect=false --port=0 --secure-port=0 \
    --service-account-private-key-file="${p}/sa.key" --root-ca-file="${p}/ca.crt" \
    --use-service-account-credentials=true
  start kube-scheduler "${bin}/kube-scheduler" --kubeconfig="${STATE}/scheduler.kubeconfig" \
    --leader-elect=false --port=0 --secure-port=0
}

containerd_up() {
  local c="${STATE}/containerd"
  mkdir -p "${c}" "${STATE}/cni/net.d" "${STATE}/cni/ipam"
  cat >"${c}/config.toml" <<EOF
version = 2
root = "${c}/root"
state = "${c}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${STATE}/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "${c}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # No registry is reachable: the sandbox (pause) image is built and imported by cluster.sh.
  sandbox_image = "${PAUSE_IMAGE}"
  # Root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below this process's.
  restrict_oom_score_adj = true
  stream_server_address = "${NODE_IP}"
  stream_server_port = "10010"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
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

# The sandbox image: tests/cluster/pause.c, static, alone in a FROM scratch image.
pause_image() {
  local d="${STATE}/pause"
  mkdir -p "${d}/ctx"
  gcc -static -Os -s -Wall -Wextra -Werror -o "${d}/ctx/pause" "${HERE}/pause.c"
  printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >"${d}/ctx/Containerfile"
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
port: 10250
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "${STATE}/pki/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "${STATE}/pki/kubelet.crt"
tlsPrivateKeyFile: "${STATE}/pki/kubelet.key"
cgroupDriver: cgroupfs
failSwapOn: false
# Image GC off: the only images are the ones the tests imported (nothing could be pulled back).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
rotateCertificates: false
serializeImagePulls: false
EOF
  start kubelet "${bin}/kubelet" --config="${STATE}/kubelet.yaml" --kubeconfig="${STATE}/kubelet.kubeconfig" \
    --container-runtime=remote --container-runtime-endpoint="unix://${STATE}/containerd.sock" \
    --root-dir="${k}" --cert-dir="${k}/pki" --volume-plugin-dir="${STATE}/kubelet-plugins" \
    --node-ip="${NODE_IP}" --hostname-override="${NODE_NAME}" --pod-infra-container-image="${PAUSE_IMAGE}"
  wait_up kubelet 180 node_ready
  cat >"${STATE}/proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
bindAddress: ${NODE_IP}
healthzBindAddress: ${NODE_IP}:10256
metricsBindAddress: ${NODE_IP}:10249
clusterCIDR: ${POD_CIDR}
hostnameOverride: ${NODE_NAME}
nodePortAddresses: ["${NODE_IP}/32"]
clientConnection: {kubeconfig: "${STATE}/proxy.kubeconfig"}
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
  need_cmd etcd containerd containerd-shim-runc-v2 runc ctr kubectl openssl ip iptables iptables-save \
    podman gcc curl setsid mountpoint
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] || skip "no CNI plugins in /usr/lib/cni (containernetworking-plugins)"
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
    [[ -x ${bin}/${c} ]] || fail "no ${c} in ${bin} (tests/cluster/build_k8s.sh builds them)"
  done
  if [[ -e ${STATE} ]]; then
    log "${STATE} exists: removing the leftovers of a previous run first"
    down "${STATE}"
  fi
  local t0=${SECONDS}
  mkdir -p "${STATE}/logs" "${STATE}/pids"
  trap 'log "cluster.up failed: tearing down"; down "${STATE}"' EXIT
  record_before
  network_up
  pki
  control_plane_up "${bin}"
  containerd_up
  pause_image
  node_up "${bin}"
  trap - EXIT
  figure "cluster up in $((SECONDS - t0)) s: Kubernetes $("${bin}/kubelet" --version | cut -d' ' -f2), node ${NODE_NAME} Ready at ${NODE_IP}, containerd $(containerd --version | cut -d' ' -f3), state in ${STATE}"
}

# Stops the pods through the kubelet first (so the CNI plugin releases their network), then the
# processes, then removes what is left.
down() {
  STATE="$1"
  [[ -d ${STATE} ]] || {
    log "nothing to tear down at ${STATE}"
    return 0
  }
  trap - EXIT
  set +e
  export KUBECONFIG="${STATE}/kubeconfig"
  if alive kube-apiserver && alive kubelet; then
    log "deleting the test namespace (the kubelet stops its pods)"
    timeout 90 kubectl --context "${CONTEXT}" delete namespace "${NS}" --ignore-not-found --wait=true --timeout=80s >/dev/null 2>&1
    timeout 60 kubectl --context "${CONTEXT}" delete pods --all --all-namespaces --grace-period=1 --wait=true --timeout=50s >/dev/null 2>&1
  fi
  local n
  for n in ingress-nginx kube-proxy kube-scheduler kube-controller-manager kubelet; do stop "${n}"; done
  if alive containerd; then
    local task
    for task in $(ctr_k8s tasks ls -q 2>/dev/null); do
      ctr_k8s tasks kill -s SIGKILL "${task}" >/dev/null 2>&1
      sleep 0.2
      ctr_k8s tasks delete -f "${task}" >/dev/null 2>&1
    done
    for task in $(ctr_k8s containers ls -q 2>/dev/null); do ctr_k8s containers delete "${task}" >/dev/null 2>&1; done
  fi
  stop containerd
  # Shims (and their containers) left by a killed containerd name its socket on their command line.
  local f cmd pid
  for f in /proc/[0-9]*/cmdline; do
    cmd="$(tr '\0' ' ' <"${f}" 2>/dev/null)" || continue
    [[ ${cmd} == *containerd-shim*" -address ${STATE}/containerd.sock "* ]] || continue
    pid="${f#/proc/}"
    log "killing leftover containerd shim ${pid%/cmdline}: ${cmd}"
    kill -KILL "${pid%/cmdline}" 2>/dev/null
  done
  for n in kube-apiserver etcd; do stop "${n}"; done
  # Container processes whose shim is gone: whatever is left in the pods' cgroups.
  find /sys/fs/cgroup/pids/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do
    log "killing leftover pod process ${pid}"
    kill -KILL "${pid}" 2>/dev/null
  done
  network_down
  # Only what this cluster's containerd and kubelet create (containerd names its netns cni-*;
  # other tools' entries in these shared directories are left alone).
  remove_new /run/netns 'cni-*'
  remove_new /run/containerd/s '*'
  remove_new /run/containerd 's'
  remove_new /var/log/pods "${NS}_*"
  remove_new /var/log/containers "*_${NS}_*"
  remove_new /var/lib/cni/results 'fa-cluster-*'
  remove_new /var/lib/cni 'results'
  # Mounts under STATE (the kubelet's root dir, containerd's snapshots and sandbox shm), deepest first.
  local m
  awk -v s="${STATE}/" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "${m}"
  done
  # The pods' cgroups (the kubelet's cgroupfs driver made kubepods/ in every v1 hierarchy).
  find /sys/fs/cgroup/*/kubepods -depth -type d -exec rmdir {} + 2>/dev/null
  [[ ! -f ${STATE}/saved/sysctl ]] || while read -r name value; do
    [[ $(cat "/proc/sys/${name}") == "${value}" ]] && continue
    log "restoring sysctl ${name//\//.} = ${value} (was $(cat "/proc/sys/${name}"))"
    echo "${value}" >"/proc/sys/${name}"
  done <"${STATE}/saved/sysctl"
  rm -rf "${STATE}"
  set -e
  leftovers
}

# Fails if anything of the cluster is still there.
leftovers() {
  local -a left=()
  ip link show "${BRIDGE}" >/dev/null 2>&1 && left+=("link ${BRIDGE}")
  iptables-save | grep -E '^:(KUBE-|FA-CLUSTER-)' >/dev/null && left+=("iptables chains")
  [[ -z $(find /sys/fs/cgroup/*/kubepods -maxdepth 0 2>/dev/null) ]] || left+=("cgroups kubepods")
  [[ ! -e ${STATE} ]] || left+=("${STATE}")
  grep -qF " ${STATE}/" /proc/self/mountinfo && left+=("mounts under ${STATE}")
  if ((${#left[@]})); then fail "left behind after teardown: ${left[*]}"; fi
  log "teardown complete: no process, link, chain, mount, cgroup or file of the cluster is left"
}

main() {
  case "${1:-}:$#" in
  build:1)
    need_node_privileges
    need_cmd go apt-get
    "${HERE}/build_k8s.sh"
    ;;
  up:2 | down:2) "$1" "$2" ;;
  *) fail "usage: $0 build | $0 up STATE | $0 down STATE" ;;
  esac
}

main "$@"
