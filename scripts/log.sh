# shellcheck shell=bash
# scripts/log.sh: the one logging, error and command-running style of the project's shell code,
# sourced by build-and-deploy.sh, scripts/*.sh and the tests' shell helpers.
#
#   log MESSAGE...     2026-12-02T16:47:54Z [STEP] MESSAGE, on stderr
#   warn MESSAGE...    the same, "warning: MESSAGE"
#   err MESSAGE...     the same, "error: MESSAGE"
#   die MESSAGE...     err, then exit 1
#   step NAME TEXT     from now on log as [NAME]; logs "=== TEXT"
#   run [-q] CMD...    logs "+ CMD" and runs CMD (-q: CMD's own output to /dev/null); with
#                      DRY_RUN=1 it only prints "  would run: CMD" (on stderr) and returns 0
#   quoted ARG...      the arguments as one shell-quoted line; placeholders such as <tmp> stay
#                      readable (< and > are left unquoted: the line is shown, never evaluated)
#
# STEP starts as the running script's name. LOG_DATE_FORMAT (date(1) format, UTC) may be
# changed after sourcing, e.g. to milliseconds with GNU date. Messages go to stderr, so a
# function's stdout stays its result. build-and-deploy.sh sources this file: it must stay bash
# 3.2 clean (tests/deploy/bash32_lint.sh checks it) and use no tool but date.

STEP="${0##*/}"
LOG_DATE_FORMAT='%Y-%m-%dT%H:%M:%SZ'
DRY_RUN=0

log() { printf '%s [%s] %s\n' "$(date -u +"${LOG_DATE_FORMAT}")" "${STEP}" "$*" >&2; }
warn() { log "warning: $*"; }
err() { log "error: $*"; }
die() {
  err "$@"
  exit 1
}
step() {
  STEP="$1"
  log "=== $2"
}
quoted() {
  local out="" a
  for a in "$@"; do
    case ${a} in
    "") a="''" ;;
    *\'*) a=$(printf '%q' "${a}") ;;
    *[!A-Za-z0-9_./:=@%+,\<\>-]*) a="'${a}'" ;;
    esac
    out="${out} ${a}"
  done
  printf '%s\n' "${out# }"
}
run() {
  local quiet=0
  if [[ ${1:-} == -q ]]; then
    quiet=1
    shift
  fi
  if [[ ${DRY_RUN} == 1 ]]; then
    printf '  would run: %s\n' "$(quoted "$@")" >&2
    return 0
  fi
  log "+ $(quoted "$@")"
  if ((quiet)); then "$@" >/dev/null 2>&1; else "$@"; fi
}
