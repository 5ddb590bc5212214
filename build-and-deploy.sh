#!/usr/bin/env bash
# build-and-deploy.sh: from a checkout to favorite-athlete answering JSON on
# http://favorite-athlete.<minikube-ip>.nip.io/ (3 replicas behind ingress-nginx).
# Run with --help for usage. Written for bash >= 3.2 (macOS) and Linux.
set -Eeuo pipefail

readonly APP=favorite-athlete
readonly NAMESPACE=favorite-athlete
readonly DEPLOYMENT=favorite-athlete
readonly TLS_SECRET=favorite-athlete-tls
readonly INGRESS_NS=ingress-nginx
readonly INGRESS_CONTROLLER=ingress-nginx-controller
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly ROOT

usage() {
  cat <<EOF
Usage: ./build-and-deploy.sh [options]          build, deploy, wait for the JSON answer
       ./build-and-deploy.sh delete [options]   remove what this script deployed

Steps (each logged with a timestamp, each wait bounded):
  1. preflight: docker (or podman), minikube, kubectl, curl
  2. run the tests (\$TEST_COMMAND, default scripts/test.sh); stop on failure
  3. build the image from Dockerfile.alpine as $APP:<git-sha>[-dirty-<hash>]
  4. start minikube if needed, enable the ingress addon and wait until its
     admission jobs completed and its controller is ready
  5. load the image into minikube (no registry, no push)
  6. kubectl apply -k (a generated overlay on manifests/overlays/minikube that
     sets the image tag and the host), then kubectl rollout status
  7. curl http://$APP.<minikube-ip>.nip.io/ until it answers the JSON
On failure: diagnostics (pods, events, logs of a failing pod), exit status 1.

Options:
  -p, --profile NAME   minikube profile, also the kubectl context (default: \$MINIKUBE_PROFILE or minikube)
      --skip-tests     skip step 2
      --tls            HTTPS: Ingress TLS (overlay tls) with a self-signed certificate made by openssl
      --autoscale      HorizontalPodAutoscaler on CPU (overlay autoscale) + the metrics-server addon
      --tunnel         use 127.0.0.1.nip.io and 'minikube tunnel' (automatic when the node IP is unreachable)
      --dry-run        print the plan and the generated kustomization; change nothing
      --local [opts]   no cluster: three replicas behind a local nginx (scripts/local.sh up [opts])
  -h, --help           this help

Environment (defaults in brackets):
  MINIKUBE_PROFILE [minikube]     CONTAINER_ENGINE [docker, else podman]
  TEST_COMMAND [scripts/test.sh]  IMAGE_TAG [from git]
  MINIKUBE_START_ARGS []          extra arguments for 'minikube start', e.g. "--driver=docker --cni=calico"
  ADDON_TIMEOUT_SECONDS [300]     ROLLOUT_TIMEOUT_SECONDS [180]   HTTP_TIMEOUT_SECONDS [120]
  DELETE_TIMEOUT_SECONDS [120]    APPLY_ATTEMPTS [5]              POLL_INTERVAL_SECONDS [2]
  KUBECONFIG is respected: the script only adds --context <profile> to kubectl.

Examples:
  ./build-and-deploy.sh
  ./build-and-deploy.sh --profile demo --tls --autoscale
  ./build-and-deploy.sh --dry-run
  ./build-and-deploy.sh delete
EOF
}

# ----------------------------------------------------------------------------
# Logging and helpers
# ----------------------------------------------------------------------------
STEP="-"
log() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$STEP" "$*"; }
warn() { printf '%s [%s] WARNING: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$STEP" "$*" >&2; }
err() { printf '%s [%s] ERROR: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$STEP" "$*" >&2; }
die() {
  err "$@"
  exit 1
}
step() {
  STEP="$1/7 $2"
  log "=== $3"
}
quoted() {
  local out="" a
  for a in "$@"; do out="$out $(printf '%q' "$a")"; done
  printf '%s' "${out# }"
}
# run CMD...: log the command, then run it (or only print it with --dry-run).
run() {
  if [[ $DRY_RUN == 1 ]]; then
    printf '  would run: %s\n' "$(quoted "$@")"
    return 0
  fi
  log "+ $(quoted "$@")"
  "$@"
}
k() { kubectl --context "$PROFILE" "$@"; }
mk() { minikube -p "$PROFILE" "$@"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# ----------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------
COMMAND=deploy
PROFILE=${MINIKUBE_PROFILE:-minikube}
SKIP_TESTS=0
TLS=0
AUTOSCALE=0
TUNNEL=0
DRY_RUN=0
ENGINE=${CONTAINER_ENGINE:-}
TEST_COMMAND=${TEST_COMMAND:-scripts/test.sh}
MINIKUBE_START_ARGS=${MINIKUBE_START_ARGS:-}
ADDON_TIMEOUT=${ADDON_TIMEOUT_SECONDS:-300}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT_SECONDS:-180}
HTTP_TIMEOUT=${HTTP_TIMEOUT_SECONDS:-120}
DELETE_TIMEOUT=${DELETE_TIMEOUT_SECONDS:-120}
APPLY_ATTEMPTS=${APPLY_ATTEMPTS:-5}
POLL_INTERVAL=${POLL_INTERVAL_SECONDS:-2}

while (($# > 0)); do
  case $1 in
  deploy | delete) COMMAND=$1 ;;
  -p | --profile)
    (($# >= 2)) || {
      echo "$1 needs a value" >&2
      exit 2
    }
    PROFILE=$2
    shift
    ;;
  --profile=*) PROFILE=${1#--profile=} ;;
  --skip-tests) SKIP_TESTS=1 ;;
  --tls) TLS=1 ;;
  --autoscale) AUTOSCALE=1 ;;
  --tunnel) TUNNEL=1 ;;
  --dry-run) DRY_RUN=1 ;;
  --local)
    shift
    exec "${ROOT}/scripts/local.sh" up "$@"
    ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    echo "unknown argument: $1 (see --help)" >&2
    exit 2
    ;;
  esac
  shift
done

for v in ADDON_TIMEOUT:ADDON_TIMEOUT_SECONDS ROLLOUT_TIMEOUT:ROLLOUT_TIMEOUT_SECONDS \
  HTTP_TIMEOUT:HTTP_TIMEOUT_SECONDS DELETE_TIMEOUT:DELETE_TIMEOUT_SECONDS APPLY_ATTEMPTS:APPLY_ATTEMPTS; do
  name=${v%%:*}
  value=${!name}
  if ! is_uint "${value}" || ((value == 0)); then
    echo "${v#*:}: expected a positive integer, got '${value}'" >&2
    exit 2
  fi
done
[[ $POLL_INTERVAL =~ ^[0-9]+(\.[0-9]+)?$ ]] || {
  echo "POLL_INTERVAL_SECONDS: expected a number of seconds, got '$POLL_INTERVAL'" >&2
  exit 2
}
[[ $PROFILE =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || {
  echo "invalid minikube profile name: $PROFILE" >&2
  exit 2
}

OVERLAY_DIR="$ROOT/build/deploy/$PROFILE" # generated overlay; build/ is git-ignored
CLUSTER_STEPS_STARTED=0
WORK=""

# ----------------------------------------------------------------------------
# Diagnostics on failure
# ----------------------------------------------------------------------------
diagnostics() {
  [[ $CLUSTER_STEPS_STARTED == 1 && $DRY_RUN == 0 ]] || return 0
  command -v kubectl >/dev/null 2>&1 || return 0
  set +e
  local t="--request-timeout=15s" pods p
  echo "=================== diagnostics (context $PROFILE) ===================" >&2
  echo "--- kubectl -n $NAMESPACE get deployment,replicaset,pods,service,ingress,endpointslices -o wide" >&2
  k "$t" -n "$NAMESPACE" get deployment,replicaset,pods,service,ingress,endpointslices -o wide >&2
  echo "--- recent events in $NAMESPACE" >&2
  k "$t" -n "$NAMESPACE" get events --sort-by=.lastTimestamp 2>&1 | tail -n 25 >&2
  # Pods whose containers are not all ready: describe them and show their logs.
  pods=$(k "$t" -n "$NAMESPACE" get pods -l "app.kubernetes.io/name=$APP" \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.containerStatuses[*].ready}{"\n"}{end}' 2>/dev/null |
    awk '$0 !~ / true$/ && NF > 0 {print $1}' | head -n 2)
  for p in $pods; do
    echo "--- kubectl -n $NAMESPACE describe pod $p (last 30 lines)" >&2
    k "$t" -n "$NAMESPACE" describe pod "$p" 2>&1 | tail -n 30 >&2
    echo "--- kubectl -n $NAMESPACE logs $p (last 50 lines, and the previous container if it restarted)" >&2
    k "$t" -n "$NAMESPACE" logs "$p" --all-containers --tail=50 >&2
    k "$t" -n "$NAMESPACE" logs "$p" --all-containers --tail=50 --previous >/dev/null 2>&1 &&
      k "$t" -n "$NAMESPACE" logs "$p" --all-containers --tail=50 --previous >&2
  done
  echo "--- kubectl -n $INGRESS_NS get jobs,pods" >&2
  k "$t" -n "$INGRESS_NS" get jobs,pods -o wide >&2
  echo "======================================================================" >&2
  set -e
}

on_exit() {
  local rc=$?
  if ((rc != 0)); then
    diagnostics
    err "failed (exit $rc). See the messages above."
  fi
  [[ -z $WORK ]] || rm -rf "$WORK"
  exit "$rc"
}
trap on_exit EXIT

# ----------------------------------------------------------------------------
# Step 1: preflight
# ----------------------------------------------------------------------------
preflight() {
  step 1 preflight "checking the tools this needs"
  local missing=0
  need() { # need TOOL HINT
    if command -v "$1" >/dev/null 2>&1; then
      log "found $1: $(command -v "$1")"
    else
      err "missing $1. Install: $2"
      missing=1
    fi
  }
  if [[ $COMMAND == deploy ]]; then
    if [[ -z $ENGINE ]]; then
      if command -v docker >/dev/null 2>&1; then ENGINE=docker; elif command -v podman >/dev/null 2>&1; then ENGINE=podman; fi
    fi
    case $ENGINE in
    docker) need docker "https://docs.docker.com/engine/install/ (Debian/Ubuntu: apt-get install docker.io)" ;;
    podman) need podman "https://podman.io/docs/installation (Debian/Ubuntu: apt-get install podman)" ;;
    "")
      err "missing docker or podman. Install one: https://docs.docker.com/engine/install/ or https://podman.io/docs/installation"
      missing=1
      ;;
    *)
      err "CONTAINER_ENGINE must be docker or podman, not '$ENGINE'"
      missing=1
      ;;
    esac
  fi
  need minikube "https://minikube.sigs.k8s.io/docs/start/"
  need kubectl "https://kubernetes.io/docs/tasks/tools/ (kubectl >= 1.27, for kustomize components)"
  if [[ $COMMAND == deploy ]]; then
    need curl "your package manager (apt-get install curl / brew install curl)"
    [[ $TLS == 0 ]] || need openssl "your package manager (apt-get install openssl / brew install openssl)"
    [[ -n ${IMAGE_TAG:-} ]] || need git "https://git-scm.com/downloads (or set IMAGE_TAG)"
  fi
  if ((missing)); then
    [[ $DRY_RUN == 1 ]] || die "install the missing tools above and run again"
    warn "dry run: continuing although tools are missing"
  fi
  log "kubeconfig: ${KUBECONFIG:-\$HOME/.kube/config} (kubectl is always called with --context $PROFILE)"
  if [[ $COMMAND == deploy && $DRY_RUN == 0 ]]; then
    "$ENGINE" info >/dev/null 2>&1 || die "'$ENGINE info' failed: is the $ENGINE daemon/machine running and can this user use it?"
  fi
  return 0
}

# ----------------------------------------------------------------------------
# Image tag: git commit, plus -dirty-<hash of the changes> for uncommitted work,
# so every distinct build gets a distinct tag and a rerun of the same tree
# gets the same one (nothing to roll out).
# ----------------------------------------------------------------------------
compute_tag() {
  REVISION=unknown
  VERSION=unknown
  if git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    REVISION=$(git -C "$ROOT" rev-parse HEAD)
    VERSION=$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo "$REVISION")
  fi
  if [[ -n ${IMAGE_TAG:-} ]]; then
    TAG=$IMAGE_TAG
  else
    [[ $REVISION != unknown ]] || die "no git commit to tag the image with: commit first or set IMAGE_TAG"
    TAG=$(git -C "$ROOT" rev-parse --short=12 HEAD)
    if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=normal) ]]; then
      local changes
      changes=$(cd "$ROOT" && {
        git diff HEAD --binary
        git ls-files --others --exclude-standard | while IFS= read -r f; do
          printf '%s %s\n' "$f" "$(git hash-object -- "$f")"
        done
      } | git hash-object --stdin)
      TAG="$TAG-dirty-${changes:0:8}"
    fi
  fi
  [[ $TAG =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ && $TAG != latest ]] || die "invalid image tag '$TAG'"
  IMAGE="$APP:$TAG"
}

# ----------------------------------------------------------------------------
# Step 2: tests
# ----------------------------------------------------------------------------
run_tests() {
  step 2 tests "running the tests: $TEST_COMMAND"
  if [[ $SKIP_TESTS == 1 ]]; then
    log "skipped (--skip-tests)"
    return 0
  fi
  if [[ $DRY_RUN == 1 ]]; then
    printf '  would run: (cd %q && %s)\n' "$ROOT" "$TEST_COMMAND"
    return 0
  fi
  local rc=0
  (cd "$ROOT" && bash -c "$TEST_COMMAND") || rc=$?
  ((rc == 0)) || die "the tests failed (exit $rc): not building or deploying. Fix them, or pass --skip-tests."
  log "tests passed"
}

# ----------------------------------------------------------------------------
# Step 3: build
# ----------------------------------------------------------------------------
build_image() {
  step 3 build "building $IMAGE from Dockerfile.alpine with $ENGINE"
  [[ -f $ROOT/Dockerfile.alpine || $DRY_RUN == 1 ]] || die "Dockerfile.alpine not found in $ROOT"
  BUILD_REF=$IMAGE
  # podman names a local image localhost/<name>; the full docker.io name makes the
  # image resolve as plain "favorite-athlete:<tag>" inside minikube, as the pods expect.
  [[ $ENGINE != podman ]] || BUILD_REF="docker.io/library/$IMAGE"
  run "$ENGINE" build -f "$ROOT/Dockerfile.alpine" -t "$BUILD_REF" \
    --build-arg "REVISION=$REVISION" --build-arg "VERSION=$VERSION" "$ROOT" ||
    die "the image build failed"
}

# ----------------------------------------------------------------------------
# Step 4: cluster and ingress controller
# ----------------------------------------------------------------------------
wait_ingress_addon() {
  # The addon's admission jobs create the webhook certificate and patch it into
  # the ValidatingWebhookConfiguration; until they complete and the controller
  # is ready, creating an Ingress fails. Wait on those conditions (never delete
  # the webhook configuration: it is what rejects broken Ingresses).
  local jobs j
  jobs=$(k -n "$INGRESS_NS" get jobs -o name 2>/dev/null || true)
  if [[ -z $jobs ]]; then
    log "no admission jobs in $INGRESS_NS (already completed and cleaned up)"
  fi
  for j in $jobs; do
    log "waiting up to ${ADDON_TIMEOUT}s for $j to complete"
    if ! k -n "$INGRESS_NS" wait --for=condition=complete "$j" --timeout="${ADDON_TIMEOUT}s"; then
      # A completed job may be deleted by its TTL while we wait: that is success.
      if k -n "$INGRESS_NS" get "$j" >/dev/null 2>&1; then
        die "$j did not complete within ${ADDON_TIMEOUT}s. It creates the admission webhook certificate; see 'kubectl -n $INGRESS_NS logs $j' (raise ADDON_TIMEOUT_SECONDS on a slow machine)."
      fi
      log "$j finished and was cleaned up"
    fi
  done
  log "waiting up to ${ADDON_TIMEOUT}s for deployment/$INGRESS_CONTROLLER to be ready"
  k -n "$INGRESS_NS" rollout status "deployment/$INGRESS_CONTROLLER" --timeout="${ADDON_TIMEOUT}s" ||
    die "the ingress controller was not ready within ${ADDON_TIMEOUT}s (image pull on a slow network? see the pods below; raise ADDON_TIMEOUT_SECONDS)"
  k -n "$INGRESS_NS" wait --for=condition=Ready pod -l app.kubernetes.io/component=controller --timeout="${ADDON_TIMEOUT}s" ||
    die "the ingress controller pod was not Ready within ${ADDON_TIMEOUT}s"
  log "ingress controller ready"
}

prepare_cluster() {
  step 4 cluster "minikube profile $PROFILE, ingress addon"
  CLUSTER_STEPS_STARTED=1
  if [[ $DRY_RUN == 1 ]]; then
    printf '  would run: minikube -p %s status   (and minikube -p %s start %s if it is not running)\n' "$PROFILE" "$PROFILE" "$MINIKUBE_START_ARGS"
    printf '  would run: minikube -p %s addons enable ingress\n' "$PROFILE"
    printf '  would wait: admission jobs in %s complete, deployment/%s rolled out, controller pod Ready (%ss each)\n' "$INGRESS_NS" "$INGRESS_CONTROLLER" "$ADDON_TIMEOUT"
    [[ $AUTOSCALE == 0 ]] || printf '  would run: minikube -p %s addons enable metrics-server; wait for deployment/metrics-server\n' "$PROFILE"
    NODE_IP="<minikube-ip>"
    [[ $TUNNEL == 0 ]] || NODE_IP=127.0.0.1
    return 0
  fi
  if mk status >/dev/null 2>&1; then
    log "minikube profile $PROFILE is running"
  else
    log "minikube profile $PROFILE is not running: starting it (bounded by minikube's own --wait-timeout)"
    # shellcheck disable=SC2086 # MINIKUBE_START_ARGS is a list of arguments
    run minikube -p "$PROFILE" start $MINIKUBE_START_ARGS || die "minikube start failed (see its output above; 'minikube -p $PROFILE logs' has more)"
  fi
  run minikube -p "$PROFILE" addons enable ingress || die "enabling the ingress addon failed"
  wait_ingress_addon
  if [[ $AUTOSCALE == 1 ]]; then
    run minikube -p "$PROFILE" addons enable metrics-server || die "enabling the metrics-server addon failed"
    log "waiting up to ${ADDON_TIMEOUT}s for deployment/metrics-server"
    k -n kube-system rollout status deployment/metrics-server --timeout="${ADDON_TIMEOUT}s" ||
      die "metrics-server was not ready within ${ADDON_TIMEOUT}s"
  fi

  NODE_IP=$(mk ip) || die "'minikube -p $PROFILE ip' failed"
  [[ $NODE_IP =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "'minikube ip' gave '$NODE_IP', not an IPv4 address"
  log "minikube node IP: $NODE_IP"
  if [[ $TUNNEL == 1 ]]; then
    NODE_IP=127.0.0.1
    log "--tunnel: using 127.0.0.1; keep 'minikube -p $PROFILE tunnel' running in another terminal"
  elif ! curl -s -o /dev/null --max-time 5 "http://$NODE_IP/"; then
    # Any HTTP answer (even nginx's 404) proves the node's port 80 is reachable.
    warn "the minikube node IP $NODE_IP is not reachable from this machine. This is expected with the docker driver on macOS and Windows, where the node lives inside Docker's VM."
    warn "falling back to 'minikube tunnel' and 127.0.0.1.nip.io: run 'minikube -p $PROFILE tunnel' in another terminal now (it may ask for your password to bind ports 80/443) and leave it running."
    NODE_IP=127.0.0.1
  fi
}

# ----------------------------------------------------------------------------
# Step 5: load the image into the cluster
# ----------------------------------------------------------------------------
load_image() {
  step 5 load "loading $IMAGE into minikube (no registry, no push)"
  if [[ $ENGINE == podman ]]; then
    local tar="${WORK:-<tmp>}/image.tar"
    run podman save --format docker-archive -o "$tar" "$BUILD_REF" || die "podman save failed"
    run minikube -p "$PROFILE" image load "$tar" || die "minikube image load failed"
  else
    run minikube -p "$PROFILE" image load "$IMAGE" || die "minikube image load failed"
  fi
  [[ $DRY_RUN == 0 ]] || return 0
  mk image ls 2>/dev/null | grep -q "$APP:$TAG\$" ||
    die "$IMAGE is not in minikube's image list after loading ('minikube -p $PROFILE image ls')"
  log "$IMAGE is in the cluster"
}

# ----------------------------------------------------------------------------
# Step 6: apply and roll out
# ----------------------------------------------------------------------------
write_overlay() { # write_overlay DIR HOST: the kustomization the script applies
  local dir=$1 host=$2 base=../../../manifests
  {
    echo "# Generated by build-and-deploy.sh; do not edit (rewritten on every run)."
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "resources:"
    echo "  - $base/overlays/minikube"
    if [[ $TLS == 1 || $AUTOSCALE == 1 ]]; then
      echo "components:"
      [[ $TLS == 0 ]] || echo "  - $base/components/tls"
      [[ $AUTOSCALE == 0 ]] || echo "  - $base/components/autoscale"
    fi
    echo "images:"
    echo "  - name: $APP"
    echo "    newTag: \"$TAG\""
    echo "patches:"
    echo "  - target: {group: networking.k8s.io, version: v1, kind: Ingress, name: $APP}"
    echo "    patch: |-"
    echo "      - {op: replace, path: /spec/rules/0/host, value: $host}"
    [[ $TLS == 0 ]] || echo "      - {op: replace, path: /spec/tls/0/hosts/0, value: $host}"
    if [[ $TLS == 1 ]]; then
      echo "secretGenerator:"
      echo "  - name: $TLS_SECRET"
      echo "    namespace: $NAMESPACE"
      echo "    type: kubernetes.io/tls"
      echo "    files: [tls.crt=tls/$host.crt, tls.key=tls/$host.key]"
      echo "generatorOptions:"
      echo "  disableNameSuffixHash: true"
      echo "  labels: {app.kubernetes.io/name: $APP, app.kubernetes.io/part-of: $APP}"
    fi
  } >"$dir/kustomization.yaml"
}

make_certificate() { # self-signed, reused while valid for another day
  local dir=$1 host=$2
  mkdir -p "$dir/tls"
  if [[ -s $dir/tls/$host.crt && -s $dir/tls/$host.key ]] &&
    openssl x509 -checkend 86400 -noout -in "$dir/tls/$host.crt" >/dev/null 2>&1; then
    log "reusing the self-signed certificate for $host"
    return 0
  fi
  log "making a self-signed certificate for $host (openssl; valid 365 days)"
  (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 365 \
    -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
    -keyout "$dir/tls/$host.key" -out "$dir/tls/$host.crt" >/dev/null 2>&1) ||
    die "openssl could not make a certificate (needs OpenSSL >= 1.1.1 for -addext)"
}

apply_manifests() {
  HOST="$APP.$NODE_IP.nip.io"
  step 6 apply "kubectl apply -k ($IMAGE, host $HOST), then rollout status"
  if [[ $DRY_RUN == 1 ]]; then
    local tmp
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/fa-plan.XXXXXX")
    write_overlay "$tmp" "$HOST"
    printf '  would write %s/kustomization.yaml:\n' "$OVERLAY_DIR"
    sed 's/^/    | /' "$tmp/kustomization.yaml"
    rm -rf "$tmp"
    [[ $TLS == 0 ]] || printf '  would make a self-signed certificate for %s with openssl (Secret %s)\n' "$HOST" "$TLS_SECRET"
    printf '  would run: kubectl --context %s apply -k %s   (up to %s attempts while the admission webhook starts)\n' "$PROFILE" "$OVERLAY_DIR" "$APPLY_ATTEMPTS"
    printf '  would run: kubectl --context %s -n %s rollout status deployment/%s --timeout=%ss\n' "$PROFILE" "$NAMESPACE" "$DEPLOYMENT" "$ROLLOUT_TIMEOUT"
    return 0
  fi
  mkdir -p "$OVERLAY_DIR"
  [[ $TLS == 0 ]] || make_certificate "$OVERLAY_DIR" "$HOST"
  write_overlay "$OVERLAY_DIR" "$HOST"
  log "generated $OVERLAY_DIR/kustomization.yaml"

  local attempt=1 out
  while :; do
    log "+ kubectl --context $PROFILE apply -k $OVERLAY_DIR (attempt $attempt/$APPLY_ATTEMPTS)"
    if out=$(k apply -k "$OVERLAY_DIR" 2>&1); then
      printf '%s\n' "$out"
      break
    fi
    printf '%s\n' "$out" >&2
    case $out in
    *"failed calling webhook"* | *"validate.nginx.ingress.kubernetes.io"*)
      ((attempt < APPLY_ATTEMPTS)) ||
        die "the ingress-nginx admission webhook still refused the Ingress after $APPLY_ATTEMPTS attempts; check 'kubectl -n $INGRESS_NS get pods' (never delete its ValidatingWebhookConfiguration)"
      log "the admission webhook is not answering yet; retrying in ${POLL_INTERVAL}s"
      sleep "$POLL_INTERVAL"
      attempt=$((attempt + 1))
      ;;
    *) die "kubectl apply failed (not a webhook start-up error, so not retried)" ;;
    esac
  done

  log "waiting up to ${ROLLOUT_TIMEOUT}s for deployment/$DEPLOYMENT to roll out"
  k -n "$NAMESPACE" rollout status "deployment/$DEPLOYMENT" --timeout="${ROLLOUT_TIMEOUT}s" ||
    die "deployment/$DEPLOYMENT did not finish rolling out within ${ROLLOUT_TIMEOUT}s (the old pods keep serving: maxUnavailable is 0)"
}

# ----------------------------------------------------------------------------
# Step 7: the answer
# ----------------------------------------------------------------------------
check_answer() {
  local scheme=http port=80
  [[ $TLS == 0 ]] || {
    scheme=https
    port=443
  }
  URL="$scheme://$HOST/"
  step 7 verify "waiting up to ${HTTP_TIMEOUT}s for $URL to answer the JSON"
  if [[ $DRY_RUN == 1 ]]; then
    printf '  would run: curl %s until it answers {"myFavoriteAthlete":...} (every %ss, at most %ss)\n' "$URL" "$POLL_INTERVAL" "$HTTP_TIMEOUT"
    return 0
  fi
  local body="$WORK/body" deadline=$((SECONDS + HTTP_TIMEOUT)) rc code
  local -a opts=(-sS --max-time 5 -H "Accept: application/json" -o "$body" -w "%{http_code}")
  [[ $TLS == 0 ]] || opts+=(--cacert "$OVERLAY_DIR/tls/$HOST.crt")
  RESOLVE_HINT=""
  while :; do
    rc=0
    code=$(curl "${opts[@]}" "$URL" 2>"$WORK/curl.err") || rc=$?
    if ((rc == 0)) && [[ $code == 200 ]] && grep -q '"myFavoriteAthlete"' "$body"; then
      break
    fi
    if ((rc == 6)) && [[ -z $RESOLVE_HINT ]]; then
      # nip.io names are not resolving here (offline DNS, or a resolver with DNS
      # rebinding protection that drops answers pointing to private IPs).
      warn "cannot resolve $HOST via DNS; nip.io may be blocked by this network's resolver. Using curl --resolve $HOST:$port:$NODE_IP instead."
      RESOLVE_HINT="--resolve $HOST:$port:$NODE_IP"
      opts+=(--resolve "$HOST:$port:$NODE_IP")
      continue
    fi
    if ((SECONDS >= deadline)); then
      err "no JSON answer from $URL within ${HTTP_TIMEOUT}s (last: curl exit $rc, HTTP ${code:-none}: $(head -c 200 "$body" 2>/dev/null; cat "$WORK/curl.err"))"
      if [[ $NODE_IP == 127.0.0.1 ]]; then
        die "127.0.0.1 needs 'minikube -p $PROFILE tunnel' running in another terminal"
      fi
      die "the pods are ready but the Ingress did not answer; check 'kubectl -n $NAMESPACE describe ingress $APP' and the ingress-nginx controller logs"
    fi
    sleep "$POLL_INTERVAL"
  done
  ANSWER=$(cat "$body")
}

# ----------------------------------------------------------------------------
# delete
# ----------------------------------------------------------------------------
delete_all() {
  STEP="delete"
  log "=== removing $APP from minikube profile $PROFILE"
  if [[ $DRY_RUN == 1 ]]; then
    printf '  would run: kubectl --context %s delete namespace %s --ignore-not-found --wait=true --timeout=%ss\n' "$PROFILE" "$NAMESPACE" "$DELETE_TIMEOUT"
    printf '  would run: minikube -p %s image rm %s:<each loaded tag>\n' "$PROFILE" "$APP"
    printf '  would remove: %s\n' "$OVERLAY_DIR"
    return 0
  fi
  if ! mk status >/dev/null 2>&1; then
    log "minikube profile $PROFILE is not running: nothing deployed to remove"
  else
    CLUSTER_STEPS_STARTED=1
    # Everything the script applies lives in this namespace (the Namespace is
    # part of the manifests), so deleting it removes all of it.
    run kubectl --context "$PROFILE" delete namespace "$NAMESPACE" --ignore-not-found --wait=true --timeout="${DELETE_TIMEOUT}s" ||
      die "namespace $NAMESPACE was not deleted within ${DELETE_TIMEOUT}s (see 'kubectl get namespace $NAMESPACE -o yaml' for what blocks it)"
    local img
    for img in $(mk image ls 2>/dev/null | grep -E "(^|/)$APP:" || true); do
      run minikube -p "$PROFILE" image rm "$img" || warn "could not remove image $img"
    done
  fi
  rm -rf "$OVERLAY_DIR"
  log "done. Left in place (may predate this script): the minikube profile and its ingress/metrics-server addons."
  log "to remove those too: minikube -p $PROFILE addons disable ingress; or minikube delete -p $PROFILE"
}

# ----------------------------------------------------------------------------
main() {
  [[ $DRY_RUN == 0 ]] || log "DRY RUN: printing the plan, changing nothing"
  preflight
  if [[ $COMMAND == delete ]]; then
    delete_all
    return 0
  fi
  compute_tag
  log "image $IMAGE (revision $REVISION)"
  [[ $DRY_RUN == 1 ]] || WORK=$(mktemp -d "${TMPDIR:-/tmp}/fa-deploy.XXXXXX")
  run_tests
  build_image
  prepare_cluster
  load_image
  apply_manifests
  check_answer
  [[ $DRY_RUN == 0 ]] || {
    STEP="done"
    log "dry run complete"
    return 0
  }
  STEP="done"
  log "favorite-athlete is up"
  echo
  echo "URL:    $URL"
  echo "Answer: $ANSWER"
  echo "Image:  $IMAGE"
  if [[ -n $RESOLVE_HINT ]]; then
    echo "Try:    curl $RESOLVE_HINT $URL   (nip.io does not resolve on this network)"
  elif [[ $TLS == 1 ]]; then
    echo "Try:    curl --cacert $OVERLAY_DIR/tls/$HOST.crt $URL"
  else
    echo "Try:    curl $URL"
  fi
}

main
