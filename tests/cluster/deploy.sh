#!/usr/bin/env bash
# deploy.sh STATE: build-and-deploy.sh --context against the test cluster (lib.sh deploy_script:
# its steps 1-6 for real: preflight, image build, cluster check, image load, apply through the
# 1.20 shim + rollout status, and the answer on the Ingress host through the Ingress stand-in),
# image tag cluster-a. Then the figures: 3 pods Ready, GET / through the Service's ClusterIP
# answers the contract, and the script printed that answer from the Ingress URL. Metrics: /metrics
# through the Ingress route is a 404, the Service has no metrics port, and a Prometheus-style scrape
# of a pod, as its prometheus.io annotations say, answers the exposition.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
  metrics_off_the_public_route
}

main "$@"
