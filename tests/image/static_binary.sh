#!/usr/bin/env bash
# static_binary.sh BINARY
# The static build's result: a static, stripped ELF (no program interpreter, no shared libraries)
# under 3 MB that runs on its own and answers the contract.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -eq 1 ]] || fail "usage: $0 BINARY"
bin=$1
[[ -x $bin ]] || fail "no executable at $bin"
need_cmd file readelf curl timeout

desc=$(file -b "$bin")
log "file: $desc"
[[ $desc == ELF* ]] || fail "not an ELF file"
[[ $desc == *"statically linked"* || $desc == *"static-pie linked"* ]] || fail "not statically linked"
[[ $desc == *", stripped"* ]] || fail "not stripped"
phdrs=$(readelf -lW "$bin") || fail "readelf -l failed"
[[ $phdrs != *INTERP* ]] || fail "has a program interpreter (PT_INTERP): it cannot start FROM scratch"
dyn=$(readelf -dW "$bin" 2>&1) || true
[[ $dyn != *"(NEEDED)"* ]] || fail "needs shared libraries: $(printf '%s\n' "$dyn" | grep NEEDED)"
sections=$(readelf -SW "$bin") || fail "readelf -S failed"
[[ $sections != *.symtab* ]] || fail "has a symbol table (.symtab): not stripped"
log "ok: static ELF, no PT_INTERP, no NEEDED, stripped"
# musl sizes thread stacks from PT_GNU_STACK (default 128 KiB); cpp-httplib's std::regex recurses.
stack=$(awk '$1 == "GNU_STACK" { print $6 }' <<<"$phdrs")
if [[ $stack != 0x* ]] || ((stack < 1048576)); then
  fail "PT_GNU_STACK size '$stack' < 1 MiB (-Wl,-z,stack-size)"
fi
log "ok: PT_GNU_STACK asks for $((stack / 1024)) KiB thread stacks"

size=$(stat -c %s "$bin")
max=3000000
log "size: $size bytes ($((size / 1024)) KiB), limit $max"
((size < max)) || fail "binary is $size bytes, limit $max"

version=$(env -i "$bin" --version) || fail "--version failed"
log "version: $version"

work=$(mktemp -d "${TMPDIR:-/tmp}/fa-static.XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# An empty environment: nothing but what the service is told.
env -i PORT=0 BIND_ADDRESS=127.0.0.1 DRAIN_SECONDS=1 "$bin" >"$work/out" 2>"$work/err" &
pid=$!
port=
for _ in $(seq 50); do
  port=$(grep -o '"port":[0-9]*' "$work/out" 2>/dev/null | head -n1 | cut -d: -f2 || true)
  [[ -n $port ]] && break
  kill -0 "$pid" 2>/dev/null || {
    cat "$work/err" >&2
    fail "server exited at start"
  }
  sleep 0.2
done
[[ -n $port && $port != 0 ]] || fail "no start line with the port on stdout: $(head -c 500 "$work/out")"
base=http://127.0.0.1:$port
wait_http "$base/healthz" 10 "$pid"
http_expect "$base/" 200 "$EXPECTED_ROOT_BODY"
http_expect "$base/healthz" 200 "$EXPECTED_HEALTH_BODY"
env -i timeout 10 "$bin" --check "$base/healthz" || fail "--check $base/healthz exited $?, want 0"
log "ok: --check $base/healthz -> 0"
if env -i timeout 10 "$bin" --check "$base/no-such-path" 2>/dev/null; then fail "--check of a 404 exited 0"; fi
log "ok: --check of a 404 -> non-zero"

kill -TERM "$pid"
rc=0
timeout 30 tail --pid="$pid" -f /dev/null || fail "no exit within 30 s of SIGTERM"
wait "$pid" || rc=$?
pid=
((rc == 0)) || {
  cat "$work/err" >&2
  fail "exit status $rc after SIGTERM, want 0"
}
log "ok: SIGTERM -> exit 0"
