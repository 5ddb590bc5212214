#!/usr/bin/env bash
# build-and-deploy.sh: from a checkout to favorite-athlete answering JSON on
# http://favorite-athlete.<minikube-ip>.nip.io/ (3 replicas behind an Ingress, or an HTTPRoute on
# a Gateway: scripts/deploy_route.sh), or on an existing kubectl context with --context.
# Run with --help for usage. Written for bash >= 3.2 (macOS) and Linux; it needs
# docker or podman, minikube (not with --context), kubectl, curl (openssl for
# --tls) and basic POSIX tools, nothing else (tests/deploy checks both). The steps live here and
# in the files it sources: scripts/deploy_image.sh (tag, build, load), scripts/deploy_cluster.sh
# (minikube or the context, diagnostics), scripts/deploy_route.sh (Ingress or HTTPRoute, the overlay).
set -Eeuo pipefail

readonly APP=favorite-athlete
readonly NAMESPACE=favorite-athlete
readonly DEPLOYMENT=favorite-athlete
readonly TLS_SECRET=favorite-athlete-tls
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly ROOT

usage() {
  cat <<EOF
Usage: ./build-and-deploy.sh [options]                  build, deploy to minikube, wait for the JSON answer
       ./build-and-deploy.sh --context NAME [options]   the same on an existing kubectl context
       ./build-and-deploy.sh delete [options]           remove what this script deployed

Steps: 1 preflight, 2 build (the image's build stage runs the unit tests and a smoke test: a
failing test fails it), 3 cluster, 4 load, 5 apply, 6 verify; each logged with a timestamp, each
wait bounded. --dry-run prints every command; manifests/README.md explains each step. On failure:
diagnostics (pods, events, logs of a failing pod), exit status 1.

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
  -h, --help           this help
Cluster mode (an existing cluster instead of minikube; no minikube command is run):
      --context NAME   the kubectl context to deploy to (every kubectl call gets --context NAME)
      --image-load M   how the image gets into the cluster (minikube's own load without --context):
                       kind (kind load docker-image), k3d (k3d image import), none (the cluster uses
                       the engine's images), archive:CMD (save a docker-archive, run 'CMD ARCHIVE IMAGE';
                       CMD is split on spaces). Required with --context, except for contexts named
                       kind-* (kind), k3d-* (k3d) and docker-desktop (none).
      --host HOST      the Ingress host (default: $APP.<minikube-ip>.nip.io; with --context $APP.127.0.0.1.nip.io)

Environment (defaults in brackets):
  MINIKUBE_PROFILE [minikube]       FA_CONTAINER_ENGINE [docker, else podman]   FA_IMAGE_TAG [from git]
  FA_MINIKUBE_START_ARGS []         extra arguments for 'minikube start', e.g. "--driver=docker --cni=calico"
  FA_ADDON_TIMEOUT_SECONDS [300]    FA_ROLLOUT_TIMEOUT_SECONDS [180]   FA_HTTP_TIMEOUT_SECONDS [120]
  FA_DELETE_TIMEOUT_SECONDS [120]   FA_POLL_INTERVAL_SECONDS [2]
  KUBECONFIG is respected: the script only adds --context <profile or NAME> to kubectl.
  The tag is the git commit (+ -dirty-<hash> for changes); without git, src-<checksum of the sources>.

No cluster at all: 'docker compose up' (three replicas behind nginx) or 'scripts/serve.sh' (one).
EOF
}

# log, warn, err, die, step and run (which only prints the command under --dry-run) come from
# scripts/log.sh, the project's one shell library.
# shellcheck source=scripts/log.sh
. "$ROOT/scripts/log.sh"
# shellcheck source=scripts/deploy_image.sh
. "$ROOT/scripts/deploy_image.sh"
# shellcheck source=scripts/deploy_cluster.sh
. "$ROOT/scripts/deploy_cluster.sh"
# shellcheck source=scripts/deploy_route.sh
. "$ROOT/scripts/deploy_route.sh"
usage_error() {
  echo "$*" >&2
  exit 2
}
k() { kubectl --context "$KCONTEXT" "$@"; }
mk() { minikube -p "$PROFILE" "$@"; }

COMMAND=deploy
PROFILE=${MINIKUBE_PROFILE:-minikube}
PROFILE_GIVEN=0
CONTEXT=""
IMAGE_LOAD=""
HOST_OPTION=""
SKIP_TESTS=0
TLS=0
AUTOSCALE=0
TUNNEL=0
ENGINE=${FA_CONTAINER_ENGINE:-}
# The tooling's settings (--help, "Environment") are read under their own names, with these defaults.
FA_MINIKUBE_START_ARGS=${FA_MINIKUBE_START_ARGS:-}
FA_ADDON_TIMEOUT_SECONDS=${FA_ADDON_TIMEOUT_SECONDS:-300}
FA_ROLLOUT_TIMEOUT_SECONDS=${FA_ROLLOUT_TIMEOUT_SECONDS:-180}
FA_HTTP_TIMEOUT_SECONDS=${FA_HTTP_TIMEOUT_SECONDS:-120}
FA_DELETE_TIMEOUT_SECONDS=${FA_DELETE_TIMEOUT_SECONDS:-120}
FA_POLL_INTERVAL_SECONDS=${FA_POLL_INTERVAL_SECONDS:-2}
CLUSTER_STEPS_STARTED=0
WORK=""

# The options that take a value, as "--opt VALUE" or "--opt=VALUE".
value_option() {
  case $1 in
  -p | --profile) PROFILE=$2 PROFILE_GIVEN=1 ;;
  --context) CONTEXT=$2 ;;
  --image-load) IMAGE_LOAD=$2 ;;
  --host) HOST_OPTION=$2 ;;
  --ingress) INGRESS_OPTION=$2 ;;
  --gateway) GATEWAY_OPTION=$2 ;;
  --controller-namespace) CONTROLLER_NS_OPTION=$2 ;;
  *) return 1 ;;
  esac
}

parse_options() {
  local opt
  while (($# > 0)); do
    opt=$1
    shift
    if [[ $opt == --*=* ]]; then
      set -- "${opt#*=}" "$@"
      opt=${opt%%=*}
    fi
    case $opt in
    deploy | delete) COMMAND=$opt ;;
    --skip-tests) SKIP_TESTS=1 ;;
    --tls) TLS=1 ;;
    --autoscale) AUTOSCALE=1 ;;
    --tunnel) TUNNEL=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      value_option "$opt" "${1:-}" || usage_error "unknown argument: $opt (see --help)"
      [[ -n ${1:-} ]] || usage_error "$opt needs a non-empty value"
      shift
      ;;
    esac
  done
}

check_options() {
  local name value
  for name in FA_ADDON_TIMEOUT_SECONDS FA_ROLLOUT_TIMEOUT_SECONDS FA_HTTP_TIMEOUT_SECONDS FA_DELETE_TIMEOUT_SECONDS; do
    value=${!name}
    if ! [[ $value =~ ^[0-9]+$ ]] || ((value == 0)); then
      usage_error "$name: expected a positive integer, got '${value}'"
    fi
  done
  [[ $FA_POLL_INTERVAL_SECONDS =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    usage_error "FA_POLL_INTERVAL_SECONDS: expected a number of seconds, got '$FA_POLL_INTERVAL_SECONDS'"
  [[ $ENGINE == "" || $ENGINE == docker || $ENGINE == podman ]] ||
    usage_error "FA_CONTAINER_ENGINE must be docker or podman, not '$ENGINE'"
  [[ $PROFILE =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || usage_error "invalid minikube profile name: $PROFILE"
  [[ -z $HOST_OPTION || $HOST_OPTION =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
    usage_error "--host: '$HOST_OPTION' is not a DNS name"
}

# Where to deploy: minikube (KCONTEXT is the profile) or --context, with the image loader that fits.
choose_target() {
  if [[ -n $CONTEXT ]]; then
    [[ $CONTEXT != -* ]] || usage_error "--context: '$CONTEXT' is not a context name"
    ((PROFILE_GIVEN == 0)) || usage_error "--profile is for minikube; --context NAME deploys to an existing context instead: give one of them"
    ((TUNNEL == 0)) || usage_error "--tunnel is for minikube; with --context use --host"
    if [[ -z $IMAGE_LOAD ]]; then
      case $CONTEXT in
      kind-*) IMAGE_LOAD=kind ;;
      k3d-*) IMAGE_LOAD=k3d ;;
      docker-desktop) IMAGE_LOAD=none ;;
      *) [[ $COMMAND == delete ]] || usage_error "--context $CONTEXT needs --image-load METHOD (kind, k3d, none or archive:CMD): how does the image get into that cluster?" ;;
      esac
    fi
    case $IMAGE_LOAD in
    kind | k3d | none | archive:?* | "") ;; # "": delete --context, nothing is loaded
    *) usage_error "--image-load: unknown method '$IMAGE_LOAD' (kind, k3d, none or archive:CMD)" ;;
    esac
    KCONTEXT=$CONTEXT
    # The generated overlay's directory, named for the context (any characters) without surprises.
    OVERLAY_DIR="$ROOT/build/deploy/context-$(printf '%s' "$CONTEXT" | tr -c 'A-Za-z0-9._-' '_')"
  else
    [[ -z $IMAGE_LOAD ]] || usage_error "--image-load $IMAGE_LOAD needs --context NAME (the minikube path loads with minikube)"
    IMAGE_LOAD=minikube
    KCONTEXT=$PROFILE
    OVERLAY_DIR="$ROOT/build/deploy/$PROFILE" # generated overlay; build/ is git-ignored
  fi
}

on_exit() {
  local rc=$?
  if ((rc != 0)); then
    diagnostics >&2
    err "failed (exit $rc). See the messages above."
  fi
  [[ -z $WORK ]] || rm -rf "$WORK"
  exit "$rc"
}

# Step 1: the tools this needs, each with an install hint.
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
  *)
    err "missing docker or podman. Install one: https://docs.docker.com/engine/install/ or https://podman.io/docs/installation"
    MISSING=1
    ;;
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
    case $IMAGE_LOAD in
    kind) need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
    k3d) need k3d "https://k3d.io/#installation" ;;
    archive:*) need "$(program "${IMAGE_LOAD#archive:}")" "the command given to --image-load archive:CMD" ;;
    *) ;;
    esac
  fi
  ((MISSING == 0)) || die "install the missing tools above and run again"
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

# program "CMD ARGS": the program a command line (split on spaces, as documented) runs.
program() {
  local -a words
  read -r -a words <<<"$1"
  printf '%s' "${words[0]}"
}

main() {
  parse_options "$@"
  check_options
  choose_target
  route_configure
  trap on_exit EXIT
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
  # Where the route answers (NODE_IP): what step 3 found, or on either the Gateway's address.
  [[ $ROUTE != gateway ]] || route_gateway
  HOST=${HOST_OPTION:-$APP.$NODE_IP.nip.io}
  load_image
  apply_manifests
  [[ $ROUTE != gateway ]] || route_wait_accepted
  check_answer
  STEP="done"
  if [[ $DRY_RUN == 1 ]]; then
    log "dry run complete"
    return 0
  fi
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
  if [[ -z $CONTEXT && $NODE_IP == 127.0.0.1 ]]; then
    echo "Needs:  $(tunnel_command)   (running in another terminal)"
  fi
}

main "$@"
