# shellcheck shell=bash
# Helpers shared by the tests/image scripts (sourced, not run). log, warn, die and run are
# scripts/log.sh's; fail and skip are the tests' exits on top of them.
set -euo pipefail
# shellcheck source=scripts/log.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/log.sh"

fail() {
  log "FAIL: $*"
  exit 1
}
# ctest maps exit 77 to "Skipped" (SKIP_RETURN_CODE). In CI set FA_TESTS_NO_SKIP=1: a missing tool
# is then a failure, so a test .ci/run provisions for can never be skipped silently.
skip() {
  if [[ "${FA_TESTS_NO_SKIP:-0}" == 1 ]]; then fail "$* (FA_TESTS_NO_SKIP=1 turns this skip into a failure)"; fi
  log "SKIP: $*"
  exit 77
}
need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed (scripts/debian-packages-test.txt lists the Debian packages)"
  done
}
need_root() { [[ "$(id -u)" == 0 ]] || skip "needs root (namespaces, chroot, podman as root)"; }

# shellcheck disable=SC2034  # used by the scripts that source this file
readonly EXPECTED_ROOT_BODY='{"myFavoriteAthlete":"Usain Bolt"}'
# shellcheck disable=SC2034
readonly EXPECTED_HEALTH_BODY='{"status":"ok"}'

# http_expect URL STATUS BODY [CURL_PREFIX...]: GET URL (through an optional command prefix such
# as `nsenter -t PID -n`) and compare status, JSON content type and exact body.
http_expect() {
  local url=$1 status=$2 body=$3
  shift 3
  local out got_status got_type got_body
  out=$("$@" curl -sS --max-time 5 -w '\n%{http_code} %{content_type}' "$url") || fail "GET $url: curl failed"
  got_body=${out%$'\n'*}
  got_status=${out##*$'\n'}
  got_type=${got_status#* }
  got_status=${got_status%% *}
  [[ "$got_status" == "$status" ]] || fail "GET $url: status $got_status, want $status (body: $got_body)"
  [[ "$got_type" == application/json* ]] || fail "GET $url: content type '$got_type', want application/json"
  [[ "$got_body" == "$body" ]] || fail "GET $url: body '$got_body', want '$body'"
  log "ok: GET $url -> $got_status $got_type $got_body"
}

# wait_http URL SECONDS PID [CURL_PREFIX...]: poll until URL answers 2xx; fail early if PID died.
wait_http() {
  local url=$1 secs=$2 pid=$3
  shift 3
  local deadline=$((SECONDS + secs))
  until "$@" curl -fsS --max-time 1 -o /dev/null "$url" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || fail "server (pid $pid) exited before answering $url"
    ((SECONDS < deadline)) || fail "no answer from $url within ${secs}s"
    sleep 0.2
  done
}

# assert_unprivileged PID: real/effective/saved/fs UID and GID 65532, no capabilities, no_new_privs.
assert_unprivileged() {
  local st=/proc/$1/status
  [[ -r $st ]] || fail "no $st"
  grep -Eq '^Uid:[[:space:]]+65532[[:space:]]+65532[[:space:]]+65532[[:space:]]+65532$' "$st" || fail "UIDs are not all 65532: $(grep '^Uid:' "$st")"
  grep -Eq '^Gid:[[:space:]]+65532[[:space:]]+65532[[:space:]]+65532[[:space:]]+65532$' "$st" || fail "GIDs are not all 65532: $(grep '^Gid:' "$st")"
  local cap
  for cap in CapInh CapPrm CapEff CapAmb; do
    grep -Eq "^$cap:[[:space:]]+0+$" "$st" || fail "$cap is not empty: $(grep "^$cap:" "$st")"
  done
  grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$st" || fail "no_new_privs is not set"
  log "ok: pid $1 runs as 65532:65532 with no capabilities, no_new_privs=1 ($(grep '^CapBnd:' "$st" | tr -s '\t ' ' '))"
}

# podman_sandbox DIR: every piece of podman state (storage, run dirs, events, networks) under DIR,
# runc as the runtime, nothing pullable (no search registries). Exports the CONTAINERS_* variables.
podman_sandbox() {
  local work=$1
  mkdir -p "$work/storage" "$work/run" "$work/tmp" "$work/net"
  cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
log_driver = "k8s-file"
[network]
network_config_dir = "$work/net"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/events.log"
tmp_dir = "$work/tmp"
static_dir = "$work/storage/libpod"
volume_path = "$work/storage/volumes"
CONF
  cat >"$work/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$work/storage"
runroot = "$work/run"
CONF
  printf 'unqualified-search-registries = []\n' >"$work/registries.conf"
  export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf \
    CONTAINERS_REGISTRIES_CONF=$work/registries.conf
}
# podman_sandbox_remove DIR: unmount what podman left under DIR (deepest first), remove DIR.
podman_sandbox_remove() {
  local m
  grep -o " $1/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$1"
}
pod() { timeout 120 podman "$@"; }

# busybox_path DIR: DIR holds one link per busybox applet and nothing else, to be all of PATH:
# the tools Alpine's base image has (busybox), nothing from this host.
busybox_path() {
  local bb a
  bb=$(command -v busybox) || fail "busybox not found"
  mkdir -p "$1"
  for a in $("$bb" --list); do ln -sf "$bb" "$1/$a"; done
}

# write_wrong_server FILE PORT: a stand-in "binary" (busybox sh + httpd) that starts and logs
# like favorite-athlete but answers GET / with the wrong athlete, to prove smoke.sh can fail.
write_wrong_server() {
  cat >"$1" <<EOF
#!/bin/sh
dir=\$(mktemp -d)
printf '{"myFavoriteAthlete":"Carl Lewis"}' >"\$dir/index.html"
echo '{"msg":"listening","port":$2}'
exec httpd -f -p 127.0.0.1:$2 -h "\$dir"
EOF
  chmod 0755 "$1"
}
