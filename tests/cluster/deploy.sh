#!/usr/bin/env bash
# deploy.sh STATE new|broken|traefik|delete: one run (or more) of build-and-deploy.sh --context
# against the test cluster (lib.sh deploy_script), as a user runs it; README.md says what each
# mode shows (cluster.deploy, cluster.broken_manifest, cluster.traefik, cluster.delete). broken
# puts each break in through bin/kubectl (a sed after the 1.20 shim, FA_CLUSTER_BREAK), so the
# script itself applies and diagnoses it.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The kustomization build-and-deploy.sh generates for this context (what it renders and applies).
readonly SCRIPT_OVERLAY="${REPO}/build/deploy/context-${CONTEXT}"
# The image tag the Deployment runs.
deployed_tag() {
  local image
  image="$(kn get deployment "${APP}" -o jsonpath='{.spec.template.spec.containers[0].image}')"
  printf '%s\n' "${image#*:}"
}
# verify_answer: GET / through the Service's ClusterIP (kube-proxy's iptables rules) answers the
# contract: 200, JSON, the exact body.
verify_answer() { http_expect "http://$(service_ip)/" 200 "${EXPECTED_ROOT_BODY}"; }

# metrics_off_the_public_route: what a Prometheus annotation-based scrape and a client of the Ingress see.
metrics_off_the_public_route() {
  local code ports pod ip port path out
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --resolve "${INGRESS_HOST}:80:${NODE_IP}" "http://${INGRESS_HOST}/metrics")"
  [[ ${code} == 404 ]] || fail "GET /metrics through the Ingress answered ${code}, want 404"
  ports="$(kn get service "${APP}" -o jsonpath='{.spec.ports[*].name}')"
  [[ ${ports} == http ]] || fail "the Service has ports '${ports}', want only http (the Ingress's)"
  pod="$(ready_pod_names | head -n1)"
  ip="$(kn get pod "${pod}" -o jsonpath='{.status.podIP}')"
  port="$(kn get pod "${pod}" -o jsonpath='{.metadata.annotations.prometheus\.io/port}')"
  path="$(kn get pod "${pod}" -o jsonpath='{.metadata.annotations.prometheus\.io/path}')"
  out="$(curl -sS --max-time 5 "http://${ip}:${port}${path}")" || fail "scrape of http://${ip}:${port}${path} failed"
  grep -q '^favorite_athlete_http_requests_total{' <<<"${out}" || fail "scrape of http://${ip}:${port}${path}: no favorite_athlete_http_requests_total"
  figure "metrics: GET /metrics through the Ingress -> ${code}; Service ports: ${ports}; scrape of ${pod} as annotated (http://${ip}:${port}${path}) -> $(wc -l <<<"${out}") lines, $(grep -m1 '^favorite_athlete_http_requests_total{' <<<"${out}")"
}

# run_script TAG [ARGS...]: deploy_script, its output in OUT (and on stderr), its exit status in RC.
OUT="" RC=0
run_script() {
  RC=0
  OUT="$(deploy_script "$@" 2>&1)" || RC=$?
  printf '%s\n' "${OUT}" >&2
}
# answered WHAT: the run exited 0 and printed the contract's answer.
answered() {
  ((RC == 0)) || fail "build-and-deploy.sh --context ${CONTEXT} $1 exited ${RC}"
  grep -qxF "Answer: ${EXPECTED_ROOT_BODY}" <<<"${OUT}" || fail "build-and-deploy.sh $1 did not print the answer ${EXPECTED_ROOT_BODY}"
}

deploy_new() {
  # Waits for the Ingress and its Service, which the script applies, then routes them.
  "${HERE}/ingress.sh" "${STATE}" &
  local ingress_pid=$! t0=${SECONDS}
  # shellcheck disable=SC2064  # this PID, now
  trap "kill ${ingress_pid} 2>/dev/null || true" EXIT # never left waiting after a failure
  run_script cluster-a
  wait "${ingress_pid}" || fail "the Ingress stand-in did not start (tests/cluster/ingress.sh)"
  answered ""
  grep -qxF "URL:    http://${INGRESS_HOST}/" <<<"${OUT}" || fail "build-and-deploy.sh did not verify http://${INGRESS_HOST}/"
  verify_rollout 30
  figure "build-and-deploy.sh --context ${CONTEXT}: exit 0 in $((SECONDS - t0)) s, 3 pods Ready: $(kn get pods -l "${SELECTOR}" -o jsonpath='{range .items[*]}{.metadata.name}={.status.podIP} {end}')"
  figure "build-and-deploy.sh step 6: $(grep -m1 -o 'cannot resolve.*instead' <<<"${OUT}" || echo 'resolved by DNS'); $(grep -E '^(URL|Answer|Image):' <<<"${OUT}" | paste -sd';' -)"
  kn get pods,service,endpoints,pdb,ingress,networkpolicy -o wide >&2
  verify_answer
  metrics_off_the_public_route
}

# expect_failure WHAT SED_EXPR MESSAGE CAUSE [VAR=VALUE...]: the script with the render edited by
# SED_EXPR (and the environment VAR=VALUE) must exit 1, print MESSAGE, and diagnostics naming CAUSE.
expect_failure() {
  local what="$1" expr="$2" message="$3" cause="$4" tag t0=${SECONDS}
  shift 4
  tag="$(deployed_tag)"
  RC=0
  # shellcheck disable=SC2163  # "$@" is VAR=VALUE pairs
  OUT="$( (export "$@" && FA_CLUSTER_BREAK="${expr}" deploy_script "${tag}") 2>&1)" || RC=$?
  printf '%s\n' "${OUT}" >&2
  ((RC == 1)) || fail "${what}: build-and-deploy.sh exited ${RC}, want 1"
  grep -qF "${message}" <<<"${OUT}" || fail "${what}: the script did not say '${message}'"
  grep -q '=== diagnostics (context' <<<"${OUT}" || fail "${what}: no diagnostics"
  grep -qF "${cause}" <<<"${OUT}" || fail "${what}: the script's output does not name the cause '${cause}'"
  figure "negative: ${what}: build-and-deploy.sh exit 1 after $((SECONDS - t0)) s: '${message}'; its output names the cause: '${cause}'"
  deploy_script "${tag}" >&2 || fail "${what}: build-and-deploy.sh fails with the good render applied again"
}

deploy_broken() {
  expect_failure "readiness probe path /readyz -> /readyz-wrong" 's#path: /readyz$#path: /readyz-wrong#' \
    "did not finish rolling out within 40s" "Readiness probe failed: HTTP probe failed with statuscode: 404" \
    FA_ROLLOUT_TIMEOUT_SECONDS=40
  three_ready || fail "the old pods did not keep serving while the broken rollout hung"
  # The good deploy just verified through the Ingress stand-in, whose nginx keeps its upstream
  # connections alive for 4 s (keepalive_timeout, nginx/favorite-athlete.conf.template). One of
  # those, set up before the break, still reaches a pod on its old port: step 6 of the broken
  # deploy would get its answer through it. Let them expire first.
  sleep 5
  expect_failure "Service targetPort http -> 8081" 's#targetPort: http$#targetPort: 8081#' \
    "the pods are ready but the Ingress did not answer" "no JSON answer from http://${INGRESS_HOST}/ within 15s" \
    FA_HTTP_TIMEOUT_SECONDS=15
  verify_answer
}

# The applied objects' route: "CLASS NAMESPACE" (the Ingress's class, the namespace the policy admits).
applied_route() {
  printf '%s %s' "$(kn get ingress "${APP}" -o jsonpath='{.spec.ingressClassName}')" \
    "$(kn get networkpolicy "${APP}" -o jsonpath='{.spec.ingress[*].from[*].namespaceSelector.matchLabels.kubernetes\.io/metadata\.name}')"
}

deploy_traefik() {
  local tag t0=${SECONDS} route
  tag="$(deployed_tag)"
  run_script "${tag}" --ingress traefik
  answered "--ingress traefik"
  route="$(applied_route)"
  [[ ${route} == "traefik kube-system" ]] ||
    fail "applied: Ingress class and NetworkPolicy namespace '${route}', want 'traefik kube-system'"
  figure "build-and-deploy.sh --context ${CONTEXT} --ingress traefik: exit 0 in $((SECONDS - t0)) s; applied Ingress class and policy namespace: ${route}; $(grep -E '^Answer:' <<<"${OUT}")"
  deploy_script "${tag}" >&2 || fail "build-and-deploy.sh with the default route failed afterwards"
  route="$(applied_route)"
  [[ ${route} == "nginx ingress-nginx" ]] || fail "the default route applied again: '${route}', want 'nginx ingress-nginx'"
}

deploy_delete() {
  local overlay="${SCRIPT_OVERLAY}" t0=${SECONDS} left
  [[ -f ${overlay}/kustomization.yaml ]] || fail "no overlay at ${overlay}: the deploy tests did not run the script"
  "${REPO}/build-and-deploy.sh" delete --context "${CONTEXT}" >&2 || fail "build-and-deploy.sh delete --context ${CONTEXT} failed"
  left="$(kc get namespace "${NS}" --ignore-not-found -o name)"
  [[ -z ${left} ]] || fail "namespace ${NS} is still there after delete"
  [[ ! -e ${overlay} ]] || fail "the generated overlay ${overlay} is still there after delete"
  figure "build-and-deploy.sh delete --context ${CONTEXT}: exit 0 in $((SECONDS - t0)) s; namespace ${NS} gone, overlay removed"
}

main() {
  [[ $# == 2 && $2 =~ ^(new|broken|traefik|delete)$ ]] || fail "usage: $0 STATE new|broken|traefik|delete"
  use_state "$1"
  "deploy_$2"
}

main "$@"
