# HTTP/1.1 conformance. checklist: every RFC 9112/9110 server requirement of
# tests/conformance/checklist.py against the binary (label integration: each cpp-httplib build
# runs it). differential: the same requests to this service, nginx and Go net/http (bench/benchmark.py
# --differential builds Go), compared with docs/conformance.md; skips (77) without nginx or go
# unless FA_TESTS_NO_SKIP=1.
fa_python_test(conformance.checklist ${CMAKE_CURRENT_LIST_DIR}/test_checklist.py "integration;conformance" 180)
if(NOT Python3_Interpreter_FOUND)
  return()  # no Python: the checklist already shows as skipped
endif()
fa_test(conformance.differential conformance 300 Python3::Interpreter -B "${PROJECT_SOURCE_DIR}/bench/benchmark.py"
  --differential --no-install --binary "$<TARGET_FILE:favorite-athlete>")
set_tests_properties(conformance.differential PROPERTIES ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
