#!/usr/bin/env bash
# static_build.sh SOURCE_DIR BUILD_DIR [-DVAR=VALUE...]
# The build Dockerfile.alpine does, on this machine: configure with the `static` preset (into
# BUILD_DIR instead of build/static, so a developer's tree is left alone), build, run the unit
# tests. Extra -D arguments carry offline FetchContent settings over from the calling build.
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

main() {
  [[ $# -ge 2 ]] || fail "usage: $0 SOURCE_DIR BUILD_DIR [-DVAR=VALUE...]"
  local src="$1" dir="$2"
  shift 2
  need_cmd cmake ctest ninja
  cd "${src}" || fail "cannot enter ${src}"
  cmake --preset static -B "${dir}" "$@"
  cmake --build "${dir}"
  ctest --test-dir "${dir}" -L unit --output-on-failure
  log "ok: static preset configured, built and unit-tested in ${dir}"
}

main "$@"
