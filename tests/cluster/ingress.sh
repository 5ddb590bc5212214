#!/usr/bin/env bash
# ingress.sh STATE: the test cluster's Ingress stand-in (there is no ingress-nginx controller image
# here). Waits until the project's Ingress is applied and its backend Service has a ClusterIP,
# then serves that Ingress's one rule with the project's own nginx config
# (nginx/favorite-athlete.conf.template, rendered by the e2e fixture's write_nginx_config in
# tests/e2e/stack.py, so compose's envsubst and that one function are the template's only renderers):
# http://<the Ingress's host>/ on the node IP, port 80, proxied to the Service's ClusterIP and
# port (kube-proxy picks the pod). The host and the backend are read from the applied Ingress,
# so build-and-deploy.sh's --host patch is what routes. nginx runs in the node's cgroup (lib.sh
# use_state), so `cluster.sh down` ends it. Started in the background by
# deploy.sh before the deploy script runs; exits 1 if nothing to route appears within 300 s.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The applied Ingress's rule: "HOST SERVICE PORT_NAME" (the port by name: manifests.policy).
ingress_rule() {
  kn get ingress "${APP}" -o jsonpath='{.spec.rules[0].host} {.spec.rules[0].http.paths[0].backend.service.name} {.spec.rules[0].http.paths[0].backend.service.port.name}'
}
# backend SERVICE PORT_NAME: "CLUSTERIP:PORT" of the Service port the Ingress names.
backend() {
  local ip port
  ip="$(kn get service "$1" -o jsonpath='{.spec.clusterIP}')"
  port="$(kn get service "$1" -o jsonpath="{.spec.ports[?(@.name==\"$2\")].port}")"
  [[ -n ${ip} && -n ${port} ]] && printf '%s:%s\n' "${ip}" "${port}"
}
# write_config DIR NAME=VALUE...: DIR/nginx.conf, a private nginx's main config including the
# template rendered with the given FA_* names, accepted by nginx -t.
write_config() {
  local dir="$1"
  shift
  mkdir -p "${dir}"
  python3 -c 'import sys; sys.path[:0] = sys.argv[1:3]; import stack
stack.write_nginx_config(sys.argv[3], dict(a.split("=", 1) for a in sys.argv[4:]))' \
    "${REPO}/tests/e2e" "${REPO}/tests/lib" "${dir}" "$@" || fail "could not render ${REPO}/nginx/favorite-athlete.conf.template"
  nginx -t -q -p "${dir}" -c "${dir}/nginx.conf" -e stderr || fail "nginx rejects ${dir}/nginx.conf"
}
rule_ready() {
  local rule
  rule="$(ingress_rule)" || return 1
  read -r HOST SERVICE PORT <<<"${rule}"
  [[ -n ${PORT:-} ]] && UPSTREAM="$(backend "${SERVICE}" "${PORT}")"
}

main() {
  use_state "$1"
  local HOST="" SERVICE="" PORT="" UPSTREAM="" dir="${STATE}/ingress"
  wait_until 300 "an applied Ingress ${NS}/${APP} whose backend Service has a ClusterIP" rule_ready
  write_config "${dir}" FA_LISTEN="${NODE_IP}:80" FA_HOST="${HOST}" FA_NGINX_ACCESS_LOG="${STATE}/logs/ingress-access.log" \
    FA_UPSTREAM_1="${UPSTREAM}" FA_UPSTREAM_2="${UPSTREAM}" FA_UPSTREAM_3="${UPSTREAM}"
  setsid nginx -p "${dir}" -c "${dir}/nginx.conf" -e stderr -g 'daemon off;' </dev/null >"${STATE}/logs/ingress-nginx.log" 2>&1 &
  figure "Ingress stand-in: nginx on ${NODE_IP}:80 routes host ${HOST} to Service ${SERVICE} port ${PORT} (${UPSTREAM}) with nginx/favorite-athlete.conf.template"
}

main "$@"
