#!/usr/bin/env bash
# Fuzzes the request path with libFuzzer (clang, ASan + UBSan) for SECONDS (default 60), starting
# from tests/fuzz/corpus (its conformance-* seeds are the HTTP/1.1 checklist's requests) and mutating
# with the tokens of tests/fuzz/http.dict. A crash or a broken invariant fails the run and leaves the
# input under build/fuzz/artifacts/: copy it into tests/fuzz/corpus/ so that ctest replays it from then on.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  local seconds="${1:-60}"
  install_debian_packages "${ROOT}/scripts/debian_packages.txt" "${ROOT}/scripts/debian_packages_test.txt"
  build_preset asan --target fuzz_request >/dev/null
  work="$(mktemp -d)" # global: the EXIT trap runs after main returns
  trap 'rm -rf "${work}"' EXIT
  mkdir -p "${ROOT}/build/fuzz/artifacts"
  log "fuzzing for ${seconds} s"
  "${ROOT}/build/asan/fuzz_request" "${work}" "${ROOT}/tests/fuzz/corpus" \
    -dict="${ROOT}/tests/fuzz/http.dict" -max_total_time="${seconds}" -max_len=8192 -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="${ROOT}/build/fuzz/artifacts/" 2>&1 | grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)' || true
  if compgen -G "${ROOT}/build/fuzz/artifacts/*" >/dev/null; then
    die "the fuzzer found inputs that fail: $(ls "${ROOT}"/build/fuzz/artifacts/*)"
  fi
  log "no crash in ${seconds} s"
}

main "$@"
