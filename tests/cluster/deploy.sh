#!/usr/bin/env bash
# deploy.sh STATE: applies the project's manifests (the minikube overlay with the image tag set,
# through the 1.20 shim) as the deploy script applies them, waits for the rollout, and checks the
# figures: 3 pods Ready, GET / through the Service's ClusterIP answers the contract.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  need_node_privileges
  use_state "$1"
  local t0=${SECONDS}
  render cluster-a | kc apply -f - >&2 || fail "kubectl apply of the shimmed render failed"
  verify_rollout 180
  figure "3 pods Ready $((SECONDS - t0)) s after apply: $(kn get pods -l "${SELECTOR}" -o jsonpath='{range .items[*]}{.metadata.name}={.status.podIP} {end}')"
  kn get pods,service,endpoints,pdb,ingress,networkpolicy -o wide >&2
  figure "$(verify_answer)"
}

main "$@"
