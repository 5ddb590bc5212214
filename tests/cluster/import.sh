#!/usr/bin/env bash
# import.sh STATE ARCHIVE IMAGE: loads a docker-archive into the test cluster's containerd (the
# k8s.io namespace the kubelet uses), the way `minikube image load` does for minikube; nothing is
# pulled. IMAGE is the reference the pods use (favorite-athlete:<tag>); containerd knows it by
# its full name docker.io/library/favorite-athlete:<tag>, which the archive must carry.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  (($# == 3)) || fail "usage: $0 STATE ARCHIVE IMAGE"
  # shellcheck disable=SC2034  # read by ctr_k8s in lib.sh
  STATE="$1"
  local archive="$2" image="$3" full
  full="${image}"
  [[ ${full} == */* ]] || full="docker.io/library/${full}"
  [[ ${full} == *.*/* || ${full} == localhost/* ]] || full="docker.io/${full}"
  ctr_k8s images import "${archive}" >&2 || fail "ctr images import ${archive} failed"
  # The list first, then grep: `ctr ... | grep -q` under pipefail fails when grep's early exit
  # SIGPIPEs ctr (seen: "fa-pause:1 is not in containerd (has: fa-pause:1 ...)").
  local have
  have="$(ctr_k8s images ls -q)"
  grep -qxF "${full}" <<<"${have}" ||
    fail "${full} is not in containerd after importing ${archive} (has: ${have//$'\n'/ })"
  log "import.sh: ${full} is in the cluster's containerd (namespace k8s.io)"
}

main "$@"
