#!/usr/bin/env bash
# Builds a Release favorite-athlete and runs it in the foreground (Ctrl-C stops it gracefully).
# Arguments go to the binary, e.g. `scripts/serve.sh --port 9000`; FA_DEPS_SOURCE: see scripts/lib.sh.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  install_debian_packages "${ROOT}/scripts/debian_packages.txt"
  build_preset release >/dev/null
  log "serving; try: curl http://127.0.0.1:${PORT:-8080}/"
  exec "${ROOT}/build/release/favorite-athlete" "$@"
}

main "$@"
