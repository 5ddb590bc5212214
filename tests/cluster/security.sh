#!/usr/bin/env bash
# security.sh STATE: from the node, for each of the 3 pods' container process: the binary is the
# one image.sh picked (same SHA-256 as STATE/app-binary: the musl build in CI), UIDs and GIDs all
# 65532, no capability in any set (bounding set included), no_new_privs, a seccomp filter, and a
# read-only root: its root mount is ro and a write into it (as root on the node, through
# /proc/PID/root, so no permission could stop it) fails with EROFS.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_pod() {
  local pod="$1" pid st err
  pid="$(container_pid "${pod}")"
  [[ ${pid} =~ ^[1-9][0-9]*$ ]] || fail "no running task for pod ${pod}"
  st="/proc/${pid}/status"
  [[ $(tr '\0' ' ' <"/proc/${pid}/cmdline") == "/favorite-athlete " ]] || fail "pid ${pid} is not /favorite-athlete"
  assert_unprivileged "${pid}"
  # The very binary image.sh picked (the musl build in CI) is what the pod runs.
  local want got
  want="$(sha256sum <"$(cat "${STATE}/app-binary")")"
  got="$(sha256sum <"/proc/${pid}/exe")"
  [[ ${got} == "${want}" ]] || fail "${pod}: runs a binary (sha256 ${got:0:16}) other than $(cat "${STATE}/app-binary") (${want:0:16})"
  grep -Eq '^CapBnd:[[:space:]]+0+$' "${st}" || fail "${pod}: bounding set not empty: $(grep CapBnd "${st}")"
  grep -Eq '^Seccomp:[[:space:]]+2$' "${st}" || fail "${pod}: no seccomp filter (RuntimeDefault): $(grep Seccomp "${st}")"
  [[ ,$(awk '$5 == "/" {print $6}' "/proc/${pid}/mountinfo"), == *,ro,* ]] || fail "${pod}: root mount is not ro"
  if err="$(touch "/proc/${pid}/root/write-probe" 2>&1)"; then
    rm -f "/proc/${pid}/root/write-probe"
    fail "${pod}: root on the node could write into the container's root"
  fi
  [[ ${err} == *"Read-only file system"* ]] || fail "${pod}: the write failed, but not with EROFS: ${err}"
  figure "${pod} pid ${pid}: binary sha256 ${got:0:16} = $(cat "${STATE}/app-binary"); $(grep -E '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp):' "${st}" | tr -s '\t ' ' ' | paste -sd';' -); root mount ro; write into it: ${err##*: }"
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
