#!/usr/bin/env bash
# image_checks.sh CHECK ARGS...: the image area's shell checks, ctest image.CHECK each; what each
# shows and needs is tests/image/README.md's table.
#   static_build SOURCE_DIR BUILD_DIR [-DVAR=VALUE...]   static_binary BINARY
#   podman_scratch BINARY DOCKERFILE   smoke_podman BINARY
# The podman checks work in WORK, a temp dir removed on exit with all podman state kept there
# (podman never pulls: --pull=never, no search registries).
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "${HERE}/../lib.sh"

WORK=""
cleanup() {
  set +e
  if [[ ${CONTAINERS_CONF:-} == "${WORK}/"* ]]; then # podman_work got as far as the sandbox
    pod rm -af -t 0 >/dev/null 2>&1
    podman_sandbox_remove "${WORK}"
  fi
  rm -rf "${WORK}"
}
# podman_work NAME [CMD...]: a WORK holding a private podman (tests/lib.sh podman_sandbox).
podman_work() {
  need_root
  need_cmd podman runc timeout "${@:2}"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/fa-image-$1.XXXXXX")"
  trap cleanup EXIT
  podman_sandbox "${WORK}"
}

# ---- static_build: the build Dockerfile.alpine does, on this machine, into BUILD_DIR (so a
# developer's build/static is left alone); the -D arguments carry offline FetchContent settings.
static_build() {
  local src="$1" dir="$2"
  shift 2
  need_cmd cmake ctest ninja
  cd "${src}" || fail "cannot enter ${src}"
  cmake --preset static -B "${dir}" "$@"
  cmake --build "${dir}"
  ctest --test-dir "${dir}" -L unit --output-on-failure
  log "ok: static preset configured, built and unit-tested in ${dir}"
}

# ---- static_binary: what the image needs of the binary but cannot show (that it starts FROM
# scratch, with no loader and no library, is podman_scratch's run; serving is the smoke checks').
static_binary() {
  local bin="$1" phdrs sections stack size version max=3000000
  need_cmd readelf
  phdrs="$(readelf -lW "${bin}")" || fail "readelf -l failed: not an ELF file"
  sections="$(readelf -SW "${bin}")" || fail "readelf -S failed"
  [[ ${sections} != *.symtab* ]] || fail "has a symbol table (.symtab): not stripped"
  log "ok: stripped"
  # musl sizes thread stacks from PT_GNU_STACK (default 128 KiB); cpp-httplib's std::regex recurses.
  stack="$(awk '$1 == "GNU_STACK" { print $6 }' <<<"${phdrs}")"
  if [[ ${stack} != 0x* ]] || ((stack < 1048576)); then
    fail "PT_GNU_STACK size '${stack}' < 1 MiB (-Wl,-z,stack-size)"
  fi
  log "ok: PT_GNU_STACK asks for $((stack / 1024)) KiB thread stacks"
  size="$(stat -c %s "${bin}")"
  log "size: ${size} bytes ($((size / 1024)) KiB), limit ${max}"
  ((size < max)) || fail "binary is ${size} bytes, limit ${max}"
  version="$(env -i "${bin}" --version)" || fail "--version failed"
  log "version: ${version}"
}

# ---- podman_scratch: DOCKERFILE's runtime stage built around BINARY (the Alpine build stage
# cannot run here), its labels and size, then run the way the Deployment runs it.
readonly IMAGE=localhost/favorite-athlete:image-test CTR="fa-image-test-$$"
inspect() { pod image inspect -f "$1" "${IMAGE}"; }

podman_scratch() {
  local bin="$1" dockerfile="$2" revision
  [[ -r ${dockerfile} ]] || fail "no Dockerfile at ${dockerfile}"
  podman_work podman-scratch nsenter curl gzip
  revision="image-test-$(date +%s)"
  runtime_image "${dockerfile}" "${bin}" "${WORK}/ctx" "${IMAGE}" --build-arg VERSION=9.9.9-test \
    --build-arg REVISION="${revision}" --build-arg SOURCE=https://example.invalid/fa || fail "podman build failed"
  check_metadata "${bin}" "${revision}"
  check_running
  check_stop
}

check_metadata() {
  local bin="$1" revision="$2" labels kv bin_size image_size gz_size
  labels="$(inspect '{{json .Labels}}')"
  for kv in '"org.opencontainers.image.version":"9.9.9-test"' "\"org.opencontainers.image.revision\":\"${revision}\"" \
    '"org.opencontainers.image.source":"https://example.invalid/fa"'; do
    [[ ${labels} == *"${kv}"* ]] || fail "label ${kv} missing: ${labels}"
  done
  [[ $(inspect '{{len .RootFS.Layers}}') == 1 ]] || fail "expected a single layer"
  [[ $(inspect '{{json .Config.ExposedPorts}}') == '{"8080/tcp":{}}' ]] || fail "exposes $(inspect '{{json .Config.ExposedPorts}}'), want only 8080/tcp"
  log "ok: the build arguments are the image's OCI labels; 1 layer; EXPOSE 8080"
  bin_size="$(stat -c %s "${bin}")"
  image_size="$(inspect '{{.Size}}')"
  gz_size="$(pod save --format docker-archive "${IMAGE}" | gzip -9 | wc -c)"
  log "SIZES: binary ${bin_size} bytes; image ${image_size} bytes (podman image inspect .Size); docker-archive gzip -9 ${gz_size} bytes"
  ((image_size < 10000000)) || fail "image is ${image_size} bytes, limit 10000000"
}

# Runs the image as the pod does and checks the process from the host. No --user: the image's own
# USER must make it 65532 (the Deployment and compose set it too; `docker run` does not). No tmpfs
# on /tmp, /run and /var/tmp (podman's default with --read-only): a pod's read-only root has none.
check_running() {
  local pid links health
  pod run -d --name "${CTR}" --pull=never --read-only --read-only-tmpfs=false --cap-drop=ALL \
    --security-opt=no-new-privileges --network=none --no-healthcheck \
    -e DRAIN_SECONDS=1 "${IMAGE}" >/dev/null || fail "podman run failed"
  pid="$(pod inspect -f '{{.State.Pid}}' "${CTR}")"
  [[ ${pid} =~ ^[1-9][0-9]*$ ]] || fail "container is not running: $(pod logs "${CTR}" 2>&1 | tail -5)"
  local -a netns=(nsenter -t "${pid}" -n)
  wait_until -p "${pid}" 15 "an answer on /healthz" "${netns[@]}" curl -fsS --max-time 1 -o /dev/null http://127.0.0.1:8080/healthz
  assert_contained "${pid}"
  links="$("${netns[@]}" ip -o link show | awk -F': ' '{print $2}')"
  [[ ${links} == lo ]] || fail "container network namespace has more than loopback: ${links}"
  log "ok: network namespace with only lo"
  http_expect http://127.0.0.1:8080/ 200 "${EXPECTED_ROOT_BODY}" "${netns[@]}"
  http_expect http://127.0.0.1:8080/healthz 200 "${EXPECTED_HEALTH_BODY}" "${netns[@]}"
  # The image's own HEALTHCHECK: exactly `--check` of /healthz in exec form (no shell, no curl in
  # the image), run in the container as the image user. (Run by hand: podman's healthcheck timers
  # need systemd, hence --no-healthcheck above.)
  health="$(inspect '{{with .Config.Healthcheck}}{{json .Test}}{{end}}')"
  [[ ${health} == '["CMD","/favorite-athlete","--check","http://127.0.0.1:8080/healthz"]' ]] ||
    fail "the image's HEALTHCHECK is ${health:-none}, want CMD [\"/favorite-athlete\", \"--check\", \"http://127.0.0.1:8080/healthz\"]"
  pod exec "${CTR}" /favorite-athlete --check http://127.0.0.1:8080/healthz || fail "the image's HEALTHCHECK command failed"
  log "ok: the image's HEALTHCHECK command (${health}) passes inside the container"
}

check_stop() {
  local rc logs
  pod stop -t 30 "${CTR}" >/dev/null || fail "podman stop failed"
  rc="$(pod inspect -f '{{.State.ExitCode}}' "${CTR}")"
  if [[ ${rc} != 0 ]]; then
    pod logs "${CTR}" >&2
    fail "exit status ${rc} after SIGTERM, want 0"
  fi
  logs="$(pod logs "${CTR}" 2>&1)" || fail "podman logs failed: ${logs}"
  [[ ${logs} == *'"msg":"listening"'* ]] || fail "no JSON start line in the container log: ${logs}"
  log "ok: podman stop (SIGTERM) -> exit 0"
}

# ---- smoke_podman: smoke.sh, the gate of Dockerfile.alpine's build stage, must pass on BINARY
# and fail on BINARY told to answer GET / with another athlete (FAVORITE_ATHLETE, the service's
# own setting), run where that stage runs it as far as this machine allows: as the RUN of a podman
# build FROM scratch with Debian's static busybox (no base image can be pulled here), whose applets
# are then the only commands, as in Alpine's base; a failing RUN must fail the image build.
smoke_build() { # smoke_build [--build-arg FAVORITE_ATHLETE=...]: the build whose last step runs smoke.sh
  pod build --pull=never --format docker --layers=false --network=none "$@" -t localhost/favorite-athlete:smoke-test "${WORK}/ctx"
}

smoke_podman() {
  local bin="$1" busybox out
  podman_work smoke-podman busybox file
  busybox="$(readlink -f "$(command -v busybox)")"
  file -L "${busybox}" | grep -q 'statically linked' ||
    skip "${busybox} is not statically linked (Debian: apt-get install --no-remove busybox-static)"
  mkdir -p "${WORK}/ctx"
  install -m 0755 "${busybox}" "${WORK}/ctx/busybox"
  install -m 0755 "${HERE}/smoke.sh" "${WORK}/ctx/smoke.sh"
  install -m 0755 "${bin}" "${WORK}/ctx/favorite-athlete"
  # An ARG with no default is unset in the RUN unless --build-arg gives it.
  cat >"${WORK}/ctx/Containerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/sbin", "/usr/sbin", "/tmp"]
RUN ["/bin/busybox", "--install", "-s"]
COPY smoke.sh /smoke.sh
COPY favorite-athlete /favorite-athlete
ARG FAVORITE_ATHLETE
RUN ["/bin/sh", "/smoke.sh", "/favorite-athlete"]
EOF
  smoke_build >&2 || fail "smoke.sh failed on ${bin}"
  log "ok: smoke.sh passes on ${bin}"
  if out="$(smoke_build --build-arg "FAVORITE_ATHLETE=Carl Lewis" 2>&1)"; then
    fail "smoke.sh passed on a server answering the wrong athlete: ${out}"
  fi
  [[ ${out} == *"FAIL: GET / answered '{\"myFavoriteAthlete\":\"Carl Lewis\"}'"* ]] ||
    fail "smoke.sh failed on the wrong server, but not for its wrong answer: ${out}"
  log "ok: smoke.sh fails on a server answering the wrong athlete ($(grep -m1 'FAIL: GET' <<<"${out}"))"
}

usage() {
  fail "usage: $0 static_build SOURCE_DIR BUILD_DIR [-D...] | static_binary|smoke_podman BINARY | podman_scratch BINARY DOCKERFILE"
}

main() {
  local check="${1:-}" bin
  case "${check}:$#" in
  static_build:*)
    (($# >= 3)) || usage
    static_build "${@:2}"
    ;;
  static_binary:2 | smoke_podman:2 | podman_scratch:3)
    bin="$(need_binary "$2")"
    "${check}" "${bin}" "${@:3}"
    ;;
  *) usage ;;
  esac
}

main "$@"
