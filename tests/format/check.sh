#!/usr/bin/env bash
# tests/format/check.sh [--self-test | --fix] [ROOT]: the project's C and C++ sources are
# formatted as clang-format 14 formats them with the repository's .clang-format.
#
#   (no option)  checks with clang-format's own check mode (--dry-run --Werror): every line it
#                would change, then the command that fixes it; exit 1
#   --fix        formats them in place instead (what scripts/format.sh runs)
#   --self-test  proves the check catches a file whose indentation is broken, in a temporary copy
#
# The files: every *.c, *.cc, *.cpp, *.h and *.hpp that `git ls-files` lists in ROOT, a git
# checkout (tracked, or new and not ignored). ROOT defaults to this repository.
# The formatter is pinned: clang-format major version 14 (Debian 12's), taken from $FA_CLANG_FORMAT,
# else clang-format-14, else clang-format on PATH; other versions format some lines differently.
# A missing or other clang-format exits 77 (tests/lib.sh skip: ctest's Skipped, a failure under
# FA_TESTS_NO_SKIP=1).
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

readonly WANT_MAJOR=14
readonly INSTALL_HINT="Debian 12: apt-get install --no-remove clang-format-14"

# Sets CLANG_FORMAT to a clang-format of major version 14, or skips saying what was found.
pick_clang_format() {
  local cf="${FA_CLANG_FORMAT:-}" version
  if [[ -z ${cf} ]]; then
    cf=$(command -v clang-format-${WANT_MAJOR} || command -v clang-format) ||
      skip "clang-format not found (${INSTALL_HINT})"
  fi
  version=$("${cf}" --version 2>/dev/null | sed -n 's/.*clang-format version \([0-9][0-9.]*\).*/\1/p' | head -n1)
  [[ -n ${version} ]] || skip "${cf} does not report a clang-format version"
  [[ ${version%%.*} == "${WANT_MAJOR}" ]] ||
    skip "${cf} is clang-format ${version}; the style is pinned to clang-format ${WANT_MAJOR} (${INSTALL_HINT}, or set FA_CLANG_FORMAT)"
  CLANG_FORMAT="${cf}"
  CLANG_FORMAT_VERSION="${version}"
}

# list_files ROOT: the C and C++ files under ROOT, relative to it, one per line.
list_files() {
  local f
  git -C "$1" ls-files --cached --others --exclude-standard -- '*.c' '*.cc' '*.cpp' '*.h' '*.hpp' |
    LC_ALL=C sort -u | while IFS= read -r f; do
    [[ ! -f $1/${f} ]] || printf '%s\n' "${f}" # a tracked file deleted in the work tree is not checked
  done
}

# check ROOT FILE...: clang-format's own check mode (--dry-run --Werror): every line it would
# change, as FILE:LINE:COL: error; then how many files and the command that fixes them; returns 1.
check() {
  local root="$1" out n
  shift
  out=$(cd "${root}" && "${CLANG_FORMAT}" --style=file --dry-run --Werror -- "$@" 2>&1) && return 0
  n=$(grep -oE '^[^:]+:[0-9]+:[0-9]+: error: code should be clang-formatted' <<<"${out}" | cut -d: -f1 | sort -u | wc -l)
  ((n > 0)) || die "${CLANG_FORMAT} failed: ${out}"
  grep -E '^[^:]+:[0-9]+:[0-9]+: error: ' <<<"${out}" >&2
  err "${n} of $# files are not formatted. Fix: scripts/format.sh (${CLANG_FORMAT##*/} -i on these" \
    "files); a file's changes: ${CLANG_FORMAT##*/} FILE | diff FILE -"
  return 1
}

# fix ROOT FILE...: formats the files in place.
fix() {
  local root="$1"
  shift
  (cd "${root}" && "${CLANG_FORMAT}" --style=file -i -- "$@")
}

self_test() {
  local root="$1" tmp sample out rc
  local -a files
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand tmp now: it is local
  trap "rm -rf '${tmp}'" EXIT
  # The listing of this checkout finds the project's sources and nothing in build trees.
  mapfile -t files < <(list_files "${root}")
  printf '%s\n' "${files[@]}" | grep -qx 'server.cpp' || die "self-test: the file list of ${root} lacks server.cpp"
  printf '%s\n' "${files[@]}" | grep -qx 'tests/fuzz/fuzz_request.cpp' || die "self-test: the file list lacks tests/fuzz/fuzz_request.cpp"
  ! printf '%s\n' "${files[@]}" | grep -q '^build/' || die "self-test: the file list has files under build/"
  # A formatted copy of a source, and the same copy with its indentation broken.
  sample="${files[0]}"
  cp "${root}/.clang-format" "${tmp}/"
  cp "${root}/${sample}" "${tmp}/good.cpp"
  fix "${tmp}" good.cpp
  sed 's/^  \([^ ]\)/   \1/' "${tmp}/good.cpp" >"${tmp}/bad.cpp"
  ! cmp -s "${tmp}/good.cpp" "${tmp}/bad.cpp" || die "self-test: ${sample} has no indented line to break"
  log "self-test: a formatted copy of ${sample} (good.cpp), the copy with 3-space indents (bad.cpp)"
  rc=0
  out=$(check "${tmp}" good.cpp bad.cpp 2>&1) || rc=$?
  printf '%s\n' "${out}" | sed 's/^/    | /'
  ((rc == 1)) || die "self-test: the check exited ${rc} on a broken file, not 1"
  grep -qE '^bad\.cpp:[0-9]+:[0-9]+: error: ' <<<"${out}" || die "self-test: bad.cpp is not reported"
  ! grep -q 'good\.cpp' <<<"${out}" || die "self-test: a formatted file is reported"
  grep -q '1 of 2 files are not formatted' <<<"${out}" || die "self-test: the count of files is wrong"
  grep -q 'Fix: scripts/format.sh' <<<"${out}" || die "self-test: the fix command is not shown"
  # --fix formats it; the check passes then.
  fix "${tmp}" bad.cpp
  cmp -s "${tmp}/good.cpp" "${tmp}/bad.cpp" || die "self-test: --fix did not restore bad.cpp"
  check "${tmp}" good.cpp bad.cpp 2>/dev/null || die "self-test: the check fails after --fix"
  log "self-test OK: the broken file is reported with the fix command, and passes once fixed"
}

main() {
  local mode=check
  case ${1:-} in
  --self-test | --fix)
    mode="${1#--}"
    shift
    ;;
  -*)
    sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" >&2
    exit 2
    ;;
  esac
  local root="${1:-$(dirname "${BASH_SOURCE[0]}")/../..}"
  root=$(cd "${root}" && pwd)
  [[ -f ${root}/.clang-format ]] || die "no .clang-format in ${root}"
  pick_clang_format
  if [[ ${mode} == self-test ]]; then
    self_test "${root}"
    return 0
  fi
  local -a files
  mapfile -t files < <(list_files "${root}")
  ((${#files[@]} > 0)) || die "no C or C++ files found in ${root}"
  log "clang-format ${CLANG_FORMAT_VERSION} (${CLANG_FORMAT}), ${root}/.clang-format, ${#files[@]} files"
  if [[ ${mode} == fix ]]; then
    fix "${root}" "${files[@]}"
    log "formatted in place; git diff shows what changed"
    return 0
  fi
  check "${root}" "${files[@]}" || exit 1
  log "all ${#files[@]} files are formatted"
}

main "$@"
