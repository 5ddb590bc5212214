#!/usr/bin/env bash
# image.sh STATE STATIC_BINARY: readies the image build of the deploy script's cluster mode.
# The image ships a static musl binary (Dockerfile.alpine's build stage); that stage cannot run
# here (no registry), so engine.sh builds the runtime stage around the project's own musl build,
# build/musl/favorite-athlete (zig's musl + libc++, not Alpine's g++: tests/image/README.md). In
# CI (FA_TESTS_NO_SKIP=1) that build is required; elsewhere, without it, STATIC_BINARY (the glibc
# static build) stands in, and the figure says which. Copies it to STATE/favorite-athlete, names the
# copy in STATE/app-binary (security.sh checks that the pods run these very bytes), and puts
# engine.sh on PATH as `podman` for build-and-deploy.sh (STATE/bin/podman).
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pick_binary() {
  local musl="${REPO}/build/musl/favorite-athlete" bin
  if [[ -x ${musl} ]]; then
    bin="${musl}"
  elif [[ ${FA_TESTS_NO_SKIP:-0} == 1 ]]; then
    fail "no musl build at ${musl}: the image ships musl (CI builds it first: FA_PRESET=musl scripts/test.sh)"
  else
    [[ -x $1 ]] || fail "no static binary at $1"
    bin="$(readlink -f "$1")"
  fi
  file -b "${bin}" | grep 'statically linked' >/dev/null || fail "${bin} is not statically linked: $(file -b "${bin}")"
  # A copy: every image of this run (and security.sh's check) has these bytes, even if a build
  # replaces the original meanwhile.
  install -m 0755 "${bin}" "${STATE}/favorite-athlete"
  printf '%s\n' "${STATE}/favorite-athlete" >"${STATE}/app-binary"
  figure "image binary: ${bin} ($(libc_of "${bin}"), $(stat -c %s "${bin}") bytes, sha256 $(sha256sum "${bin}" | cut -c1-16)), copied to ${STATE}/favorite-athlete"
}

# libc_of BINARY: a static glibc carries its tunables' name; musl has none.
libc_of() { if grep -qa GLIBC_TUNABLES "$1"; then echo glibc; else echo "no glibc: musl"; fi; }

main() {
  use_state "$1"
  need_cmd podman file
  pick_binary "$2"
  mkdir -p "${STATE}/bin"
  printf '#!/bin/sh\n# podman for build-and-deploy.sh in the cluster tests: see tests/cluster/engine.sh\nexec %q %q "$@"\n' \
    "${HERE}/engine.sh" "${STATE}" >"${STATE}/bin/podman"
  chmod +x "${STATE}/bin/podman"
  PATH="${STATE}/bin:${PATH}" podman info >/dev/null || fail "the podman shim does not work (podman info)"
  log "STATE/bin/podman: engine.sh with its own storage under ${STATE}/podman"
}

main "$@"
