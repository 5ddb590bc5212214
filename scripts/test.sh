#!/usr/bin/env bash
# Builds favorite-athlete and runs every test under ctest. Extra arguments go to ctest,
# e.g. `scripts/test.sh -L unit`. FA_PRESET (default ci) and FA_DEPS_SOURCE: see scripts/lib.sh.
# FA_TESTS_NO_SKIP=1 (CI) turns a test skipped or disabled for a missing tool into a failure.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  local preset="${FA_PRESET:-ci}"
  install_debian_packages "${ROOT}/scripts/debian_packages.txt" "${ROOT}/scripts/debian_packages_test.txt"
  npm_ci "${ROOT}/tests"
  build_preset "${preset}"
  log "running ctest --preset ${preset} $*"
  local output
  output="$(mktemp)"
  (cd "${ROOT}" && ctest --preset "${preset}" "$@") | tee "${output}"
  # A test skipped (exit 77) or disabled at configure time (node missing: DISABLED) did not run.
  local not_run='\*\*\*(Skipped|Not Run)'
  if [[ ${FA_TESTS_NO_SKIP:-0} == 1 ]] && grep -Eq "${not_run}" "${output}"; then
    die "FA_TESTS_NO_SKIP=1 and tests did not run (a tool is missing): $(grep -Ec "${not_run}" "${output}")"
  fi
  rm -f "${output}"
}

main "$@"
