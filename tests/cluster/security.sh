#!/usr/bin/env bash
# security.sh STATE: from the node, each of the 3 pods' container process (README.md,
# cluster.security). The write into its root is made as root on the node through /proc/PID/root,
# so that no permission but the read-only mount could stop it.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_pod() {
  local pod="$1" pid st err want got
  pid="$(container_pid "${pod}")"
  [[ ${pid} =~ ^[1-9][0-9]*$ ]] || fail "no running task for pod ${pod}"
  st="/proc/${pid}/status"
  assert_contained "${pid}"
  # The very binary image.sh picked (the musl build in CI) is what the pod runs.
  want="$(sha256sum <"${STATE}/favorite-athlete")"
  got="$(sha256sum <"/proc/${pid}/exe")"
  [[ ${got} == "${want}" ]] || fail "${pod}: runs a binary (sha256 ${got:0:16}) other than ${STATE}/favorite-athlete (${want:0:16})"
  grep -Eq '^Seccomp:[[:space:]]+2$' "${st}" || fail "${pod}: no seccomp filter (RuntimeDefault): $(grep Seccomp "${st}")"
  if err="$(touch "/proc/${pid}/root/write-probe" 2>&1)"; then
    rm -f "/proc/${pid}/root/write-probe"
    fail "${pod}: root on the node could write into the container's root"
  fi
  [[ ${err} == *"Read-only file system"* ]] || fail "${pod}: the write failed, but not with EROFS: ${err}"
  figure "${pod} pid ${pid}: binary sha256 ${got:0:16} = ${STATE}/favorite-athlete; $(grep -E '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp):' "${st}" | tr -s '\t ' ' ' | paste -sd';' -); root mount ro; write into it: ${err##*: }"
}

main() {
  use_state "$1"
  local -a list
  mapfile -t list < <(ready_pod_names)
  ((${#list[@]} == 3)) || fail "${#list[@]} pods Running and Ready, want 3"
  local p
  for p in "${list[@]}"; do check_pod "${p}"; done
}

main "$@"
