# Documentation: every relative Markdown link and heading anchor resolves, the README's Quick start
# commands exist, and .ci/run runs the README's test command (tests/docs/check_docs.py); the
# self-test proves each check catches a broken version of a file. Needs python3 and git only.
set(_fa_docs_check python3 "${CMAKE_CURRENT_SOURCE_DIR}/tests/docs/check_docs.py")
fa_test(docs.check docs 120 ${_fa_docs_check} "${CMAKE_CURRENT_SOURCE_DIR}")
fa_test(docs.self_test docs 120 ${_fa_docs_check} --self-test "${CMAKE_CURRENT_SOURCE_DIR}")
