#!/usr/bin/env bash
# smoke_busybox.sh BINARY
# Runs tests/image/smoke.sh (the contract smoke Dockerfile.alpine's build stage runs) on this
# machine the way the Alpine stage runs it: busybox sh with a PATH holding only busybox applets.
# It must pass on BINARY and fail on a stand-in server that answers GET / wrongly, so a broken
# binary cannot slip through the image build's gate.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -eq 1 ]] || fail "usage: $0 BINARY"
bin=$(readlink -f "$1")
[[ -x $bin ]] || fail "no executable at $1"
need_cmd busybox

work=$(mktemp -d "${TMPDIR:-/tmp}/fa-smoke-bb.XXXXXX")
trap 'rm -rf "$work"' EXIT
busybox_path "$work/bin"
smoke() { env -i PATH="$work/bin" TMPDIR="$work" "$work/bin/sh" "$here/smoke.sh" "$1"; }

smoke "$bin" >&2 || fail "smoke.sh failed on $bin"
log "ok: smoke.sh passes on $bin under busybox alone"

write_wrong_server "$work/wrong-server" $((20000 + RANDOM % 20000))
if out=$(smoke "$work/wrong-server" 2>&1); then
  fail "smoke.sh passed on a server answering the wrong athlete: $out"
fi
[[ $out == *"FAIL: GET / answered '{\"myFavoriteAthlete\":\"Carl Lewis\"}'"* ]] ||
  fail "smoke.sh failed on the wrong server, but not for its wrong answer: $out"
log "ok: smoke.sh fails on a server answering the wrong athlete"
