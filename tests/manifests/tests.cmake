# Manifest tests: the rendered manifests/ against the schemas and the deployment policy. Included by the top-level CMakeLists.txt:
#   include(tests/manifests/tests.cmake OPTIONAL)
# Needs kubectl (kustomize built in), node, and `npm ci` in tests/manifests; each test exits 77
# (skipped) with a message when kubectl or the packages are missing, and is not run (disabled)
# when node is.
# Paths from this file's own location, so it works wherever it is included from.
set(FA_MANIFESTS_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(FA_MANIFESTS_REPO_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
find_program(FA_NODE node)
foreach(check render schema schema_negative policy policy_negative)
  add_test(NAME manifests.${check}
           COMMAND ${FA_NODE} ${FA_MANIFESTS_TEST_DIR}/manifest_checks.mjs ${check}
           WORKING_DIRECTORY ${FA_MANIFESTS_REPO_ROOT})
  # The schema checks run TypeScript's type checker once each (up to a minute on a loaded 2-core
  # machine); the timeout only catches a hang, it asserts no speed.
  set_tests_properties(manifests.${check} PROPERTIES
    LABELS manifests
    SKIP_RETURN_CODE 77
    TIMEOUT 300)
  if(NOT FA_NODE)
    set_tests_properties(manifests.${check} PROPERTIES DISABLED TRUE)
  endif()
endforeach()
