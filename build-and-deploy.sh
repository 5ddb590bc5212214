#!/usr/bin/env bash
# build-and-deploy.sh: from a checkout to favorite-athlete answering JSON on
# http://favorite-athlete.<minikube-ip>.nip.io/ (3 replicas behind an Ingress, or an HTTPRoute on
# a Gateway: scripts/route.sh), or on an existing kubectl context with --context.
# Run with --help for usage. Written for bash >= 3.2 (macOS) and Linux; it needs
# docker or podman, minikube (not with --context), kubectl, curl (openssl for
# --tls) and basic POSIX tools, nothing else (tests/deploy checks both).
set -Eeuo pipefail

readonly APP=favorite-athlete
readonly NAMESPACE=favorite-athlete
readonly DEPLOYMENT=favorite-athlete
readonly TLS_SECRET=favorite-athlete-tls
readonly DEFAULT_CONTEXT_HOST=favorite-athlete.127.0.0.1.nip.io
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly ROOT

usage() {
  cat <<EOF
Usage: ./build-and-deploy.sh [options]                  build, deploy to minikube, wait for the JSON answer
       ./build-and-deploy.sh --context NAME [options]   the same on an existing kubectl context
       ./build-and-deploy.sh delete [options]           remove what this script deployed

Steps (each logged with a timestamp, each wait bounded):
  1. preflight: docker (or podman), minikube, kubectl, curl (openssl for --tls)
  2. build the image from Dockerfile.alpine as $APP:<tag>; its build stage runs the
     unit tests and a smoke test of the binary, so a failing test fails the build
  3. start minikube if needed, enable the route's addon (ingress or traefik) and wait until its
     controller is ready (--gateway: check the Gateway; --context: the cluster answers, no minikube)
  4. load the image into the cluster (no registry, no push; --image-load)
  5. kubectl apply -k (a generated overlay on the route's manifests/overlays/ that sets the
     image tag and the host), then kubectl rollout status (--gateway: and the route Accepted)
  6. curl http://$APP.<minikube-ip>.nip.io/ (or --url) until it answers the JSON
On failure: diagnostics (pods, events, logs of a failing pod), exit status 1.

Options:
  -p, --profile NAME   minikube profile, also the kubectl context (default: \$MINIKUBE_PROFILE or minikube)
      --skip-tests     build the image without its in-build tests (build arg SKIP_TESTS=1)
      --tls            HTTPS: Ingress TLS (overlay tls) with a self-signed certificate made by openssl
      --autoscale      HorizontalPodAutoscaler on CPU (overlay autoscale) + the metrics-server addon
      --ingress CLASS  the Ingress class: nginx (the default; minikube's ingress addon, the retired
                       ingress-nginx) or traefik (minikube >= 1.39's traefik addon); with --context any
                       class (default: traefik for k3d-* contexts, else nginx)
      --gateway NS/NAME  no Ingress: an HTTPRoute on the existing Gateway NAME in namespace NS,
                       verified through the Gateway's address (see manifests/README.md, "Which route?")
      --controller-namespace NS  with --context or --gateway: the namespace the NetworkPolicy
                       admits (defaults: nginx ingress-nginx, traefik kube-system, --gateway NS)
      --tunnel         use 127.0.0.1.nip.io and 'minikube tunnel' (automatic when the node IP is unreachable)
      --dry-run        print the plan and the generated kustomization; change nothing
      --local [opts]   no cluster: three replicas behind a local nginx (scripts/local.sh up [opts])
  -h, --help           this help
Cluster mode (an existing cluster instead of minikube; no minikube command is run):
      --context NAME   the kubectl context to deploy to (every kubectl call gets --context NAME)
      --image-load M   how the image gets into the cluster: minikube (the default without --context),
                       kind (kind load docker-image), k3d (k3d image import), none (the cluster uses
                       the engine's images), archive:CMD (save a docker-archive, run 'CMD ARCHIVE IMAGE';
                       CMD is split on spaces). Required with --context, except for contexts named
                       kind-* (kind), k3d-* (k3d) and docker-desktop (none).
      --host HOST      the Ingress host (default: $APP.<minikube-ip>.nip.io; with --context $DEFAULT_CONTEXT_HOST)
      --url URL        poll URL for the answer instead of the Ingress URL (e.g. a port-forward)
      --render-filter CMD  pipe the rendered manifests through CMD (split on spaces; stdin to stdout)
                       and apply its output with 'kubectl apply -f -' (e.g. a shim for older clusters)

Environment (defaults in brackets):
  MINIKUBE_PROFILE [minikube]     CONTAINER_ENGINE [docker, else podman]   IMAGE_TAG [from git]
  MINIKUBE_START_ARGS []          extra arguments for 'minikube start', e.g. "--driver=docker --cni=calico"
  ADDON_TIMEOUT_SECONDS [300]     ROLLOUT_TIMEOUT_SECONDS [180]   HTTP_TIMEOUT_SECONDS [120]
  DELETE_TIMEOUT_SECONDS [120]    APPLY_ATTEMPTS [5]              POLL_INTERVAL_SECONDS [2]
  KUBECONFIG is respected: the script only adds --context <profile or NAME> to kubectl.
  The tag is the git commit (+ -dirty-<hash> for changes); without git, src-<checksum of the sources>.

Examples:
  ./build-and-deploy.sh
  ./build-and-deploy.sh --profile demo --tls --autoscale
  ./build-and-deploy.sh --ingress traefik
  ./build-and-deploy.sh --gateway gateway/public --tls
  ./build-and-deploy.sh --context kind-demo
  ./build-and-deploy.sh --context prod-like --image-load 'archive:./load.sh' --url http://10.0.0.5/
  ./build-and-deploy.sh --dry-run
  ./build-and-deploy.sh delete
EOF
}

# ----------------------------------------------------------------------------
# Logging and helpers: log, warn, err, die, step and run (which only prints the
# command under --dry-run) come from scripts/log.sh, the project's one shell library.
# ----------------------------------------------------------------------------
# shellcheck source=scripts/log.sh
. "$ROOT/scripts/log.sh"
# shellcheck source=scripts/route.sh
. "$ROOT/scripts/route.sh"
usage_error() {
  echo "$*" >&2
  exit 2
}
k() { kubectl --context "$KCONTEXT" "$@"; }
mk() { minikube -p "$PROFILE" "$@"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
# first_word "CMD ARGS": the program a space-separated command line runs.
first_word() {
  local w
  for w in $1; do
    printf '%s' "$w"
    return 0
  done
}

# ----------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------
COMMAND=deploy
PROFILE=${MINIKUBE_PROFILE:-minikube}
PROFILE_GIVEN=0
CONTEXT=""
IMAGE_LOAD=""
HOST_OPTION=""
URL_OPTION=""
RENDER_FILTER=""
SKIP_TESTS=0
TLS=0
AUTOSCALE=0
TUNNEL=0
DRY_RUN=0
ENGINE=${CONTAINER_ENGINE:-}
MINIKUBE_START_ARGS=${MINIKUBE_START_ARGS:-}
ADDON_TIMEOUT=${ADDON_TIMEOUT_SECONDS:-300}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT_SECONDS:-180}
HTTP_TIMEOUT=${HTTP_TIMEOUT_SECONDS:-120}
DELETE_TIMEOUT=${DELETE_TIMEOUT_SECONDS:-120}
APPLY_ATTEMPTS=${APPLY_ATTEMPTS:-5}
POLL_INTERVAL=${POLL_INTERVAL_SECONDS:-2}

# An option's value: "--opt VALUE" or "--opt=VALUE". Sets OPTARG and OPTSHIFT.
option_value() { # option_value NAME "$@"
  local name=$1
  shift
  case $1 in
  *=*)
    OPTARG=${1#*=}
    OPTSHIFT=0
    ;;
  *)
    (($# >= 2)) || usage_error "$name needs a value"
    OPTARG=$2
    OPTSHIFT=1
    ;;
  esac
  [[ -n $OPTARG ]] || usage_error "$name needs a non-empty value"
}

while (($# > 0)); do
  OPTSHIFT=0
  case $1 in
  deploy | delete) COMMAND=$1 ;;
  -p | --profile | --profile=*)
    option_value --profile "$@"
    PROFILE=$OPTARG
    PROFILE_GIVEN=1
    ;;
  --context | --context=*)
    option_value --context "$@"
    CONTEXT=$OPTARG
    ;;
  --image-load | --image-load=*)
    option_value --image-load "$@"
    IMAGE_LOAD=$OPTARG
    ;;
  --host | --host=*)
    option_value --host "$@"
    HOST_OPTION=$OPTARG
    ;;
  --url | --url=*)
    option_value --url "$@"
    URL_OPTION=$OPTARG
    ;;
  --ingress | --ingress=* | --gateway | --gateway=* | --controller-namespace | --controller-namespace=*)
    option_value "${1%%=*}" "$@"
    route_option "${1%%=*}" "$OPTARG" # scripts/route.sh
    ;;
  --render-filter | --render-filter=*)
    option_value --render-filter "$@"
    RENDER_FILTER=$OPTARG
    ;;
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
  *) usage_error "unknown argument: $1 (see --help)" ;;
  esac
  shift
  ((OPTSHIFT == 0)) || shift
done

for v in ADDON_TIMEOUT:ADDON_TIMEOUT_SECONDS ROLLOUT_TIMEOUT:ROLLOUT_TIMEOUT_SECONDS \
  HTTP_TIMEOUT:HTTP_TIMEOUT_SECONDS DELETE_TIMEOUT:DELETE_TIMEOUT_SECONDS APPLY_ATTEMPTS:APPLY_ATTEMPTS; do
  name=${v%%:*}
  value=${!name}
  if ! is_uint "${value}" || ((value == 0)); then
    usage_error "${v#*:}: expected a positive integer, got '${value}'"
  fi
done
[[ $POLL_INTERVAL =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
  usage_error "POLL_INTERVAL_SECONDS: expected a number of seconds, got '$POLL_INTERVAL'"
[[ $PROFILE =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || usage_error "invalid minikube profile name: $PROFILE"
[[ -z $HOST_OPTION || $HOST_OPTION =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
  usage_error "--host: '$HOST_OPTION' is not a DNS name"
[[ -z $URL_OPTION || $URL_OPTION =~ ^https?://[^[:space:]]+$ ]] ||
  usage_error "--url: '$URL_OPTION' is not an http:// or https:// URL"

if [[ -n $CONTEXT ]]; then
  [[ $CONTEXT != -* ]] || usage_error "--context: '$CONTEXT' is not a context name"
  ((PROFILE_GIVEN == 0)) || usage_error "--profile is for minikube; --context NAME deploys to an existing context instead: give one of them"
  ((TUNNEL == 0)) || usage_error "--tunnel is for minikube; with --context use --host or --url"
  if [[ -z $IMAGE_LOAD ]]; then
    case $CONTEXT in
    kind-*) IMAGE_LOAD=kind ;;
    k3d-*) IMAGE_LOAD=k3d ;;
    docker-desktop) IMAGE_LOAD=none ;;
    *) [[ $COMMAND == delete ]] || usage_error "--context $CONTEXT needs --image-load METHOD (kind, k3d, none or archive:CMD): how does the image get into that cluster?" ;;
    esac
  fi
  [[ $IMAGE_LOAD != minikube ]] || usage_error "--image-load minikube needs the minikube path (no --context)"
  KCONTEXT=$CONTEXT
  # The generated overlay's directory, named for the context (any characters) without surprises.
  OVERLAY_DIR="$ROOT/build/deploy/context-$(printf '%s' "$CONTEXT" | tr -c 'A-Za-z0-9._-' '_')"
else
  IMAGE_LOAD=${IMAGE_LOAD:-minikube}
  [[ $IMAGE_LOAD == minikube ]] || usage_error "--image-load $IMAGE_LOAD needs --context NAME (the minikube path loads with minikube)"
  KCONTEXT=$PROFILE
  OVERLAY_DIR="$ROOT/build/deploy/$PROFILE" # generated overlay; build/ is git-ignored
fi
case $IMAGE_LOAD in
minikube | kind | k3d | none) ;;
archive:?*) ;;
"") ;; # delete --context: nothing is loaded
*) usage_error "--image-load: unknown method '$IMAGE_LOAD' (minikube, kind, k3d, none or archive:CMD)" ;;
esac
route_configure
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
  echo "=================== diagnostics (context $KCONTEXT) ===================" >&2
  echo "--- kubectl -n $NAMESPACE get deployment,replicaset,pods,service,$ROUTE_KIND,endpointslices -o wide" >&2
  k "$t" -n "$NAMESPACE" get "deployment,replicaset,pods,service,$ROUTE_KIND,endpointslices" -o wide >&2
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
  echo "--- kubectl -n $CONTROLLER_NS get jobs,pods" >&2
  k "$t" -n "$CONTROLLER_NS" get jobs,pods -o wide >&2
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
MISSING=0
need() { # need TOOL HINT
  if command -v "$1" >/dev/null 2>&1; then
    log "found $1: $(command -v "$1")"
  else
    err "missing $1. Install: $2"
    MISSING=1
  fi
}

need_engine() {
  if [[ -z $ENGINE ]]; then
    if command -v docker >/dev/null 2>&1; then ENGINE=docker; elif command -v podman >/dev/null 2>&1; then ENGINE=podman; fi
  fi
  case $ENGINE in
  docker) need docker "https://docs.docker.com/engine/install/" ;;
  podman) need podman "https://podman.io/docs/installation" ;;
  "")
    err "missing docker or podman. Install one: https://docs.docker.com/engine/install/ or https://podman.io/docs/installation"
    MISSING=1
    ;;
  *)
    err "CONTAINER_ENGINE must be docker or podman, not '$ENGINE'"
    MISSING=1
    ;;
  esac
}

need_image_loader() {
  case $IMAGE_LOAD in
  kind) need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
  k3d) need k3d "https://k3d.io/#installation" ;;
  archive:*) need "$(first_word "${IMAGE_LOAD#archive:}")" "the command given to --image-load archive:CMD" ;;
  *) ;;
  esac
}

preflight() {
  step "1/6 preflight" "checking the tools this needs"
  ((BASH_VERSINFO[0] > 3 || (BASH_VERSINFO[0] == 3 && BASH_VERSINFO[1] >= 2))) ||
    die "bash $BASH_VERSION is too old: this script needs bash >= 3.2"
  log "found bash $BASH_VERSION"
  [[ $COMMAND != deploy ]] || need_engine
  [[ -n $CONTEXT ]] || need minikube "https://minikube.sigs.k8s.io/docs/start/"
  need kubectl "https://kubernetes.io/docs/tasks/tools/ (kubectl >= 1.27, for kustomize components)"
  if [[ $COMMAND == deploy ]]; then
    need curl "https://curl.se/download.html (or your package manager)"
    [[ $TLS == 0 ]] || need openssl "https://openssl-library.org/source/ (or your package manager)"
    need_image_loader
    [[ -z $RENDER_FILTER ]] || need "$(first_word "$RENDER_FILTER")" "the command given to --render-filter"
  fi
  if ((MISSING)); then
    [[ $DRY_RUN == 1 ]] || die "install the missing tools above and run again"
    warn "dry run: continuing although tools are missing"
  fi
  log "kubeconfig: ${KUBECONFIG:-\$HOME/.kube/config} (kubectl is always called with --context $KCONTEXT)"
  [[ $DRY_RUN == 0 ]] || return 0
  if [[ -n $CONTEXT ]]; then
    k config get-contexts "$CONTEXT" >/dev/null 2>&1 ||
      die "kubectl does not know the context '$CONTEXT' ('kubectl config get-contexts' lists the known ones; KUBECONFIG=${KUBECONFIG:-\$HOME/.kube/config})"
    log "kubectl context $CONTEXT exists"
  fi
  if [[ $COMMAND == deploy ]]; then
    "$ENGINE" info >/dev/null 2>&1 || die "'$ENGINE info' failed: is the $ENGINE daemon/machine running and can this user use it?"
  fi
  return 0
}

# ----------------------------------------------------------------------------
# Image tag: git commit, plus -dirty-<hash of the changes> for uncommitted work,
# so every distinct build gets a distinct tag and a rerun of the same tree
# gets the same one (nothing to roll out). Without git (a downloaded archive),
# a checksum of the source files does the same job.
# ----------------------------------------------------------------------------
source_checksum() {
  (cd "$ROOT" && find . \( -name .git -o -name build -o -name .deps -o -name node_modules \) -prune -o -type f -print |
    LC_ALL=C sort | while IFS= read -r f; do
    printf '%s ' "$f"
    cksum <"$f"
  done | cksum | cut -d' ' -f1)
}

compute_tag() {
  REVISION=unknown
  VERSION=unknown
  local git=0
  if command -v git >/dev/null 2>&1 && git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    git=1
    REVISION=$(git -C "$ROOT" rev-parse HEAD)
    VERSION=$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo "$REVISION")
  fi
  if [[ -n ${IMAGE_TAG:-} ]]; then
    TAG=$IMAGE_TAG
  elif ((git == 0)); then
    TAG="src-$(source_checksum)"
    log "no git checkout (or no git): tagging with a checksum of the sources"
  else
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
# Step 2: build (the test gate runs inside it)
# ----------------------------------------------------------------------------
build_image() {
  local tests="unit tests and smoke test in the build stage"
  [[ $SKIP_TESTS == 0 ]] || tests="in-build tests skipped (--skip-tests)"
  step "2/6 build" "building $IMAGE from Dockerfile.alpine with $ENGINE ($tests)"
  [[ -f $ROOT/Dockerfile.alpine || $DRY_RUN == 1 ]] || die "Dockerfile.alpine not found in $ROOT"
  BUILD_REF=$IMAGE
  local -a args=(build -f "$ROOT/Dockerfile.alpine" -t "$BUILD_REF")
  if [[ $ENGINE == podman ]]; then
    # podman names a local image localhost/<name>; the full docker.io name makes the
    # image resolve as plain "favorite-athlete:<tag>" in the cluster, as the pods expect.
    # The docker format keeps HEALTHCHECK (OCI has no such field).
    BUILD_REF="docker.io/library/$IMAGE"
    args=(build --format docker -f "$ROOT/Dockerfile.alpine" -t "$BUILD_REF")
  fi
  args+=(--build-arg "REVISION=$REVISION" --build-arg "VERSION=$VERSION")
  [[ $SKIP_TESTS == 0 ]] || args+=(--build-arg SKIP_TESTS=1)
  run "$ENGINE" "${args[@]}" "$ROOT" ||
    die "the image build failed; a failing unit test or smoke test in the build stage fails it too (see above). Nothing was deployed."
}

# ----------------------------------------------------------------------------
# Step 3: cluster and ingress controller
# ----------------------------------------------------------------------------
# The tunnel command users must run: on Linux with a rootful driver (docker,
# podman), minikube tunnel only forwards 127.0.0.1:80/443 when bound to
# 127.0.0.1 explicitly (minikube's pkg/minikube/tunnel/kic).
tunnel_command() { printf 'minikube -p %s tunnel --bind-address=127.0.0.1' "$PROFILE"; }

check_context_cluster() {
  step "3/6 cluster" "context $CONTEXT (no minikube): the API server answers"
  CLUSTER_STEPS_STARTED=1
  HOST=${HOST_OPTION:-$DEFAULT_CONTEXT_HOST}
  # The IP a <name>.<a.b.c.d>.nip.io host stands for: curl --resolve falls back to it.
  NODE_IP=$(printf '%s\n' "$HOST" | sed -n 's/.*[.-]\([0-9]\{1,3\}\.[0-9]\{1,3\}\.[0-9]\{1,3\}\.[0-9]\{1,3\}\)\.nip\.io$/\1/p')
  run kubectl --context "$KCONTEXT" get --raw /readyz --request-timeout=20s >/dev/null ||
    die "the cluster of context $CONTEXT does not answer ('kubectl --context $CONTEXT get --raw /readyz' failed)"
  log "route: $(route_describe)"
  [[ $ROUTE != gateway ]] || route_gateway
  [[ $DRY_RUN == 0 ]] || return 0
  log "the cluster of context $CONTEXT answers; the route's controller, metrics-server and image access are up to that cluster"
  [[ $AUTOSCALE == 0 ]] || warn "--autoscale with --context: the HPA needs a metrics-server in that cluster (this script installs none)"
}

prepare_cluster() {
  step "3/6 cluster" "minikube profile $PROFILE; route: $(route_describe)"
  CLUSTER_STEPS_STARTED=1
  # A dry run reads nothing from the cluster: it shows the start as if the profile were stopped.
  if [[ $DRY_RUN == 0 ]] && mk status >/dev/null 2>&1; then
    log "minikube profile $PROFILE is running"
  elif [[ $DRY_RUN == 1 ]]; then
    log "minikube -p $PROFILE status decides: if the profile is not running, it is started"
    # shellcheck disable=SC2086 # MINIKUBE_START_ARGS is a list of arguments
    run minikube -p "$PROFILE" start $MINIKUBE_START_ARGS
  else
    log "minikube profile $PROFILE is not running: starting it (bounded by minikube's own --wait-timeout)"
    # shellcheck disable=SC2086 # MINIKUBE_START_ARGS is a list of arguments
    run minikube -p "$PROFILE" start $MINIKUBE_START_ARGS || die "minikube start failed (see its output above; 'minikube -p $PROFILE logs' has more)"
  fi
  route_prepare_minikube
  if [[ $AUTOSCALE == 1 ]]; then
    run minikube -p "$PROFILE" addons enable metrics-server || die "enabling the metrics-server addon failed"
    log "waiting up to ${ADDON_TIMEOUT}s for deployment/metrics-server"
    run kubectl --context "$KCONTEXT" -n kube-system rollout status deployment/metrics-server --timeout="${ADDON_TIMEOUT}s" ||
      die "metrics-server was not ready within ${ADDON_TIMEOUT}s"
  fi
  if [[ $ROUTE == gateway ]]; then
    route_gateway # the host and the address to verify through are the Gateway's
    return 0
  fi
  if [[ $DRY_RUN == 1 ]]; then
    NODE_IP="<minikube-ip>"
    [[ $TUNNEL == 0 ]] || NODE_IP=127.0.0.1
    HOST=${HOST_OPTION:-$APP.$NODE_IP.nip.io}
    return 0
  fi

  NODE_IP=$(mk ip) || die "'minikube -p $PROFILE ip' failed"
  [[ $NODE_IP =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "'minikube ip' gave '$NODE_IP', not an IPv4 address"
  log "minikube node IP: $NODE_IP"
  if [[ $TUNNEL == 1 ]]; then
    NODE_IP=127.0.0.1
    log "--tunnel: using 127.0.0.1; keep '$(tunnel_command)' running in another terminal"
    log "(on Linux with the docker or podman driver, minikube tunnel forwards 127.0.0.1:80/443 only with --bind-address=127.0.0.1)"
  elif ! curl -s -o /dev/null --max-time 5 "http://$NODE_IP/"; then
    # Any HTTP answer (even nginx's 404) proves the node's port 80 is reachable.
    warn "the minikube node IP $NODE_IP is not reachable from this machine. This is expected with the docker driver on macOS and Windows, where the node lives inside Docker's VM."
    warn "falling back to 'minikube tunnel' and 127.0.0.1.nip.io: run '$(tunnel_command)' in another terminal now (it may ask for your password to bind ports 80/443) and leave it running."
    warn "on Linux with the docker or podman driver, minikube tunnel forwards 127.0.0.1:80/443 only with --bind-address=127.0.0.1, as in that command."
    NODE_IP=127.0.0.1
  fi
  HOST=${HOST_OPTION:-$APP.$NODE_IP.nip.io}
}

# ----------------------------------------------------------------------------
# Step 4: load the image into the cluster
# ----------------------------------------------------------------------------
save_archive() { # save_archive FILE: the image as a docker-archive
  if [[ $ENGINE == podman ]]; then
    run podman save --format docker-archive -o "$1" "$BUILD_REF" || die "podman save failed"
  else
    run docker save -o "$1" "$IMAGE" || die "docker save failed"
  fi
}

load_image_minikube() {
  if [[ $ENGINE == podman ]]; then
    local tar="$WORK/image.tar"
    save_archive "$tar"
    run minikube -p "$PROFILE" image load "$tar" || die "minikube image load failed"
  else
    run minikube -p "$PROFILE" image load "$IMAGE" || die "minikube image load failed"
  fi
  [[ $DRY_RUN == 0 ]] || return 0
  # grep reads the whole list (no -q): under pipefail an early exit would SIGPIPE minikube.
  mk image ls 2>/dev/null | grep "$APP:$TAG\$" >/dev/null ||
    die "$IMAGE is not in minikube's image list after loading ('minikube -p $PROFILE image ls')"
  log "$IMAGE is in the cluster"
}

load_image_archive() {
  local tar="$WORK/image.tar" cmd=${IMAGE_LOAD#archive:}
  save_archive "$tar"
  # shellcheck disable=SC2086 # CMD is a command line split on spaces, as documented
  run $cmd "$tar" "$IMAGE" || die "--image-load archive: '$cmd $tar $IMAGE' failed"
  rm -f "$tar"
}

load_image() {
  step "4/6 load" "loading $IMAGE into the cluster with --image-load $IMAGE_LOAD (no registry, no push)"
  case $IMAGE_LOAD in
  minikube) load_image_minikube ;;
  kind) run kind load docker-image "$IMAGE" --name "${CONTEXT#kind-}" || die "kind load docker-image failed" ;;
  k3d) run k3d image import "$IMAGE" -c "${CONTEXT#k3d-}" || die "k3d image import failed" ;;
  none) log "--image-load none: nothing to load, the cluster uses $ENGINE's images" ;;
  archive:*) load_image_archive ;;
  esac
}

# ----------------------------------------------------------------------------
# Step 5: apply and roll out
# ----------------------------------------------------------------------------
make_certificate() { # self-signed, reused while valid for another day; for Secret $TLS_SECRET
  local dir=$1 host=$2
  if [[ -s $dir/tls/$host.crt && -s $dir/tls/$host.key ]] &&
    openssl x509 -checkend 86400 -noout -in "$dir/tls/$host.crt" >/dev/null 2>&1; then
    log "reusing the self-signed certificate for $host"
    return 0
  fi
  log "making a self-signed certificate for $host (openssl; valid 365 days; Secret $TLS_SECRET)"
  run mkdir -p "$dir/tls"
  (umask 077 && run -q openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 365 \
    -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
    -keyout "$dir/tls/$host.key" -out "$dir/tls/$host.crt") ||
    die "openssl could not make a certificate (needs OpenSSL >= 1.1.1 for -addext)"
}

# With --render-filter: render once, filter once; the apply attempts send that output.
render_filtered() {
  run kubectl --context "$KCONTEXT" kustomize "$OVERLAY_DIR" >"$WORK/rendered.yaml" || die "kubectl kustomize $OVERLAY_DIR failed"
  local rc=0
  # shellcheck disable=SC2086 # CMD is a command line split on spaces, as documented
  run $RENDER_FILTER <"$WORK/rendered.yaml" >"$WORK/filtered.yaml" || rc=$?
  ((rc == 0)) || die "--render-filter '$RENDER_FILTER' failed (exit $rc)"
  [[ $DRY_RUN == 1 || -s $WORK/filtered.yaml ]] || die "--render-filter '$RENDER_FILTER' printed nothing"
  log "rendered $OVERLAY_DIR and filtered it through '$RENDER_FILTER' (stdin to stdout)"
}

apply_once() {
  if [[ -n $RENDER_FILTER ]]; then
    run kubectl --context "$KCONTEXT" apply -f - <"$WORK/filtered.yaml"
  else
    run kubectl --context "$KCONTEXT" apply -k "$OVERLAY_DIR"
  fi
}

apply_manifests() {
  local what="apply -k"
  [[ -z $RENDER_FILTER ]] || what="kustomize | $RENDER_FILTER | kubectl apply -f -"
  step "5/6 apply" "kubectl $what ($IMAGE, host $HOST), then rollout status"
  if [[ $DRY_RUN == 1 ]]; then
    # The plan shows the kustomization it would write (written here to WORK, a temp dir).
    write_overlay "$WORK" "$HOST"
    log "would write $OVERLAY_DIR/kustomization.yaml:"
    sed 's/^/    | /' "$WORK/kustomization.yaml" >&2
    render_plan
  else
    mkdir -p "$OVERLAY_DIR"
    write_overlay "$OVERLAY_DIR" "$HOST"
    log "generated $OVERLAY_DIR/kustomization.yaml"
  fi
  [[ $TLS == 0 ]] || make_certificate "$OVERLAY_DIR" "$HOST"
  [[ -z $RENDER_FILTER ]] || render_filtered

  log "applying: up to $APPLY_ATTEMPTS attempts (retried only while ingress-nginx's admission webhook starts)"
  local attempt=1 out
  while :; do
    log "apply attempt $attempt/$APPLY_ATTEMPTS"
    if out=$(apply_once 2>&1); then
      printf '%s\n' "$out"
      break
    fi
    printf '%s\n' "$out" >&2
    case $out in
    *"failed calling webhook"* | *"validate.nginx.ingress.kubernetes.io"*)
      ((attempt < APPLY_ATTEMPTS)) ||
        die "the ingress-nginx admission webhook still refused the Ingress after $APPLY_ATTEMPTS attempts; check 'kubectl -n $CONTROLLER_NS get pods' (never delete its ValidatingWebhookConfiguration)"
      log "the admission webhook is not answering yet; retrying in ${POLL_INTERVAL}s"
      sleep "$POLL_INTERVAL"
      attempt=$((attempt + 1))
      ;;
    *) die "kubectl apply failed (not a webhook start-up error, so not retried)" ;;
    esac
  done

  log "waiting up to ${ROLLOUT_TIMEOUT}s for deployment/$DEPLOYMENT to roll out"
  run kubectl --context "$KCONTEXT" -n "$NAMESPACE" rollout status "deployment/$DEPLOYMENT" --timeout="${ROLLOUT_TIMEOUT}s" ||
    die "deployment/$DEPLOYMENT did not finish rolling out within ${ROLLOUT_TIMEOUT}s (the old pods keep serving: maxUnavailable is 0)"
}

# ----------------------------------------------------------------------------
# Step 6: the answer
# ----------------------------------------------------------------------------
check_answer() {
  local scheme=http port=80
  [[ $TLS == 0 ]] || {
    scheme=https
    port=443
  }
  URL=${URL_OPTION:-$scheme://$HOST/}
  step "6/6 verify" "waiting up to ${HTTP_TIMEOUT}s for $URL to answer the JSON {\"myFavoriteAthlete\":...} (curl every ${POLL_INTERVAL}s)"
  local body="$WORK/body" deadline=$((SECONDS + HTTP_TIMEOUT)) rc code
  local -a opts=(-sS --max-time 5 -H "Accept: application/json" -o "$body" -w "%{http_code}")
  [[ $TLS == 0 || $URL != https://* ]] || opts+=(--cacert "$OVERLAY_DIR/tls/$HOST.crt")
  # The poll repeats one curl (not logged each time); a dry run shows it once.
  if [[ $DRY_RUN == 1 ]]; then
    run curl "${opts[@]}" "$URL"
    [[ $TLS == 0 || -n $URL_OPTION ]] || check_no_plain_http
    return 0
  fi
  RESOLVE_HINT=""
  while :; do
    rc=0
    code=$(curl "${opts[@]}" "$URL" 2>"$WORK/curl.err") || rc=$?
    if ((rc == 0)) && [[ $code == 200 ]] && grep -q '"myFavoriteAthlete"' "$body"; then
      break
    fi
    if ((rc == 6)) && [[ -z $RESOLVE_HINT && -z $URL_OPTION && -n $NODE_IP ]]; then
      # nip.io names are not resolving here (offline DNS, or a resolver with DNS
      # rebinding protection that drops answers pointing to private IPs).
      warn "cannot resolve $HOST via DNS; nip.io may be blocked by this network's resolver. Using curl --resolve $HOST:$port:$NODE_IP instead."
      RESOLVE_HINT="--resolve $HOST:$port:$NODE_IP"
      opts+=(--resolve "$HOST:$port:$NODE_IP")
      continue
    fi
    if ((SECONDS >= deadline)); then
      local got
      got="$(head -c 200 "$body" 2>/dev/null || true)$(cat "$WORK/curl.err" || true)"
      err "no JSON answer from $URL within ${HTTP_TIMEOUT}s (last: curl exit $rc, HTTP ${code:-none}: $got)"
      if [[ -z $CONTEXT && $NODE_IP == 127.0.0.1 ]]; then
        die "127.0.0.1 needs '$(tunnel_command)' running in another terminal"
      fi
      [[ -z $URL_OPTION ]] || die "the pods are ready but $URL did not answer the JSON; is --url right?"
      die "the pods are ready but the $(route_title) did not answer; check 'kubectl -n $NAMESPACE describe $ROUTE_KIND $APP' and the logs of its controller (namespace $CONTROLLER_NS)"
    fi
    sleep "$POLL_INTERVAL"
  done
  ANSWER=$(cat "$body")
  [[ $TLS == 0 || -n $URL_OPTION ]] || check_no_plain_http
}

# ----------------------------------------------------------------------------
# delete
# ----------------------------------------------------------------------------
delete_namespace() {
  CLUSTER_STEPS_STARTED=1
  # Everything the script applies lives in this namespace (the Namespace is
  # part of the manifests), so deleting it removes all of it.
  run kubectl --context "$KCONTEXT" delete namespace "$NAMESPACE" --ignore-not-found --wait=true --timeout="${DELETE_TIMEOUT}s" ||
    die "namespace $NAMESPACE was not deleted within ${DELETE_TIMEOUT}s (see 'kubectl get namespace $NAMESPACE -o yaml' for what blocks it)"
}

delete_all() {
  # shellcheck disable=SC2034 # STEP: read by log() of scripts/log.sh
  STEP="delete"
  local where="minikube profile $PROFILE"
  [[ -z $CONTEXT ]] || where="context $CONTEXT"
  log "=== removing $APP from $where"
  if [[ -n $CONTEXT ]]; then
    delete_namespace
    run rm -rf "$OVERLAY_DIR"
    log "done. Images loaded into that cluster's nodes are left to its own garbage collection."
    return 0
  fi
  # A dry run reads nothing from the cluster: it shows the removal as if the profile were
  # running, with a placeholder for the image tags 'minikube image ls' would list.
  if [[ $DRY_RUN == 0 ]] && ! mk status >/dev/null 2>&1; then
    log "minikube profile $PROFILE is not running: nothing deployed to remove"
  else
    delete_namespace
    local img images="$APP:<each-loaded-tag>"
    [[ $DRY_RUN == 1 ]] || images=$(mk image ls 2>/dev/null | grep -E "(^|/)$APP:" || true)
    for img in $images; do
      run minikube -p "$PROFILE" image rm "$img" || warn "could not remove image $img"
    done
  fi
  run rm -rf "$OVERLAY_DIR"
  log "done. Left in place (may predate this script): the minikube profile and its ingress/metrics-server addons."
  log "to remove those too: minikube -p $PROFILE addons disable ingress (or traefik); or minikube delete -p $PROFILE"
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
  # Temporary files (also in a dry run, which writes its plan's kustomization there).
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/fa-deploy.XXXXXX")
  build_image
  if [[ -n $CONTEXT ]]; then check_context_cluster; else prepare_cluster; fi
  load_image
  apply_manifests
  [[ $ROUTE != gateway ]] || route_wait_accepted
  check_answer
  [[ $DRY_RUN == 0 ]] || {
    # shellcheck disable=SC2034 # STEP: read by log() of scripts/log.sh
    STEP="done"
    log "dry run complete"
    return 0
  }
  # shellcheck disable=SC2034 # STEP: read by log() of scripts/log.sh
  STEP="done"
  log "favorite-athlete is up"
  echo
  echo "URL:    $URL"
  echo "Answer: $ANSWER"
  echo "Image:  $IMAGE"
  if [[ -n $RESOLVE_HINT ]]; then
    echo "Try:    curl $RESOLVE_HINT $URL   (nip.io does not resolve on this network)"
  elif [[ $TLS == 1 && $URL == https://* ]]; then
    echo "Try:    curl --cacert $OVERLAY_DIR/tls/$HOST.crt $URL"
  else
    echo "Try:    curl $URL"
  fi
  if [[ -z $CONTEXT && $NODE_IP == 127.0.0.1 ]]; then
    echo "Needs:  $(tunnel_command)   (running in another terminal)"
  fi
}

main
