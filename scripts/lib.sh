# shellcheck shell=bash
# Shared by the scripts: Debian packages, offline dependency sources, building a preset. Logging
# (log, warn, die, step, run) is scripts/log.sh's, sourced here.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
# shellcheck source=scripts/log.sh
source "${ROOT}/scripts/log.sh"

as_root() {
  if [[ ${EUID} -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else die "run as root, or install by hand: $*"; fi
}

# Installs Debian packages, non-interactively, as root (or through sudo). Never removes a package
# (--no-remove: a conflict fails, naming what apt would have removed) and never starts a service
# (a policy-rc.d denies every start for the install's duration; see without_service_starts).
# FA_APT_UPDATE=0 skips `apt-get update` (the tests run apt simulations through APT_CONFIG).
apt_install() {
  command -v apt-get >/dev/null || die "not a Debian system; install the equivalents of: $*"
  log "installing Debian packages: $*"
  [[ ${FA_APT_UPDATE:-1} == 0 ]] || as_root apt-get update -qq
  if ! without_service_starts as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends --no-remove "$@" >/dev/null; then
    local removed
    removed="$(apt-get -s install --no-install-recommends --no-remove "$@" 2>/dev/null |
      sed -n '/will be REMOVED:/,/^[^ ]/{/^ /p}' | xargs)"
    [[ -z ${removed} ]] || die "installing $* would remove ${removed}, so nothing was installed" \
      "(apt-get --no-remove). Keep ${removed}: install the equivalent of $* by hand (or skip" \
      "what needs it), or decide yourself to replace ${removed} and then rerun."
    die "apt-get install --no-remove $* failed (see apt's messages above)"
  fi
}

# without_service_starts CMD...: runs CMD with a policy-rc.d that denies every service start
# (exit 101), so packages installed meanwhile (nginx: port 80) leave no service running; the
# previous policy-rc.d, if any, is put back afterwards, also when CMD fails or is interrupted.
# Units the packages enable for the next boot are left to deb-systemd-helper below.
without_service_starts() {
  local policy="${FA_POLICY_RC_D:-/usr/sbin/policy-rc.d}"
  (
    local saved=""
    if [[ -e ${policy} ]]; then
      saved="$(mktemp)"
      as_root cp -p "${policy}" "${saved}"
    fi
    trap 'if [[ -n ${saved} ]]; then as_root mv -f "${saved}" "${policy}"; else as_root rm -f "${policy}"; fi' EXIT
    trap 'exit 130' INT TERM HUP
    printf '#!/bin/sh\n# Written by favorite-athlete scripts/lib.sh for one apt_install.\nexit 101\n' |
      as_root tee "${policy}" >/dev/null
    as_root chmod 0755 "${policy}"
    local before rc=0
    before="$(installed_units)"
    "$@" || rc=$?
    ((rc != 0)) || disable_new_units "${before}"
    exit "${rc}"
  )
}

# The systemd service units installed packages ship, one per line.
installed_units() {
  dpkg-query -S '/lib/systemd/system/*.service' 2>/dev/null | sed -n 's#^.*: /lib/systemd/system/\([^/]*\)$#\1#p' | sort -u
}

# disable_new_units BEFORE: units that appeared since BEFORE (a list from installed_units) are not
# left enabled for the next boot either.
disable_new_units() {
  command -v deb-systemd-helper >/dev/null || return 0
  local unit
  for unit in $(comm -13 <(printf '%s\n' "$1") <(installed_units)); do
    if deb-systemd-helper --quiet was-enabled "${unit}" 2>/dev/null; then
      log "${unit}: installed enabled by its package; disabling it (this project never needs it running)"
      as_root deb-systemd-helper disable "${unit}" >/dev/null 2>&1 || true
    fi
  done
}

# Installs the missing Debian packages of the given lists (files, one package per line). A package
# that an installed one provides counts as there: Docker's containerd.io provides runc, and
# installing Debian's runc over it would remove containerd.io and docker-ce.
install_debian_packages() {
  local -a wanted missing=()
  mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$@")
  local present pkg
  present="$(installed_or_provided)"
  for pkg in "${wanted[@]}"; do
    grep -qxF "${pkg}" <<<"${present}" || missing+=("${pkg}")
  done
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

# Every installed package and every package name an installed one provides, one per line.
installed_or_provided() {
  dpkg-query -W -f='${db:Status-Abbrev}|${Package}|${Provides}\n' 2>/dev/null |
    awk -F'|' '$1 ~ /^ii/ { print $2; n = split($3, p, ","); for (i = 1; i <= n; i++) { sub(/^ +/, "", p[i]); sub(/ .*/, "", p[i]); if (p[i] != "") print p[i] } }'
}

# The machine's Debian release: its codename (bookworm on Debian 12).
debian_release() { (. /etc/os-release && printf '%s\n' "${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"); }

# debian_source_dir PACKAGE [NAME [DIR [FILE [SUITE]]]]: prints the source tree of Debian's source
# package PACKAGE, fetched once with `apt-get source NAME` into DIR and reused from then on.
#   NAME   what apt-get source is asked for (default PACKAGE): a binary package's name when
#          another source shares PACKAGE's, or PACKAGE=VERSION
#   DIR    where the tree goes (default .deps/debian-PACKAGE)
#   FILE   a file every complete tree has (default or empty: debian/control, which dpkg-source
#          unpacks last): without it, an interrupted fetch, DIR is emptied and fetched again
#   SUITE  the Debian suite to fetch from (default: the machine's own release), e.g. sid for the
#          newest version Debian has; always through a private APT configuration (see
#          private_apt_config): the machine's apt sources are neither read nor changed
# The Debian version fetched is logged.
debian_source_dir() {
  local package="$1" name="${2:-$1}" dir="${3:-${ROOT}/.deps/debian-$1}" file="${4:-debian/control}"
  local suite="${5:-}"
  if ! compgen -G "${dir}/${package}-*/${file}" >/dev/null; then
    [[ -n ${suite} ]] || suite="$(debian_release)"
    local apt_config
    apt_config="$(private_apt_config "${suite}")" || die "no APT configuration for Debian ${suite} (above: why)"
    rm -rf "${dir}" && mkdir -p "${dir}"
    log "apt-get source ${name} into ${dir} (Debian ${suite})"
    (cd "${dir}" && APT_CONFIG="${apt_config}" apt-get source -qq "${name}" >/dev/null 2>&1) ||
      die "apt-get source ${name} failed (is dpkg-dev installed? is ${name} in Debian ${suite}?)"
    compgen -G "${dir}/${package}-*/${file}" >/dev/null ||
      die "apt-get source ${name} left no ${package}-*/${file} in ${dir}"
  fi
  local dsc
  dsc="$(compgen -G "${dir}/${package}_*.dsc" | head -n1)"
  log "Debian source package ${package} ${dsc:+$(sed -n 's/^Version: //p' "${dsc}") }in ${dir}"
  compgen -G "${dir}/${package}-*/" | head -n1
}

# private_apt_config SUITE: prints an APT_CONFIG file whose apt sees the deb-src entry of Debian's
# SUITE (e.g. sid) and nothing else, after an `apt-get update` of that entry alone. Its sources,
# package lists and caches are under .deps/apt-SUITE, so the machine's own apt (its sources, its
# lists, what it installs) never sees SUITE; and `apt-get source` installs nothing. Settings of
# /etc/apt/apt.conf.d (a proxy, say) still apply. The mirror is the one the machine's apt sources
# use for Debian; SUITE's Release file must be signed by a key of the Debian archive keyring. An
# index updated in the last hour is reused (a build fetches up to five source packages).
private_apt_config() {
  local suite="$1" dir="${ROOT}/.deps/apt-$1" mirror
  if [[ -n "$(find "${dir}/updated" -mmin -60 2>/dev/null)" ]]; then
    printf '%s\n' "${dir}/apt.conf"
    return 0
  fi
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [[ -f ${keyring} ]] || die "no ${keyring}: install debian-archive-keyring"
  # The machine's Debian archive as apt knows it: the first repository whose Release file says
  # Origin Debian, Label Debian (not Debian-Security; not a third party's repository for the same
  # suite, such as Docker's).
  mirror="$(apt-cache policy 2>/dev/null |
    awk '$1 ~ /^[0-9]+$/ { uri = $2 } $1 == "release" && /o=Debian,/ && /l=Debian,/ { print uri; exit }')"
  [[ -n ${mirror} ]] || die "no Debian archive in the machine's apt sources (apt-cache policy, after" \
    "apt-get update) to fetch Debian ${suite}'s sources from"
  rm -rf "${dir}"
  mkdir -p "${dir}/sources.list.d" "${dir}/lists/partial" "${dir}/cache/archives/partial"
  printf 'deb-src [signed-by=%s] %s %s main\n' "${keyring}" "${mirror}" "${suite}" >"${dir}/sources.list"
  printf 'Dir::Etc::sourcelist "%s";\nDir::Etc::sourceparts "%s";\nDir::State::lists "%s";\nDir::Cache "%s";\n' \
    "${dir}/sources.list" "${dir}/sources.list.d" "${dir}/lists" "${dir}/cache" >"${dir}/apt.conf"
  log "apt-get update of Debian ${suite}'s source index alone, in ${dir}"
  APT_CONFIG="${dir}/apt.conf" apt-get update -qq >&2 ||
    die "apt-get update with ${dir}/apt.conf failed (see apt's messages above)"
  touch "${dir}/updated"
  printf '%s\n' "${dir}/apt.conf"
}

# Prints the CMake options (one per line) that select the sources FetchContent would download,
# for FA_DEPS_SOURCE:
#   pinned (default)  download the releases pinned in CMakeLists.txt
#   debian            Debian's source packages, offline, no GitHub needed: cpp-httplib's (the
#                     single header) the newest Debian has, sid's (what CI tests, see
#                     docs/build-and-test.md); prometheus-cpp's (static builds only) the
#                     machine's release's
# FA_PRESET musl also gets nlohmann_json's and doctest's (glibc's /usr/include is not for musl), and
# mimalloc's (static musl builds link it in place of musl's malloc).
deps_cmake_args() {
  local preset="${1:-}"
  case "${FA_DEPS_SOURCE:-pinned}" in
  pinned) return 0 ;;
  debian) ;;
  *) die "FA_DEPS_SOURCE=${FA_DEPS_SOURCE}: expected pinned or debian" ;;
  esac
  local httplib prometheus
  httplib="$(debian_source_dir cpp-httplib cpp-httplib "${ROOT}/.deps/sid-cpp-httplib" "" sid)"
  prometheus="$(debian_source_dir prometheus-cpp)"
  [[ -f "${httplib}/httplib.h" ]] || die "no httplib.h in ${httplib}"
  log "cpp-httplib from ${httplib} ($(grep -m1 -o 'CPPHTTPLIB_VERSION "[^"]*"' "${httplib}/httplib.h"))"
  printf -- '-DFETCHCONTENT_SOURCE_DIR_HTTPLIB=%s\n' "${httplib%/}"
  printf -- '-DFETCHCONTENT_SOURCE_DIR_PROMETHEUS_CPP=%s\n' "${prometheus%/}"
  [[ ${preset} == musl ]] || return 0
  local json doctest mimalloc
  json="$(debian_source_dir nlohmann-json3)"
  doctest="$(debian_source_dir doctest doctest-dev)" # source "doctest" alone is Haskell's
  mimalloc="$(debian_source_dir mimalloc)"
  printf -- '-DFETCHCONTENT_SOURCE_DIR_NLOHMANN_JSON=%s\n' "${json%/}"
  printf -- '-DFETCHCONTENT_SOURCE_DIR_DOCTEST=%s\n' "${doctest%/}"
  printf -- '-DFETCHCONTENT_SOURCE_DIR_MIMALLOC=%s\n' "${mimalloc%/}"
}

# npm_ci DIR: installs what DIR's package-lock.json pins (Node.js from Debian if there is no npm).
npm_ci() {
  command -v npm >/dev/null || apt_install nodejs npm
  log "npm ci in $1"
  npm ci --prefix "$1" --no-audit --no-fund --loglevel=error >/dev/null
}

# build_preset PRESET [ARG...]: configures and builds a preset; ARGs go to cmake --build (the
# benchmark builds `--target favorite-athlete` alone). From the checkout's root, whatever the
# caller's directory: CMake reads CMakePresets.json from the current one.
build_preset() {
  local preset="$1"
  local -a args
  # musl's compiler is zig, pinned in toolchains/zig.
  [[ ${preset} != musl ]] || npm ls --prefix "${ROOT}/toolchains/zig" >/dev/null 2>&1 || npm_ci "${ROOT}/toolchains/zig"
  mapfile -t args < <(deps_cmake_args "${preset}")
  log "configuring and building preset ${preset}"
  local errors # configure's stderr (its stdout goes to /dev/null)
  if ! errors="$(cd "${ROOT}" && cmake --preset "${preset}" "${args[@]}" 2>&1 >/dev/null)"; then
    # The project's own one-line diagnoses (e.g. offline: use FA_DEPS_SOURCE=debian) say it all.
    grep -q 'favorite-athlete: ' <<<"${errors}" && die "$(grep -o 'favorite-athlete: .*' <<<"${errors}" | head -n1)"
    printf '%s\n' "${errors}" >&2
    die "cmake --preset ${preset} failed (see above)"
  fi
  [[ -z ${errors} ]] || printf '%s\n' "${errors}" >&2
  cmake --build "${ROOT}/build/${preset}" "${@:2}" # the preset's binaryDir
}
