# Shared by scripts/test.sh and scripts/run.sh: dependencies and the cpp-httplib source.
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

# Installs the Debian packages listed in scripts/debian-packages.txt that are missing.
install_debian_packages() {
  local -a wanted missing=()
  mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "${ROOT}/scripts/debian-packages.txt")
  local pkg
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q 'ok installed' || missing+=("${pkg}")
  done
  ((${#missing[@]} == 0)) && return 0
  command -v apt-get >/dev/null || die "not a Debian system; install the equivalents of: ${missing[*]}"
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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

# Prints the CMake option that selects cpp-httplib's source for HTTPLIB_SOURCE:
#   pinned (default)  FetchContent downloads the release pinned in CMakeLists.txt
#   debian            the single header of Debian's source package (offline, no GitHub)
#   DIR               a directory holding httplib.h
httplib_cmake_arg() {
  local source="${HTTPLIB_SOURCE:-pinned}" dir
  case "${source}" in
    pinned) return 0 ;;
    debian)
      dir="${ROOT}/.deps/httplib-debian"
      if ! compgen -G "${dir}/cpp-httplib-*/httplib.h" >/dev/null; then
        enable_debian_sources
        mkdir -p "${dir}"
        (cd "${dir}" && apt-get source -qq cpp-httplib >/dev/null 2>&1) \
          || die "apt-get source cpp-httplib failed (deb-src entries? dpkg-dev?)"
      fi
      dir="$(dirname "$(compgen -G "${dir}/cpp-httplib-*/httplib.h" | head -n1)")"
      ;;
    *) dir="${source}" ;;
  esac
  [[ -f "${dir}/httplib.h" ]] || die "HTTPLIB_SOURCE=${source}: no httplib.h in ${dir}"
  log "cpp-httplib from ${dir} ($(grep -m1 -o 'CPPHTTPLIB_VERSION "[^"]*"' "${dir}/httplib.h"))"
  printf -- '-DFETCHCONTENT_SOURCE_DIR_HTTPLIB=%s\n' "${dir}"
}

# Configures and builds a preset.
build_preset() {
  local preset="$1" arg
  arg="$(httplib_cmake_arg)"
  log "configuring and building preset ${preset}"
  cmake --preset "${preset}" ${arg:+"${arg}"} >/dev/null
  cmake --build --preset "${preset}"
}
