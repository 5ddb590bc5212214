# Documentation: every relative Markdown link and heading anchor resolves, the README's Quick start
# commands exist, and .ci/run runs the README's test command (tests/docs/check_docs.py); the
# self-test proves each check catches a broken version of a file. Needs python3 and git only.
set(_fa_docs_check python3 "${CMAKE_CURRENT_SOURCE_DIR}/tests/docs/check_docs.py")
add_test(NAME docs.check COMMAND ${_fa_docs_check} "${CMAKE_CURRENT_SOURCE_DIR}")
add_test(NAME docs.self_test COMMAND ${_fa_docs_check} --self-test "${CMAKE_CURRENT_SOURCE_DIR}")
set_tests_properties(docs.check docs.self_test PROPERTIES LABELS docs TIMEOUT 120)
