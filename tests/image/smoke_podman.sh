#!/usr/bin/env bash
# smoke_podman.sh BINARY
# Proves that the image build's test gate works the way Dockerfile.alpine relies on: a RUN of
# tests/image/smoke.sh that fails makes the build fail. No base image can be pulled here, so the
# test image is FROM scratch with Debian's static busybox (what Alpine's base provides to the
# smoke) plus the binary: building it with BINARY must succeed, and building it with a stand-in
# server that answers wrongly must fail. All podman state lives in a temp dir removed on exit.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -eq 1 ]] || fail "usage: $0 BINARY"
bin=$(readlink -f "$1")
[[ -x $bin ]] || fail "no executable at $1"
need_root
need_cmd podman runc timeout busybox file
busybox=$(readlink -f "$(command -v busybox)")
file -L "$busybox" | grep -q 'statically linked' ||
  skip "$busybox is not statically linked (Debian: apt-get install --no-remove busybox-static)"

work=$(mktemp -d "${TMPDIR:-/tmp}/fa-smoke-podman.XXXXXX")
image=localhost/favorite-athlete:smoke-test
cleanup() {
  set +e
  pod rmi -f "$image" >/dev/null 2>&1
  podman_sandbox_remove "$work"
}
trap cleanup EXIT
podman_sandbox "$work"

mkdir -p "$work/ctx"
install -m 0755 "$busybox" "$work/ctx/busybox"
install -m 0755 "$here/smoke.sh" "$work/ctx/smoke.sh"
cat >"$work/ctx/Containerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/sbin", "/usr/sbin", "/tmp"]
RUN ["/bin/busybox", "--install", "-s"]
COPY smoke.sh /smoke.sh
COPY favorite-athlete /favorite-athlete
RUN ["/bin/sh", "/smoke.sh", "/favorite-athlete"]
EOF
build() { # build BINARY: podman build of the test image around BINARY
  install -m 0755 "$1" "$work/ctx/favorite-athlete"
  pod build --pull=never --format docker --layers=false --network=none -t "$image" "$work/ctx"
}

build "$bin" >&2 || fail "the smoke RUN failed the build with $bin"
log "ok: podman build with the smoke RUN passes on $bin"

write_wrong_server "$work/wrong-server" 18080
if out=$(build "$work/wrong-server" 2>&1); then
  fail "podman build succeeded although the smoke fails on a server answering wrongly: $out"
fi
[[ $out == *"FAIL: GET / answered"* ]] || fail "the build failed, but not in the smoke: $out"
log "ok: a failing smoke RUN fails the podman build ($(grep -m1 'FAIL: GET' <<<"$out"))"
