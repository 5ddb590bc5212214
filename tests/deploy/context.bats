#!/usr/bin/env bats
# build-and-deploy.sh --context NAME: an existing cluster, no minikube at all.
# The checkout, the stubs and the helpers: deploy_helpers.bash.

load deploy_helpers

# Its steps (kind load, the apply, the rollout, the host): golden/dry_run_context_kind.diff.
@test "--context kind-*: deploys without minikube, the context checked, every kubectl call has --context" {
  rm "$STUBS/minikube"
  FA_STUB_CONTEXTS="minikube kind-demo" deploy --context kind-demo
  assert_success
  assert_called '^kubectl --context kind-demo config get-contexts kind-demo$'
  local line
  while IFS= read -r line; do
    [[ $line == "kubectl --context kind-demo "* ]] || fail "kubectl without --context kind-demo: $line"
  done < <(grep '^kubectl' "$FA_STUB_LOG")
  assert_line "URL:    http://favorite-athlete.127.0.0.1.nip.io/"
}

@test "--context: an unknown context stops before the build" {
  FA_STUB_CONTEXTS="kind-demo" deploy --context kind-nope
  assert_failure 1
  assert_output --partial "kubectl does not know the context 'kind-nope'"
  refute_called '^docker build'
}

@test "--image-load archive:CMD: a docker-archive saved by the engine, CMD ARCHIVE IMAGE, the archive removed" {
  # shellcheck disable=SC2016 # expanded when the loader runs
  printf '#!/usr/bin/env bash\necho "load $* archive-holds=$(cat "${@: -2:1}")" >>"$FA_STUB_LOG"\n' >"$T/load"
  chmod +x "$T/load"
  FA_STUB_CONTEXTS=lab deploy --skip-tests --context lab --image-load "archive:$T/load --verbose"
  assert_success
  local sha archive
  sha=$(short_sha)
  assert_called "^docker save -o [^ ]+/image.tar favorite-athlete:$sha\$"
  assert_called "^load --verbose [^ ]+/image.tar favorite-athlete:$sha archive-holds=favorite-athlete:$sha\$"
  archive=$(grep -oE '^load --verbose [^ ]+' "$FA_STUB_LOG" | cut -d' ' -f3)
  [[ ! -e $archive ]] || fail "archive $archive left behind"
  # podman saves a docker-archive under the full docker.io name.
  rm "$STUBS/docker"
  : >"$FA_STUB_LOG"
  FA_STUB_CONTEXTS=lab deploy --skip-tests --context lab --image-load "archive:$T/load"
  assert_success
  assert_called "^podman save --format docker-archive -o [^ ]+/image.tar docker.io/library/favorite-athlete:$sha\$"
  assert_called "^load [^ ]+/image.tar favorite-athlete:$sha archive-holds=docker.io/library/favorite-athlete:$sha\$"
}

@test "--render-filter: kubectl kustomize | CMD | kubectl apply -f -, with the same retries" {
  # shellcheck disable=SC2016 # expanded when the filter runs
  printf '#!/usr/bin/env bash\necho "filter $*" >>"$FA_STUB_LOG"\necho "# filtered by the shim ($1)"\ncat\n' >"$T/filter"
  chmod +x "$T/filter"
  FA_STUB_FAIL="apply -f" FA_STUB_FAIL_FIRST=1 FA_STUB_FAIL_MESSAGE=$WEBHOOK_DOWN FA_STUB_CONTEXTS=old deploy --skip-tests --context old --image-load none \
    --render-filter "$T/filter k8s-1.20"
  assert_success
  assert_called '^kubectl --context old kustomize .*/build/deploy/context-old$'
  assert_called '^filter k8s-1.20$'
  assert_equal "$(count_calls '^kubectl --context old apply -f -$')" 2
  refute_called 'apply -k'
  [[ $(head -n1 "$FA_STUB_STATE/applied.yaml") == "# filtered by the shim (k8s-1.20)" ]] || fail "not the filter's output"
  applied | grep -q '^kind: Deployment' || fail "no Deployment applied"
  # A failing filter stops before anything is applied.
  : >"$FA_STUB_LOG"
  link_tools "$STUBS" false
  FA_STUB_CONTEXTS=old deploy --skip-tests --context old --image-load none --render-filter false
  assert_failure
  assert_output --partial "--render-filter 'false' failed"
  refute_called 'apply'
}

@test "--context: a failed rollout gives the diagnostics on that context; delete --context removes the namespace only" {
  FA_STUB_FAIL='rollout status deployment/favorite-athlete' FA_STUB_CONTEXTS=lab deploy --skip-tests --context lab --image-load none
  assert_failure 1
  assert_output --partial "diagnostics (context lab)"
  assert_called '^kubectl --context lab --request-timeout=15s -n favorite-athlete describe pod favorite-athlete-7c9d8-abcde'
  : >"$FA_STUB_LOG"
  rm "$STUBS/minikube"
  FA_STUB_CONTEXTS=lab NO_GIT=1 deploy delete --context lab
  assert_success
  assert_called '^kubectl --context lab delete namespace favorite-athlete --ignore-not-found --wait=true --timeout=11s$'
  refute_called '^(minikube|docker|podman)'
  [[ ! -e $REPO/build/deploy/context-lab ]] || fail "generated overlay left behind"
}
