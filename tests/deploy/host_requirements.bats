#!/usr/bin/env bats
# build-and-deploy.sh with only the host requirements: docker or podman, minikube, kubectl, curl
# (openssl for --tls), bash and basic POSIX tools. Every test runs the script so (plus git, for
# its tag: deploy_helpers.bash); these show it without git (the tag is then a checksum of the
# sources) and a missing tool named. The tools the preflight checks in each mode: the "found"
# lines of the golden plans (plans.bats).
# The checkout, the stubs and the helpers: deploy_helpers.bash.

load deploy_helpers

@test "host requirements only: deploys end to end without git, tagged src-<checksum>; so does --context" {
  NO_GIT=1 deploy
  assert_success
  local tag
  tag=$(grep -oE 'favorite-athlete:src-[0-9]+' "$FA_STUB_LOG" | head -n1)
  [[ -n $tag ]] || fail "no src-<checksum> tag: $(cat "$FA_STUB_LOG")"
  assert_line 'Answer: {"myFavoriteAthlete":"Usain Bolt"}'
  # The same sources give the same tag; a changed file a new one.
  : >"$FA_STUB_LOG"
  NO_GIT=1 deploy --skip-tests
  assert_called "^docker build .* -t $tag "
  echo "# changed" >>"$REPO/Dockerfile.alpine"
  : >"$FA_STUB_LOG"
  NO_GIT=1 deploy --skip-tests
  refute_called "$tag"
  : >"$FA_STUB_LOG"
  rm "$STUBS/minikube"
  NO_GIT=1 deploy --context kind-demo
  assert_success
  assert_called '^kind load docker-image favorite-athlete:src-[0-9]+ --name demo$'
}

@test "preflight: a missing tool stops before the build, named with its install hint" {
  local drop args want tool
  while IFS='|' read -r drop args want; do
    rm -rf "$T/some" && cp -P -R "$STUBS" "$T/some"
    for tool in $drop; do rm "$T/some/$tool"; done
    # shellcheck disable=SC2086 # each line's arguments, split
    run env PATH="$T/some:$T/posix" "$REPO/build-and-deploy.sh" $args
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
