# Format area (ctest -L format): tests/format/check.sh, whose header says what it checks and when
# it skips (exit 77); the self-test runs the check on a throwaway repository: a file whose
# indentation is broken is reported, and passes once --fix has run.
get_filename_component(FA_FORMAT_REPO_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
add_test(NAME format.clang_format COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check.sh ${FA_FORMAT_REPO_ROOT})
add_test(NAME format.self_test COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check.sh --self-test ${FA_FORMAT_REPO_ROOT})
set_tests_properties(format.clang_format format.self_test PROPERTIES LABELS format SKIP_RETURN_CODE 77 TIMEOUT 120)
