# shellcheck shell=bash
# Forwards to tests/lib.sh, the shell tests' one library, for tests/deploy and tests/manifests,
# which source this path; delete this file once they source tests/lib.sh.
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
