#!/usr/bin/env bash
# scripts/bump_httplib.sh VERSION [HEADER]: moves the cpp-httplib pin to VERSION (e.g. 0.56.0) in one
# step, rewriting together what must never disagree: the download URL and its SHA-256 in
# CMakeLists.txt (FetchContent refuses a header whose hash differs), and the version that
# docs/build-and-test.md names. The header is downloaded from the release tag with curl, or read
# from HEADER (a copy of that release's httplib.h, e.g. from a mirror); either way it must declare
# CPPHTTPLIB_VERSION "VERSION". Then run scripts/test.sh: the build and every test on the new header.
# Dependabot (.github/dependabot.yml) cannot do this one: it has no manager for a URL in CMake.
set -euo pipefail
# shellcheck source=scripts/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/log.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly RAW=https://raw.githubusercontent.com/yhirose/cpp-httplib

fetch_header() { # fetch_header VERSION OUT [HEADER]
  if [[ -n ${3:-} ]]; then
    cp "$3" "$2"
  else
    run curl -fsSL --max-time 120 -o "$2" "$RAW/v$1/httplib.h" || die "could not download $RAW/v$1/httplib.h"
  fi
  grep -q "^#define CPPHTTPLIB_VERSION \"$1\"" "$2" ||
    die "that httplib.h does not declare CPPHTTPLIB_VERSION \"$1\": not the v$1 header"
}

rewrite() { # rewrite VERSION SHA256
  local cmake="$ROOT/CMakeLists.txt" doc="$ROOT/docs/build-and-test.md"
  if ! grep -q "^set(FAVORITE_ATHLETE_HTTPLIB_URL \"$RAW/v[0-9.]*/httplib.h\"" "$cmake" ||
    ! grep -q '^set(_httplib_sha256 [0-9a-f]\{64\})' "$cmake"; then
    die "CMakeLists.txt has no httplib URL and SHA-256 lines in the form this script rewrites"
  fi
  sed -i -e "s|^\(set(FAVORITE_ATHLETE_HTTPLIB_URL \"$RAW/v\)[0-9.]*\(/httplib.h\"\)|\1$1\2|" \
    -e "s|^set(_httplib_sha256 [0-9a-f]\{64\})|set(_httplib_sha256 $2)|" "$cmake"
  [[ ! -f $doc ]] || sed -i "s|the pinned release (v[0-9.]*,|the pinned release (v$1,|" "$doc"
}

main() {
  if (($# < 1 || $# > 2)) || [[ ! $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
  fi
  local work sha
  work=$(mktemp -d "${TMPDIR:-/tmp}/fa-httplib.XXXXXX")
  # shellcheck disable=SC2064 # this directory, now
  trap "rm -rf '$work'" EXIT
  fetch_header "$1" "$work/httplib.h" "${2:-}"
  sha=$(sha256sum "$work/httplib.h" | cut -d' ' -f1)
  rewrite "$1" "$sha"
  log "CMakeLists.txt now pins cpp-httplib v$1 (SHA-256 $sha); next: scripts/test.sh"
}

main "$@"
