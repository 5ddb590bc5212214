# shellcheck shell=bash
# Helpers shared by the tests/image scripts (sourced, not run).
set -euo pipefail

log() { printf '%s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
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
    command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed (see tests/image/README.md for the Debian packages)"
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
  local url=$1 status=$2 body=$3; shift 3
  local out got_status got_type got_body
  out=$("$@" curl -sS --max-time 5 -w '\n%{http_code} %{content_type}' "$url") || fail "GET $url: curl failed"
  got_body=${out%$'\n'*}
  got_status=${out##*$'\n'}; got_type=${got_status#* }; got_status=${got_status%% *}
  [[ "$got_status" == "$status" ]] || fail "GET $url: status $got_status, want $status (body: $got_body)"
  [[ "$got_type" == application/json* ]] || fail "GET $url: content type '$got_type', want application/json"
  [[ "$got_body" == "$body" ]] || fail "GET $url: body '$got_body', want '$body'"
  log "ok: GET $url -> $got_status $got_type $got_body"
}

# wait_http URL SECONDS PID [CURL_PREFIX...]: poll until URL answers 2xx; fail early if PID died.
wait_http() {
  local url=$1 secs=$2 pid=$3; shift 3
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
