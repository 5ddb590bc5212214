#!/usr/bin/env bats
# build-and-deploy.sh against stub docker/podman, minikube, kubectl, curl and
# sleep (tests/deploy/stubs) that record their calls in $STUB_LOG.
# Each test runs the script in a throwaway git checkout with a PATH that holds
# only the stubs and ordinary tools, so no real container engine, cluster or
# network is ever touched.

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
  REAL_KUBECTL=$(command -v kubectl) || skip "kubectl not found (the kubectl stub renders with the real kustomize)"
  REAL_SLEEP=$(command -v sleep)
  export REAL_KUBECTL REAL_SLEEP
  T=$BATS_TEST_TMPDIR
  export STUB_LOG=$T/calls.log STUB_STATE=$T/state
  mkdir -p "$STUB_STATE"
  : >"$STUB_LOG"

  # A minimal checkout: the script, the manifests, a Dockerfile, a fake test command.
  REPO=$T/repo
  mkdir -p "$REPO/scripts"
  cp "$REPO_ROOT/build-and-deploy.sh" "$REPO/"
  cp -R "$REPO_ROOT/manifests" "$REPO/"
  echo 'FROM scratch' >"$REPO/Dockerfile.alpine"
  cat >"$REPO/scripts/test.sh" <<'EOF'
#!/usr/bin/env bash
echo "tests $*" >>"$STUB_LOG"
exit "${STUB_TESTS_RC:-0}"
EOF
  chmod +x "$REPO/scripts/test.sh"
  printf 'build/\n' >"$REPO/.gitignore"
  git -C "$REPO" init -q
  commit_all init

  # PATH = stubs + a whitelist of ordinary tools.
  local bin=$T/bin tool
  mkdir -p "$bin"
  for tool in bash env cat date dirname basename mkdir rm mktemp sed grep head tail awk git tr cut sort \
    wc chmod cp mv ls openssl uname touch tee diff; do
    ln -s "$(command -v "$tool")" "$bin/$tool"
  done
  STUBS=$T/stubs
  cp -R "$BATS_TEST_DIRNAME/stubs" "$STUBS"
  export PATH="$STUBS:$bin"

  unset MINIKUBE_PROFILE CONTAINER_ENGINE TEST_COMMAND IMAGE_TAG MINIKUBE_START_ARGS KUBECONFIG
  export POLL_INTERVAL_SECONDS=0.1 HTTP_TIMEOUT_SECONDS=2 ADDON_TIMEOUT_SECONDS=7 ROLLOUT_TIMEOUT_SECONDS=9 \
    DELETE_TIMEOUT_SECONDS=11 APPLY_ATTEMPTS=3
  touch "$STUB_STATE/minikube-running" # default: the cluster is up
}

# Whatever a test did, the script must never have done these.
teardown() {
  [[ -n ${STUB_LOG:-} && -f $STUB_LOG ]] || return 0
  if grep -Ein 'delete.*(validatingwebhookconfiguration|ingress-nginx-admission)' "$STUB_LOG"; then
    echo "FORBIDDEN: deleted the ingress-nginx admission webhook" >&2
    return 1
  fi
  if grep -En '^(docker|podman) (push|login)|^minikube .*image push' "$STUB_LOG"; then
    echo "FORBIDDEN: pushed to a registry / logged in" >&2
    return 1
  fi
}

commit_all() {
  git -C "$REPO" add -A
  git -C "$REPO" -c user.name=test -c user.email=test@example.invalid commit -qm "$1"
}
deploy() { run "$REPO/build-and-deploy.sh" "$@"; }
# First line number in the call log matching an extended regex (fails if none).
line_of() {
  local n
  n=$(grep -nE -m1 -- "$1" "$STUB_LOG" | cut -d: -f1)
  [[ -n $n ]] || {
    echo "no call matching /$1/ in:" >&2
    cat "$STUB_LOG" >&2
    return 1
  }
  echo "$n"
}
assert_called() { grep -qE -- "$1" "$STUB_LOG" || fail "expected a call matching /$1/; calls: $(cat "$STUB_LOG")"; }
refute_called() {
  if grep -nE -- "$1" "$STUB_LOG"; then fail "unexpected call matching /$1/"; fi
}
count_calls() { grep -cE -- "$1" "$STUB_LOG" || true; }
short_sha() { git -C "$REPO" rev-parse --short=12 HEAD; }
applied() { cat "$STUB_STATE/applied.yaml"; }

# ---------------------------------------------------------------------------

@test "--help prints usage, calls nothing" {
  deploy --help
  assert_success
  assert_output --partial "Usage: ./build-and-deploy.sh"
  assert_output --partial "--dry-run"
  [[ ! -s $STUB_LOG ]]
}

@test "--local hands over to scripts/local.sh up with the options after it, and deploys nothing" {
  # shellcheck disable=SC2016 # the stub expands $* and $STUB_LOG when it runs, not now
  printf '#!/usr/bin/env bash\necho "local.sh $*" >>"$STUB_LOG"\n' >"$REPO/scripts/local.sh"
  chmod +x "$REPO/scripts/local.sh"
  deploy --local --skip-tests --port 9090
  assert_success
  [[ $(cat "$STUB_LOG") == "local.sh up --skip-tests --port 9090" ]]
}

@test "unknown option: exit 2" {
  deploy --frobnicate
  assert_failure 2
  assert_output --partial "unknown argument"
  [[ ! -s $STUB_LOG ]]
}

@test "deploys: steps run in the documented order and it ends with the URL and the JSON" {
  deploy
  assert_success
  local tests build start_ing jobs ctrl load apply rollout answer
  tests=$(line_of '^tests')
  build=$(line_of '^docker build')
  start_ing=$(line_of '^minikube -p minikube addons enable ingress')
  jobs=$(line_of 'wait --for=condition=complete job.batch/ingress-nginx-admission-create')
  ctrl=$(line_of 'rollout status deployment/ingress-nginx-controller')
  load=$(line_of '^minikube -p minikube image load')
  apply=$(line_of '^kubectl --context minikube apply -k')
  rollout=$(line_of 'rollout status deployment/favorite-athlete')
  answer=$(line_of '^curl .*http://favorite-athlete\.192\.168\.49\.2\.nip\.io/')
  ((tests < build && build < start_ing && start_ing < jobs && jobs < ctrl && ctrl < load &&
    load < apply && apply < rollout && rollout < answer)) || fail "wrong order: $(cat "$STUB_LOG")"
  assert_called 'wait --for=condition=complete job.batch/ingress-nginx-admission-patch'
  # Each step is logged with a timestamp.
  local s
  for s in "1/7 preflight" "2/7 tests" "3/7 build" "4/7 cluster" "5/7 load" "6/7 apply" "7/7 verify"; do
    assert_line --regexp "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \[$s\] ==="
  done
  assert_line "URL:    http://favorite-athlete.192.168.49.2.nip.io/"
  assert_line 'Answer: {"myFavoriteAthlete":"Usain Bolt"}'
}

@test "image: built from Dockerfile.alpine, tagged with the git commit, loaded into minikube, never pushed" {
  deploy
  assert_success
  local sha
  sha=$(short_sha)
  assert_called "^docker build -f $REPO/Dockerfile.alpine -t favorite-athlete:$sha --build-arg REVISION=[0-9a-f]{40} --build-arg VERSION=[^ ]+ $REPO\$"
  assert_called "^minikube -p minikube image load favorite-athlete:$sha\$"
  applied | grep -q "image: favorite-athlete:$sha\$" || fail "applied image is not favorite-athlete:$sha"
  applied | grep -q "imagePullPolicy: IfNotPresent" || fail "imagePullPolicy"
  refute_called 'latest'
  refute_called 'push'
}

@test "image: uncommitted changes give <sha>-dirty-<hash>, stable for the same changes" {
  echo "change" >>"$REPO/Dockerfile.alpine"
  deploy --skip-tests
  assert_success
  local tag1 tag2 tag3
  tag1=$(grep -oE 'favorite-athlete:[0-9a-f]{12}-dirty-[0-9a-f]{8}' "$STUB_LOG" | head -n1)
  [[ $tag1 == favorite-athlete:$(short_sha)-dirty-* ]] || fail "tag: $tag1"
  : >"$STUB_LOG"
  deploy --skip-tests
  tag2=$(grep -oE 'favorite-athlete:[0-9a-f]{12}-dirty-[0-9a-f]{8}' "$STUB_LOG" | head -n1)
  assert_equal "$tag2" "$tag1"
  echo "new file" >"$REPO/untracked.txt"
  : >"$STUB_LOG"
  deploy --skip-tests
  tag3=$(grep -oE 'favorite-athlete:[0-9a-f]{12}-dirty-[0-9a-f]{8}' "$STUB_LOG" | head -n1)
  [[ $tag3 != "$tag1" ]] || fail "an untracked file did not change the tag"
}

@test "image: IMAGE_TAG=latest is refused" {
  IMAGE_TAG=latest deploy
  assert_failure
  assert_output --partial "invalid image tag 'latest'"
  refute_called '^docker build'
}

@test "stops when the tests fail: nothing is built or deployed" {
  STUB_TESTS_RC=1 deploy
  assert_failure
  assert_output --partial "the tests failed"
  assert_called '^tests'
  refute_called '^docker build'
  refute_called '^minikube'
  refute_called '^kubectl'
}

@test "--skip-tests skips the tests; TEST_COMMAND overrides the command" {
  deploy --skip-tests
  assert_success
  refute_called '^tests'
  : >"$STUB_LOG"
  # shellcheck disable=SC2016 # expanded later, by the script's bash -c
  TEST_COMMAND='echo "custom tests" >>"$STUB_LOG"' deploy
  assert_success
  assert_called '^custom tests'
}

@test "a failed image build stops before the cluster" {
  STUB_BUILD_RC=1 deploy --skip-tests
  assert_failure
  assert_output --partial "the image build failed"
  refute_called '^minikube'
}

@test "starts minikube when it is not running, with MINIKUBE_START_ARGS" {
  rm "$STUB_STATE/minikube-running"
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
  done < <(grep -E '^kubectl .*( wait | rollout status )' "$STUB_LOG")
  assert_called 'rollout status deployment/favorite-athlete --timeout=9s'
  assert_called 'rollout status deployment/ingress-nginx-controller --timeout=7s'
  assert_called 'rollout status deployment/metrics-server --timeout=7s'
  while IFS= read -r line; do
    [[ $line == *"--max-time "* ]] || fail "curl without --max-time: $line"
  done < <(grep -E '^curl ' "$STUB_LOG")
}

@test "curl: polls with a pause only after a failed attempt, then succeeds" {
  STUB_CURL_FAILURES=2 deploy --skip-tests
  assert_success
  assert_equal "$(count_calls '^sleep')" 2
  assert_called '^sleep 0.1$'
  # Every sleep directly follows a failed curl of the service URL.
  local prev="" line
  while IFS= read -r line; do
    if [[ $line == sleep* ]]; then [[ $prev == "curl "*nip.io* ]] || fail "sleep after '$prev'"; fi
    prev=$line
  done <"$STUB_LOG"
  assert_line 'Answer: {"myFavoriteAthlete":"Usain Bolt"}'
}

@test "curl: gives up at HTTP_TIMEOUT_SECONDS with an explanation and diagnostics" {
  SECONDS=0
  STUB_CURL_FAILURES=always HTTP_TIMEOUT_SECONDS=1 deploy --skip-tests
  assert_failure
  ((SECONDS < 20)) || fail "took ${SECONDS}s"
  assert_output --partial "no JSON answer from http://favorite-athlete.192.168.49.2.nip.io/ within 1s"
  assert_output --partial "diagnostics"
}

@test "apply: retried while the admission webhook starts, then succeeds" {
  STUB_APPLY_WEBHOOK_FAILURES=2 deploy --skip-tests
  assert_success
  assert_equal "$(count_calls 'apply -k')" 3
  assert_equal "$(count_calls '^sleep')" 2
  assert_output --partial "admission webhook is not answering yet"
}

@test "apply: gives up after APPLY_ATTEMPTS when the webhook never answers" {
  STUB_APPLY_WEBHOOK_FAILURES=99 APPLY_ATTEMPTS=3 deploy --skip-tests
  assert_failure
  assert_equal "$(count_calls 'apply -k')" 3
  assert_output --partial "still refused the Ingress after 3 attempts"
  refute_called 'rollout status deployment/favorite-athlete'
}

@test "apply: other errors are not retried" {
  STUB_APPLY_ERROR='error: resource mapping not found' deploy --skip-tests
  assert_failure
  assert_equal "$(count_calls 'apply -k')" 1
  assert_output --partial "not a webhook start-up error"
}

@test "ingress controller never ready: explained, nothing applied" {
  STUB_CONTROLLER_RC=1 deploy --skip-tests
  assert_failure
  assert_output --partial "ingress controller was not ready within 7s"
  refute_called 'apply -k'
}

@test "admission job not complete: explained, nothing applied" {
  STUB_WAIT_RC=1 deploy --skip-tests
  assert_failure
  assert_output --partial "did not complete within 7s"
  refute_called 'apply -k'
}

@test "admission jobs already cleaned up: no wait on jobs, still waits for the controller" {
  STUB_NO_JOBS=1 deploy --skip-tests
  assert_success
  refute_called 'wait --for=condition=complete'
  assert_called 'rollout status deployment/ingress-nginx-controller'
}

@test "failed rollout: diagnostics (pods, events, describe and logs of the failing pod), exit 1" {
  STUB_ROLLOUT_RC=1 deploy --skip-tests
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
  cp "$STUB_STATE/applied.yaml" "$T/first.yaml"
  : >"$STUB_LOG"
  deploy
  assert_success
  refute_called 'minikube -p minikube start'
  assert_called 'apply -k'
  assert_called 'rollout status deployment/favorite-athlete'
  diff "$T/first.yaml" "$STUB_STATE/applied.yaml" || fail "second run applied something different"

  echo "# v2" >>"$REPO/Dockerfile.alpine"
  commit_all v2
  : >"$STUB_LOG"
  deploy
  assert_success
  applied | grep -q "image: favorite-athlete:$(short_sha)\$" || fail "new tag not applied"
  [[ $(short_sha) != "$(grep -oE 'favorite-athlete:[0-9a-f]{12}' "$T/first.yaml" | cut -d: -f2)" ]]
}

@test "respects KUBECONFIG and always targets the profile's context" {
  export KUBECONFIG=$T/my-kubeconfig
  deploy --skip-tests
  assert_success
  ! grep -v "KUBECONFIG=$T/my-kubeconfig\$" "$STUB_STATE/env.log" || fail "KUBECONFIG changed"
  refute_called '--kubeconfig'
  local line
  while IFS= read -r line; do
    [[ $line == "kubectl --context minikube "* ]] || fail "kubectl without --context: $line"
  done < <(grep '^kubectl' "$STUB_LOG")
}

@test "--profile: minikube -p and kubectl --context use it" {
  deploy --skip-tests --profile demo
  assert_success
  refute_called '^minikube (-p minikube|[^-])'
  refute_called '^kubectl --context minikube'
  assert_called '^minikube -p demo addons enable ingress'
  assert_called '^kubectl --context demo apply -k .*/build/deploy/demo$'
}

@test "--dry-run prints the plan and the generated kustomization, calls nothing" {
  deploy --dry-run --tls --autoscale
  assert_success
  [[ ! -s $STUB_LOG ]] || fail "dry run called: $(cat "$STUB_LOG")"
  assert_output --partial "DRY RUN"
  assert_output --partial "would run: (cd $REPO && scripts/test.sh)"
  assert_output --partial "would run: docker build -f $REPO/Dockerfile.alpine -t favorite-athlete:$(short_sha)"
  assert_output --partial "would run: minikube -p minikube addons enable ingress"
  assert_output --partial "would run: minikube -p minikube image load favorite-athlete:$(short_sha)"
  assert_output --partial "| images:"
  assert_output --partial "|     newTag: \"$(short_sha)\""
  assert_output --partial "|   - ../../../manifests/components/tls"
  assert_output --partial "would run: kubectl --context minikube apply -k"
  assert_output --partial "would run: curl https://favorite-athlete.<minikube-ip>.nip.io/"
  [[ ! -e $REPO/build ]] || fail "dry run wrote $REPO/build"
}

@test "delete: removes the namespace (bounded) and the loaded images; builds nothing" {
  deploy --skip-tests
  assert_success
  : >"$STUB_LOG"
  deploy delete
  assert_success
  assert_called '^kubectl --context minikube delete namespace favorite-athlete --ignore-not-found --wait=true --timeout=11s$'
  assert_called "^minikube -p minikube image rm docker.io/library/favorite-athlete:$(short_sha)\$"
  refute_called '^docker'
  refute_called '^tests'
  refute_called 'apply'
  [[ ! -e $REPO/build/deploy/minikube ]] || fail "generated overlay left behind"
}

@test "delete when minikube is not running: nothing to do, success" {
  rm "$STUB_STATE/minikube-running"
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

@test "--autoscale: metrics-server enabled and waited for; HPA applied; Deployment leaves replicas to it" {
  deploy --skip-tests --autoscale
  assert_success
  assert_called '^minikube -p minikube addons enable metrics-server'
  assert_called 'rollout status deployment/metrics-server'
  applied | grep -q '^kind: HorizontalPodAutoscaler' || fail "no HPA"
  ! applied | grep -qE '^  replicas:' || fail "Deployment still sets replicas"
}

@test "node IP unreachable: says so and falls back to minikube tunnel with 127.0.0.1.nip.io" {
  STUB_NODE_REACHABLE=0 deploy --skip-tests
  assert_success
  assert_output --partial "is not reachable from this machine"
  assert_output --partial "minikube -p minikube tunnel"
  applied | grep -qE '^  - host: favorite-athlete\.127\.0\.0\.1\.nip\.io$' || fail "host"
  assert_line "URL:    http://favorite-athlete.127.0.0.1.nip.io/"
}

@test "nip.io does not resolve: falls back to curl --resolve and says so" {
  STUB_CURL_NO_DNS=1 deploy --skip-tests
  assert_success
  assert_output --partial "nip.io may be blocked"
  assert_called '^curl .*--resolve favorite-athlete\.192\.168\.49\.2\.nip\.io:80:192\.168\.49\.2'
  assert_output --partial "Try:    curl --resolve favorite-athlete.192.168.49.2.nip.io:80:192.168.49.2"
}

@test "podman: builds with podman, loads through podman save + minikube image load <tar>" {
  rm "$STUBS/docker"
  deploy --skip-tests
  assert_success
  local sha
  sha=$(short_sha)
  assert_called "^podman build .* -t docker.io/library/favorite-athlete:$sha "
  assert_called "^podman save --format docker-archive -o [^ ]+/image.tar docker.io/library/favorite-athlete:$sha\$"
  assert_called '^minikube -p minikube image load [^ ]+/image.tar$'
  refute_called '^docker'
}

@test "image missing in minikube after load: explained" {
  STUB_IMAGE_LOAD_DROPS=1 deploy --skip-tests
  assert_failure
  assert_output --partial "is not in minikube's image list"
  refute_called 'apply -k'
}

@test "preflight: a missing tool stops everything with an install hint" {
  rm "$STUBS/minikube"
  deploy
  assert_failure
  assert_output --partial "missing minikube. Install: https://minikube.sigs.k8s.io/docs/start/"
  refute_called '^tests'
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
  run "$node" "$REPO_ROOT/tests/manifests/check-policy.mjs" --tls --autoscale "$STUB_STATE/applied.yaml"
  assert_success
}
