#!/usr/bin/env bash
# node_tests.sh lint|policy DOCKERFILE DOCKERIGNORE
#   lint:   dockerfile-utils (pinned in package.json) reports nothing, errors or warnings, on
#           DOCKERFILE, and does report a known-bad variant (so a broken linter cannot pass).
#   policy: policy_selftest.js: dockerfile_policy.js accepts DOCKERFILE + DOCKERIGNORE and rejects
#           every single-rule violation of them.
# Needs node and `npm ci --prefix tests/image` (done by .ci/run).
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "${HERE}/../lib.sh"

lint() { node "${HERE}/node_modules/dockerfile-utils/bin/dockerfile-utils" lint --json "$1"; }

# lint_check DOCKERFILE: no finding on it, and findings on a known-bad variant.
lint_check() {
  local out
  log "dockerfile-utils $(node -p "require('${HERE}/node_modules/dockerfile-utils/package.json').version")"
  out="$(lint "$1")" || fail "dockerfile-utils lint failed: ${out}"
  [[ ${out} == '[]' ]] || fail "dockerfile-utils reports problems in $1: ${out}"
  log "ok: dockerfile-utils lint: no errors, no warnings in $1"
  # Known-bad variant: a second ENTRYPOINT (warning) and an unknown instruction (error).
  {
    cat "$1"
    printf 'ENTRYPOINT ["/x"]\nENTRYPIONT ["/y"]\n'
  } >"${WORK}/Dockerfile.bad"
  out="$(lint "${WORK}/Dockerfile.bad")" || true
  [[ ${out} == *ENTRYPOINT* && ${out} == *ENTRYPIONT* ]] || fail "linter did not flag the known-bad variant: ${out}"
  log "ok: dockerfile-utils flags a known-bad variant"
}

policy_check() { node "${HERE}/policy_selftest.js" "$1" "$2" || fail "the Dockerfile policy or its self-test failed"; }

main() {
  [[ $# -eq 3 && $1 =~ ^(lint|policy)$ ]] || fail "usage: $0 lint|policy DOCKERFILE DOCKERIGNORE"
  need_cmd node
  [[ -d ${HERE}/node_modules/dockerfile-utils && -d ${HERE}/node_modules/dockerfile-ast ]] ||
    skip "npm packages missing: run 'npm ci --prefix tests/image'"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/fa-dflint.XXXXXX")"
  trap 'rm -rf "${WORK}"' EXIT
  "$1_check" "$2" "$3"
}

main "$@"
