#!/usr/bin/env bash
# node_tests.sh lint|policy DOCKERFILE DOCKERIGNORE
#   lint:   dockerfile-utils (pinned in package.json) reports nothing, errors or warnings, on
#           DOCKERFILE, and does report a known-bad variant (so a broken linter cannot pass).
#   policy: dockerfile_policy.js accepts DOCKERFILE + DOCKERIGNORE, rejects a bad variant through
#           its command line, and policy_selftest.js rejects every single-rule violation.
# Needs node and `npm ci --prefix tests/image` (done by .ci/run).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
source "$here/../lib.sh"

[[ $# -eq 3 ]] || fail "usage: $0 lint|policy DOCKERFILE DOCKERIGNORE"
mode=$1 dockerfile=$2 dockerignore=$3
need_cmd node
[[ -d $here/node_modules/dockerfile-utils && -d $here/node_modules/dockerfile-ast ]] ||
  skip "npm packages missing: run 'npm ci --prefix tests/image'"

work=$(mktemp -d "${TMPDIR:-/tmp}/fa-dflint.XXXXXX")
trap 'rm -rf "$work"' EXIT

case $mode in
lint)
  lint() { node "$here/node_modules/dockerfile-utils/bin/dockerfile-utils" lint --json "$1"; }
  log "dockerfile-utils $(node -p "require('$here/node_modules/dockerfile-utils/package.json').version")"
  out=$(lint "$dockerfile") || fail "dockerfile-utils lint failed: $out"
  [[ $out == '[]' ]] || fail "dockerfile-utils reports problems in $dockerfile: $out"
  log "ok: dockerfile-utils lint: no errors, no warnings in $dockerfile"
  # Known-bad variant: a second ENTRYPOINT (warning) and an unknown instruction (error).
  {
    cat "$dockerfile"
    printf 'ENTRYPOINT ["/x"]\nENTRYPIONT ["/y"]\n'
  } >"$work/Dockerfile.bad"
  out=$(lint "$work/Dockerfile.bad") || true
  [[ $out == *ENTRYPOINT* && $out == *ENTRYPIONT* ]] || fail "linter did not flag the known-bad variant: $out"
  log "ok: dockerfile-utils flags a known-bad variant"
  ;;
policy)
  node "$here/dockerfile_policy.js" "$dockerfile" "$dockerignore" || fail "policy violations in $dockerfile"
  sed -E 's/^USER .*/USER root/' "$dockerfile" >"$work/Dockerfile.bad"
  if node "$here/dockerfile_policy.js" "$work/Dockerfile.bad" "$dockerignore"; then
    fail "policy checker accepted USER root"
  fi
  log "ok: the checker's command line exits non-zero on a bad Dockerfile"
  node "$here/policy_selftest.js" "$dockerfile" "$dockerignore" || fail "policy self-test failed"
  ;;
*) fail "unknown mode $mode" ;;
esac
