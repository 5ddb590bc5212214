#!/usr/bin/env bash
# broken.sh STATE: negative tests. The checks deploy.sh relies on must fail on a broken manifest:
#   - a wrong readiness probe path: the rollout never completes (maxUnavailable 0 keeps the old
#     pods serving), verify_rollout fails;
#   - a wrong Service targetPort: GET / through the ClusterIP fails, verify_answer fails.
# Each break is applied to the running cluster, the check is run and must fail, then the good
# render is applied again and the same check must pass.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# expect_failure WHAT SED_EXPR CHECK...: applies the render edited by SED_EXPR, CHECK must fail.
expect_failure() {
  local what="$1" expr="$2"
  shift 2
  sed -E "${expr}" "${STATE}/good.yaml" >"${STATE}/broken.yaml"
  ! cmp -s "${STATE}/good.yaml" "${STATE}/broken.yaml" || fail "${what}: the edit '${expr}' changed nothing"
  kc apply -f "${STATE}/broken.yaml" >&2
  local err rc=0
  err="$( ("$@") 2>&1 >/dev/null)" || rc=$?
  ((rc != 0)) || fail "${what}: '$*' passed on the broken manifest"
  figure "negative: ${what}: '$*' failed as it must: ${err##*FAIL: }"
  kc apply -f "${STATE}/good.yaml" >&2
  "$@" >/dev/null || fail "${what}: '$*' fails after the good render was applied again"
}

main() {
  need_node_privileges
  use_state "$1"
  local tag
  tag="$(kn get deployment "${APP}" -o jsonpath='{.spec.template.spec.containers[0].image}')"
  render "${tag#*:}" >"${STATE}/good.yaml"
  expect_failure "readiness probe path /readyz -> /readyz-wrong" 's#path: /readyz$#path: /readyz-wrong#' verify_rollout 40
  verify_rollout 120
  expect_failure "Service targetPort http -> 8081" 's#targetPort: http$#targetPort: 8081#' sleep_then_verify_answer
}

# kube-proxy applies a Service change within a second or two (minSyncPeriod 1 s).
sleep_then_verify_answer() {
  sleep 3
  verify_answer
}

main "$@"
