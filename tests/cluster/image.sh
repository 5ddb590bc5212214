#!/usr/bin/env bash
# image.sh STATE STATIC_BINARY: the image that ships, built and loaded the way the deploy script
# does it for minikube, with podman: the runtime stage of Dockerfile.alpine around the static
# binary (the musl build when build/musl/favorite-athlete exists, else STATIC_BINARY, the glibc
# static build), saved as a docker-archive and imported into the cluster's containerd as
# favorite-athlete:cluster-a and favorite-athlete:cluster-b (two builds, distinct image IDs, for
# the rollout to a new tag). Never pulled.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# pick_binary STATIC_BINARY: writes the binary the image gets to STATE/app-binary.
pick_binary() {
  local musl="${REPO}/build/musl/favorite-athlete" bin
  if [[ -x ${musl} ]]; then
    bin="${musl}"
    figure "image binary: musl static build ${musl}"
  else
    [[ -x $1 ]] || fail "no static binary at $1"
    bin="$(readlink -f "$1")"
    figure "image binary: glibc static build ${bin} (no musl build at ${musl})"
  fi
  printf '%s\n' "${bin}" >"${STATE}/app-binary"
}

# build_and_load TAG: what build-and-deploy.sh's steps 3 and 5 do with podman and --image-load archive:.
build_and_load() {
  local tag="$1" ref="docker.io/library/${APP}:$1" archive="${STATE}/image-$1.tar"
  "${HERE}/engine.sh" "${STATE}" build -f "${REPO}/Dockerfile.alpine" -t "${ref}" \
    --build-arg "REVISION=cluster-test-${tag}" --build-arg "VERSION=0.0.0-${tag}" "${REPO}" >&2
  "${HERE}/engine.sh" "${STATE}" save --format docker-archive -o "${archive}" "${ref}"
  "${HERE}/import.sh" "${STATE}" "${archive}" "${APP}:${tag}"
  rm -f "${archive}"
}

main() {
  need_node_privileges
  use_state "$1"
  pick_binary "$2"
  build_and_load cluster-a
  build_and_load cluster-b
  local a b
  a="$(ctr_k8s images ls | awk -v r="docker.io/library/${APP}:cluster-a" '$1 == r {print $3}')"
  b="$(ctr_k8s images ls | awk -v r="docker.io/library/${APP}:cluster-b" '$1 == r {print $3}')"
  [[ -n ${a} && -n ${b} && ${a} != "${b}" ]] || fail "cluster-a (${a}) and cluster-b (${b}) should be distinct images"
  figure "images in containerd: ${APP}:cluster-a ${a:0:19}, ${APP}:cluster-b ${b:0:19} (podman build of the runtime stage, docker-archive, ctr import)"
}

main "$@"
