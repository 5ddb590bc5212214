#!/usr/bin/env bash
# empty_root.sh BINARY
# Runs the binary the way a pod with a hardened securityContext runs it, without any container
# tooling: root filesystem = a read-only directory holding nothing but the binary, UID/GID
# 65532 with no supplementary groups, no capabilities, no_new_privs, its own PID and mount
# namespaces and a network namespace with only loopback, an empty environment except its
# config. Then GET / and /healthz over that loopback, --check from inside the root, SIGTERM.
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# as_pod [VAR=VALUE...] [-- ARG...]: execs the binary as 65532:65532 with no groups inside ROOT.
# chroot(2), setgid and setuid need the three capabilities kept in the bounding set for that one
# exec; the setuid to 65532 then clears the permitted and effective sets (asserted below),
# no_new_privs forbids regaining any.
as_pod() {
  local envs=()
  while (($#)) && [[ $1 != -- ]]; do
    envs+=("$1")
    shift
  done
  (($#)) && shift
  exec env -i "${envs[@]}" "${SETPRIV}" --no-new-privs --inh-caps=-all \
    --bounding-set=-all,+sys_chroot,+setuid,+setgid -- \
    "${CHROOT}" --userspec=65532:65532 --groups= "${ROOT}" /favorite-athlete "$@"
}

# The namespaces' view: only loopback, a read-only root holding only the binary.
check_namespaces() {
  local links
  ip link set lo up
  links="$(ip -o link show | awk -F': ' '{print $2}')"
  [[ ${links} == lo ]] || fail "network namespace has more than loopback: ${links}"
  mount --bind "${ROOT}" "${ROOT}"
  mount -o remount,bind,ro,nosuid,nodev "${ROOT}"
  if touch "${ROOT}/probe" 2>/dev/null; then fail "root filesystem is writable"; fi
  [[ "$(ls -A "${ROOT}")" == favorite-athlete ]] || fail "root holds more than the binary: $(ls -A "${ROOT}")"
  log "ok: read-only root holding only /favorite-athlete; network namespace with only lo"
}

check_server() {
  local work="$1" pid
  # In a subshell that execs, so $! is the server's own PID (env, setpriv, chroot all exec).
  (as_pod PORT=8080 DRAIN_SECONDS=1) >"${work}/stdout" 2>"${work}/stderr" &
  pid=$!
  wait_until -p "${pid}" 10 "an answer on /healthz" curl -fsS --max-time 1 -o /dev/null http://127.0.0.1:8080/healthz
  assert_unprivileged "${pid}"
  [[ "$(readlink "/proc/${pid}/root")" == "${ROOT}" ]] || fail "process root is $(readlink "/proc/${pid}/root"), want ${ROOT}"
  http_expect http://127.0.0.1:8080/ 200 "${EXPECTED_ROOT_BODY}"
  http_expect http://127.0.0.1:8080/healthz 200 "${EXPECTED_HEALTH_BODY}"
  # The image's HEALTHCHECK, run the same way (no shell, no curl in the root).
  (as_pod -- --check http://127.0.0.1:8080/healthz) || fail "--check /healthz inside the root exited non-zero"
  if (as_pod -- --check http://127.0.0.1:1/healthz) 2>/dev/null; then fail "--check of a closed port exited 0"; fi
  log "ok: --check inside the root: 0 for /healthz, non-zero for a closed port"
  sigterm_exits_0 "${pid}" "${work}/stderr"
  grep -q '"listening"' "${work}/stdout" || fail "no JSON start line on stdout"
  log "stdout: $(wc -l <"${work}/stdout") JSON lines, stderr: $(wc -c <"${work}/stderr") bytes"
}

# inside WORK CHROOT SETPRIV: runs as PID 1 of fresh PID/mount/network namespaces (see outside).
inside() {
  local work="$1"
  ROOT="${work}/root" CHROOT="$2" SETPRIV="$3"
  # shellcheck disable=SC2064  # this directory, now
  trap "[[ -s ${work}/stderr ]] && { log '--- server stderr ---'; cat '${work}/stderr' >&2; }" EXIT
  check_namespaces
  check_server "${work}"
}

outside() {
  local bin work
  bin="$(need_binary "$1")"
  need_root
  need_cmd unshare chroot setpriv ip mount curl timeout
  unshare --net --pid --fork --kill-child --mount-proc true 2>/dev/null || skip "unshare cannot create namespaces here"
  work="$(mktemp -d "${TMPDIR:-/tmp}/fa-emptyroot.XXXXXX")"
  # The mounts live in the private mount namespace and vanish with it; only the directory is ours.
  # shellcheck disable=SC2064  # this directory, now
  trap "rm -rf '${work}'" EXIT
  mkdir "${work}/root"
  install -m 0555 "${bin}" "${work}/root/favorite-athlete"
  chmod 0555 "${work}/root"
  # --kill-child: if this script is killed (ctest TIMEOUT), everything inside dies with it.
  timeout -k 5 60 unshare --net --pid --fork --kill-child --mount-proc --propagation private -- \
    bash "${BASH_SOURCE[0]}" --inside "${work}" "$(command -v chroot)" "$(command -v setpriv)"
}

main() {
  if [[ ${1:-} == --inside && $# == 4 ]]; then
    inside "$2" "$3" "$4"
  else
    [[ $# -eq 1 ]] || fail "usage: $0 BINARY"
    outside "$1"
  fi
}

main "$@"
