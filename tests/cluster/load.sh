#!/usr/bin/env bash
# load.sh URL EXPECTED_BODY: steady load for the disruption tests. GETs URL in a loop, a new
# connection each (what a client without keep-alive or retries sees), 2 s timeout, about 30 per
# second, one line per request on stdout: epoch-ms curl-exit http-status ok|bad. Runs until killed.
set -euo pipefail

main() {
  local url="$1" expected="$2" out rc code t ok
  while :; do
    t="${EPOCHREALTIME/./}"
    rc=0
    out="$(curl -s --max-time 2 -w '\n%{http_code}' "${url}")" || rc=$?
    code="${out##*$'\n'}"
    ok=bad
    [[ ${out%$'\n'*} == "${expected}" ]] && ok=ok
    printf '%s %s %s %s\n' "${t:0:13}" "${rc}" "${code:-000}" "${ok}"
    sleep 0.02
  done
}

main "$@"
