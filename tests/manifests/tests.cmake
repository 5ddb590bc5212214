# Manifest tests: the rendered manifests/ against the schemas and the deployment policy. Needs
# kubectl (kustomize built in), node, and `npm ci --prefix tests`; each test exits 77 (skipped)
# with a message when kubectl or the packages are missing, and is not run (disabled) when node is.
foreach(check schema schema_negative policy policy_negative)
  # The schema checks run TypeScript's type checker once each (up to a minute on a loaded 2-core
  # machine); the timeout only catches a hang, it asserts no speed.
  fa_test(manifests.${check} manifests 300 ${FA_NODE} ${CMAKE_CURRENT_LIST_DIR}/manifest_checks.mjs ${check})
  set_tests_properties(manifests.${check} PROPERTIES WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endforeach()
