#!/usr/bin/env bats
# build-and-deploy.sh --context NAME: an existing cluster, no minikube at all.
# The checkout, the stubs and the helpers: deploy_helpers.bash.

load deploy_helpers

# Its steps (kind load, the apply, the rollout, the host): golden/dry_run_context_kind.diff.
@test "--context kind-*: deploys without minikube, the context checked, every kubectl call has --context" {
  rm "$STUBS/minikube"
  deploy --context kind-demo
  assert_success
  assert_called '^kubectl --context kind-demo config get-contexts kind-demo$'
  local line
  while IFS= read -r line; do
    [[ $line == "kubectl --context kind-demo "* ]] || fail "kubectl without --context kind-demo: $line"
  done < <(grep '^kubectl' "$FA_STUB_LOG")
  assert_line "URL:    http://favorite-athlete.127.0.0.1.nip.io/"
}

@test "--context: an unknown context stops before the build" {
  FA_STUB_FAIL='config get-contexts kind-nope$' deploy --context kind-nope
  assert_failure 1
  assert_output --partial "kubectl does not know the context 'kind-nope'"
  refute_called '^docker build'
}

# The archive saved by the engine (podman: golden/dry_run_podman.diff) and given to CMD:
# golden/dry_run_context_archive.diff.
@test "--image-load archive:CMD: CMD split on spaces, run as CMD ARCHIVE IMAGE; the archive gone on exit" {
  # shellcheck disable=SC2016 # expanded when the loader runs
  printf '#!/usr/bin/env bash\necho "load $*" >>"$FA_STUB_LOG"\n' >"$T/load"
  chmod +x "$T/load"
  deploy --skip-tests --context lab --image-load "archive:$T/load --verbose"
  assert_success
  assert_called "^load --verbose [^ ]+/image.tar favorite-athlete:$(short_sha)\$"
  local archive # in the run's temporary directory, which on_exit removes
  archive=$(grep -oE '^load --verbose [^ ]+' "$FA_STUB_LOG" | cut -d' ' -f3)
  [[ ! -e $archive ]] || fail "archive $archive left behind"
}

# kubectl kustomize | CMD | kubectl apply -f -: golden/dry_run_context_filter.diff.
@test "--render-filter: CMD split on spaces, its output applied, with the same retries" {
  # shellcheck disable=SC2016 # expanded when the filter runs
  printf '#!/usr/bin/env bash\necho "filter $*" >>"$FA_STUB_LOG"\necho "# filtered by the shim ($1)"\ncat\n' >"$T/filter"
  chmod +x "$T/filter"
  FA_STUB_FAIL="apply -f" FA_STUB_FAIL_FIRST=1 FA_STUB_FAIL_MESSAGE=$WEBHOOK_DOWN deploy --skip-tests --context old --image-load none \
    --render-filter "$T/filter k8s-1.20"
  assert_success
  assert_called '^filter k8s-1.20$'
  assert_equal "$(count_calls '^kubectl --context old apply -f -$')" 2
  [[ $(head -n1 "$FA_STUB_STATE/applied.yaml") == "# filtered by the shim (k8s-1.20)" ]] || fail "not the filter's output"
  applied | grep -q '^kind: Deployment' || fail "no Deployment applied"
  # A failing filter stops before anything is applied.
  : >"$FA_STUB_LOG"
  link_tools "$STUBS" false
  deploy --skip-tests --context old --image-load none --render-filter false
  assert_failure
  assert_output --partial "--render-filter 'false' failed"
  refute_called 'apply'
}

@test "--context: a failed rollout gives the diagnostics on that context; delete --context removes the namespace only" {
  FA_STUB_FAIL='rollout status deployment/favorite-athlete' deploy --skip-tests --context lab --image-load none
  assert_failure 1
  assert_output --partial "diagnostics (context lab)"
  assert_called '^kubectl --context lab --request-timeout=15s -n favorite-athlete describe pod favorite-athlete-7c9d8-abcde'
  : >"$FA_STUB_LOG"
  NO_GIT=1 deploy delete --context lab # its commands: golden/dry_run_delete_context.diff
  assert_success
  refute_called '^(minikube|docker|podman)'
  [[ ! -e $REPO/build/deploy/context-lab ]] || fail "generated overlay left behind"
}
