#!/bin/sh
# smoke.sh BINARY: the HTTP contract of a built favorite-athlete binary, checked with nothing but
# a POSIX sh and busybox's wget, nc, timeout and sed, so it runs in Dockerfile.alpine's build
# stage as is (no apk package) and here under Debian's static busybox (ctest -L image).
#   GET / -> the JSON, as application/json; GET /healthz -> {"status":"ok"}; --check of /healthz
#   exits 0 and of a 404 non-zero; POST / -> 405 "Only GET method valid"; GET /readyz -> 200;
#   SIGTERM -> exit status 0.
# The binary listens on a free port (PORT=0) and the port is read from its "listening" log line.
# Exits non-zero with a FAIL: line on the first broken rule; every wait is bounded.
set -eu

[ $# -eq 1 ] || {
  echo "usage: $0 BINARY" >&2
  exit 2
}
bin=$1
expected_root='{"myFavoriteAthlete":"Usain Bolt"}'
work=$(mktemp -d "${TMPDIR:-/tmp}/fa-smoke.XXXXXX")
pid=""

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$work/server.log" ]; then
    echo "--- server log" >&2
    tail -n 20 "$work/server.log" >&2
  fi
  exit 1
}
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

start_server() {
  PORT=0 BIND_ADDRESS=127.0.0.1 DRAIN_SECONDS=1 "$bin" >"$work/server.log" 2>&1 &
  pid=$!
  tries=0
  port=""
  while [ -z "$port" ]; do
    kill -0 "$pid" 2>/dev/null || {
      pid=""
      fail "$bin exited before it listened"
    }
    tries=$((tries + 1))
    [ "$tries" -le 100 ] || fail "no \"listening\" log line with a port within 10 s"
    sleep 0.1
    port=$(sed -n '/"listening"/s/.*"port":\([0-9][0-9]*\).*/\1/p' "$work/server.log" | head -n 1)
  done
  base="http://127.0.0.1:$port"
  echo "ok: $bin listening on port $port"
}

check_get_root() {
  body=$(timeout 5 wget -S -q -O - "$base/" 2>"$work/root-head") || fail "GET / failed"
  [ "$body" = "$expected_root" ] || fail "GET / answered '$body', want '$expected_root'"
  grep -qi '^ *content-type: *application/json' "$work/root-head" || fail "GET / is not application/json: $(cat "$work/root-head")"
  echo "ok: GET / -> application/json $body"
}

check_healthz() {
  body=$(timeout 5 wget -q -O - "$base/healthz") || fail "GET /healthz failed"
  [ "$body" = '{"status":"ok"}' ] || fail "GET /healthz answered '$body', want '{\"status\":\"ok\"}'"
  timeout 10 "$bin" --check "$base/healthz" || fail "--check $base/healthz exited non-zero"
  if timeout 10 "$bin" --check "$base/no-such-path" 2>/dev/null; then fail "--check of a 404 exited 0"; fi
  echo "ok: GET /healthz -> $body; --check: 0 for /healthz, non-zero for a 404"
}

check_post_root() {
  # busybox wget drops the body of an error reply, so POST goes over nc as raw HTTP/1.0
  # (the server closes the connection after its answer, which ends nc).
  printf 'POST / HTTP/1.0\r\nHost: smoke\r\nContent-Length: 0\r\n\r\n' |
    timeout 5 nc 127.0.0.1 "$port" >"$work/post" 2>&1 || true
  status=$(head -n 1 "$work/post" | tr -d '\r')
  case $status in
  "HTTP/1."[01]" 405 "*) ;;
  *) fail "POST / answered status line '$status', want 405" ;;
  esac
  grep -q 'Only GET method valid' "$work/post" || fail "POST / body is not 'Only GET method valid': $(tail -n 1 "$work/post")"
  echo "ok: POST / -> 405 Only GET method valid"
}

check_readyz() {
  timeout 5 wget -S -q -O /dev/null "$base/readyz" >"$work/readyz" 2>&1 || fail "GET /readyz failed: $(cat "$work/readyz")"
  grep -q 'HTTP/1\.[01] 200' "$work/readyz" || fail "GET /readyz is not 200: $(cat "$work/readyz")"
  echo "ok: GET /readyz -> 200"
}

check_sigterm() {
  kill -TERM "$pid"
  # A watchdog bounds the wait: a server that ignores SIGTERM is killed and fails the check.
  (sleep 15 && kill -KILL "$pid") >/dev/null 2>&1 &
  watchdog=$!
  rc=0
  wait "$pid" || rc=$?
  pid=""
  kill "$watchdog" 2>/dev/null || true
  [ "$rc" -eq 0 ] || fail "exit status $rc after SIGTERM, want 0"
  echo "ok: SIGTERM -> exit 0"
}

start_server
check_get_root
check_healthz
check_post_root
check_readyz
check_sigterm
echo "smoke OK: $bin"
