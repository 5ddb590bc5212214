# shellcheck shell=bash
# deploy_helpers.bash: what every tests/deploy/*.bats loads. Each test runs build-and-deploy.sh
# against stub docker/podman, minikube, kubectl, curl, kind/k3d and sleep (one file,
# tests/deploy/stub.bash) that record their calls in $FA_STUB_LOG, in a throwaway git checkout with
# a PATH that holds only the stubs, basic POSIX tools and git (openssl only with --tls; no git with
# NO_GIT=1: the tag), so no real container engine, cluster or network is ever touched: every test
# also proves the host requirements. Developer tooling (apt, sudo, cmake, a compiler, python,
# node) is there as stubs too, so that a call even where present fails the test (teardown).

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

  # A minimal checkout: the script and the files it sources, the manifests, a Dockerfile; nothing
  # else but scripts/test.sh as a stub (the script never runs the developers' suite: teardown).
  REPO=$T/repo
  mkdir -p "$REPO/scripts"
  cp "$REPO_ROOT/build-and-deploy.sh" "$REPO/"
  cp "$REPO_ROOT/scripts/log.sh" "$REPO_ROOT"/scripts/deploy_*.sh "$REPO/scripts/"
  cp -R "$REPO_ROOT/manifests" "$REPO/"
  ln -s "$BATS_TEST_DIRNAME/stub.bash" "$REPO/scripts/test.sh"
  echo 'FROM scratch' >"$REPO/Dockerfile.alpine"
  printf 'build/\n' >"$REPO/.gitignore"
  git -C "$REPO" init -q
  commit_all init

  # The script's tools: the stubs, basic POSIX tools ($POSIX_TOOLS, exactly what the script may
  # use besides docker/podman, minikube, kubectl, curl), and separately git and openssl
  # (script_path).
  # shellcheck disable=SC2086 # a list of tool names
  link_tools "$T/posix" $POSIX_TOOLS
  link_tools "$T/git" git
  link_tools "$T/openssl" openssl
  STUBS=$T/stubs
  local tool
  mkdir "$STUBS"
  for tool in docker podman minikube kubectl curl kind k3d sleep $DEVELOPER_TOOLS; do
    ln -s "$BATS_TEST_DIRNAME/stub.bash" "$STUBS/$tool"
  done

  unset MINIKUBE_PROFILE FA_CONTAINER_ENGINE TEST_COMMAND FA_IMAGE_TAG FA_MINIKUBE_START_ARGS KUBECONFIG
  export FA_POLL_INTERVAL_SECONDS=0.1 FA_HTTP_TIMEOUT_SECONDS=2 FA_ADDON_TIMEOUT_SECONDS=7 FA_ROLLOUT_TIMEOUT_SECONDS=9 \
    FA_DELETE_TIMEOUT_SECONDS=11
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
  if cut -d' ' -f1 "$FA_STUB_LOG" | grep -xF "$(tr ' ' '\n' <<<"$DEVELOPER_TOOLS")"; then
    echo "FORBIDDEN: called developer tooling (the host needs docker or podman, minikube, kubectl, curl)" >&2
    return 1
  fi
  # The user's current context is never used (kubectl kustomize renders locally).
  if grep -E '^kubectl ' "$FA_STUB_LOG" | grep -vE '^kubectl (--context [^ ]+|kustomize) '; then
    echo "FORBIDDEN: kubectl without --context" >&2
    return 1
  fi
}

# The POSIX tools build-and-deploy.sh may need (plus bash itself, >= 3.2); the tools it must never call.
POSIX_TOOLS="bash cat date dirname mkdir rm mktemp ln sed grep head tail awk tr cut sort find cksum"
DEVELOPER_TOOLS="test.sh sudo apt-get apt cmake ctest make gcc g++ clang python python3 node npm"
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
# The PATH for the script run with these arguments: the stubs, the POSIX tools, git (unless
# NO_GIT=1) and openssl only with --tls.
script_path() {
  local path="$STUBS:$T/posix" a
  [[ ${NO_GIT:-0} == 1 ]] || path="$path:$T/git"
  for a in "$@"; do [[ $a != --tls ]] || path="$path:$T/openssl"; done
  printf '%s' "$path"
}
# deploy [VAR=value...] ARG...: runs the script with those settings (PATH= among them replaces its
# PATH) and arguments.
deploy() {
  local -a env=()
  while [[ ${1:-} == [A-Z]*=* ]]; do
    env+=("$1")
    shift
  done
  run env PATH="$(script_path "$@")" "${env[@]}" "$REPO/build-and-deploy.sh" "$@"
}
# What kubectl apply says while ingress-nginx's admission webhook starts (FA_STUB_FAIL_MESSAGE).
# shellcheck disable=SC2034 # used by the .bats files
WEBHOOK_DOWN='Error from server (InternalError): Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": connect: connection refused'
assert_called() { grep -qE -- "$1" "$FA_STUB_LOG" || fail "expected a call matching /$1/; calls: $(cat "$FA_STUB_LOG")"; }
refute_called() {
  if grep -nE -- "$1" "$FA_STUB_LOG"; then fail "unexpected call matching /$1/"; fi
}
count_calls() { grep -cE -- "$1" "$FA_STUB_LOG" || true; }
short_sha() { git -C "$REPO" rev-parse --short=12 HEAD; }
applied() { cat "$FA_STUB_STATE/applied.yaml"; }
