#!/usr/bin/env bats
# build-and-deploy.sh against stub docker/podman, minikube, kubectl, curl,
# kind/k3d and sleep (tests/deploy/stubs) that record their calls in $FA_STUB_LOG.
# Each test runs the script in a throwaway git checkout with a PATH that holds
# only the stubs, basic POSIX tools and git (optional: the tag), so no real
# container engine, cluster or network is ever touched, and nothing else the
# script might call (apt, sudo, cmake, a compiler, python, node) is there. The
# "host requirements" tests drop git too (and openssl unless --tls).

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
  FA_REAL_KUBECTL=$(command -v kubectl) || skip "kubectl not found (the kubectl stub renders with the real kustomize)"
  FA_REAL_SLEEP=$(command -v sleep)
  export FA_REAL_KUBECTL FA_REAL_SLEEP
  T=$BATS_TEST_TMPDIR
  export FA_STUB_LOG=$T/calls.log FA_STUB_STATE=$T/state
  mkdir -p "$FA_STUB_STATE"
  : >"$FA_STUB_LOG"

  # A minimal checkout: the script and the shell library it sources, the manifests, a Dockerfile. A scripts/test.sh that
  # records its call proves the script never runs the developers' suite.
  REPO=$T/repo
  mkdir -p "$REPO/scripts"
  cp "$REPO_ROOT/build-and-deploy.sh" "$REPO/"
  cp "$REPO_ROOT/scripts/log.sh" "$REPO_ROOT"/scripts/deploy_*.sh "$REPO_ROOT/scripts/route.sh" "$REPO/scripts/"
  cp -R "$REPO_ROOT/manifests" "$REPO/"
  echo 'FROM scratch' >"$REPO/Dockerfile.alpine"
  # shellcheck disable=SC2016 # expanded when the fake runs
  printf '#!/usr/bin/env bash\necho "tests $*" >>"$FA_STUB_LOG"\n' >"$REPO/scripts/test.sh"
  chmod +x "$REPO/scripts/test.sh"
  printf 'build/\n' >"$REPO/.gitignore"
  git -C "$REPO" init -q
  commit_all init

  # The script's PATH: the stubs, basic POSIX tools ($POSIX_TOOLS, exactly what the script
  # may use besides docker/podman, minikube, kubectl, curl), and separately git and openssl.
  # The stubs get their own tools through FA_STUB_TOOLS.
  # shellcheck disable=SC2086 # a list of tool names
  link_tools "$T/posix" $POSIX_TOOLS
  link_tools "$T/git" git
  link_tools "$T/openssl" openssl
  link_tools "$T/stubtools" cat cp mv touch sort grep
  export FA_STUB_TOOLS=$T/stubtools
  STUBS=$T/stubs
  cp -R "$BATS_TEST_DIRNAME/stubs" "$STUBS"
  SCRIPT_PATH="$STUBS:$T/posix:$T/git:$T/openssl"

  unset MINIKUBE_PROFILE CONTAINER_ENGINE TEST_COMMAND IMAGE_TAG MINIKUBE_START_ARGS KUBECONFIG
  export POLL_INTERVAL_SECONDS=0.1 HTTP_TIMEOUT_SECONDS=2 ADDON_TIMEOUT_SECONDS=7 ROLLOUT_TIMEOUT_SECONDS=9 \
    DELETE_TIMEOUT_SECONDS=11 APPLY_ATTEMPTS=3
  touch "$FA_STUB_STATE/minikube-running" # default: the cluster is up
}

# Whatever a test did, the script must never have done these.
teardown() {
  [[ -n ${FA_STUB_LOG:-} && -f $FA_STUB_LOG ]] || return 0
  if grep -Ein 'delete.*(validatingwebhookconfiguration|ingress-nginx-admission)' "$FA_STUB_LOG"; then
    echo "FORBIDDEN: deleted the ingress-nginx admission webhook" >&2
    return 1
  fi
  if grep -En '^(docker|podman) (push|login)|^minikube .*image push' "$FA_STUB_LOG"; then
    echo "FORBIDDEN: pushed to a registry / logged in" >&2
    return 1
  fi
}

# The POSIX tools build-and-deploy.sh may need (plus bash itself, >= 3.2).
POSIX_TOOLS="bash cat date dirname mkdir rm mktemp ln sed grep head tail awk tr cut sort find cksum"
link_tools() { # link_tools DIR TOOL...: DIR holds links to exactly these tools
  local dir=$1 tool
  shift
  mkdir -p "$dir"
  for tool in "$@"; do ln -s "$(command -v "$tool")" "$dir/$tool"; done
}

commit_all() {
  git -C "$REPO" add -A
  git -C "$REPO" -c user.name=test -c user.email=test@example.invalid commit -qm "$1"
}
deploy() { run env PATH="$SCRIPT_PATH" "$REPO/build-and-deploy.sh" "$@"; }
# The host requirements only: stubs + POSIX tools (no git; openssl only with --tls).
deploy_minimal() {
  local path="$STUBS:$T/posix" a
  for a in "$@"; do [[ $a != --tls ]] || path="$path:$T/openssl"; done
  run env PATH="$path" "$REPO/build-and-deploy.sh" "$@"
}
# First line number in the call log matching an extended regex (fails if none).
line_of() {
  local n
  n=$(grep -nE -m1 -- "$1" "$FA_STUB_LOG" | cut -d: -f1)
  [[ -n $n ]] || {
    echo "no call matching /$1/ in:" >&2
    cat "$FA_STUB_LOG" >&2
    return 1
  }
  echo "$n"
}
assert_called() { grep -qE -- "$1" "$FA_STUB_LOG" || fail "expected a call matching /$1/; calls: $(cat "$FA_STUB_LOG")"; }
refute_called() {
  if grep -nE -- "$1" "$FA_STUB_LOG"; then fail "unexpected call matching /$1/"; fi
}
count_calls() { grep -cE -- "$1" "$FA_STUB_LOG" || true; }
short_sha() { git -C "$REPO" rev-parse --short=12 HEAD; }
applied() { cat "$FA_STUB_STATE/applied.yaml"; }
# A dry run calls nothing but kubectl kustomize (local: the rendered manifests of the plan).
no_calls_but_render() {
  if grep -v '^kubectl kustomize ' "$FA_STUB_LOG"; then fail "dry run called the above"; fi
}

# ---------------------------------------------------------------------------

@test "--help prints usage, calls nothing" {
  deploy --help
  assert_success
  assert_output --partial "Usage: ./build-and-deploy.sh"
  assert_output --partial "--dry-run"
  [[ ! -s $FA_STUB_LOG ]]
}

@test "deploys: every step logged with a time, the wait for each admission job, the URL and the JSON" {
  # The order of the steps is the plan's (golden/dry_run_default.txt).
  deploy
  assert_success
  assert_called 'wait --for=condition=complete job.batch/ingress-nginx-admission-create'
  assert_called 'wait --for=condition=complete job.batch/ingress-nginx-admission-patch'
  # Each step is logged with a timestamp.
  local s
  for s in "1/6 preflight" "2/6 build" "3/6 cluster" "4/6 load" "5/6 apply" "6/6 verify"; do
    assert_line --regexp "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \[$s\] ==="
  done
  assert_line "URL:    http://favorite-athlete.192.168.49.2.nip.io/"
  assert_line 'Answer: {"myFavoriteAthlete":"Usain Bolt"}'
  refute_called '^tests'
}

@test "image: uncommitted changes give <sha>-dirty-<hash>, stable for the same changes" {
  echo "change" >>"$REPO/Dockerfile.alpine"
  deploy --skip-tests
  assert_success
  local tag1 tag2 tag3
  tag1=$(grep -oE 'favorite-athlete:[0-9a-f]{12}-dirty-[0-9a-f]{8}' "$FA_STUB_LOG" | head -n1)
  [[ $tag1 == favorite-athlete:$(short_sha)-dirty-* ]] || fail "tag: $tag1"
  : >"$FA_STUB_LOG"
  deploy --skip-tests
  tag2=$(grep -oE 'favorite-athlete:[0-9a-f]{12}-dirty-[0-9a-f]{8}' "$FA_STUB_LOG" | head -n1)
  assert_equal "$tag2" "$tag1"
  echo "new file" >"$REPO/untracked.txt"
  : >"$FA_STUB_LOG"
  deploy --skip-tests
  tag3=$(grep -oE 'favorite-athlete:[0-9a-f]{12}-dirty-[0-9a-f]{8}' "$FA_STUB_LOG" | head -n1)
  [[ $tag3 != "$tag1" ]] || fail "an untracked file did not change the tag"
}

@test "image: IMAGE_TAG=latest is refused" {
  IMAGE_TAG=latest deploy
  assert_failure
  assert_output --partial "invalid image tag 'latest'"
  refute_called '^docker build'
}

@test "a failing in-image test fails the build: nothing is loaded, applied or started" {
  FA_STUB_BUILD_RC=1 deploy
  assert_failure 1
  assert_output --partial "FAIL: GET / answered"
  assert_output --partial "the image build failed; a failing unit test or smoke test in the build stage fails it too"
  assert_called '^docker build'
  refute_called '^minikube'
  refute_called '^kubectl'
  refute_called '^curl'
}

@test "starts minikube when it is not running, with MINIKUBE_START_ARGS" {
  rm "$FA_STUB_STATE/minikube-running"
  MINIKUBE_START_ARGS="--driver=docker --cpus=2" deploy --skip-tests
  assert_success
  assert_called '^minikube -p minikube start --driver=docker --cpus=2$'
  (($(line_of '^minikube -p minikube start') < $(line_of 'addons enable ingress'))) || fail "start after addon"
}

@test "no blind sleep: when every condition is met at once, sleep is never called" {
  deploy
  assert_success
  refute_called '^sleep'
}

@test "bounded waits: every kubectl wait/rollout has --timeout from the environment, every curl --max-time" {
  deploy --autoscale
  assert_success
  local line
  while IFS= read -r line; do
    [[ $line == *--timeout=7s* || $line == *--timeout=9s* ]] || fail "unbounded: $line"
  done < <(grep -E '^kubectl .*( wait | rollout status )' "$FA_STUB_LOG")
  assert_called 'rollout status deployment/favorite-athlete --timeout=9s'
  assert_called 'rollout status deployment/ingress-nginx-controller --timeout=7s'
  assert_called 'rollout status deployment/metrics-server --timeout=7s'
  while IFS= read -r line; do
    [[ $line == *"--max-time "* ]] || fail "curl without --max-time: $line"
  done < <(grep -E '^curl ' "$FA_STUB_LOG")
}

@test "curl: polls with a pause only after a failed attempt, then succeeds" {
  FA_STUB_CURL_FAILURES=2 deploy --skip-tests
  assert_success
  assert_equal "$(count_calls '^sleep')" 2
  assert_called '^sleep 0.1$'
  # Every sleep directly follows a failed curl of the service URL.
  local prev="" line
  while IFS= read -r line; do
    if [[ $line == sleep* ]]; then [[ $prev == "curl "*nip.io* ]] || fail "sleep after '$prev'"; fi
    prev=$line
  done <"$FA_STUB_LOG"
  assert_line 'Answer: {"myFavoriteAthlete":"Usain Bolt"}'
}

@test "curl: gives up at HTTP_TIMEOUT_SECONDS with an explanation and diagnostics" {
  SECONDS=0
  FA_STUB_CURL_FAILURES=always HTTP_TIMEOUT_SECONDS=1 deploy --skip-tests
  assert_failure
  ((SECONDS < 20)) || fail "took ${SECONDS}s"
  assert_output --partial "no JSON answer from http://favorite-athlete.192.168.49.2.nip.io/ within 1s"
  assert_output --partial "the pods are ready but the Ingress did not answer" # tests/cluster/broken.sh expects it
  assert_output --partial "diagnostics"
  FA_STUB_CURL_FAILURES=always HTTP_TIMEOUT_SECONDS=1 deploy --skip-tests --gateway gateway/public
  assert_failure
  assert_output --partial "the pods are ready but the HTTPRoute did not answer"
}

@test "apply: retried while the admission webhook starts, then succeeds" {
  FA_STUB_APPLY_WEBHOOK_FAILURES=2 deploy --skip-tests
  assert_success
  assert_equal "$(count_calls 'apply -k')" 3
  assert_equal "$(count_calls '^sleep')" 2
  assert_output --partial "admission webhook is not answering yet"
}

@test "apply: gives up after APPLY_ATTEMPTS when the webhook never answers" {
  FA_STUB_APPLY_WEBHOOK_FAILURES=99 APPLY_ATTEMPTS=3 deploy --skip-tests
  assert_failure
  assert_equal "$(count_calls 'apply -k')" 3
  assert_output --partial "still refused the Ingress after 3 attempts"
  refute_called 'rollout status deployment/favorite-athlete'
}

@test "apply: other errors are not retried" {
  FA_STUB_APPLY_ERROR='error: resource mapping not found' deploy --skip-tests
  assert_failure
  assert_equal "$(count_calls 'apply -k')" 1
  assert_output --partial "not a webhook start-up error"
}

@test "ingress controller never ready: explained, nothing applied" {
  FA_STUB_CONTROLLER_RC=1 deploy --skip-tests
  assert_failure
  assert_output --partial "ingress controller was not ready within 7s"
  refute_called 'apply -k'
}

@test "admission job not complete: explained, nothing applied" {
  FA_STUB_WAIT_RC=1 deploy --skip-tests
  assert_failure
  assert_output --partial "did not complete within 7s"
  refute_called 'apply -k'
}

@test "admission jobs already cleaned up: no wait on jobs, still waits for the controller" {
  FA_STUB_NO_JOBS=1 deploy --skip-tests
  assert_success
  refute_called 'wait --for=condition=complete'
  assert_called 'rollout status deployment/ingress-nginx-controller'
}

@test "failed rollout: diagnostics (pods, events, describe and logs of the failing pod), exit 1" {
  FA_STUB_ROLLOUT_RC=1 deploy --skip-tests
  assert_failure 1
  assert_output --partial "did not finish rolling out within 9s"
  assert_output --partial "diagnostics"
  assert_called 'get deployment,replicaset,pods,service,ingress,endpointslices'
  assert_called 'get events'
  assert_called 'describe pod favorite-athlete-7c9d8-abcde'
  assert_called 'logs favorite-athlete-7c9d8-abcde'
  refute_called 'logs favorite-athlete-7c9d8-fghij' # the ready pod
  assert_output --partial "stub log of favorite-athlete-7c9d8-abcde"
  refute_called 'nip.io'
}

@test "idempotent: a second run starts nothing new and applies the same thing; a new commit rolls out its tag" {
  deploy
  assert_success
  cp "$FA_STUB_STATE/applied.yaml" "$T/first.yaml"
  : >"$FA_STUB_LOG"
  deploy
  assert_success
  refute_called 'minikube -p minikube start'
  assert_called 'apply -k'
  assert_called 'rollout status deployment/favorite-athlete'
  diff "$T/first.yaml" "$FA_STUB_STATE/applied.yaml" || fail "second run applied something different"

  echo "# v2" >>"$REPO/Dockerfile.alpine"
  commit_all v2
  : >"$FA_STUB_LOG"
  deploy
  assert_success
  applied | grep -q "image: favorite-athlete:$(short_sha)\$" || fail "new tag not applied"
  [[ $(short_sha) != "$(grep -oE 'favorite-athlete:[0-9a-f]{12}' "$T/first.yaml" | cut -d: -f2)" ]]
}

@test "respects KUBECONFIG and always targets the profile's context" {
  export KUBECONFIG=$T/my-kubeconfig
  deploy --skip-tests
  assert_success
  ! grep -v "KUBECONFIG=$T/my-kubeconfig\$" "$FA_STUB_STATE/env.log" || fail "KUBECONFIG changed"
  refute_called '--kubeconfig'
  local line
  while IFS= read -r line; do
    [[ $line == "kubectl --context minikube "* ]] || fail "kubectl without --context: $line"
  done < <(grep '^kubectl' "$FA_STUB_LOG")
}

@test "--profile: minikube -p and kubectl --context use it" {
  deploy --skip-tests --profile demo
  assert_success
  refute_called '^minikube (-p minikube|[^-])'
  refute_called '^kubectl --context minikube'
  assert_called '^minikube -p demo addons enable ingress'
  assert_called '^kubectl --context demo apply -k .*/build/deploy/demo$'
}

@test "delete: removes the namespace (bounded) and the loaded images; builds nothing" {
  deploy --skip-tests
  assert_success
  : >"$FA_STUB_LOG"
  deploy delete
  assert_success
  assert_called '^kubectl --context minikube delete namespace favorite-athlete --ignore-not-found --wait=true --timeout=11s$'
  assert_called "^minikube -p minikube image rm docker.io/library/favorite-athlete:$(short_sha)\$"
  refute_called '^docker'
  refute_called 'apply'
  [[ ! -e $REPO/build/deploy/minikube ]] || fail "generated overlay left behind"
}

@test "delete when minikube is not running: nothing to do, success" {
  rm "$FA_STUB_STATE/minikube-running"
  deploy delete
  assert_success
  assert_output --partial "nothing deployed to remove"
  refute_called '^kubectl'
}

@test "--tls: self-signed certificate in a kubernetes.io/tls Secret, Ingress TLS for the real host, https checked" {
  deploy --skip-tests --tls
  assert_success
  local host=favorite-athlete.192.168.49.2.nip.io
  applied | grep -q 'type: kubernetes.io/tls' || fail "no TLS secret"
  applied | grep -qE "^  - host: $host\$" || fail "rule host"
  applied | grep -A2 '^  tls:' | grep -q "    - $host" || fail "tls host"
  openssl x509 -noout -subject -in "$REPO/build/deploy/minikube/tls/$host.crt" | grep -q "$host"
  assert_called "^curl .*--cacert $REPO/build/deploy/minikube/tls/$host.crt https://$host/"
  # Second run reuses the certificate (no new Secret content, nothing to roll).
  local before
  before=$(cat "$REPO/build/deploy/minikube/tls/$host.crt")
  deploy --skip-tests --tls
  assert_success
  assert_output --partial "reusing the self-signed certificate"
  assert_equal "$(cat "$REPO/build/deploy/minikube/tls/$host.crt")" "$before"
}

@test "node IP unreachable: says so and falls back to minikube tunnel with 127.0.0.1.nip.io" {
  FA_STUB_NODE_REACHABLE=0 deploy --skip-tests
  assert_success
  assert_output --partial "is not reachable from this machine"
  assert_output --partial "run 'minikube -p minikube tunnel --bind-address=127.0.0.1' in another terminal"
  assert_output --partial "on Linux with the docker or podman driver, minikube tunnel forwards 127.0.0.1:80/443 only with --bind-address=127.0.0.1"
  assert_line "Needs:  minikube -p minikube tunnel --bind-address=127.0.0.1   (running in another terminal)"
  applied | grep -qE '^  - host: favorite-athlete\.127\.0\.0\.1\.nip\.io$' || fail "host"
  assert_line "URL:    http://favorite-athlete.127.0.0.1.nip.io/"
}

@test "nip.io does not resolve: falls back to curl --resolve and says so" {
  FA_STUB_CURL_NO_DNS=1 deploy --skip-tests
  assert_success
  assert_output --partial "nip.io may be blocked"
  assert_called '^curl .*--resolve favorite-athlete\.192\.168\.49\.2\.nip\.io:80:192\.168\.49\.2'
  assert_output --partial "Try:    curl --resolve favorite-athlete.192.168.49.2.nip.io:80:192.168.49.2"
}

@test "image missing in minikube after load: explained" {
  FA_STUB_IMAGE_LOAD_DROPS=1 deploy --skip-tests
  assert_failure
  assert_output --partial "is not in minikube's image list"
  refute_called 'apply -k'
}

@test "preflight: a missing tool stops everything with an install hint" {
  rm "$STUBS/minikube"
  deploy
  assert_failure
  assert_output --partial "missing minikube. Install: https://minikube.sigs.k8s.io/docs/start/"
  refute_called '^docker build'
}

@test "preflight: neither docker nor podman" {
  rm "$STUBS/docker" "$STUBS/podman"
  deploy
  assert_failure
  assert_output --partial "missing docker or podman"
}

@test "the applied manifests pass the manifest policy (tests/manifests)" {
  [[ -d $REPO_ROOT/tests/manifests/node_modules/yaml ]] || skip "run 'npm ci' in tests/manifests"
  local node
  node=$(PATH=/usr/local/bin:/usr/bin:/bin command -v node) || skip "node not found"
  deploy --skip-tests --tls --autoscale
  assert_success
  run "$node" "$REPO_ROOT/tests/manifests/manifest_checks.mjs" policy_of "$FA_STUB_STATE/applied.yaml" --tls --autoscale
  assert_success
}

# ---------------------------------------------------------------------------
# Host requirements: docker or podman, minikube, kubectl, curl (openssl for --tls), bash and
# basic POSIX tools. No git (the tag is then a checksum of the sources), nothing else.

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

@test "host requirements only: --tls without openssl stops in preflight" {
  run env PATH="$STUBS:$T/posix" "$REPO/build-and-deploy.sh" --tls
  assert_failure
  assert_output --partial "missing openssl"
  refute_called '^docker build'
}

# shellcheck disable=SC2030 # bats runs each test in a subshell; found_tools reads $output in its own test
@test "host requirements only: delete, a failing in-image test, --context" {
  deploy_minimal delete
  assert_success
  assert_called '^kubectl --context minikube delete namespace favorite-athlete'
  : >"$FA_STUB_LOG"
  FA_STUB_BUILD_RC=1 deploy_minimal
  assert_failure
  assert_output --partial "the image build failed"
  refute_called '^minikube'
  refute_called '^kubectl'
  : >"$FA_STUB_LOG"
  rm "$STUBS/minikube"
  FA_STUB_CONTEXTS=kind-demo deploy_minimal --context kind-demo
  assert_success
  assert_called '^kind load docker-image favorite-athlete:src-[0-9]+ --name demo$'
}

# The tools the preflight reports, in order (the README lists the same).
# shellcheck disable=SC2031 # $output: the run result of the calling test
found_tools() {
  printf '%s\n' "$output" | sed -n 's/.*\[1\/6 preflight\] found \([^ :]*\).*/\1/p' | tr '\n' ' '
}

@test "preflight checks exactly the README's host requirements" {
  deploy_minimal
  assert_success
  assert_equal "$(found_tools)" "bash docker minikube kubectl curl "
  deploy_minimal --tls
  assert_equal "$(found_tools)" "bash docker minikube kubectl curl openssl "
  deploy_minimal delete
  assert_equal "$(found_tools)" "bash minikube kubectl "
  rm "$STUBS/docker"
  FA_STUB_CONTEXTS=kind-demo deploy_minimal --context kind-demo
  assert_success
  assert_equal "$(found_tools)" "bash podman kubectl curl kind "
}

@test "the script calls no developer tooling: no test.sh, apt, sudo, cmake, compiler, python, node" {
  # The PATH tests above prove it runs without them; this catches a call hidden behind an option.
  # A tool in command position: line start, after ; & | ( $( or then/do/else/run/exec/need.
  # shellcheck disable=SC2016 # a regex, and a fixture of code
  local re='(^|[;&|(]|\$\(|(then|do|else|run|exec|need|command -v))[[:space:]]*"?(\$ROOT/|\$\{ROOT\}/)?(scripts/test\.sh|apt-get|apt|sudo|cmake|ctest|g\+\+|gcc|clang|make|python3?|node|npm)"?([[:space:];)|&]|$)'
  run grep -nE "$re" "$REPO_ROOT/build-and-deploy.sh" "$REPO_ROOT/scripts/log.sh" "$REPO_ROOT/scripts/route.sh"
  assert_failure 1 # grep found nothing
  # The check itself finds such calls.
  # shellcheck disable=SC2016
  printf 'x=1\nrun sudo cmake --build .\n(cd "$ROOT" && scripts/test.sh)\n' >"$T/bad.sh"
  run grep -cE "$re" "$T/bad.sh"
  assert_output 2
}

# ---------------------------------------------------------------------------
# Cluster mode: --context NAME (an existing cluster; no minikube at all).

@test "--context kind-*: no minikube call, kind load, every kubectl call has --context, Ingress host 127.0.0.1.nip.io" {
  rm "$STUBS/minikube"
  FA_STUB_CONTEXTS="minikube kind-demo" deploy --context kind-demo
  assert_success
  local sha s
  sha=$(short_sha)
  refute_called '^minikube'
  assert_called '^kubectl --context kind-demo config get-contexts kind-demo$'
  assert_called "^kind load docker-image favorite-athlete:$sha --name demo\$"
  assert_called '^kubectl --context kind-demo apply -k .*/build/deploy/context-kind-demo$'
  assert_called '^kubectl --context kind-demo -n favorite-athlete rollout status deployment/favorite-athlete --timeout=9s$'
  refute_called 'ingress-nginx-controller'
  local line
  while IFS= read -r line; do
    [[ $line == "kubectl --context kind-demo "* ]] || fail "kubectl without --context kind-demo: $line"
  done < <(grep '^kubectl' "$FA_STUB_LOG")
  applied | grep -qE '^  - host: favorite-athlete\.127\.0\.0\.1\.nip\.io$' || fail "host"
  applied | grep -q "image: favorite-athlete:$sha\$" || fail "image"
  assert_line "URL:    http://favorite-athlete.127.0.0.1.nip.io/"
  for s in "3/6 cluster" "4/6 load"; do assert_output --partial "[$s]"; done
}

@test "--context: k3d-* and docker-desktop pick their loader; --image-load overrides" {
  export FA_STUB_CONTEXTS="k3d-dev docker-desktop other"
  deploy --skip-tests --context k3d-dev
  assert_success
  assert_called "^k3d image import favorite-athlete:$(short_sha) -c dev\$"
  : >"$FA_STUB_LOG"
  deploy --skip-tests --context docker-desktop
  assert_success
  assert_output --partial "--image-load none: nothing to load"
  refute_called '^(kind|k3d|minikube)'
  : >"$FA_STUB_LOG"
  deploy --skip-tests --context=other --image-load=kind
  assert_success
  assert_called "^kind load docker-image favorite-athlete:$(short_sha) --name other\$"
}

@test "--context: an unknown context stops before the build" {
  FA_STUB_CONTEXTS="kind-demo" deploy --context kind-nope
  assert_failure 1
  assert_output --partial "kubectl does not know the context 'kind-nope'"
  refute_called '^docker build'
}

@test "--context: preflight needs no minikube, but kind for --image-load kind" {
  rm "$STUBS/minikube" "$STUBS/kind"
  FA_STUB_CONTEXTS=kind-demo deploy --context kind-demo
  assert_failure
  assert_output --partial "missing kind"
  refute_output --partial "missing minikube"
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
  FA_STUB_APPLY_WEBHOOK_FAILURES=1 FA_STUB_CONTEXTS=old deploy --skip-tests --context old --image-load none \
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
  link_tools "$T/false" false
  SCRIPT_PATH="$SCRIPT_PATH:$T/false" FA_STUB_CONTEXTS=old deploy --skip-tests --context old --image-load none --render-filter false
  assert_failure
  assert_output --partial "--render-filter 'false' failed"
  refute_called 'apply'
}

@test "--context: a failed rollout gives the diagnostics on that context; delete --context removes the namespace only" {
  FA_STUB_ROLLOUT_RC=1 FA_STUB_CONTEXTS=lab deploy --skip-tests --context lab --image-load none
  assert_failure 1
  assert_output --partial "diagnostics (context lab)"
  assert_called '^kubectl --context lab --request-timeout=15s -n favorite-athlete describe pod favorite-athlete-7c9d8-abcde'
  : >"$FA_STUB_LOG"
  rm "$STUBS/minikube"
  FA_STUB_CONTEXTS=lab deploy delete --context lab
  assert_success
  assert_called '^kubectl --context lab delete namespace favorite-athlete --ignore-not-found --wait=true --timeout=11s$'
  refute_called '^(minikube|docker|podman)'
  [[ ! -e $REPO/build/deploy/context-lab ]] || fail "generated overlay left behind"
}

# ---------------------------------------------------------------------------
# The plans: the --dry-run output of each mode against its golden file. The default plan is whole
# (golden/dry_run_default.txt); every other mode's golden is the unified diff (one line of context)
# of its plan against the plan it varies (golden/dry_run_<mode>.diff): each file shows what one option changes,
# the shared part is written once, and any change of any plan still fails. FA_UPDATE_GOLDEN=1
# rewrites them. The tests after this section show only what a plan cannot: the checks that read
# the cluster, the waits and their errors.

# The dry-run output ($1, bats' $output) with what varies between runs and machines replaced:
# timestamps, the checkout, the temporary dirs, the tag and revision, bash's version.
normalized() {
  local sha rev
  sha=$(short_sha)
  rev=$(git -C "$REPO" rev-parse HEAD)
  printf '%s\n' "$1" | sed -E -e 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z //' \
    -e "s|$T/|<t>/|g" -e 's|/[^ ]*/fa-deploy\.[A-Za-z0-9]+|<work>|g' -e "s/$rev/<revision>/g" \
    -e "s/$sha/<tag>/g" -e 's/found bash .*/found bash <version>/' -e 's/VERSION=[^ ]+/VERSION=<version>/'
}

@test "--dry-run plans match their golden files; a dry run calls nothing and writes nothing" {
  local golden=$BATS_TEST_DIRNAME/golden name base args file got
  local -A plan
  while read -r name base args; do
    local -a env=() argv=()
    # shellcheck disable=SC2086 # each line's words, split: VAR=value settings, then arguments
    set -- $args
    while [[ ${1:-} == [A-Z]*=* ]]; do
      env+=("$1")
      shift
    done
    argv=("$@")
    run env PATH="$SCRIPT_PATH" "${env[@]}" "$REPO/build-and-deploy.sh" --dry-run "${argv[@]}"
    assert_success
    no_calls_but_render
    [[ ! -e $REPO/build ]] || fail "the dry run $args wrote $REPO/build"
    plan[$name]=$(normalized "$output")
    if [[ $base == - ]]; then
      file=$golden/dry_run_$name.txt
      got=${plan[$name]}
    else
      file=$golden/dry_run_$name.diff
      got=$(diff -U1 --label "$base" --label "$name" <(printf '%s\n' "${plan[$base]}") <(printf '%s\n' "${plan[$name]}")) &&
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
minikube_options default MINIKUBE_START_ARGS=--cpus=2 --profile demo --tunnel --skip-tests
podman default CONTAINER_ENGINE=podman
traefik default --ingress traefik
traefik_tls traefik --ingress traefik --tls --autoscale
gateway default --gateway gateway/public
gateway_tls gateway --gateway gateway/public --tls --autoscale
context_kind default --context kind-demo
context_k3d context_kind --context k3d-demo
context_gateway context_kind --context kind-demo --gateway nginx-gateway/shared --controller-namespace envoy-gateway-system
context_filter context_kind --context kind-demo --render-filter cat
context_url context_kind --context kind-demo --image-load none --host fa.10.1.2.3.nip.io --url http://10.96.0.10:8080/
context_archive context_kind --context=kind-demo --image-load=archive:cat
delete - delete
delete_context delete delete --context lab
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
--url ftp://x/|--url: 'ftp://x/' is not an http:// or https:// URL
--ingress haproxy|minikube's addons are nginx (ingress) and traefik, not 'haproxy'
--gateway public|--gateway: 'public' is not NAMESPACE/NAME
--gateway gateway/public --ingress traefik|--ingress and --gateway each pick the route
--controller-namespace kube-system|--controller-namespace is for --context and --gateway
--context other --image-load none --ingress haproxy|--ingress haproxy: give its controller's namespace with --controller-namespace NS
--context other --image-load none --ingress Bad_Class|--ingress: 'Bad_Class' is not an IngressClass name
--context mycluster|--context mycluster needs --image-load METHOD
--context mycluster --image-load bogus|unknown method 'bogus'
--context mycluster --profile demo --image-load none|--profile is for minikube
--context mycluster --image-load minikube|--image-load minikube needs the minikube path
--context kind-x --tunnel|--tunnel is for minikube
--image-load kind|needs --context NAME
BAD
  APPLY_ATTEMPTS=0 deploy
  assert_failure 2
  assert_output --partial "APPLY_ATTEMPTS: expected a positive integer, got '0'"
  [[ ! -s $FA_STUB_LOG ]]
}

@test "--ingress traefik: minikube >= 1.39, the traefik addon (never the ingress addon), Traefik waited for, its Ingress applied" {
  deploy --ingress traefik --skip-tests
  assert_success
  assert_called '^minikube version --short$'
  assert_called '^minikube -p minikube addons enable traefik$'
  refute_called 'addons (enable|disable) ingress'
  assert_called '^kubectl --context minikube -n kube-system rollout status deployment/traefik --timeout=7s$'
  [[ $(line_of 'rollout status deployment/traefik') -lt $(line_of 'apply -k') ]] || fail "applied before Traefik was ready"
  applied | grep -qx '  ingressClassName: traefik' || fail "the applied Ingress is not of class traefik"
  applied | grep -qx '          kubernetes.io/metadata.name: kube-system' || fail "the NetworkPolicy does not admit kube-system"
  refute_output --partial "ingress-nginx (the ingress addon, class nginx) is retired"
  FA_STUB_MINIKUBE_VERSION=v1.38.1 deploy --ingress traefik --skip-tests
  assert_failure 1
  assert_output --partial "--ingress traefik needs minikube >= 1.39"
  assert_output --partial "this is minikube 1.38.1"
}

@test "the two addons cannot run together: a stop that says what to run, never a disable" {
  FA_STUB_ADDONS_ENABLED="metrics-server ingress" deploy --ingress traefik --skip-tests
  assert_failure 1
  assert_output --partial "the ingress addon is enabled on minikube profile minikube, and it cannot run beside the traefik addon"
  assert_output --partial "run 'minikube -p minikube addons disable ingress' yourself"
  refute_called 'addons (enable|disable)'
  refute_called 'apply'
  : >"$FA_STUB_LOG"
  FA_STUB_ADDONS_ENABLED=traefik deploy --skip-tests
  assert_failure 1
  assert_output --partial "run 'minikube -p minikube addons disable traefik' yourself"
  refute_called 'addons (enable|disable)'
  : >"$FA_STUB_LOG"
  deploy --skip-tests # the default: the retirement line, and the ingress addon
  assert_success
  assert_output --partial "ingress-nginx (the ingress addon, class nginx) is retired"
  assert_output --partial 'manifests/README.md, "Which route?"'
  assert_called '^minikube -p minikube addons enable ingress$'
}

@test "--gateway: the Gateway read, the route applied and waited for until Accepted, verified through the Gateway's address" {
  deploy --gateway gateway/public --skip-tests
  assert_success
  refute_called 'addons enable (ingress|traefik)'
  assert_called '^kubectl --context minikube -n gateway get gateway public '
  [[ $(line_of 'rollout status deployment/favorite-athlete') -lt $(line_of 'get httproute favorite-athlete') ]] || fail "route status read before the rollout"
  assert_output --partial "the Gateway gateway/public accepted httproute/favorite-athlete"
  applied | grep -q '^kind: HTTPRoute$' || fail "no HTTPRoute applied"
  ! applied | grep -q '^kind: Ingress$' || fail "an Ingress was applied"
  applied | grep -qx '  - favorite-athlete.192.168.49.100.nip.io' || fail "the route's host is not the Gateway address's nip.io name"
  assert_line "URL:    http://favorite-athlete.192.168.49.100.nip.io/"
  refute_called '^minikube -p minikube ip'
}

@test "--gateway: no such Gateway stops before the apply, naming it" {
  FA_STUB_GATEWAY=missing deploy --gateway gateway/public --skip-tests
  assert_failure 1
  assert_output --partial "no Gateway gateway/public on context minikube"
  assert_output --partial "kubectl get gateways -A"
  refute_output --partial "address" # it stopped at the missing Gateway, not later
  refute_called 'apply'
}

@test "--gateway: a route the Gateway does not accept fails at the deadline, naming the Gateway and its reason" {
  export ADDON_TIMEOUT_SECONDS=1
  FA_STUB_ROUTE_STATUS="Accepted=False (NotAllowedByListeners: no listener allows namespace favorite-athlete); ResolvedRefs=True (ResolvedRefs: ok); " \
    deploy --gateway gateway/public --skip-tests
  assert_failure 1
  assert_output --partial "the Gateway gateway/public did not accept httproute/favorite-athlete within 1s: Accepted=False (NotAllowedByListeners"
  assert_output --partial "allowedRoutes admit namespace favorite-athlete"
  refute_called '^curl .*nip\.io'
  : >"$FA_STUB_LOG"
  FA_STUB_ROUTE_STATUS="" deploy --gateway gateway/public --skip-tests
  assert_failure 1
  assert_output --partial "no status from the Gateway's controller"
}

@test "--tls: plain HTTP must not answer the JSON on any route" {
  deploy --tls --skip-tests
  assert_success
  assert_output --partial "plain HTTP does not serve it: http://favorite-athlete.192.168.49.2.nip.io/ answered HTTP 308"
  deploy --gateway gateway/public --tls --skip-tests
  assert_success
  assert_output --partial "plain HTTP does not serve it"
  FA_STUB_HTTP_PLAIN=1 deploy --ingress traefik --tls --skip-tests
  assert_failure 1
  assert_output --partial "still answers the JSON over plain HTTP"
}
