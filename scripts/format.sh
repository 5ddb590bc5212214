#!/usr/bin/env bash
# Formats the project's C and C++ sources in place with clang-format 14 (Debian 12's) and the
# repository's .clang-format: the files ctest's format.clang_format checks (tests/format/check.sh,
# which this runs with --fix). Installs Debian's clang-format-14 when no clang-format 14 is found;
# FA_CLANG_FORMAT names another binary of that version. `git diff` shows what it changed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  if [[ -z ${FA_CLANG_FORMAT:-} ]] && ! command -v clang-format-14 >/dev/null; then
    apt_install clang-format-14
  fi
  local rc=0
  "${ROOT}/tests/format/check.sh" --fix "${ROOT}" || rc=$?
  ((rc != 77)) || die "no clang-format 14 (above: what was found); nothing was formatted"
  return "${rc}"
}

main "$@"
