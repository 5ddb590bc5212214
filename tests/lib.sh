# shellcheck shell=bash
# tests/lib.sh: the one library of the shell tests (sourced, not run). Logging is scripts/log.sh's
# (log, warn, die, run); on top of it: the tests' exits (fail, skip) and needs (need_cmd,
# need_root, need_binary), the one wait (wait_until), the contract's bodies and its HTTP check,
# the check of a contained server process (assert_contained), and what the image and
# the cluster tests both do with podman: a private podman (podman_sandbox) and Dockerfile.alpine's
# runtime stage built around a local binary (runtime_image).
set -euo pipefail
# shellcheck source=scripts/log.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/log.sh"

fail() {
  log "FAIL: $*"
  exit 1
}
# ctest maps exit 77 to "Skipped" (SKIP_RETURN_CODE); under FA_TESTS_NO_SKIP=1 (CI) scripts/test.sh
# fails on any Skipped, so a test .ci/run provisions for can never be skipped silently.
skip() {
  log "SKIP: $*"
  exit 77
}
need_cmd() {
  local c
  for c in "$@"; do
    command -v "${c}" >/dev/null 2>&1 || skip "'${c}' is not installed (scripts/debian_packages_test.txt lists the Debian packages)"
  done
}
need_root() { [[ ${EUID} == 0 ]] || skip "needs root (namespaces, chroot, podman as root, the test cluster's daemons)"; }
# need_binary PATH: prints PATH's absolute name; fails if it is not an executable.
need_binary() {
  [[ -x $1 ]] || fail "no executable at $1"
  readlink -f "$1"
}

# wait_until [-p PID] [-l LOG] SECONDS WHAT CMD...: runs CMD (its output discarded) every 0.5 s
# until it succeeds. Fails naming WHAT when SECONDS have passed, or at once when PID (the process
# that was to get there) has exited; then shows the end of LOG, if given.
wait_until() {
  local pid="" log_file=""
  while [[ $1 == -[pl] ]]; do
    if [[ $1 == -p ]]; then pid="$2"; else log_file="$2"; fi
    shift 2
  done
  local secs="$1" what="$2" why=""
  local deadline=$((SECONDS + secs))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [[ -n ${pid} ]] && ! kill -0 "${pid}" 2>/dev/null; then
      why="process ${pid} exited"
    elif ((SECONDS >= deadline)); then
      why="not within ${secs}s"
    fi
    if [[ -n ${why} ]]; then
      [[ -z ${log_file} ]] || tail -n 25 "${log_file}" >&2
      fail "${what}: ${why}"
    fi
    sleep 0.5
  done
}

# shellcheck disable=SC2034  # used by the scripts that source this file
readonly EXPECTED_ROOT_BODY='{"myFavoriteAthlete":"Usain Bolt"}'
# shellcheck disable=SC2034
readonly EXPECTED_HEALTH_BODY='{"status":"ok"}'

# http_expect URL STATUS BODY [CURL_PREFIX...]: GET URL (through an optional command prefix such
# as `nsenter -t PID -n`) and compare status, JSON content type and exact body.
http_expect() {
  local url="$1" status="$2" body="$3"
  shift 3
  local out got_status got_type got_body
  out="$("$@" curl -sS --max-time 5 -w '\n%{http_code} %{content_type}' "${url}")" || fail "GET ${url}: curl failed"
  got_body="${out%$'\n'*}"
  got_status="${out##*$'\n'}"
  got_type="${got_status#* }"
  got_status="${got_status%% *}"
  [[ ${got_status} == "${status}" ]] || fail "GET ${url}: status ${got_status}, want ${status} (body: ${got_body})"
  [[ ${got_type} == application/json* ]] || fail "GET ${url}: content type '${got_type}', want application/json"
  [[ ${got_body} == "${body}" ]] || fail "GET ${url}: body '${got_body}', want '${body}'"
  log "ok: GET ${url} -> ${got_status} ${got_type} ${got_body}"
}

# assert_contained PID: what a container as the Deployment runs it gives PID: real/effective/saved/fs
# UID and GID 65532, no capabilities (none to regain: empty bounding set), no_new_privs, a
# read-only root mount.
assert_contained() {
  local st="/proc/$1/status" cap opts
  [[ -r ${st} ]] || fail "no ${st}"
  grep -Eq '^Uid:[[:space:]]+65532[[:space:]]+65532[[:space:]]+65532[[:space:]]+65532$' "${st}" || fail "UIDs are not all 65532: $(grep '^Uid:' "${st}")"
  grep -Eq '^Gid:[[:space:]]+65532[[:space:]]+65532[[:space:]]+65532[[:space:]]+65532$' "${st}" || fail "GIDs are not all 65532: $(grep '^Gid:' "${st}")"
  for cap in CapInh CapPrm CapEff CapAmb CapBnd; do
    grep -Eq "^${cap}:[[:space:]]+0+$" "${st}" || fail "${cap} is not empty: $(grep "^${cap}:" "${st}")"
  done
  grep -Eq '^NoNewPrivs:[[:space:]]+1$' "${st}" || fail "no_new_privs is not set"
  opts="$(awk '$5 == "/" { print $6 }' "/proc/$1/mountinfo")"
  [[ ,${opts}, == *,ro,* ]] || fail "root is mounted '${opts}', want ro"
  log "ok: pid $1 runs as 65532:65532 with no capabilities (CapBnd 0), no_new_privs=1, read-only root"
}

# podman_sandbox DIR: every piece of podman state (storage, run dirs, events, networks) under DIR,
# runc as the runtime, nothing pullable (no search registries). Exports the CONTAINERS_* variables.
podman_sandbox() {
  local work="$1"
  mkdir -p "${work}/storage" "${work}/run" "${work}/tmp" "${work}/net"
  cat >"${work}/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
log_driver = "k8s-file"
[network]
network_config_dir = "${work}/net"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${work}/events.log"
tmp_dir = "${work}/tmp"
static_dir = "${work}/storage/libpod"
volume_path = "${work}/storage/volumes"
CONF
  printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/storage"\nrunroot = "%s/run"\n' "${work}" "${work}" >"${work}/storage.conf"
  printf 'unqualified-search-registries = []\n' >"${work}/registries.conf"
  export CONTAINERS_CONF="${work}/containers.conf" CONTAINERS_STORAGE_CONF="${work}/storage.conf" \
    CONTAINERS_REGISTRIES_CONF="${work}/registries.conf"
}
# podman_sandbox_remove DIR: unmount what podman left under DIR (deepest first), remove DIR.
podman_sandbox_remove() {
  local m
  grep -o " $1/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "${m}"; done
  rm -rf "$1"
}
pod() { timeout 120 podman "$@"; }

# runtime_image DOCKERFILE BINARY DIR REF [PODMAN_BUILD_OPTION...]: builds DOCKERFILE's last stage
# (FROM scratch) around BINARY as REF, in the docker format (OCI drops HEALTHCHECK), never pulling.
# Its context DIR holds that stage as DIR/Containerfile, with its one
# `COPY --from=<build> <path> /favorite-athlete` taken from the context instead, and BINARY as
# DIR/favorite-athlete. The Alpine build stage cannot run here (no registry); this builds what it feeds.
runtime_image() {
  local dockerfile="$1" bin="$2" dir="$3" ref="$4" stage
  rm -rf "${dir}" && mkdir -p "${dir}"
  stage="$(awk '/^FROM[[:space:]]/ { stage = "" } { stage = stage $0 "\n" } END { printf "%s", stage }' "${dockerfile}")"
  [[ ${stage} =~ ^FROM[[:space:]]+scratch([[:space:]]|$) ]] ||
    fail "the runtime stage of ${dockerfile} is not FROM scratch ($(head -n1 <<<"${stage}")): it cannot be built here without pulling"
  sed -E 's#^COPY[[:space:]]+--from=[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+/favorite-athlete[[:space:]]*$#COPY favorite-athlete /favorite-athlete#' \
    <<<"${stage}" >"${dir}/Containerfile"
  [[ $(grep -c '^COPY favorite-athlete /favorite-athlete$' "${dir}/Containerfile") == 1 ]] ||
    fail "the runtime stage has no single 'COPY --from=<build> <path> /favorite-athlete' to substitute"
  install -m 0755 "${bin}" "${dir}/favorite-athlete"
  log "building the runtime stage of ${dockerfile} around ${bin} as ${ref}:"
  cat "${dir}/Containerfile" >&2
  pod build --pull=never --format docker --layers=false "${@:5}" -t "${ref}" "${dir}" >&2
}
