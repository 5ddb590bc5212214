#!/usr/bin/env bash
# ctest driver for the manifests area (labels: manifests).
#
#   tests/manifests/run.sh render|schema|schema-negative|policy|policy-negative
#
# render           every kustomization under manifests/ renders with `kubectl kustomize`, and each
#                  route (minikube, traefik, gateway) with --tls --autoscale's components
# schema           rendered objects type-check against kubernetes-types and, for the HTTPRoute and
#                  the sample Gateway, the Gateway API schema (unknown fields rejected)
# schema-negative  each fixtures/schema-*.yaml must FAIL the schema check with its `# expect:` text
# policy           rendered overlays follow policy.mjs (replicas, probes, ports, securityContext, the
#                  route and the NetworkPolicy admitting its controller's namespace, ...)
# policy-negative  broken variants of the rendered overlays must each fail the policy
#
# Exit 77 (ctest: skipped) when kubectl, node or the pinned npm packages are missing.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/image/lib.sh
. "$root/tests/image/lib.sh" # skip (exit 77; a failure under FA_TESTS_NO_SKIP=1)
need_kubectl() {
  command -v kubectl >/dev/null 2>&1 || skip "kubectl not found (kustomize is built into kubectl)"
}
need_node() {
  command -v node >/dev/null 2>&1 || skip "node not found (Debian: apt-get install --no-remove nodejs)"
  [[ -d $here/node_modules/typescript && -d $here/node_modules/kubernetes-types && -d $here/node_modules/yaml &&
    -d $here/node_modules/@kubernetes-models/gateway-api ]] ||
    skip "pinned npm packages missing: run 'npm ci' in tests/manifests"
}

out=$(mktemp -d "${TMPDIR:-/tmp}/fa-manifests.XXXXXX")
trap 'rm -rf "$out"' EXIT

# Overlays and what each must contain (flags for check-policy.mjs).
declare -A OVERLAY_FLAGS=([minikube]="--route=nginx" [traefik]="--route=traefik" [gateway]="--route=gateway"
  [autoscale]="--autoscale" [tls]="--tls" [combined]="--autoscale --tls"
  ["traefik-combined"]="--route=traefik --autoscale --tls" ["gateway-combined"]="--route=gateway --autoscale --tls"
  ["metrics-scrape"]="--metrics-scrape")
CHECKED=(minikube traefik gateway autoscale tls combined traefik-combined gateway-combined metrics-scrape)

# compose NAME OVERLAY COMPONENT...: renders the overlay with the components into $out/NAME.yaml,
# the way build-and-deploy.sh composes them (its generated overlay).
compose() {
  local name=$1 overlay=$2 rel c
  shift 2
  mkdir "$out/$name"
  rel=$(realpath --relative-to="$out/$name" "$root/manifests")
  {
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\ncomponents:\n' "$rel/overlays/$overlay"
    for c in "$@"; do printf '  - %s\n' "$rel/components/$c"; done
  } >"$out/$name/kustomization.yaml"
  kubectl kustomize "$out/$name" >"$out/$name.yaml"
}

# Renders base, every overlay, and each route with both of its components (--tls --autoscale) into
# $out/<name>.yaml; "metrics-scrape" is minikube + components/metrics-scrape, whose second
# NetworkPolicy admits the scraper's namespace on the metrics port (policy.mjs --metrics-scrape).
render_all() {
  local dir name
  kubectl kustomize "$root/manifests/base" >"$out/base.yaml"
  for dir in "$root"/manifests/overlays/*/; do
    name=$(basename "$dir")
    [[ -n ${OVERLAY_FLAGS[$name]+set} ]] || {
      echo "overlay $name has no entry in OVERLAY_FLAGS of $0: add one so it is checked" >&2
      return 1
    }
    kubectl kustomize "$dir" >"$out/$name.yaml"
  done
  compose combined minikube tls autoscale
  compose traefik-combined traefik tls autoscale
  compose gateway-combined gateway gateway-tls autoscale
  compose metrics-scrape minikube metrics-scrape
  local f
  for f in "$out"/*.yaml; do
    [[ -s $f ]] || {
      echo "$(basename "$f"): rendered nothing" >&2
      return 1
    }
    echo "rendered $(basename "$f" .yaml): $(grep -c '^kind: ' "$f") objects"
  done
}

case ${1:-} in
render)
  need_kubectl
  render_all
  ;;
schema)
  need_kubectl
  need_node
  render_all >/dev/null
  # One type-checker run over every render and the sample Gateway (errors name the file).
  files=()
  for name in base "${CHECKED[@]}"; do files+=("$out/$name.yaml"); done
  node "$here/check-schema.mjs" "${files[@]}" "$root/manifests/examples/gateway.yaml"
  ;;
schema-negative)
  need_node
  rc=0
  shopt -s nullglob
  fixtures=("$here"/fixtures/schema-*.yaml)
  ((${#fixtures[@]} > 0)) || {
    echo "no fixtures found" >&2
    exit 1
  }
  for f in "${fixtures[@]}"; do
    name=$(basename "$f")
    if log=$(node "$here/check-schema.mjs" "$f" 2>&1); then
      echo "FAIL $name: the schema check accepted it" >&2
      rc=1
      continue
    fi
    mapfile -t expects < <(sed -n 's/^# expect: //p' "$f")
    ((${#expects[@]} > 0)) || {
      echo "FAIL $name: no '# expect:' line" >&2
      rc=1
      continue
    }
    for e in "${expects[@]}"; do
      if [[ $log != *"$e"* ]]; then
        echo "FAIL $name: rejected, but without '$e'. Output:" >&2
        echo "$log" >&2
        rc=1
        continue 2
      fi
    done
    echo "ok   $name rejected: $(grep -m1 'SCHEMA ERROR' <<<"$log")"
  done
  exit "$rc"
  ;;
policy)
  need_kubectl
  need_node
  render_all >/dev/null
  rc=0
  for name in "${CHECKED[@]}"; do
    echo "== $name"
    # shellcheck disable=SC2086 # flags are intentionally split
    node "$here/check-policy.mjs" ${OVERLAY_FLAGS[$name]} "$out/$name.yaml" || rc=1
  done
  exit "$rc"
  ;;
policy-negative)
  need_kubectl
  need_node
  render_all >/dev/null
  node "$here/policy-selftest.mjs" "$out/minikube.yaml" "$out/metrics-scrape.yaml" \
    "$out/traefik.yaml" "$out/gateway-combined.yaml"
  ;;
*)
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
