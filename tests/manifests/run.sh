#!/usr/bin/env bash
# ctest driver for the manifests area (labels: manifests).
#
#   tests/manifests/run.sh render|schema|schema-negative|policy|policy-negative
#
# render           every kustomization under manifests/ renders with `kubectl kustomize`
# schema           rendered objects type-check against kubernetes-types (unknown fields rejected)
# schema-negative  each fixtures/schema-*.yaml must FAIL the schema check with its `# expect:` text
# policy           rendered overlays follow policy.mjs (replicas, probes, ports, securityContext, ...)
# policy-negative  broken variants of the rendered minikube overlay must each fail the policy
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
  [[ -d $here/node_modules/typescript && -d $here/node_modules/kubernetes-types && -d $here/node_modules/yaml ]] ||
    skip "pinned npm packages missing: run 'npm ci' in tests/manifests"
}

out=$(mktemp -d "${TMPDIR:-/tmp}/fa-manifests.XXXXXX")
trap 'rm -rf "$out"' EXIT

# Overlays and what each must contain (flags for check-policy.mjs).
declare -A OVERLAY_FLAGS=([minikube]="" [autoscale]="--autoscale" [tls]="--tls" [combined]="--autoscale --tls"
  ["metrics-scrape"]="--metrics-scrape")
CHECKED=(minikube autoscale tls combined metrics-scrape)

# Renders base, every overlay, and "combined" (minikube + both components, the
# way build-and-deploy.sh --tls --autoscale composes them) into $out/<name>.yaml.
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
  mkdir "$out/combined"
  local rel
  rel=$(realpath --relative-to="$out/combined" "$root/manifests")
  cat >"$out/combined/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $rel/overlays/minikube
components:
  - $rel/components/tls
  - $rel/components/autoscale
YAML
  kubectl kustomize "$out/combined" >"$out/combined.yaml"
  # minikube + components/metrics-scrape: its second NetworkPolicy admits the scraper's namespace
  # on the metrics port (policy.mjs --metrics-scrape).
  mkdir "$out/metrics-scrape"
  cat >"$out/metrics-scrape/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $rel/overlays/minikube
components:
  - $rel/components/metrics-scrape
YAML
  kubectl kustomize "$out/metrics-scrape" >"$out/metrics-scrape.yaml"
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
  rc=0
  for name in base "${CHECKED[@]}"; do
    echo "== $name"
    node "$here/check-schema.mjs" "$out/$name.yaml" || rc=1
  done
  exit "$rc"
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
  node "$here/policy-selftest.mjs" "$out/minikube.yaml" "$out/metrics-scrape.yaml"
  ;;
*)
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
