# Integration tests: the real binary on 127.0.0.1, driven over raw sockets (Python stdlib only).
find_package(Python3 3.9 COMPONENTS Interpreter)
# fa_python_test(NAME SCRIPT LABELS TIMEOUT [PROPERTY VALUE]...): `python3 SCRIPT -v` with the binary
# in FA_BIN and tests/lib (fa_test.py) on PYTHONPATH (SCRIPT may be a list: the script, then its
# arguments); also used by tests/conformance and tests/e2e.
# Without Python (e.g. the image's build stage, which runs only -L unit) it shows as skipped.
function(fa_python_test name script labels timeout)
  if(Python3_Interpreter_FOUND)
    fa_test(${name} "${labels}" ${timeout} Python3::Interpreter -B ${script} -v)
  else()
    fa_test(${name} "${labels}" ${timeout} sh -c "echo 'python3 (>= 3.9) is needed'; exit 77")
  endif()
  set_tests_properties(${name} PROPERTIES ${ARGN}
    ENVIRONMENT "FA_BIN=$<TARGET_FILE:favorite-athlete>;PYTHONPATH=${PROJECT_SOURCE_DIR}/tests/lib;PYTHONDONTWRITEBYTECODE=1")
endfunction()

foreach(suite IN ITEMS connections malformed lifecycle metrics access_log)
  fa_python_test(integration.${suite} ${CMAKE_CURRENT_LIST_DIR}/test_${suite}.py integration 180)
endforeach()
# adversarial: hostile input and clients with RSS/fd figures, and a short soak (FA_SOAK_SECONDS).
fa_python_test(integration.adversarial ${CMAKE_CURRENT_LIST_DIR}/test_adversarial.py "integration;adversarial" 180)
# The sanitizer runs (asan, tsan presets) can fail: a deliberate bug of each instrumented kind
# (tests/integration/sanitizer_canary.cpp) must be reported, or the binaries were not instrumented.
if(FAVORITE_ATHLETE_SANITIZE)
  add_executable(sanitizer_canary ${CMAKE_CURRENT_LIST_DIR}/sanitizer_canary.cpp)
  target_link_libraries(sanitizer_canary PRIVATE project_options Threads::Threads)
  string(REPLACE "," ";" _fa_sanitizers "${FAVORITE_ATHLETE_SANITIZE}")
  foreach(_fa_sanitizer IN LISTS _fa_sanitizers)
    fa_test(integration.sanitizer_${_fa_sanitizer} integration 300 sanitizer_canary ${_fa_sanitizer})
    set_tests_properties(integration.sanitizer_${_fa_sanitizer} PROPERTIES
      PASS_REGULAR_EXPRESSION "AddressSanitizer: heap-buffer-overflow|runtime error: signed integer overflow|ThreadSanitizer: data race")
  endforeach()
endif()
