#!/usr/bin/env bash
# broken.sh STATE: negative tests through build-and-deploy.sh --context. A broken manifest must
# make the script fail, with its diagnostics naming the cause:
#   - a wrong readiness probe path: step 5's rollout never completes (maxUnavailable 0 keeps the
#     old pods serving), the diagnostics show the failing probe;
#   - a wrong Service targetPort: the pods are Ready but step 6 gets no answer through the
#     Ingress (stand-in) and the Service.
# Each break goes in through --render-filter (the 1.20 shim, then a sed); afterwards the script
# with the good render must succeed again.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# expect_failure WHAT SED_EXPR MESSAGE CAUSE [VAR=VALUE...]: the script with the render edited by
# SED_EXPR (and the environment VAR=VALUE) must exit 1, print MESSAGE, and diagnostics naming CAUSE.
expect_failure() {
  local what="$1" expr="$2" message="$3" cause="$4" filter="${STATE}/broken-filter"
  shift 4
  printf '#!/bin/sh\n%q | sed -E %q\n' "${HERE}/shim-1.20" "${expr}" >"${filter}"
  chmod +x "${filter}"
  local rendered
  rendered="$(kubectl kustomize "${SCRIPT_OVERLAY}")" || fail "kubectl kustomize ${SCRIPT_OVERLAY} failed"
  cmp -s <("${HERE}/shim-1.20" <<<"${rendered}") <("${filter}" <<<"${rendered}") &&
    fail "${what}: the edit '${expr}' changed nothing"
  local out rc=0 t0=${SECONDS}
  # shellcheck disable=SC2163  # "$@" is VAR=VALUE pairs
  out="$( (export "$@" IMAGE_TAG="${TAG}" && deploy_script --render-filter "${filter}") 2>&1)" || rc=$?
  printf '%s\n' "${out}" >&2
  ((rc == 1)) || fail "${what}: build-and-deploy.sh exited ${rc}, want 1"
  grep -qF "${message}" <<<"${out}" || fail "${what}: the script did not say '${message}'"
  grep -q '=== diagnostics (context' <<<"${out}" || fail "${what}: no diagnostics"
  grep -qF "${cause}" <<<"${out}" || fail "${what}: the script's output does not name the cause '${cause}'"
  figure "negative: ${what}: build-and-deploy.sh exit 1 after $((SECONDS - t0)) s: '${message}'; its output names the cause: '${cause}'"
  IMAGE_TAG="${TAG}" deploy_script >&2 || fail "${what}: build-and-deploy.sh fails with the good render applied again"
}

main() {
  need_node_privileges
  use_state "$1"
  TAG="$(kn get deployment "${APP}" -o jsonpath='{.spec.template.spec.containers[0].image}')"
  TAG="${TAG#*:}"
  expect_failure "readiness probe path /readyz -> /readyz-wrong" 's#path: /readyz$#path: /readyz-wrong#' \
    "did not finish rolling out within 40s" "Readiness probe failed: HTTP probe failed with statuscode: 404" \
    ROLLOUT_TIMEOUT_SECONDS=40
  three_ready || fail "the old pods did not keep serving while the broken rollout hung"
  # The good deploy just verified through the Ingress stand-in, whose nginx keeps its upstream
  # connections alive for 4 s (keepalive_timeout, nginx/favorite-athlete.conf.template). One of
  # those, set up before the break, still reaches a pod on its old port: step 6 of the broken
  # deploy would get its answer through it. Let them expire first.
  sleep 5
  expect_failure "Service targetPort http -> 8081" 's#targetPort: http$#targetPort: 8081#' \
    "the pods are ready but the Ingress did not answer" "no JSON answer from http://${INGRESS_HOST}/ within 15s" \
    HTTP_TIMEOUT_SECONDS=15
  figure "$(verify_answer)"
}

main "$@"
