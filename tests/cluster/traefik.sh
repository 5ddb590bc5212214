#!/usr/bin/env bash
# traefik.sh STATE: build-and-deploy.sh --context --ingress traefik against the test cluster, over
# the running deployment (same image tag): the traefik overlay goes in through the 1.20 shim, the
# applied Ingress is of class traefik and the applied NetworkPolicy admits kube-system (and only
# it), and the script's step 6 gets the answer through the Ingress stand-in, which routes an Ingress
# of any class (no Traefik runs here). The plain nginx route is applied again afterwards, so
# cluster.delete finds the state the earlier tests left.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The applied objects' route: "CLASS NAMESPACE" (the Ingress's class, the namespace the policy admits).
applied_route() {
  printf '%s %s' "$(kn get ingress "${APP}" -o jsonpath='{.spec.ingressClassName}')" \
    "$(kn get networkpolicy "${APP}" -o jsonpath='{.spec.ingress[*].from[*].namespaceSelector.matchLabels.kubernetes\.io/metadata\.name}')"
}

main() {
  need_node_privileges
  use_state "$1"
  local tag out rc=0 t0=${SECONDS} route
  tag="$(kn get deployment "${APP}" -o jsonpath='{.spec.template.spec.containers[0].image}')"
  tag="${tag#*:}"
  out="$(IMAGE_TAG="${tag}" deploy_script --ingress traefik 2>&1)" || rc=$?
  printf '%s\n' "${out}" >&2
  ((rc == 0)) || fail "build-and-deploy.sh --context ${CONTEXT} --ingress traefik exited ${rc}"
  grep -qxF "Answer: ${EXPECTED_ROOT_BODY}" <<<"${out}" || fail "build-and-deploy.sh --ingress traefik did not print the answer"
  route="$(applied_route)"
  [[ ${route} == "traefik kube-system" ]] ||
    fail "applied: Ingress class and NetworkPolicy namespace '${route}', want 'traefik kube-system'"
  verify_rollout 30
  figure "build-and-deploy.sh --context ${CONTEXT} --ingress traefik: exit 0 in $((SECONDS - t0)) s; applied Ingress class and policy namespace: ${route}; $(grep -E '^Answer:' <<<"${out}")"
  IMAGE_TAG="${tag}" deploy_script >&2 || fail "build-and-deploy.sh with the default route failed afterwards"
  route="$(applied_route)"
  [[ ${route} == "nginx ingress-nginx" ]] || fail "the default route applied again: '${route}', want 'nginx ingress-nginx'"
}

main "$@"
