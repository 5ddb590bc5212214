#!/usr/bin/env bash
# podman_scratch.sh BINARY DOCKERFILE
# Builds the runtime stage of DOCKERFILE (FROM scratch) around BINARY, the static build made on
# this machine, in place of the Alpine build stage (no base image can be pulled here), checks that
# the build arguments become its OCI labels and its size (USER, ENTRYPOINT, EXPOSE and HEALTHCHECK
# are dockerfile_policy.js's rules, with their negative self-test), then runs it the way the
# Deployment does: --read-only, --cap-drop=ALL, --user 65532:65532, no-new-privileges, its own
# network namespace holding only loopback. GET / and /healthz are sent over that loopback (nsenter), the HEALTHCHECK and --check
# run inside the container, and `podman stop` must end it with exit status 0.
# All podman state (storage, run dirs, events) lives in a temp dir removed on exit; nothing is
# ever pulled (--pull=never, no search registries).
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

readonly IMAGE=localhost/favorite-athlete:image-test CTR="fa-image-test-$$"
inspect() { pod image inspect -f "$1" "${IMAGE}"; }

# build_image DOCKERFILE BINARY REVISION: the Dockerfile's last stage, fed from the build context
# instead of the build stage.
build_image() {
  runtime_stage_context "$1" "$2" "${WORK}/ctx"
  log "--- Containerfile (runtime stage of $(basename "$1")) ---"
  cat "${WORK}/ctx/Containerfile" >&2
  pod build --pull=never --format docker --layers=false \
    --build-arg VERSION=9.9.9-test --build-arg REVISION="$3" --build-arg SOURCE=https://example.invalid/fa \
    -t "${IMAGE}" "${WORK}/ctx" >&2 || fail "podman build failed"
}

check_metadata() {
  local bin="$1" revision="$2" labels kv bin_size image_size gz_size
  labels="$(inspect '{{json .Labels}}')"
  for kv in '"org.opencontainers.image.version":"9.9.9-test"' "\"org.opencontainers.image.revision\":\"${revision}\"" \
    '"org.opencontainers.image.source":"https://example.invalid/fa"'; do
    [[ ${labels} == *"${kv}"* ]] || fail "label ${kv} missing: ${labels}"
  done
  [[ $(inspect '{{len .RootFS.Layers}}') == 1 ]] || fail "expected a single layer"
  log "ok: the build arguments are the image's OCI labels; 1 layer"
  bin_size="$(stat -c %s "${bin}")"
  image_size="$(inspect '{{.Size}}')"
  gz_size="$(pod save --format docker-archive "${IMAGE}" | gzip -9 | wc -c)"
  log "SIZES: binary ${bin_size} bytes; image ${image_size} bytes (podman image inspect .Size); docker-archive gzip -9 ${gz_size} bytes"
  ((image_size < 10000000)) || fail "image is ${image_size} bytes, limit 10000000"
}

# Runs the image as the pod does and checks the process from the host.
check_running() {
  local pid root_opts links health
  pod run -d --name "${CTR}" --pull=never --read-only --cap-drop=ALL --user 65532:65532 \
    --security-opt=no-new-privileges --network=none --no-healthcheck \
    -e DRAIN_SECONDS=1 "${IMAGE}" >/dev/null || fail "podman run failed"
  pid="$(pod inspect -f '{{.State.Pid}}' "${CTR}")"
  [[ ${pid} =~ ^[1-9][0-9]*$ ]] || fail "container is not running: $(pod logs "${CTR}" 2>&1 | tail -5)"
  local -a netns=(nsenter -t "${pid}" -n)
  wait_until -p "${pid}" 15 "an answer on /healthz" "${netns[@]}" curl -fsS --max-time 1 -o /dev/null http://127.0.0.1:8080/healthz
  assert_unprivileged "${pid}"
  grep -Eq '^CapBnd:[[:space:]]+0+$' "/proc/${pid}/status" || fail "bounding set not empty: $(grep CapBnd "/proc/${pid}/status")"
  root_opts="$(awk '$5 == "/" { print $6 }' "/proc/${pid}/mountinfo")"
  [[ ,${root_opts}, == *,ro,* ]] || fail "container root is mounted '${root_opts}', want ro"
  links="$("${netns[@]}" ip -o link show | awk -F': ' '{print $2}')"
  [[ ${links} == lo ]] || fail "container network namespace has more than loopback: ${links}"
  log "ok: read-only root, empty bounding set, network namespace with only lo"
  http_expect http://127.0.0.1:8080/ 200 "${EXPECTED_ROOT_BODY}" "${netns[@]}"
  http_expect http://127.0.0.1:8080/healthz 200 "${EXPECTED_HEALTH_BODY}" "${netns[@]}"
  pod exec "${CTR}" /favorite-athlete --check http://127.0.0.1:8080/healthz || fail "--check in the container exited non-zero"
  # The image's own HEALTHCHECK command, exec form, run in the container as the image user.
  # (Run by hand: podman's healthcheck timers need systemd, hence --no-healthcheck above.)
  # shellcheck disable=SC2016  # a Go template, not shell
  mapfile -t health < <(inspect '{{range $i, $a := .Config.Healthcheck.Test}}{{if $i}}{{println $a}}{{end}}{{end}}' | sed '/^$/d')
  ((${#health[@]} > 0)) || fail "no HEALTHCHECK command in the image"
  pod exec "${CTR}" "${health[@]}" || fail "the image's HEALTHCHECK command (${health[*]}) failed"
  log "ok: --check and the image HEALTHCHECK pass inside the container"
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

cleanup() {
  set +e
  pod rm -f -t 0 "${CTR}" >/dev/null 2>&1
  pod rmi -f "${IMAGE}" >/dev/null 2>&1
  podman_sandbox_remove "${WORK}"
}

main() {
  [[ $# -eq 2 ]] || fail "usage: $0 BINARY DOCKERFILE"
  local bin revision
  bin="$(need_binary "$1")"
  [[ -r $2 ]] || fail "no Dockerfile at $2"
  need_root
  need_cmd podman runc nsenter curl timeout gzip
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/fa-podman.XXXXXX")"
  podman_sandbox "${WORK}"
  trap cleanup EXIT
  revision="image-test-$(date +%s)"
  build_image "$2" "${bin}" "${revision}"
  check_metadata "${bin}" "${revision}"
  check_running
  check_stop
}

main "$@"
