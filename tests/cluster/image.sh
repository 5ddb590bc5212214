#!/usr/bin/env bash
# The images of the cluster tests (README.md, cluster.image):
#   image.sh STATE STATIC_BINARY        (ctest cluster.image) picks the binary the image gets and
#                                       puts this script on PATH as `podman` (STATE/bin/podman)
#   image.sh STATE --podman ARGS...     that `podman`, for build-and-deploy.sh: podman with all its
#                                       storage and config under STATE/podman (tests/lib.sh
#                                       podman_sandbox), its `build` replaced (podman_build)
#   image.sh STATE --import ARCHIVE IMAGE  loads a docker-archive into the cluster's containerd, as
#                                       `minikube image load` does (--image-load archive:CMD)
# Nothing is ever pulled: no search registries, --pull=never.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The image ships a static musl binary (Dockerfile.alpine's build stage), a stage that cannot run
# here (no registry): the runtime stage is built around the project's own musl build,
# build/musl/favorite-athlete (zig's musl + libc++, not Alpine's g++). CI (FA_TESTS_NO_SKIP=1)
# requires it; elsewhere STATIC_BINARY (the glibc static build) stands in, and the figure says so.
pick() {
  local musl="${REPO}/build/musl/favorite-athlete" bin
  need_cmd podman file
  if [[ -x ${musl} ]]; then
    bin="${musl}"
  elif [[ ${FA_TESTS_NO_SKIP:-0} == 1 ]]; then
    fail "no musl build at ${musl}: the image ships musl (CI builds it first: FA_PRESET=musl scripts/test.sh)"
  else
    bin="$(need_binary "$1")"
  fi
  file -b "${bin}" | grep 'statically linked' >/dev/null || fail "${bin} is not statically linked: $(file -b "${bin}")"
  # A copy: every image of this run (and security.sh's check) has these bytes, even if a build
  # replaces the original meanwhile.
  install -m 0755 "${bin}" "${STATE}/favorite-athlete"
  local libc="no glibc: musl" # a static glibc carries its tunables' name; musl has none
  if grep -qa GLIBC_TUNABLES "${bin}"; then libc=glibc; fi
  figure "image binary: ${bin} (${libc}, $(stat -c %s "${bin}") bytes, sha256 $(sha256sum "${bin}" | cut -c1-16)), copied to ${STATE}/favorite-athlete"
  mkdir -p "${STATE}/bin"
  printf '#!/bin/sh\n# podman for build-and-deploy.sh in the cluster tests: see tests/cluster/image.sh\nexec %q %q --podman "$@"\n' \
    "${HERE}/image.sh" "${STATE}" >"${STATE}/bin/podman"
  chmod +x "${STATE}/bin/podman"
  log "STATE/bin/podman: image.sh --podman, with its own storage under ${STATE}/podman"
}

# podman build -f DOCKERFILE -t REF [--build-arg K=V]... CONTEXT (what build-and-deploy.sh runs)
# builds DOCKERFILE's runtime stage around STATE/favorite-athlete (tests/lib.sh runtime_image, as
# tests/image's podman_scratch).
podman_build() {
  local dockerfile="" ref="" context=""
  local -a args=()
  while (($#)); do
    case "$1" in
    -f) dockerfile="$2" ;;
    -t) ref="$2" ;;
    --build-arg) args+=(--build-arg "$2") ;;
    --format) [[ $2 == docker ]] || fail "image.sh --podman build: --format $2 (the image is built as docker)" ;;
    -*) fail "image.sh --podman build: unexpected option $1" ;;
    *)
      context="$1"
      shift
      continue
      ;;
    esac
    shift 2
  done
  [[ -r ${dockerfile} && -n ${ref} && -d ${context} ]] || fail "image.sh --podman build: need -f DOCKERFILE -t REF CONTEXT"
  runtime_image "${dockerfile}" "${STATE}/favorite-athlete" "${STATE}/podman/ctx" "${ref}" "${args[@]}"
}

# import ARCHIVE IMAGE: IMAGE is the reference the pods use (favorite-athlete:<tag>); containerd
# knows it by its full name docker.io/library/favorite-athlete:<tag>, which the archive must carry.
import() {
  local archive="$1" full="$2" have
  [[ ${full} == */* ]] || full="docker.io/library/${full}"
  ctr_k8s images import "${archive}" >&2 || fail "ctr images import ${archive} failed"
  # The list first, then grep: `ctr ... | grep -q` under pipefail fails when grep's early exit
  # SIGPIPEs ctr (seen: "fa-pause:1 is not in containerd (has: fa-pause:1 ...)").
  have="$(ctr_k8s images ls -q)"
  grep -qxF "${full}" <<<"${have}" ||
    fail "${full} is not in containerd after importing ${archive} (has: ${have//$'\n'/ })"
  log "image.sh: ${full} is in the cluster's containerd (namespace k8s.io)"
}

main() {
  if (($# < 2)); then
    fail "usage: $0 STATE STATIC_BINARY | STATE --podman ARGS... | STATE --import ARCHIVE IMAGE"
  elif [[ $2 == --podman ]]; then
    STATE="$1"
    shift 2
    # As STATE/bin/podman this is `podman` on PATH: the real one is found without it.
    PATH="$(tr ':' '\n' <<<"${PATH}" | grep -vxF "${STATE}/bin" | paste -sd: -)"
    podman_sandbox "${STATE}/podman"
    if [[ ${1:-} == build ]]; then podman_build "${@:2}"; else exec podman "$@"; fi
  elif [[ $2 == --import && $# == 4 ]]; then
    STATE="$1"
    import "$3" "$4"
  elif (($# == 2)); then
    use_state "$1"
    pick "$2"
  else
    main
  fi
}

main "$@"
