#!/usr/bin/env bash
# engine.sh STATE SUBCOMMAND ARGS...: the container engine of the cluster tests, podman with all
# its storage and config under STATE/podman (tests/lib.sh podman_sandbox: nothing of the machine's
# podman is used or changed, nothing is ever pulled: no search registries, --pull=never).
#   engine.sh STATE build [--format docker] -f DOCKERFILE -t REF [--build-arg K=V]... CONTEXT
#       what build-and-deploy.sh runs: builds DOCKERFILE's runtime stage (FROM scratch) around
#       the binary named in STATE/app-binary instead of its Alpine build stage, which cannot run
#       here (no registry); tests/image/podman_scratch.sh builds the same (runtime_stage_context)
#   engine.sh STATE ARGS...          podman ARGS (info, save, image inspect, ...)
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# build -f DOCKERFILE -t REF [--build-arg K=V]... CONTEXT (the flags build-and-deploy.sh passes)
build_runtime_stage() {
  local state="$1" dockerfile="" ref="" context=""
  shift
  local -a args=()
  while (($#)); do
    case "$1" in
    -f) dockerfile="$2" ;;
    -t) ref="$2" ;;
    --build-arg) args+=(--build-arg "$2") ;;
    --format) [[ $2 == docker ]] || fail "engine.sh build: --format $2 (the image is built as docker)" ;;
    -*) fail "engine.sh build: unexpected option $1" ;;
    *)
      context="$1"
      shift
      continue
      ;;
    esac
    shift 2
  done
  [[ -r ${dockerfile} && -n ${ref} && -d ${context} ]] || fail "engine.sh build: need -f DOCKERFILE -t REF CONTEXT"
  local bin ctx="${state}/podman/ctx"
  bin="$(cat "${state}/app-binary")"
  runtime_stage_context "${dockerfile}" "${bin}" "${ctx}"
  log "engine.sh: building the runtime stage of $(basename "${dockerfile}") around ${bin} as ${ref}"
  podman build --pull=never --format docker --layers=false "${args[@]}" -t "${ref}" -f "${ctx}/Containerfile" "${ctx}"
}

main() {
  local state="$1"
  shift
  # As STATE/bin/podman (image.sh) this is `podman` on PATH: the real one is found without it.
  PATH="$(tr ':' '\n' <<<"${PATH}" | grep -vxF "${state}/bin" | paste -sd: -)"
  podman_sandbox "${state}/podman"
  if [[ ${1:-} == build ]]; then
    shift
    build_runtime_stage "${state}" "$@"
  else
    exec podman "$@"
  fi
}

main "$@"
