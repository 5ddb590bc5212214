#!/usr/bin/env bats
# build-and-deploy.sh run against the stub tools: what a plan (plans.bats) cannot show (waits,
# retries and their limits, failures and diagnostics, fallbacks, state across runs), on minikube
# with each route, on --context, and with only the host requirements.
# The checkout, the stubs and the helpers: deploy_helpers.bash.

load deploy_helpers

# built_tag ARG...: a deploy with those arguments (its log alone in FA_STUB_LOG); prints the image it built.
built_tag() {
  : >"$FA_STUB_LOG"
  deploy "$@"
  assert_success
  sed -n 's/^docker build .* -t \([^ ]*\) .*/\1/p' "$FA_STUB_LOG"
}

@test "image: uncommitted changes give <sha>-dirty-<hash>, stable for the same changes" {
  echo "change" >>"$REPO/Dockerfile.alpine"
  local tag
  tag=$(built_tag --skip-tests)
  [[ $tag == favorite-athlete:$(short_sha)-dirty-* ]] || fail "tag: $tag"
  assert_equal "$(built_tag --skip-tests)" "$tag"
  echo "new file" >"$REPO/untracked.txt"
  [[ $(built_tag --skip-tests) != "$tag" ]] || fail "an untracked file did not change the tag"
}

@test "a failing in-image test fails the build: nothing is loaded, applied or started" {
  FA_STUB_FAIL='^docker build' FA_STUB_FAIL_MESSAGE="FAIL: GET / answered '{}' (the in-image smoke test)" deploy
  assert_failure 1
  assert_output --partial "FAIL: GET / answered"
  assert_output --partial "the image build failed; a failing unit test or smoke test in the build stage fails it too"
  assert_called '^docker build'
  refute_called '^minikube'
  refute_called '^kubectl'
  refute_called '^curl'
}

@test "curl: polls with a pause only after a failed attempt, then succeeds" {
  FA_STUB_FAIL='^curl .*nip\.io' FA_STUB_FAIL_FIRST=2 deploy --skip-tests
  assert_success
  assert_equal "$(count_calls '^sleep')" 2
  assert_called '^sleep 0.1$'
  assert_line 'Answer: {"myFavoriteAthlete":"Usain Bolt"}'
}

# On an Ingress: cluster.broken_manifest (tests/cluster/deploy.sh broken), on a real cluster.
@test "curl: not the JSON by FA_HTTP_TIMEOUT_SECONDS: gives up, says what to check, diagnostics" {
  local args want
  while IFS='|' read -r args want; do
    SECONDS=0
    # shellcheck disable=SC2086 # each line's arguments, split
    FA_STUB_CURL_BODY='<html>default backend - 404</html>' FA_HTTP_TIMEOUT_SECONDS=1 deploy --skip-tests $args
    assert_failure 1
    ((SECONDS < 20)) || fail "took ${SECONDS}s"
    assert_output --partial "within 1s (last: curl exit 0, HTTP 200: <html>default backend - 404</html>)"
    assert_output --partial "$want"
    assert_output --partial "diagnostics"
  done <<'LATE'
--gateway gateway/public|the pods are ready but the HTTPRoute did not answer
--tunnel|127.0.0.1 needs 'minikube -p minikube tunnel --bind-address=127.0.0.1' running in another terminal
--context other --image-load none|the pods are ready but the Ingress did not answer
LATE
}

@test "apply: retried only while the admission webhook starts, up to 5 attempts, with a pause before each retry" {
  local first message rc applies want
  while IFS='|' read -r first message rc applies want; do
    rm -f "$FA_STUB_STATE/failed" && : >"$FA_STUB_LOG"
    FA_STUB_FAIL="apply -k" FA_STUB_FAIL_FIRST=$first FA_STUB_FAIL_MESSAGE=$message deploy --skip-tests
    assert_equal "$status" "$rc"
    assert_equal "$(count_calls 'apply -k')" "$applies"
    assert_equal "$(count_calls '^sleep')" $((applies - 1))
    assert_output --partial "$want"
  done <<APPLY
2|$WEBHOOK_DOWN|0|3|admission webhook is not answering yet
|$WEBHOOK_DOWN|1|5|still refused the Ingress after 5 attempts
|error: resource mapping not found|1|1|not a webhook start-up error
APPLY
}

# Each row: the call that fails (FA_STUB_FAIL), the arguments, the message, a call that must not
# have happened (the step it stops before).
@test "a check or a wait fails: explained, stops before the next step" {
  local call args want never
  while IFS='|' read -r call args want never; do
    : >"$FA_STUB_LOG"
    # shellcheck disable=SC2086 # each line's arguments, split
    FA_STUB_FAIL=$call deploy $args --skip-tests
    assert_failure 1
    assert_output --partial "$want"
    refute_called "$never"
  done <<'FAILS'
|FA_IMAGE_TAG=latest|invalid image tag 'latest'|^docker build
config get-contexts kind-nope$|--context kind-nope|kubectl does not know the context 'kind-nope'|^docker build
^docker info||'docker info' failed: is the docker daemon/machine running|^docker build
get --raw /readyz|--context kind-demo|the cluster of context kind-demo does not answer|^kind load
rollout status deployment/ingress-nginx-controller||deployment/ingress-nginx-controller did not finish rolling out within 7s|apply -k
wait --for=condition=Ready pod||the ingress controller pod was not Ready within 7s|apply -k
wait --for=condition=complete||did not complete within 7s|apply -k
minikube .*image ls||is not in minikube's image list|apply -k
minikube -p minikube ip$||'minikube -p minikube ip' gave '', not an IPv4 address|apply -k
FAILS
}

@test "admission jobs already cleaned up: no wait on jobs, still waits for the controller" {
  FA_STUB_FAIL='get jobs' deploy --skip-tests
  assert_success
  refute_called 'wait --for=condition=complete'
  assert_called 'rollout status deployment/ingress-nginx-controller'
  # A job deleted by its TTL during the wait completed.
  FA_STUB_FAIL='wait --for=condition=complete|get job\.batch/' deploy --skip-tests
  assert_success
  assert_output --partial "job.batch/ingress-nginx-admission-create finished and was cleaned up"
}

@test "failed rollout: diagnostics (pods, events, describe and logs of the failing pod), exit 1" {
  FA_STUB_FAIL='rollout status deployment/favorite-athlete' deploy --skip-tests
  assert_failure 1
  assert_output --partial "did not finish rolling out within 9s"
  assert_output --partial "diagnostics"
  assert_called 'get deployment,replicaset,pods,service,ingress,endpointslices'
  assert_called 'get events'
  assert_called 'describe pod favorite-athlete-7c9d8-abcde'
  assert_called 'logs favorite-athlete-7c9d8-abcde --all-containers$'
  # Its last crash's logs too; nothing of the ready pod; the route's controller.
  assert_called 'logs favorite-athlete-7c9d8-abcde --all-containers --tail=50 --previous'
  refute_called 'logs favorite-athlete-7c9d8-fghij'
  assert_called '^kubectl --context minikube --request-timeout=15s -n ingress-nginx get jobs,pods'
  assert_output --partial "stub log of favorite-athlete-7c9d8-abcde"
  refute_called 'nip.io'
}

# The steps in order, each message with its time: the plan's (golden/dry_run_default.txt).
@test "deploys: the wait for each admission job, the answer; a second run starts nothing new and applies the same; a new commit rolls out its tag" {
  deploy
  assert_success
  assert_called 'wait --for=condition=complete job.batch/ingress-nginx-admission-create'
  assert_called 'wait --for=condition=complete job.batch/ingress-nginx-admission-patch'
  assert_line "URL:    http://favorite-athlete.192.168.49.2.nip.io/"
  assert_line 'Answer: {"myFavoriteAthlete":"Usain Bolt"}'
  assert_line "Image:  favorite-athlete:$(short_sha)"
  refute_called '^sleep' # no blind sleep: every condition was met at once
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

@test "respects KUBECONFIG; --profile: every minikube call has -p, every kubectl call --context, that profile" {
  export KUBECONFIG=$T/my-kubeconfig
  rm "$FA_STUB_STATE/minikube-running" # started as it is not running (its arguments: golden/dry_run_minikube_options.diff)
  deploy --skip-tests --profile demo
  assert_called '^minikube -p demo start$'
  assert_success
  ! grep -v "KUBECONFIG=$T/my-kubeconfig\$" "$FA_STUB_STATE/env.log" || fail "KUBECONFIG changed"
  refute_called '--kubeconfig'
  assert_equal "$(count_calls '^minikube -p demo ')" "$(count_calls '^minikube ')"
  assert_equal "$(count_calls '^kubectl --context demo ')" "$(count_calls '^kubectl ')"
  [[ -f $REPO/build/deploy/demo/kustomization.yaml ]] || fail "the generated overlay is not the profile's"
}

# The bounded namespace deletion: golden/dry_run_delete.txt.
@test "delete: removes the loaded images and the generated overlay, builds nothing; with minikube not running, nothing to do" {
  deploy --skip-tests
  assert_success
  : >"$FA_STUB_LOG"
  NO_GIT=1 deploy delete # delete needs no git
  assert_success
  assert_called "^minikube -p minikube image rm docker.io/library/favorite-athlete:$(short_sha)\$"
  refute_called '^docker'
  refute_called 'apply'
  [[ ! -e $REPO/build/deploy/minikube ]] || fail "generated overlay left behind"
  rm "$FA_STUB_STATE/minikube-running"
  : >"$FA_STUB_LOG"
  NO_GIT=1 deploy delete
  assert_success
  assert_output --partial "nothing deployed to remove"
  refute_called '^kubectl'
}

# Its Secret, the Ingress TLS for the host, the https check with --cacert, and --autoscale's HPA
# and metrics-server: golden/dry_run_tls_autoscale.diff.
@test "--tls: a self-signed certificate for the node's host, made by openssl, reused while valid" {
  deploy --skip-tests --tls
  assert_success
  local host=favorite-athlete.192.168.49.2.nip.io
  openssl x509 -noout -subject -in "$REPO/build/deploy/minikube/tls/$host.crt" | grep -q "$host"
  refute_output --partial "+++++" # openssl's progress is not shown (run -q)
  assert_output --partial "plain HTTP does not serve it: http://$host/ answered HTTP 308"
  # Second run reuses the certificate (no new Secret content, nothing to roll).
  local before
  before=$(cat "$REPO/build/deploy/minikube/tls/$host.crt")
  deploy --skip-tests --tls
  assert_success
  assert_output --partial "reusing the self-signed certificate"
  assert_line "Try:    curl --cacert $REPO/build/deploy/minikube/tls/$host.crt https://$host/"
  assert_equal "$(cat "$REPO/build/deploy/minikube/tls/$host.crt")" "$before"
}

@test "node IP unreachable: says so and falls back to minikube tunnel with 127.0.0.1.nip.io" {
  FA_STUB_FAIL='^curl .*http://192\.168\.49\.2/$' deploy --skip-tests
  assert_success
  assert_output --partial "is not reachable from this machine"
  assert_output --partial "run 'minikube -p minikube tunnel --bind-address=127.0.0.1' in another terminal"
  assert_output --partial "on Linux with the docker or podman driver, minikube tunnel forwards 127.0.0.1:80/443 only with --bind-address=127.0.0.1"
  assert_line "Needs:  minikube -p minikube tunnel --bind-address=127.0.0.1   (running in another terminal)"
  applied | grep -qE '^  - host: favorite-athlete\.127\.0\.0\.1\.nip\.io$' || fail "host"
  assert_line "URL:    http://favorite-athlete.127.0.0.1.nip.io/"
  # --tunnel asks for the same without the probe.
  : >"$FA_STUB_LOG"
  deploy --skip-tests --tunnel
  assert_success
  refute_called '^curl .*http://192\.168\.49\.2/$'
  refute_output --partial "is not reachable"
  assert_output --partial "run 'minikube -p minikube tunnel --bind-address=127.0.0.1' in another terminal"
  assert_line "Needs:  minikube -p minikube tunnel --bind-address=127.0.0.1   (running in another terminal)"
  assert_line "URL:    http://favorite-athlete.127.0.0.1.nip.io/"
}

@test "nip.io does not resolve: falls back to curl --resolve and says so" {
  FA_STUB_CURL_NO_DNS=1 deploy --skip-tests
  assert_success
  assert_output --partial "nip.io may be blocked"
  assert_called '^curl .*--resolve favorite-athlete\.192\.168\.49\.2\.nip\.io:80:192\.168\.49\.2'
  assert_output --partial "Try:    curl --resolve favorite-athlete.192.168.49.2.nip.io:80:192.168.49.2"
  # With --context, the address a --host <name>.<ip>.nip.io stands for.
  FA_STUB_CURL_NO_DNS=1 deploy --skip-tests --context other --image-load none --host fa.10.1.2.3.nip.io
  assert_success
  assert_called '^curl .*--resolve fa\.10\.1\.2\.3\.nip\.io:80:10\.1\.2\.3 '
}

@test "the applied manifests pass the manifest policy (tests/manifests)" {
  [[ -d $REPO_ROOT/tests/node_modules/yaml ]] || skip "run 'npm ci --prefix tests'"
  local node
  node=$(PATH=/usr/local/bin:/usr/bin:/bin command -v node) || skip "node not found"
  deploy --skip-tests --tls --autoscale
  assert_success
  run "$node" "$REPO_ROOT/tests/manifests/manifest_checks.mjs" policy_of "$FA_STUB_STATE/applied.yaml" --tls --autoscale
  assert_success
}

# The public route (scripts/deploy_route.sh): --ingress traefik, --gateway NS/NAME.

# The traefik addon, its wait and its Ingress: golden/dry_run_traefik.diff.
@test "--ingress traefik: minikube's version is read, and one older than 1.39 refused" {
  deploy --ingress traefik --skip-tests
  assert_success
  assert_called '^minikube version --short$'
  FA_STUB_ANSWER='version --short' FA_STUB_ANSWER_TEXT=v1.38.1 deploy --ingress traefik --skip-tests
  assert_failure 1
  assert_output --partial "--ingress traefik needs minikube >= 1.39"
  assert_output --partial "this is minikube 1.38.1"
}

# The nginx route checks the traefik addon the same way: golden/dry_run_default.txt.
@test "the two addons cannot run together: a stop that says what to run, never a disable" {
  FA_STUB_ADDONS_ENABLED="metrics-server ingress" deploy --ingress traefik --skip-tests
  assert_failure 1
  assert_output --partial "the ingress addon is enabled on minikube profile minikube, and it cannot run beside the traefik addon"
  assert_output --partial "run 'minikube -p minikube addons disable ingress' yourself"
  refute_called 'addons (enable|disable)'
  refute_called 'apply'
}

# The steps of --gateway, in order, and its HTTPRoute: golden/dry_run_gateway.diff.
@test "--gateway: the route waited for until Accepted, verified through the Gateway's address" {
  deploy --gateway gateway/public --skip-tests
  assert_success
  assert_output --partial "the Gateway gateway/public accepted httproute/favorite-athlete"
  applied | grep -qx '  - favorite-athlete.192.168.49.100.nip.io' || fail "the route's host is not the Gateway address's nip.io name"
  assert_line "URL:    http://favorite-athlete.192.168.49.100.nip.io/"
  refute_called '^minikube -p minikube ip'
}

@test "--gateway: no such Gateway, or no address to verify through, stops before the apply, naming it" {
  FA_STUB_FAIL='get gateway' deploy --gateway gateway/public --skip-tests
  assert_failure 1
  assert_output --partial "no Gateway gateway/public on context minikube"
  assert_output --partial "kubectl get gateways -A"
  refute_output --partial "address" # it stopped at the missing Gateway, not later
  local answer want
  while IFS='|' read -r answer want; do
    FA_STUB_ANSWER='get gateway' FA_STUB_ANSWER_TEXT=$answer deploy --gateway gateway/public --skip-tests
    assert_failure 1
    assert_output --partial "$want"
  done <<'ADDRESS'
nginx gw.example.com|the Gateway gateway/public's address is the name gw.example.com, not an IPv4 address: give --host
nginx |the Gateway gateway/public has no address yet
ADDRESS
  refute_called 'apply'
}

@test "--gateway: a route the Gateway does not accept fails at the deadline, naming the Gateway and its reason" {
  export FA_ADDON_TIMEOUT_SECONDS=1 FA_STUB_ANSWER='get httproute'
  local status want
  while IFS='|' read -r status want; do
    : >"$FA_STUB_LOG"
    FA_STUB_ANSWER_TEXT=$status deploy --gateway gateway/public --skip-tests
    assert_failure 1
    assert_output --partial "the Gateway gateway/public did not accept httproute/favorite-athlete within 1s: $want"
    assert_output --partial "allowedRoutes admit namespace favorite-athlete"
    assert_called '^sleep 0.1$' # between the polls
    refute_called '^curl .*nip\.io'
  done <<'STATUS'
Accepted=False (NotAllowedByListeners: no listener allows namespace favorite-athlete); ResolvedRefs=True (ResolvedRefs: ok); |Accepted=False (NotAllowedByListeners
Accepted=True (Accepted: Accepted); ResolvedRefs=False (BackendNotFound: no Service favorite-athlete); |Accepted=True (Accepted: Accepted); ResolvedRefs=False (BackendNotFound
|no status from the Gateway's controller
STATUS
}

@test "--tls: plain HTTP must not answer the JSON on any route" {
  deploy --gateway gateway/public --tls --skip-tests
  assert_success
  assert_output --partial "plain HTTP does not serve it"
  FA_STUB_HTTP_PLAIN=1 deploy --ingress traefik --tls --skip-tests
  assert_failure 1
  assert_output --partial "still answers the JSON over plain HTTP"
}

# --context NAME: an existing cluster, no minikube at all.

# Its plan: golden/dry_run_context.diff (there with --image-load kind given; a kind-* context
# implies it, as here).
@test "--context kind-*: deploys without minikube, loaded with kind, every kubectl call on it" {
  rm "$STUBS/minikube"
  deploy --context kind-demo --autoscale
  assert_success
  assert_called "^kind load docker-image favorite-athlete:$(short_sha) --name demo\$"
  assert_equal "$(count_calls '^kubectl --context kind-demo ')" "$(count_calls '^kubectl ')"
  assert_line "URL:    http://favorite-athlete.127.0.0.1.nip.io/"
  assert_output --partial "--autoscale with --context: the HPA needs a metrics-server in that cluster"
}

# Only the host requirements: docker or podman, minikube, kubectl, curl (openssl for --tls), bash
# and basic POSIX tools; every test runs the script so, plus git for its tag (deploy_helpers.bash).
@test "host requirements only: deploys end to end without git, tagged src-<checksum>" {
  NO_GIT=1 deploy
  assert_success
  assert_line 'Answer: {"myFavoriteAthlete":"Usain Bolt"}'
  # The same sources give the same tag; a changed file a new one.
  local tag
  tag=$(NO_GIT=1 built_tag --skip-tests)
  [[ $tag =~ ^favorite-athlete:src-[0-9]+$ ]] || fail "no src-<checksum> tag: $tag"
  assert_equal "$(NO_GIT=1 built_tag --skip-tests)" "$tag"
  echo "# changed" >>"$REPO/Dockerfile.alpine"
  [[ $(NO_GIT=1 built_tag --skip-tests) != "$tag" ]] || fail "a changed file did not change the tag"
}
