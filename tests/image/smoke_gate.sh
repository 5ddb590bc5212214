#!/usr/bin/env bash
# smoke_gate.sh busybox|podman BINARY
# tests/image/smoke.sh is the gate of Dockerfile.alpine's build stage: it must pass on BINARY and
# fail on a stand-in server that answers GET / with the wrong athlete, so a broken binary cannot
# slip through the image build. Each mode runs it where Alpine's build stage does, as far as this
# machine allows:
#   busybox  busybox sh with a PATH holding only busybox applets (what Alpine's base has)
#   podman   a RUN of a podman build, FROM scratch with Debian's static busybox (no base image can
#            be pulled here): a failing smoke RUN must fail the image build. All podman state lives
#            in a temp dir removed on exit.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "${HERE}/../lib.sh"

# write_wrong_server FILE: a stand-in "binary" (busybox sh + httpd) that starts and logs like
# favorite-athlete but answers GET / with the wrong athlete.
write_wrong_server() {
  local port=$((20000 + RANDOM % 20000))
  cat >"$1" <<EOF
#!/bin/sh
dir=\$(mktemp -d)
printf '{"myFavoriteAthlete":"Carl Lewis"}' >"\$dir/index.html"
echo '{"msg":"listening","port":${port}}'
exec httpd -f -p 127.0.0.1:${port} -h "\$dir"
EOF
  chmod 0755 "$1"
}

# busybox: WORK/bin holds one link per busybox applet, and is all of PATH.
busybox_setup() {
  local bb a
  need_cmd busybox
  bb="$(command -v busybox)"
  mkdir -p "${WORK}/bin"
  for a in $("${bb}" --list); do ln -sf "${bb}" "${WORK}/bin/${a}"; done
}
busybox_smoke() { env -i PATH="${WORK}/bin" TMPDIR="${WORK}" "${WORK}/bin/sh" "${HERE}/smoke.sh" "$1"; }

# podman: a build context whose last step runs the smoke on the binary the context is given.
readonly IMAGE=localhost/favorite-athlete:smoke-test
podman_setup() {
  need_root
  need_cmd podman runc timeout busybox file
  local busybox
  busybox="$(readlink -f "$(command -v busybox)")"
  file -L "${busybox}" | grep -q 'statically linked' ||
    skip "${busybox} is not statically linked (Debian: apt-get install --no-remove busybox-static)"
  podman_sandbox "${WORK}"
  mkdir -p "${WORK}/ctx"
  install -m 0755 "${busybox}" "${WORK}/ctx/busybox"
  install -m 0755 "${HERE}/smoke.sh" "${WORK}/ctx/smoke.sh"
  cat >"${WORK}/ctx/Containerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/sbin", "/usr/sbin", "/tmp"]
RUN ["/bin/busybox", "--install", "-s"]
COPY smoke.sh /smoke.sh
COPY favorite-athlete /favorite-athlete
RUN ["/bin/sh", "/smoke.sh", "/favorite-athlete"]
EOF
}
podman_smoke() {
  install -m 0755 "$1" "${WORK}/ctx/favorite-athlete"
  pod build --pull=never --format docker --layers=false --network=none -t "${IMAGE}" "${WORK}/ctx"
}

cleanup() {
  set +e
  if [[ ${CONTAINERS_CONF:-} == "${WORK}/"* ]]; then # podman_setup got as far as the sandbox
    pod rmi -f "${IMAGE}" >/dev/null 2>&1
    podman_sandbox_remove "${WORK}"
  fi
  rm -rf "${WORK}"
}

main() {
  [[ $# -eq 2 && $1 =~ ^(busybox|podman)$ ]] || fail "usage: $0 busybox|podman BINARY"
  MODE="$1"
  local bin out
  bin="$(need_binary "$2")"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/fa-smoke-${MODE}.XXXXXX")"
  trap cleanup EXIT
  "${MODE}_setup"
  "${MODE}_smoke" "${bin}" >&2 || fail "${MODE}: smoke.sh failed on ${bin}"
  log "ok: ${MODE}: smoke.sh passes on ${bin}"
  write_wrong_server "${WORK}/wrong-server"
  if out="$("${MODE}_smoke" "${WORK}/wrong-server" 2>&1)"; then
    fail "${MODE}: smoke.sh passed on a server answering the wrong athlete: ${out}"
  fi
  [[ ${out} == *"FAIL: GET / answered '{\"myFavoriteAthlete\":\"Carl Lewis\"}'"* ]] ||
    fail "${MODE}: smoke.sh failed on the wrong server, but not for its wrong answer: ${out}"
  log "ok: ${MODE}: smoke.sh fails on a server answering the wrong athlete ($(grep -m1 'FAIL: GET' <<<"${out}"))"
}

main "$@"
