#!/usr/bin/env bash
# static_binary.sh BINARY
# The static build's result: a static, stripped ELF (no program interpreter, no shared libraries)
# under 3 MB, with 1 MiB thread stacks, whose --version runs with an empty environment. That it
# answers the contract (as served, with --check and SIGTERM) is smoke.sh's, run by smoke_gate.sh.
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

main() {
  [[ $# -eq 1 ]] || fail "usage: $0 BINARY"
  local bin version
  bin="$(need_binary "$1")"
  need_cmd file readelf
  check_elf "${bin}"
  version="$(env -i "${bin}" --version)" || fail "--version failed"
  log "version: ${version}"
}

main "$@"
