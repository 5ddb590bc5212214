#!/usr/bin/env bash
# engine.sh STATE SUBCOMMAND ARGS...: the container engine of the cluster tests, podman with all
# its storage and config under STATE/podman (nothing of the machine's podman is used or changed,
# nothing is ever pulled: no search registries, --pull=never).
#   engine.sh STATE build [--format docker] -f DOCKERFILE -t REF [--build-arg K=V]... CONTEXT
#       what build-and-deploy.sh runs: builds DOCKERFILE's runtime stage (FROM scratch) around
#       the binary named in STATE/app-binary instead of its Alpine build stage, which cannot run
#       here (no registry); the same substitution as tests/image/podman_scratch.sh
#   engine.sh STATE raw ARGS...      podman ARGS (the tests' own builds: the pause image)
#   engine.sh STATE ARGS...          podman ARGS (info, save, image inspect, ...)
set -euo pipefail
# shellcheck source=tests/image/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../image/lib.sh"

podman_env() {
  local w="$1"
  mkdir -p "${w}/storage" "${w}/run" "${w}/tmp" "${w}/net"
  [[ -f ${w}/containers.conf ]] || cat >"${w}/containers.conf" <<CONF
[network]
network_config_dir = "${w}/net"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${w}/events.log"
tmp_dir = "${w}/tmp"
static_dir = "${w}/storage/libpod"
volume_path = "${w}/storage/volumes"
CONF
  [[ -f ${w}/storage.conf ]] || printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/storage"\nrunroot = "%s/run"\n' \
    "${w}" "${w}" >"${w}/storage.conf"
  printf 'unqualified-search-registries = []\n' >"${w}/registries.conf"
  export CONTAINERS_CONF="${w}/containers.conf" CONTAINERS_STORAGE_CONF="${w}/storage.conf" \
    CONTAINERS_REGISTRIES_CONF="${w}/registries.conf"
}

# build -f DOCKERFILE -t REF [--build-arg K=V]... CONTEXT (the flags build-and-deploy.sh passes)
build_runtime_stage() {
  local state="$1" dockerfile="" ref="" context=""
  shift
  local -a args=()
  while (($#)); do
    case "$1" in
    -f)
      dockerfile="$2"
      shift
      ;;
    -t)
      ref="$2"
      shift
      ;;
    --build-arg)
      args+=(--build-arg "$2")
      shift
      ;;
    --format)
      [[ $2 == docker ]] || fail "engine.sh build: --format $2 (the image is built as docker)"
      shift
      ;;
    -*) fail "engine.sh build: unexpected option $1" ;;
    *) context="$1" ;;
    esac
    shift
  done
  [[ -r ${dockerfile} && -n ${ref} && -d ${context} ]] || fail "engine.sh build: need -f DOCKERFILE -t REF CONTEXT"
  local bin
  bin="$(cat "${state}/app-binary")"
  local ctx="${state}/podman/ctx"
  rm -rf "${ctx}" && mkdir -p "${ctx}"
  awk '/^FROM[[:space:]]/ { stage = "" } { stage = stage $0 "\n" } END { printf "%s", stage }' \
    "${dockerfile}" >"${ctx}/runtime.stage"
  [[ $(head -n1 "${ctx}/runtime.stage") =~ ^FROM[[:space:]]+scratch([[:space:]]|$) ]] ||
    fail "the runtime stage of ${dockerfile} is not FROM scratch: it cannot be built here without pulling"
  sed -E 's#^COPY[[:space:]]+--from=[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+/favorite-athlete[[:space:]]*$#COPY favorite-athlete /favorite-athlete#' \
    "${ctx}/runtime.stage" >"${ctx}/Containerfile"
  [[ $(grep -c '^COPY favorite-athlete /favorite-athlete$' "${ctx}/Containerfile") == 1 ]] ||
    fail "the runtime stage has no single 'COPY --from=<build> <path> /favorite-athlete' to substitute"
  install -m 0755 "${bin}" "${ctx}/favorite-athlete"
  log "engine.sh: building the runtime stage of $(basename "${dockerfile}") around ${bin} as ${ref}"
  podman build --pull=never --format docker --layers=false "${args[@]}" -t "${ref}" -f "${ctx}/Containerfile" "${ctx}"
}

main() {
  local state="$1"
  shift
  # As STATE/bin/podman (image.sh) this is `podman` on PATH: the real one is found without it.
  PATH="$(tr ':' '\n' <<<"${PATH}" | grep -vxF "${state}/bin" | paste -sd: -)"
  podman_env "${state}/podman"
  case "${1:-}" in
  build)
    shift
    build_runtime_stage "${state}" "$@"
    ;;
  raw)
    shift
    exec podman "$@"
    ;;
  *) exec podman "$@" ;;
  esac
}

main "$@"
