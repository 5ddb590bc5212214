#!/usr/bin/env bash
# empty_root.sh BINARY
# Runs the binary the way a pod with a hardened securityContext runs it, without any container
# tooling: root filesystem = a read-only directory holding nothing but the binary, UID/GID
# 65532 with no supplementary groups, no capabilities, no_new_privs, its own PID and mount
# namespaces and a network namespace with only loopback, an empty environment except its
# config. Then GET / and /healthz over that loopback, --check from inside the root, SIGTERM.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
source "$here/../lib.sh"

if [[ "${1:-}" == --inside ]]; then
  # ---- runs as PID 1 of fresh PID/mount/network namespaces (see unshare below) ----
  work=$2 root=$2/root chroot_bin=$3 setpriv_bin=$4
  # Run as 65532:65532 with no groups inside $root. chroot(2), setgid and setuid need the three
  # capabilities kept in the bounding set for that one exec; the setuid to 65532 then clears the
  # permitted and effective sets (asserted below), no_new_privs forbids regaining any.
  # as_pod [VAR=VALUE...] [-- ARG...]
  as_pod() {
    local envs=() args=()
    while (($#)) && [[ $1 != -- ]]; do
      envs+=("$1")
      shift
    done
    (($#)) && shift
    args=("$@")
    exec env -i "${envs[@]}" "$setpriv_bin" --no-new-privs --inh-caps=-all \
      --bounding-set=-all,+sys_chroot,+setuid,+setgid -- \
      "$chroot_bin" --userspec=65532:65532 --groups= "$root" /favorite-athlete "${args[@]}"
  }

  trap '[[ -s $work/stderr ]] && { log "--- server stderr ---"; cat "$work/stderr" >&2; }' EXIT
  ip link set lo up
  links=$(ip -o link show | awk -F': ' '{print $2}')
  [[ $links == lo ]] || fail "network namespace has more than loopback: $links"
  mount --bind "$root" "$root"
  mount -o remount,bind,ro,nosuid,nodev "$root"
  if touch "$root/probe" 2>/dev/null; then fail "root filesystem is writable"; fi
  [[ "$(ls -A "$root")" == favorite-athlete ]] || fail "root holds more than the binary: $(ls -A "$root")"
  log "ok: read-only root holding only /favorite-athlete; network namespace with only lo"

  # In a subshell that execs, so $! is the server's own PID (env, setpriv, chroot all exec).
  (as_pod PORT=8080 DRAIN_SECONDS=1) >"$work/stdout" 2>"$work/stderr" &
  pid=$!
  wait_until -p "$pid" 10 "an answer on /healthz" curl -fsS --max-time 1 -o /dev/null http://127.0.0.1:8080/healthz
  assert_unprivileged "$pid"
  [[ "$(readlink "/proc/$pid/root")" == "$root" ]] || fail "process root is $(readlink "/proc/$pid/root"), want $root"

  http_expect http://127.0.0.1:8080/ 200 "$EXPECTED_ROOT_BODY"
  http_expect http://127.0.0.1:8080/healthz 200 "$EXPECTED_HEALTH_BODY"
  # The image's HEALTHCHECK, run the same way (no shell, no curl in the root).
  (as_pod -- --check http://127.0.0.1:8080/healthz) || fail "--check /healthz inside the root exited non-zero"
  if (as_pod -- --check http://127.0.0.1:1/healthz) 2>/dev/null; then fail "--check of a closed port exited 0"; fi
  log "ok: --check inside the root: 0 for /healthz, non-zero for a closed port"

  sigterm_exits_0 "$pid" "$work/stderr"
  grep -q '"listening"' "$work/stdout" || fail "no JSON start line on stdout"
  log "stdout: $(wc -l <"$work/stdout") JSON lines, stderr: $(wc -c <"$work/stderr") bytes"
  exit 0
fi

[[ $# -eq 1 ]] || fail "usage: $0 BINARY"
bin=$(need_binary "$1")
need_root
need_cmd unshare chroot setpriv ip mount curl timeout
unshare --net --pid --fork --kill-child --mount-proc true 2>/dev/null || skip "unshare cannot create namespaces here"

work=$(mktemp -d "${TMPDIR:-/tmp}/fa-emptyroot.XXXXXX")
# The mounts live in the private mount namespace and vanish with it; only the directory is ours.
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
install -m 0555 "$bin" "$work/root/favorite-athlete"
chmod 0555 "$work/root"

# --kill-child: if this script is killed (ctest TIMEOUT), everything inside dies with it.
timeout -k 5 60 unshare --net --pid --fork --kill-child --mount-proc --propagation private -- \
  bash "$here/empty_root.sh" --inside "$work" "$(command -v chroot)" "$(command -v setpriv)"
