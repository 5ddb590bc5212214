# Format area: the C and C++ sources are formatted as clang-format 14 (Debian 12's) formats them
# with the repository's .clang-format (tests/format/check.sh: it lists each unformatted file and
# the lines concerned; scripts/format.sh fixes them). The self-test proves the check reports a copy
# whose indentation is broken. A missing clang-format, or one of another major version (which
# formats some lines differently), exits 77 (skipped), a failure under FA_TESTS_NO_SKIP=1.
# Run: ctest -L format
get_filename_component(FA_FORMAT_REPO_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
add_test(NAME format.clang_format COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check.sh ${FA_FORMAT_REPO_ROOT})
add_test(NAME format.self_test COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check.sh --self-test ${FA_FORMAT_REPO_ROOT})
set_tests_properties(format.clang_format format.self_test PROPERTIES LABELS format SKIP_RETURN_CODE 77 TIMEOUT 120)
