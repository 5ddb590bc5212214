# Manifest tests: the rendered manifests/ against the schemas and the deployment policy. Included by the top-level CMakeLists.txt:
#   include(tests/manifests/tests.cmake OPTIONAL)
# Needs kubectl (kustomize built in), node, and `npm ci` in tests/manifests;
# each test exits 77 (skipped) with a message when one is missing.
# Paths from this file's own location, so it works wherever it is included from.
set(FA_MANIFESTS_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(FA_MANIFESTS_REPO_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
foreach(check render schema schema-negative policy policy-negative)
  add_test(NAME manifests.${check}
           COMMAND bash ${FA_MANIFESTS_TEST_DIR}/run.sh ${check}
           WORKING_DIRECTORY ${FA_MANIFESTS_REPO_ROOT})
  set_tests_properties(manifests.${check} PROPERTIES
    LABELS manifests
    SKIP_RETURN_CODE 77
    TIMEOUT 300)
# Each check runs TypeScript's type checker (schema-negative once per fixture: 115 s on a loaded
# 2-core machine); the timeout only catches a hang, it asserts no speed.
endforeach()
