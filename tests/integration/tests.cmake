# Integration tests: the real binary on 127.0.0.1, driven over raw sockets (Python stdlib only).
find_package(Python3 3.9 REQUIRED COMPONENTS Interpreter)
foreach(suite IN ITEMS contract connections malformed lifecycle metrics)
  add_test(NAME integration.${suite}
    COMMAND Python3::Interpreter -B ${CMAKE_CURRENT_SOURCE_DIR}/tests/integration/test_${suite}.py -v)
  set_tests_properties(integration.${suite} PROPERTIES
    LABELS integration TIMEOUT 120
    ENVIRONMENT "FAVORITE_ATHLETE_BIN=$<TARGET_FILE:favorite-athlete>;PYTHONDONTWRITEBYTECODE=1")
endforeach()
