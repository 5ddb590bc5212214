# Format area (ctest -L format): tests/format/check.sh, whose header says what it checks and when
# it skips (exit 77); the self-test runs the check on a throwaway repository: a file whose
# indentation is broken is reported, and passes once --fix has run.
fa_test(format.clang_format format 120 bash ${CMAKE_CURRENT_LIST_DIR}/check.sh ${PROJECT_SOURCE_DIR})
fa_test(format.self_test format 120 bash ${CMAKE_CURRENT_LIST_DIR}/check.sh --self-test ${PROJECT_SOURCE_DIR})
