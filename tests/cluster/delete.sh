#!/usr/bin/env bash
# delete.sh STATE: build-and-deploy.sh delete --context against the test cluster: exit 0, the
# namespace (and with it everything the script applied) gone, the generated overlay removed.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  need_node_privileges
  use_state "$1"
  local overlay="${SCRIPT_OVERLAY}" t0=${SECONDS}
  [[ -f ${overlay}/kustomization.yaml ]] || fail "no overlay at ${overlay}: the deploy tests did not run the script"
  "${REPO}/build-and-deploy.sh" delete --context "${CONTEXT}" >&2 || fail "build-and-deploy.sh delete --context ${CONTEXT} failed"
  local left
  left="$(kc get namespace "${NS}" --ignore-not-found -o name)"
  [[ -z ${left} ]] || fail "namespace ${NS} is still there after delete"
  [[ ! -e ${overlay} ]] || fail "the generated overlay ${overlay} is still there after delete"
  figure "build-and-deploy.sh delete --context ${CONTEXT}: exit 0 in $((SECONDS - t0)) s; namespace ${NS} gone, overlay removed"
}

main "$@"
