#!/usr/bin/env bash
# deploy.sh STATE: build-and-deploy.sh --context against the test cluster (lib.sh deploy_script:
# its steps 1-6 for real: preflight, image build, cluster check, image load, apply through the
# 1.20 shim + rollout status, and the answer on the Ingress host through the Ingress stand-in),
# image tag cluster-a. Then the figures: 3 pods Ready, GET / through the Service's ClusterIP
# answers the contract, and the script printed that answer from the Ingress URL.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  need_node_privileges
  use_state "$1"
  # Waits for the Ingress and its Service, which the script applies, then routes them.
  "${HERE}/ingress.sh" "${STATE}" &
  local ingress_pid=$! t0=${SECONDS} out rc=0
  # shellcheck disable=SC2064  # this PID, now
  trap "kill ${ingress_pid} 2>/dev/null || true" EXIT # never left waiting after a failure
  # shellcheck disable=SC2119  # deploy_script's arguments are extra options, none here
  out="$(IMAGE_TAG=cluster-a deploy_script 2>&1)" || rc=$?
  printf '%s\n' "${out}" >&2
  wait "${ingress_pid}" || fail "the Ingress stand-in did not start (tests/cluster/ingress.sh)"
  ((rc == 0)) || fail "build-and-deploy.sh --context ${CONTEXT} exited ${rc}"
  grep -qxF "Answer: ${EXPECTED_ROOT_BODY}" <<<"${out}" || fail "build-and-deploy.sh did not print the answer ${EXPECTED_ROOT_BODY}"
  grep -qxF "URL:    http://${INGRESS_HOST}/" <<<"${out}" || fail "build-and-deploy.sh did not verify http://${INGRESS_HOST}/"
  verify_rollout 30
  figure "build-and-deploy.sh --context ${CONTEXT}: exit 0 in $((SECONDS - t0)) s, 3 pods Ready: $(kn get pods -l "${SELECTOR}" -o jsonpath='{range .items[*]}{.metadata.name}={.status.podIP} {end}')"
  figure "build-and-deploy.sh step 6: $(grep -m1 -o 'cannot resolve.*instead' <<<"${out}" || echo 'resolved by DNS'); $(grep -E '^(URL|Answer|Image):' <<<"${out}" | paste -sd';' -)"
  kn get pods,service,endpoints,pdb,ingress,networkpolicy -o wide >&2
  figure "$(verify_answer)"
}

main "$@"
