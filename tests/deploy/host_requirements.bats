#!/usr/bin/env bats
# build-and-deploy.sh with only the host requirements: docker or podman, minikube, kubectl, curl
# (openssl for --tls), bash and basic POSIX tools. No git (the tag is then a checksum of the
# sources), nothing else. The tools the preflight checks in each mode: the "found" lines of the
# golden plans (plans.bats).
# The checkout, the stubs and the helpers: deploy_helpers.bash.

load deploy_helpers

@test "host requirements only: deploys end to end without git, tagged src-<checksum>" {
  deploy_minimal
  assert_success
  local tag
  tag=$(grep -oE 'favorite-athlete:src-[0-9]+' "$FA_STUB_LOG" | head -n1)
  [[ -n $tag ]] || fail "no src-<checksum> tag: $(cat "$FA_STUB_LOG")"
  assert_called "^minikube -p minikube image load $tag\$"
  applied | grep -q "image: $tag\$" || fail "applied image is not $tag"
  assert_line 'Answer: {"myFavoriteAthlete":"Usain Bolt"}'
  refute_called '^tests'
  # The same sources give the same tag; a changed file a new one.
  : >"$FA_STUB_LOG"
  deploy_minimal --skip-tests
  assert_called "^docker build .* -t $tag "
  echo "# changed" >>"$REPO/Dockerfile.alpine"
  : >"$FA_STUB_LOG"
  deploy_minimal --skip-tests
  refute_called "$tag"
}

@test "host requirements only: --tls (with openssl), --autoscale, --tunnel" {
  deploy_minimal --tls
  assert_success
  applied | grep -q 'type: kubernetes.io/tls' || fail "no TLS secret"
  assert_called '^curl .*--cacert .* https://favorite-athlete\.192\.168\.49\.2\.nip\.io/'
  deploy_minimal --autoscale
  assert_success
  assert_called '^minikube -p minikube addons enable metrics-server'
  applied | grep -q '^kind: HorizontalPodAutoscaler' || fail "no HPA"
  deploy_minimal --tunnel
  assert_success
  assert_line "URL:    http://favorite-athlete.127.0.0.1.nip.io/"
  assert_output --partial "minikube -p minikube tunnel --bind-address=127.0.0.1"
}

@test "host requirements only: delete, --context" {
  deploy_minimal delete
  assert_success
  assert_called '^kubectl --context minikube delete namespace favorite-athlete'
  : >"$FA_STUB_LOG"
  rm "$STUBS/minikube"
  FA_STUB_CONTEXTS=kind-demo deploy_minimal --context kind-demo
  assert_success
  assert_called '^kind load docker-image favorite-athlete:src-[0-9]+ --name demo$'
}

@test "preflight: a missing tool stops before the build, named with its install hint" {
  local drop args want tool
  while IFS='|' read -r drop args want; do
    rm -rf "$T/some" && cp -R "$STUBS" "$T/some"
    for tool in $drop; do rm "$T/some/$tool"; done
    # shellcheck disable=SC2086 # each line's arguments, split
    FA_STUB_CONTEXTS=kind-demo run env PATH="$T/some:$T/posix" "$REPO/build-and-deploy.sh" $args
    assert_failure 1
    assert_output --partial "$want"
    assert_equal "$(grep -c 'error: missing' <<<"$output")" 1 # that tool alone
    refute_called '^docker build'
  done <<'MISSING'
minikube||missing minikube. Install: https://minikube.sigs.k8s.io/docs/start/
docker podman||missing docker or podman. Install one:
minikube kind|--context kind-demo|missing kind. Install: https://kind.sigs.k8s.io/
|--tls|missing openssl. Install:
MISSING
}
