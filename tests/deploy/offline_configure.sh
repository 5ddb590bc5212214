#!/usr/bin/env bash
# offline_configure.sh: when cpp-httplib cannot be downloaded, configuring says so in one line
# naming FA_DEPS_SOURCE=debian, instead of FetchContent's wall of sub-build errors; and
# scripts/serve.sh (scripts/lib.sh build_preset) shows just that line. The download is pointed at
# a closed local port through the cache variable FAVORITE_ATHLETE_HTTPLIB_URL, so no network is
# used; the pinned URL and SHA-256 in CMakeLists.txt stay what users get.
set -Eeuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh" # fail, skip, need_cmd
need_cmd cmake ninja

work=$(mktemp -d "${TMPDIR:-/tmp}/fa-offline.XXXXXX")
trap 'rm -rf "$work"' EXIT
unreachable=http://127.0.0.1:9/httplib.h # port 9 (discard): nothing listens there
configure() { cmake -S "$root" -B "$work/build" -G Ninja -DFAVORITE_ATHLETE_HTTPLIB_URL="$unreachable"; }

if out=$(configure 2>&1); then fail "configure succeeded without cpp-httplib: $out"; fi
line=$(grep '^favorite-athlete: cannot download cpp-httplib' <<<"$out") || fail "no one-line diagnosis in: $out"
[[ $line == *"from $unreachable"* && $line == *"FA_DEPS_SOURCE=debian"* ]] || fail "the line does not name the URL and FA_DEPS_SOURCE=debian: $line"
! grep -q 'FetchContent' <<<"$out" || fail "FetchContent's own errors still show: $out"
echo "ok: configure fails with: $line"

# scripts/serve.sh's build step: only that line, as its error.
# Its `cmake --preset` is redirected into a temp tree (a developer's build/release is left alone).
# shellcheck disable=SC2016 # expanded by the inner bash
out=$(env -u FA_DEPS_SOURCE FA_ROOT="$root" FA_BUILD="$work/build2" FA_URL="$unreachable" bash -c 'source "$FA_ROOT/scripts/lib.sh"
  cmake() { command cmake -S "$FA_ROOT" -B "$FA_BUILD" -G Ninja -DFAVORITE_ATHLETE_HTTPLIB_URL="$FA_URL"; }
  build_preset release' 2>&1) && fail "build_preset succeeded: $out"
[[ $(grep -c . <<<"$out") == 2 ]] || fail "build_preset printed more than its log line and the error: $out"
[[ $(tail -n1 <<<"$out") == *"error: favorite-athlete: cannot download cpp-httplib"*"FA_DEPS_SOURCE=debian"* ]] ||
  fail "build_preset's error is not the one line: $out"
echo "ok: scripts/lib.sh build_preset fails with: $(tail -n1 <<<"$out")"
