# Documentation: every relative Markdown link and heading anchor resolves, the README's Quick start
# commands exist, and .ci/run runs the README's test command (tests/docs/check_docs.py); the
# self-test proves each check catches a broken copy. Needs python3 and git only.
foreach(_fa_docs_mode check self-test)
  set(_fa_docs_args "${CMAKE_CURRENT_SOURCE_DIR}")
  if(_fa_docs_mode STREQUAL "self-test")
    set(_fa_docs_args --self-test "${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  add_test(NAME docs.${_fa_docs_mode} COMMAND python3 "${CMAKE_CURRENT_SOURCE_DIR}/tests/docs/check_docs.py" ${_fa_docs_args})
  set_tests_properties(docs.${_fa_docs_mode} PROPERTIES LABELS docs TIMEOUT 120)
endforeach()
