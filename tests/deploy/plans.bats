#!/usr/bin/env bats
# build-and-deploy.sh's plans (--dry-run, against golden files), its help, and every refusal
# before anything runs: bad input (exit 2), a missing tool (exit 1).
# The checkout, the stubs and the helpers: deploy_helpers.bash.

load deploy_helpers

@test "--help prints usage, calls nothing" {
  deploy --help
  assert_success
  assert_output --partial "Usage: ./build-and-deploy.sh"
  assert_output --partial "--dry-run"
  [[ ! -s $FA_STUB_LOG ]]
}

@test "a plan shows each command shell-quoted, a quote in an argument too (scripts/log.sh quoted)" {
  # shellcheck disable=SC2016 # expanded by the inner bash
  run bash -c '. "$1" && quoted a "b c" "it'\''s" "" "<t>/x"' _ "$REPO_ROOT/scripts/log.sh"
  assert_output "a 'b c' it\\'s '' <t>/x"
}

# The plans: the --dry-run output of each mode against its golden file, its rendered manifests as
# their diff against the resources and components they build on (render_delta). The default plan is whole
# (golden/dry_run_default.txt); every other mode's golden is the unified diff, without context
# lines, of its plan against the plan it varies (golden/dry_run_<mode>.diff; its hunk headers give
# the lines of that plan): each file holds only what one option changes, the shared part is
# written once, and any change of any plan still fails. FA_UPDATE_GOLDEN=1 rewrites them.
# runs.bats shows what a plan cannot: the checks that read the cluster, the waits and their errors.

# The dry-run output ($1, bats' $output) with what varies between runs and machines replaced:
# timestamps, the checkout, the temporary dirs, the tag and revision, bash's version.
normalized() {
  local sha rev
  sha=$(short_sha)
  rev=$(git -C "$REPO" rev-parse HEAD)
  printf '%s\n' "$1" | sed -E -e 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z //' \
    -e 's|/[^ ]*/fa-deploy\.[A-Za-z0-9]+|<work>|g' -e "s|$T/|<t>/|g" -e "s/$rev/<revision>/g" \
    -e "s/$sha/<tag>/g" -e 's/found bash .*/found bash <version>/' -e 's/VERSION=[^ ]+/VERSION=<version>/'
}

# A plan ($1) whose rendered manifests (the "    > " lines) show only what the generated
# kustomization's own settings (image tag, patches, Secret) change: their diff against the render
# of the resources and components it builds on. A golden holds the script's own work; the
# overlays' and components' content is tests/manifests' to check.
render_delta() {
  local ref=$T/ref/build/deploy/plan delta
  mkdir -p "$ref"
  ln -sfn "$REPO/manifests" "$T/ref/manifests"
  sed -n 's/^    | //p' <<<"$1" | sed '/^images:/,$d' >"$ref/kustomization.yaml"
  if [[ ! -s $ref/kustomization.yaml ]]; then
    printf '%s\n' "$1" # delete: nothing rendered
    return 0
  fi
  delta=$(diff -U1 --label "kubectl kustomize $(sed -n 's#^  - \.\./\.\./\.\./manifests/##p' "$ref/kustomization.yaml" | paste -sd+)" \
    --label rendered <(kubectl kustomize "$ref") <(sed -n 's/^    > //p' <<<"$1")) || true
  sed '/^    > /,$d' <<<"$1"
  # Hunks without line numbers: lines added to the manifests elsewhere move nothing here.
  sed -e 's/^@@ .* @@$/@@/' -e 's/^/    > /' <<<"$delta"
  sed '1,/^    > /d; /^    > /d' <<<"$1"
}

@test "--dry-run plans match their golden files; a dry run calls nothing and writes nothing" {
  local golden=$BATS_TEST_DIRNAME/golden name base args file got
  local -A plan
  while read -r name base args; do
    eval "set -- $args" # each line's words, as the shell splits them: VAR=value settings, then arguments
    mkdir -p "$T/tmp"
    deploy TMPDIR="$T/tmp" "$@" --dry-run
    assert_success
    # Every message has its time (normalized away below); commands and manifests are indented.
    ! grep -vE '^( |[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \[)' <<<"$output" || fail "a message of the plan $args without its time (above)"
    # It calls nothing but kubectl kustomize (local: the rendered manifests of the plan).
    ! grep -v '^kubectl kustomize ' "$FA_STUB_LOG" || fail "the dry run $args called the above"
    [[ ! -e $REPO/build ]] || fail "the dry run $args wrote $REPO/build"
    # Its temporary files (<work>: the plan's, an image archive's) are gone on exit.
    [[ -z $(ls -A "$T/tmp") ]] || fail "the dry run $args left $(ls -A "$T/tmp") in TMPDIR"
    plan[$name]=$(render_delta "$(normalized "$output")")
    # Every wait of every plan is bounded, by the timeouts deploy_helpers.bash sets (7, 9, 11 s).
    if grep -E '^  would run: kubectl .* (wait|rollout status|delete) ' <<<"${plan[$name]}" | grep -vE -- '--timeout=(7|9|11)s( |$)' ||
      grep -E '^  would run: curl ' <<<"${plan[$name]}" | grep -v -- '--max-time 5 '; then
      fail "a wait without its bound in the plan $name (above)"
    fi
    if [[ $base == - ]]; then
      file=$golden/dry_run_$name.txt
      got=${plan[$name]}
    else
      file=$golden/dry_run_$name.diff
      got=$(diff -U0 --label "$base" --label "$name" <(printf '%s\n' "${plan[$base]}") <(printf '%s\n' "${plan[$name]}")) &&
        fail "the plan of --dry-run $args is the plan of $base: the mode shows nothing"
    fi
    if [[ ${FA_UPDATE_GOLDEN:-0} == 1 ]]; then
      printf '%s\n' "$got" >"$file"
    else
      diff -u "$file" <(printf '%s\n' "$got") || fail "the plan of --dry-run $args differs from ${file#"$BATS_TEST_DIRNAME"/} (above)"
    fi
  done <<'MODES'
default - 
tls_autoscale default --tls --autoscale
minikube_options default 'FA_MINIKUBE_START_ARGS=--driver=docker --cpus=2' FA_CONTAINER_ENGINE=podman --tunnel --skip-tests
traefik default --ingress traefik
gateway default --gateway web/public
gateway_tls gateway --gateway web/public --tls --controller-namespace envoy-gateway-system
context default --context=other --image-load=kind
context_k3d context --context k3d-demo
context_host context --context docker-desktop --host fa.10.1.2.3.nip.io
context_archive context --context=other '--image-load=archive:cat -n' --ingress haproxy --controller-namespace haproxy
delete - delete
delete_context delete delete --context arn:aws:eks:eu-west-1:1:cluster/lab
MODES
}

@test "bad input: a usage error (exit 2) that names it, before anything runs" {
  local args want
  while IFS='|' read -r args want; do
    # shellcheck disable=SC2086 # each line's arguments, split
    deploy $args
    assert_failure 2
    assert_output --partial "$want"
  done <<'BAD'
--frobnicate|unknown argument: --frobnicate
--local|unknown argument: --local
--profile|--profile needs a non-empty value
--host=|--host needs a non-empty value
--host bad_host!|--host: 'bad_host!' is not a DNS name
--ingress haproxy|minikube's addons are nginx (ingress) and traefik, not 'haproxy'
--gateway public|--gateway: 'public' is not NAMESPACE/NAME
--gateway gateway/public --ingress traefik|--ingress and --gateway each pick the route
--controller-namespace kube-system|--controller-namespace is for --context and --gateway
--context other --image-load none --ingress haproxy|--ingress haproxy: give its controller's namespace with --controller-namespace NS
--context other --image-load none --ingress Bad_Class|--ingress: 'Bad_Class' is not an IngressClass name
--context mycluster|--context mycluster needs --image-load METHOD
--context mycluster --profile demo --image-load none|--profile is for minikube
--context mycluster --image-load minikube|unknown method 'minikube'
--context kind-x --tunnel|--tunnel is for minikube
--image-load kind|needs --context NAME
--profile a/b|invalid minikube profile name: a/b
--context -x|--context: '-x' is not a context name
--context other --image-load none --controller-namespace Bad_NS|--controller-namespace: 'Bad_NS' is not a namespace name
FA_ROLLOUT_TIMEOUT_SECONDS=0|FA_ROLLOUT_TIMEOUT_SECONDS: expected a positive integer, got '0'
FA_HTTP_TIMEOUT_SECONDS=2m|FA_HTTP_TIMEOUT_SECONDS: expected a positive integer, got '2m'
FA_POLL_INTERVAL_SECONDS=soon|FA_POLL_INTERVAL_SECONDS: expected a number of seconds, got 'soon'
FA_CONTAINER_ENGINE=lxc|FA_CONTAINER_ENGINE must be docker or podman, not 'lxc'
BAD
  [[ ! -s $FA_STUB_LOG ]]
}

# The tools the preflight checks in each mode: the "found" lines of the golden plans.
@test "preflight: a missing tool stops before the build, named with its install hint" {
  local drop args want tool
  while IFS='|' read -r drop args want; do
    rm -rf "$T/some" && cp -P -R "$STUBS" "$T/some"
    for tool in $drop; do rm "$T/some/$tool"; done
    # shellcheck disable=SC2086 # each line's arguments, split
    deploy PATH="$T/some:$T/posix" $args
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
