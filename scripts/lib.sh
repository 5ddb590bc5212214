# Shared by the scripts: Debian packages, offline dependency sources, building a preset.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
  if [[ ${EUID} -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "run as root, or install by hand: $*"; fi
}

# Installs Debian packages, non-interactively, as root (or through sudo).
apt_install() {
  command -v apt-get >/dev/null || die "not a Debian system; install the equivalents of: $*"
  log "installing Debian packages: $*"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Installs the missing Debian packages of the given lists (files, one package per line).
install_debian_packages() {
  local -a wanted missing=()
  mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$@")
  local pkg
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q 'ok installed' || missing+=("${pkg}")
  done
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

# Adds deb-src entries mirroring the configured deb ones, if there are none yet.
enable_debian_sources() {
  grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
  log "enabling Debian source packages (deb-src) to fetch cpp-httplib's source"
  local f=/etc/apt/sources.list.d/debian.sources  # Debian 12's default
  if [[ -f ${f} ]]; then
    sed 's/^Types: deb$/Types: deb-src/' "${f}" | as_root tee "${f%.sources}-src.sources" >/dev/null
  fi
  if [[ -f /etc/apt/sources.list ]]; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list | as_root tee /etc/apt/sources.list.d/deb-src.list >/dev/null
  fi
  as_root apt-get update -qq
}

# The source directory of Debian's source package $1 (apt-get source, once, into .deps/), asked
# for by the name $2 (default $1; a binary package's name when another source shares $1's).
debian_source_dir() {
  local package="$1" dir="${ROOT}/.deps/debian-${1}" name="${2:-$1}"
  if ! compgen -G "${dir}/${package}-*/" >/dev/null; then
    enable_debian_sources
    mkdir -p "${dir}"
    (cd "${dir}" && apt-get source -qq "${name}" >/dev/null 2>&1) \
      || die "apt-get source ${name} failed (deb-src entries? dpkg-dev?)"
  fi
  compgen -G "${dir}/${package}-*/" | head -n1
}

# Prints the CMake options (one per line) that select the sources FetchContent would download,
# for DEPS_SOURCE:
#   pinned (default)  download the releases pinned in CMakeLists.txt
#   debian            Debian's source packages of cpp-httplib (the single header) and of
#                     prometheus-cpp (used by static builds only): offline, no GitHub needed
# PRESET musl also gets nlohmann_json's and doctest's: glibc's /usr/include is not for musl.
deps_cmake_args() {
  local preset="${1:-}"
  case "${DEPS_SOURCE:-pinned}" in
    pinned) return 0 ;;
    debian) ;;
    *) die "DEPS_SOURCE=${DEPS_SOURCE}: expected pinned or debian" ;;
  esac
  local httplib prometheus
  httplib="$(debian_source_dir cpp-httplib)"
  prometheus="$(debian_source_dir prometheus-cpp)"
  [[ -f "${httplib}/httplib.h" ]] || die "no httplib.h in ${httplib}"
  log "cpp-httplib from ${httplib} ($(grep -m1 -o 'CPPHTTPLIB_VERSION "[^"]*"' "${httplib}/httplib.h"))"
  printf -- '-DFETCHCONTENT_SOURCE_DIR_HTTPLIB=%s\n' "${httplib%/}"
  printf -- '-DFETCHCONTENT_SOURCE_DIR_PROMETHEUS_CPP=%s\n' "${prometheus%/}"
  [[ ${preset} == musl ]] || return 0
  local json doctest
  json="$(debian_source_dir nlohmann-json3)"
  doctest="$(debian_source_dir doctest doctest-dev)"  # source "doctest" alone is Haskell's
  printf -- '-DFETCHCONTENT_SOURCE_DIR_NLOHMANN_JSON=%s\n' "${json%/}"
  printf -- '-DFETCHCONTENT_SOURCE_DIR_DOCTEST=%s\n' "${doctest%/}"
}

# The tools a preset needs beyond the Debian packages: musl's is zig, pinned in tools/zig.
install_preset_tools() {
  [[ $1 == musl ]] || return 0
  local dir="${ROOT}/tools/zig"
  npm ls --prefix "${dir}" >/dev/null 2>&1 && return 0
  command -v npm >/dev/null || apt_install nodejs npm
  log "npm ci in ${dir} (zig, the musl toolchain)"
  npm ci --prefix "${dir}" --no-audit --no-fund --loglevel=error >/dev/null
}

# Configures and builds a preset.
build_preset() {
  local preset="$1"
  local -a args
  install_preset_tools "${preset}"
  mapfile -t args < <(deps_cmake_args "${preset}")
  log "configuring and building preset ${preset}"
  cmake --preset "${preset}" "${args[@]}" >/dev/null
  cmake --build --preset "${preset}"
}
