# Integration tests: the real binary on 127.0.0.1, driven over raw sockets (Python stdlib only).
# Without Python (e.g. the image's build stage, which runs only -L unit) they show as skipped.
find_package(Python3 3.9 COMPONENTS Interpreter)
# adversarial: hostile input and clients with RSS/fd figures, and a short soak (FA_SOAK_SECONDS).
foreach(suite IN ITEMS contract connections malformed lifecycle metrics access_log adversarial)
  set(labels integration)
  if(suite STREQUAL "adversarial")
    list(APPEND labels adversarial)
  endif()
  if(Python3_Interpreter_FOUND)
    add_test(NAME integration.${suite}
      COMMAND Python3::Interpreter -B ${CMAKE_CURRENT_SOURCE_DIR}/tests/integration/test_${suite}.py -v)
  else()
    add_test(NAME integration.${suite} COMMAND sh -c "echo 'python3 (>= 3.9) is needed'; exit 77")
  endif()
  set_tests_properties(integration.${suite} PROPERTIES
    LABELS "${labels}" TIMEOUT 180 SKIP_RETURN_CODE 77
    ENVIRONMENT "FA_BIN=$<TARGET_FILE:favorite-athlete>;PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}/tests/lib;PYTHONDONTWRITEBYTECODE=1")
endforeach()
