#!/usr/bin/env bash
# static_binary.sh BINARY
# The static build's result: a static, stripped ELF (no program interpreter, no shared libraries)
# under 3 MB that runs on its own and answers the contract.
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

check_elf() {
  local bin="$1" desc phdrs dyn sections stack size max=3000000
  desc="$(file -b "${bin}")"
  log "file: ${desc}"
  [[ ${desc} == ELF* ]] || fail "not an ELF file"
  [[ ${desc} == *"statically linked"* || ${desc} == *"static-pie linked"* ]] || fail "not statically linked"
  [[ ${desc} == *", stripped"* ]] || fail "not stripped"
  phdrs="$(readelf -lW "${bin}")" || fail "readelf -l failed"
  [[ ${phdrs} != *INTERP* ]] || fail "has a program interpreter (PT_INTERP): it cannot start FROM scratch"
  dyn="$(readelf -dW "${bin}" 2>&1)" || true
  [[ ${dyn} != *"(NEEDED)"* ]] || fail "needs shared libraries: $(grep NEEDED <<<"${dyn}")"
  sections="$(readelf -SW "${bin}")" || fail "readelf -S failed"
  [[ ${sections} != *.symtab* ]] || fail "has a symbol table (.symtab): not stripped"
  log "ok: static ELF, no PT_INTERP, no NEEDED, stripped"
  # musl sizes thread stacks from PT_GNU_STACK (default 128 KiB); cpp-httplib's std::regex recurses.
  stack="$(awk '$1 == "GNU_STACK" { print $6 }' <<<"${phdrs}")"
  if [[ ${stack} != 0x* ]] || ((stack < 1048576)); then
    fail "PT_GNU_STACK size '${stack}' < 1 MiB (-Wl,-z,stack-size)"
  fi
  log "ok: PT_GNU_STACK asks for $((stack / 1024)) KiB thread stacks"
  size="$(stat -c %s "${bin}")"
  log "size: ${size} bytes ($((size / 1024)) KiB), limit ${max}"
  ((size < max)) || fail "binary is ${size} bytes, limit ${max}"
}

# The port from the server's start line on stdout (PORT=0: the kernel picks it).
PORT_SEEN=""
port_logged() {
  PORT_SEEN="$(grep -o '"port":[0-9]*' "${WORK}/out" | head -n1 | cut -d: -f2)"
  [[ -n ${PORT_SEEN} && ${PORT_SEEN} != 0 ]]
}

check_serving() {
  local bin="$1" pid base
  # An empty environment: nothing but what the service is told.
  env -i PORT=0 BIND_ADDRESS=127.0.0.1 DRAIN_SECONDS=1 "${bin}" >"${WORK}/out" 2>"${WORK}/err" &
  pid=$!
  SERVER_PID="${pid}"
  wait_until -p "${pid}" -l "${WORK}/err" 10 "a start line with the port on stdout" port_logged
  base="http://127.0.0.1:${PORT_SEEN}"
  wait_until -p "${pid}" 10 "an answer from ${base}/healthz" curl -fsS --max-time 1 -o /dev/null "${base}/healthz"
  http_expect "${base}/" 200 "${EXPECTED_ROOT_BODY}"
  http_expect "${base}/healthz" 200 "${EXPECTED_HEALTH_BODY}"
  env -i timeout 10 "${bin}" --check "${base}/healthz" || fail "--check ${base}/healthz exited $?, want 0"
  log "ok: --check ${base}/healthz -> 0"
  if env -i timeout 10 "${bin}" --check "${base}/no-such-path" 2>/dev/null; then fail "--check of a 404 exited 0"; fi
  log "ok: --check of a 404 -> non-zero"
  sigterm_exits_0 "${pid}" "${WORK}/err"
  SERVER_PID=""
}

cleanup() {
  [[ -z ${SERVER_PID} ]] || kill -KILL "${SERVER_PID}" 2>/dev/null || true
  rm -rf "${WORK}"
}

main() {
  [[ $# -eq 1 ]] || fail "usage: $0 BINARY"
  local bin version
  bin="$(need_binary "$1")"
  need_cmd file readelf curl timeout
  check_elf "${bin}"
  version="$(env -i "${bin}" --version)" || fail "--version failed"
  log "version: ${version}"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/fa-static.XXXXXX")" SERVER_PID=""
  trap cleanup EXIT
  check_serving "${bin}"
}

main "$@"
