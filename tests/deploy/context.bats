#!/usr/bin/env bats
# build-and-deploy.sh --context NAME: an existing cluster, no minikube at all.
# The checkout, the stubs and the helpers: deploy_helpers.bash.

load deploy_helpers

# Its steps (kind load, the apply, the rollout, the host): golden/dry_run_context_kind.diff.
@test "--context kind-*: deploys without minikube, the context checked, every kubectl call on it" {
  rm "$STUBS/minikube"
  deploy --context kind-demo
  assert_success
  assert_called '^kubectl --context kind-demo config get-contexts kind-demo$'
  assert_equal "$(count_calls '^kubectl --context kind-demo ')" "$(count_calls '^kubectl ')"
  assert_line "URL:    http://favorite-athlete.127.0.0.1.nip.io/"
}

@test "--context: an unknown context stops before the build" {
  FA_STUB_FAIL='config get-contexts kind-nope$' deploy --context kind-nope
  assert_failure 1
  assert_output --partial "kubectl does not know the context 'kind-nope'"
  refute_called '^docker build'
}

# kubectl kustomize | CMD | kubectl apply -f -, CMD split on spaces and the archive of
# --image-load archive:CMD: golden/dry_run_context_filter.diff and dry_run_context_archive.diff.
@test "--render-filter: its output is applied, with the same retries; a failing filter stops before anything is applied" {
  printf '#!/usr/bin/env bash\necho "# filtered by the shim"\ncat\n' >"$T/filter"
  chmod +x "$T/filter"
  FA_STUB_FAIL="apply -f" FA_STUB_FAIL_FIRST=1 FA_STUB_FAIL_MESSAGE=$WEBHOOK_DOWN deploy --skip-tests --context old --image-load none \
    --render-filter "$T/filter"
  assert_success
  assert_equal "$(count_calls '^kubectl --context old apply -f -$')" 2
  [[ $(head -n1 "$FA_STUB_STATE/applied.yaml") == "# filtered by the shim" ]] || fail "not the filter's output"
  applied | grep -q '^kind: Deployment' || fail "no Deployment applied"
  : >"$FA_STUB_LOG"
  link_tools "$STUBS" false
  deploy --skip-tests --context old --image-load none --render-filter false
  assert_failure
  assert_output --partial "--render-filter 'false' failed"
  refute_called 'apply'
}
