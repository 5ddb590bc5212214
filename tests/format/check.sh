#!/usr/bin/env bash
# tests/format/check.sh [--fix | --self-test] [ROOT]: the C and C++ files that `git ls-files` lists in
# ROOT (tracked, or new and not ignored; default: this repository) are formatted as clang-format 14
# formats them with ROOT's .clang-format.
#
#   (no option)  clang-format's own check mode (--dry-run --Werror): every line it would change,
#                then the command that fixes them; exit 1
#   --fix        formats them in place instead (what scripts/format.sh runs)
#   --self-test  on a throwaway repository, a formatted copy of a source passes, a copy with its
#                indentation broken is reported, and passes once fixed
#
# The formatter is pinned to major version 14 (Debian 12's; other versions format some lines
# differently): $FA_CLANG_FORMAT, else clang-format-14, else clang-format on PATH. None, or another
# version, exits 77 (tests/lib.sh skip: ctest's Skipped, a failure under FA_TESTS_NO_SKIP=1).
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
  [[ ${version%%.*} == "${WANT_MAJOR}" ]] ||
    skip "${cf} is clang-format '${version}'; the style is pinned to clang-format ${WANT_MAJOR} (${INSTALL_HINT}, or set FA_CLANG_FORMAT)"
  CLANG_FORMAT="${cf}"
}

# list_files ROOT: the C and C++ files under ROOT, relative to it (a tracked file deleted in the
# work tree is not listed).
list_files() {
  local f
  git -C "$1" ls-files --cached --others --exclude-standard -- '*.c' '*.cc' '*.cpp' '*.h' '*.hpp' |
    LC_ALL=C sort -u | while IFS= read -r f; do
    [[ ! -f $1/${f} ]] || printf '%s\n' "${f}"
  done
}

# run_clang_format ROOT -i|--dry-run FILE...: clang-format with ROOT's .clang-format on FILEs relative
# to ROOT; --Werror makes --dry-run's findings errors (and does nothing with -i).
run_clang_format() {
  local root="$1" option="$2"
  shift 2
  (cd "${root}" && "${CLANG_FORMAT}" --style=file "${option}" --Werror -- "$@")
}

# The script itself, as format.clang_format and scripts/format.sh run it, on a throwaway repository:
# a tracked file formatted, a new untracked one with its indentation broken, a tracked one deleted
# from the work tree, and an ignored one under build/.
self_test() {
  local root="$1" tmp out
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand tmp now: it is local
  trap "rm -rf '${tmp}'" EXIT
  git -C "${tmp}" init -q
  cp "${root}/.clang-format" "${tmp}/"
  cp "${root}/server.cpp" "${tmp}/good.cpp"
  run_clang_format "${tmp}" -i good.cpp
  touch "${tmp}/gone.cpp"
  git -C "${tmp}" add good.cpp gone.cpp
  rm "${tmp}/gone.cpp"
  bash "$0" "${tmp}" || die "self-test: a formatted file fails the check"
  sed 's/^  \([^ ]\)/   \1/' "${tmp}/good.cpp" >"${tmp}/bad.hpp"
  ! cmp -s "${tmp}/good.cpp" "${tmp}/bad.hpp" || die "self-test: server.cpp has no indented line to break"
  mkdir "${tmp}/build" && cp "${tmp}/bad.hpp" "${tmp}/build/" && echo build/ >"${tmp}/.gitignore"
  out=$(bash "$0" "${tmp}" 2>&1) && die "self-test: a file with 3-space indents passes the check"
  head -n4 <<<"${out}" | sed 's/^/    | /'
  grep -qE '^bad\.hpp:[0-9]+:[0-9]+: error: ' <<<"${out}" || die "self-test: bad.hpp's lines are not reported"
  ! grep -qE 'good\.cpp|build/' <<<"${out}" || die "self-test: a formatted or an ignored file is reported"
  grep -q 'Fix: scripts/format.sh' <<<"${out}" || die "self-test: the fix command is not shown"
  bash "$0" --fix "${tmp}" >/dev/null 2>&1 || die "self-test: --fix failed"
  cmp -s "${tmp}/good.cpp" "${tmp}/bad.hpp" || die "self-test: --fix did not restore bad.hpp"
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
  local root
  root=$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)
  [[ -f ${root}/.clang-format ]] || die "no .clang-format in ${root}"
  pick_clang_format
  [[ ${mode} != self-test ]] || {
    self_test "${root}"
    return 0
  }
  local -a files
  mapfile -t files < <(list_files "${root}")
  ((${#files[@]} > 0)) || die "no C or C++ files found in ${root}"
  log "${CLANG_FORMAT}, ${root}/.clang-format, ${#files[@]} files"
  if [[ ${mode} == fix ]]; then
    run_clang_format "${root}" -i "${files[@]}"
    log "formatted in place; git diff shows what changed"
  else # clang-format's check mode prints FILE:LINE:COL: error: for each line it would change
    run_clang_format "${root}" --dry-run "${files[@]}" ||
      die "not formatted (above: each line clang-format would change). Fix: scripts/format.sh"
    log "all ${#files[@]} files are formatted"
  fi
}

main "$@"
