# End-to-end tests: a fixture (stack.py) runs three replicas of the binary under test behind a
# real nginx (Debian package nginx) on 127.0.0.1, routed like the Ingress, and a steady load goes
# through it while replicas restart, get killed, or all stop. Each test prints its figures
# (`ctest -L e2e -V` shows them) and exits 77 (skipped) when nginx is missing.
# Included by the top-level CMakeLists.txt: include(tests/e2e/tests.cmake OPTIONAL).
find_package(Python3 3.9 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  return()  # no Python, no e2e (the integration tests already show as skipped then)
endif()
set(FA_E2E_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(FA_E2E_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

foreach(suite IN ITEMS contract rolling_restart kill9 shutdown slow_clients)
  add_test(NAME e2e.${suite}
    COMMAND Python3::Interpreter -B ${FA_E2E_DIR}/test_${suite}.py -v
    WORKING_DIRECTORY ${FA_E2E_ROOT})
  set_tests_properties(e2e.${suite} PROPERTIES
    LABELS e2e
    SKIP_RETURN_CODE 77
    TIMEOUT 120
    # The load tests measure: never two at once.
    RESOURCE_LOCK favorite-athlete-e2e
    ENVIRONMENT "FA_BIN=$<TARGET_FILE:favorite-athlete>;PYTHONPATH=${FA_E2E_DIR}/../lib;PYTHONDONTWRITEBYTECODE=1")
endforeach()

# docker-compose.yml checked offline (no Docker engine in CI) with Debian's docker-compose and
# python3-yaml, a module of Debian's python3: use that interpreter when there is one.
find_program(FA_E2E_SYSTEM_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(FA_E2E_SYSTEM_PYTHON)
  set(FA_E2E_COMPOSE_PYTHON ${FA_E2E_SYSTEM_PYTHON})
else()
  set(FA_E2E_COMPOSE_PYTHON Python3::Interpreter)
endif()
add_test(NAME e2e.compose
  COMMAND ${FA_E2E_COMPOSE_PYTHON} -B ${FA_E2E_DIR}/test_compose.py -v
  WORKING_DIRECTORY ${FA_E2E_ROOT})
set_tests_properties(e2e.compose PROPERTIES
  LABELS e2e SKIP_RETURN_CODE 77 TIMEOUT 60 ENVIRONMENT "PYTHONPATH=${FA_E2E_DIR}/../lib;PYTHONDONTWRITEBYTECODE=1")
