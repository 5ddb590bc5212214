# Shared by the stubs: record the call, keep counters in $FA_STUB_STATE.
# FA_STUB_LOG, FA_STUB_STATE are set by the bats test (tests/deploy/deploy_helpers.bash).
: "${FA_STUB_LOG:?FA_STUB_LOG not set}" "${FA_STUB_STATE:?FA_STUB_STATE not set}"
record() { printf '%s\n' "$*" >>"$FA_STUB_LOG"; }
record_env() { printf '%s KUBECONFIG=%s\n' "$1" "${KUBECONFIG-<unset>}" >>"$FA_STUB_STATE/env.log"; }
# counter NAME: increments and prints the number of calls so far.
counter() {
  local f="$FA_STUB_STATE/count-$1" n=0
  [[ -f $f ]] && n=$(<"$f")
  n=$((n + 1))
  echo "$n" >"$f"
  echo "$n"
}
# The tools the stubs themselves use (cp, mv, touch, sort...), which the script under test may
# not get: the bats test runs it with a minimal PATH.
[[ -z ${FA_STUB_TOOLS:-} ]] || PATH="$FA_STUB_TOOLS:$PATH"
